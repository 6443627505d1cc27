/**
 * Entry of a texture thread: makes one procedural texture (internal/procedural.ts, nothing else
 * loaded) and posts its SharedArrayBuffer back. See texture-thread-client.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { generateTexture, type ProceduralSpec } from './procedural.js';

const { spec, size } = workerData as { spec: ProceduralSpec; size: { width: number; height: number } };
parentPort!.postMessage(generateTexture(spec, size).buffer);
