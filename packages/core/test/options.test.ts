import { describe, expect, it } from 'vitest';
import { describeOptions, environmentInput, parseColor, resolveOptions, scalePixelOptions, type OptionTable } from '../src/index.js';

const table = [
  { name: 'similarity', type: 'number', default: 0.1, min: 0, max: 1, help: 'how close to the screen colour is keyed' },
  { name: 'radius', type: 'integer', default: 4, min: 0, max: 64, unit: 'px', help: 'blur radius' },
  { name: 'enabled', type: 'boolean', default: true, help: 'on or off' },
  { name: 'edge', type: 'enum', values: ['clamp', 'wrap'], default: 'clamp', help: 'edge behaviour' },
  { name: 'screen', type: 'color', default: 'auto', auto: true, help: 'screen colour' },
  { name: 'texture', type: 'string', default: null, help: 'texture path' },
] as const satisfies OptionTable;

describe('resolveOptions', () => {
  it('fills defaults', () => {
    expect(resolveOptions('chroma-key', table)).toEqual({
      similarity: 0.1,
      radius: 4,
      enabled: true,
      edge: 'clamp',
      screen: 'auto',
      texture: null,
    });
  });

  it('accepts values and clean numerals from the command line', () => {
    const o = resolveOptions('chroma-key', table, { similarity: '0.5', radius: 8, enabled: 'false', screen: '00FF00', edge: 'wrap' });
    expect(o).toMatchObject({ similarity: 0.5, radius: 8, enabled: false, screen: '#00ff00', edge: 'wrap' });
  });

  it.each([
    [{ similarity: 1.5 }, 'Expected number between 0 and 1 for chroma-key.similarity but received 1.5'],
    [{ similarity: 'lots' }, 'Expected number between 0 and 1 for chroma-key.similarity but received "lots" of type string'],
    [{ radius: ' 150 ' }, 'Expected integer between 0 and 64 for chroma-key.radius but received 150'],
    [{ radius: '' }, 'Expected integer between 0 and 64 for chroma-key.radius but received "" of type string'],
    [{ radius: 2.5 }, 'Expected integer between 0 and 64 for chroma-key.radius but received 2.5'],
    [{ enabled: 1 }, 'Expected boolean for chroma-key.enabled but received 1'],
    [{ edge: 'mirror' }, 'Expected one of clamp, wrap for chroma-key.edge but received "mirror" of type string'],
    [{ screen: 'green' }, 'Expected colour as #rrggbb or auto for chroma-key.screen but received "green" of type string'],
    [{ texture: 3 }, 'Expected string for chroma-key.texture but received 3'],
    [{ simlarity: 0.2 }, 'Unknown option chroma-key.simlarity; expected one of similarity, radius, enabled, edge, screen, texture'],
  ])('refuses %j with a message naming option, expectation and value', (input, message) => {
    expect(() => resolveOptions('chroma-key', table, input)).toThrow(message);
    try {
      resolveOptions('chroma-key', table, input);
    } catch (error) {
      expect((error as { code: string }).code).toBe('INVALID_OPTION');
    }
  });

  it('reads an environment: trimmed, empty is unset, 1/0 and yes/no are booleans, the rest stays text', () => {
    const env = { RADIUS: ' 8 ', ENABLED: 'No', EDGE: '', OTHER: 'x' };
    const envTable = [
      { name: 'RADIUS', type: 'integer', default: 4, min: 0, max: 64, help: 'r' },
      { name: 'ENABLED', type: 'boolean', default: true, help: 'e' },
      { name: 'EDGE', type: 'enum', values: ['clamp', 'wrap'], default: 'clamp', help: 'e' },
    ] as const satisfies OptionTable;
    expect(environmentInput(envTable, env)).toEqual({ RADIUS: '8', ENABLED: false });
    expect(resolveOptions('environment', envTable, environmentInput(envTable, env))).toEqual({ RADIUS: 8, ENABLED: false, EDGE: 'clamp' });
    expect(environmentInput(envTable, { ENABLED: 'constructor' })).toEqual({ ENABLED: 'constructor' });
  });

  it('parses colours and describes options for help text', () => {
    expect(parseColor('#ff8000')).toEqual({ r: 255, g: 128, b: 0 });
    expect(describeOptions(table)[1]).toBe('radius  integer 0..64 px (default 4)  blur radius');
  });
});

describe('scalePixelOptions', () => {
  const table = [
    { name: 'distance', type: 'number', default: 10, min: 0, max: 100, unit: 'px', help: '' },
    { name: 'choke', type: 'integer', default: 0, min: -20, max: 20, unit: 'px', help: '' },
    { name: 'feature', type: 'number', default: 48, min: 2, max: 4096, unit: 'px', help: '' },
    { name: 'opacity', type: 'number', default: 50, min: 0, max: 100, unit: '%', help: '' },
  ] as const;

  it('scales only the options given in pixels, rounding integers and keeping the range', () => {
    const options = resolveOptions('fx', table, { distance: 10, choke: 5, feature: 3, opacity: 50 });
    expect(scalePixelOptions(table, options, 0.42)).toEqual({ distance: 4.2, choke: 2, feature: 2, opacity: 50 });
    expect(scalePixelOptions(table, options, 30)).toEqual({ distance: 100, choke: 20, feature: 90, opacity: 50 });
  });
});
