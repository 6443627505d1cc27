/**
 * The part of the WebAssembly JavaScript API the keyer's screen test uses (key-screen-test.ts).
 * TypeScript declares it only in the DOM library, and @types/node 20 not at all; Node has had it
 * since its first versions.
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}
