// The shared channel list and the wire codec: every service method is exposed exactly once with a validator,
// validators accept what the UI sends and refuse anything else with a message naming the field, and the codec
// carries typed arrays and non-finite numbers bit-exactly in both the Node and the browser code paths.

import { describe, expect, it } from 'vitest';
import { API_METHODS, CHANNELS, JOB_METHODS, HOST_VALIDATORS, tileCspSource, ArgumentError, invokeChannel } from '../../src/service/channels.ts';
import { ApiError, base64ToBytes, bytesToBase64, decodeWire, encodeWire, errorToWire } from '../../src/service/wire.ts';
import { EmfmapService } from '../../src/service/service.ts';
import { UserError } from '../../src/domain/errors.ts';
import type { EmfmapApi } from '../../src/service/api.ts';

describe('channel list', () => {
  it('exposes every method of the service, and only those', () => {
    const serviceMethods = Object.getOwnPropertyNames(EmfmapService.prototype).filter((m) => m !== 'constructor');
    for (const m of API_METHODS) expect(serviceMethods, m).toContain(m);
    // helpers of the service class that are not part of the API are not reachable from the UI
    for (const internal of ['store', 'requireStore', 'useStore', 'close']) expect(API_METHODS).not.toContain(internal);
  });

  it('runs the long methods as jobs', () => {
    expect([...JOB_METHODS].sort()).toEqual(['compare', 'estimate', 'exportMap', 'importReadings', 'openDemo']);
  });

  it('accepts what the user interface sends', () => {
    expect(CHANNELS.estimate.validate([{ method: 'kriging', params: { model: 'spherical', nugget: 0.1, log: true }, grid: { size: 128 }, selection: { from: null, to: 1.7e12, agg: 'p95' }, every: '2h', label: 'noon' }])).toEqual([
      { method: 'kriging', params: { model: 'spherical', nugget: 0.1, log: true }, grid: { size: 128 }, selection: { from: null, to: 1.7e12, agg: 'p95' }, every: '2h', label: 'noon' },
    ]);
    expect(CHANNELS.openDemo.validate([])).toEqual([]);
    expect(CHANNELS.openDemo.validate([undefined])).toEqual([]);
    expect(CHANNELS.runMaps.validate([3])).toEqual([3]);
    expect(CHANNELS.createProject.validate(['/a/b.emfmap', { name: 'B' }])).toEqual(['/a/b.emfmap', { name: 'B' }]);
    expect(CHANNELS.compare.validate([{ methods: ['idw', 'kriging'], cv: 'kfold:10', seed: 3 }])).toEqual([{ methods: ['idw', 'kriging'], cv: 'kfold:10', seed: 3 }]);
    expect(CHANNELS.compare.validate([{ methods: ['idw'], save: false, selection: { agg: 'max', band: 'GSM900', quality: 'all' } }])).toEqual([{ methods: ['idw'], save: false, selection: { agg: 'max', band: 'GSM900', quality: 'all' } }]);
    expect(CHANNELS.imports.validate([])).toEqual([]);
    expect(() => CHANNELS.estimate.validate([{ method: 'idw', selection: { agg: 'mean', quality: 'best' } }])).toThrow(/request\.selection\.quality must be one of good, all/);
    expect(() => CHANNELS.compare.validate([{ methods: ['idw'], save: 'no' }])).toThrow(/request\.save must be true or false/);
    expect(CHANNELS.exportMap.validate([{ runId: 2, format: 'kmz', out: '/tmp/a.kmz', thresholds: [1, 3, 6] }])).toEqual([{ runId: 2, format: 'kmz', out: '/tmp/a.kmz', thresholds: [1, 3, 6] }]);
  });

  it('refuses bad shapes with the method, argument and field named', () => {
    const bad: Array<[keyof typeof CHANNELS, unknown, RegExp]> = [
      ['readings', [{ limit: 0 }], /readings: query\.limit must be an integer in \[1, 10000000\]/],
      ['readings', [{ sensorIds: 'S1' }], /readings: query\.sensorIds must be an array/],
      ['readings', [{ sensorIds: ['S1', 2] }], /readings: query\.sensorIds\[1\] must be a string/],
      ['readings', [{ from: NaN }], /query\.from must be a finite number/],
      ['importReadings', [{ file: '/x.csv', dryRun: 'yes' }], /importReadings: request\.dryRun must be true or false/],
      ['importReadings', [{ file: '/x.csv', onDuplicate: 'merge' }], /request\.onDuplicate must be one of replace, keep/],
      ['importReadings', [{}], /request\.file must be a string/],
      ['createProject', ['/a', { name: 'x', owner: 'me' }], /createProject: options has an unknown field "owner"/],
      ['openProject', ['/a\0b'], /free of NUL characters/],
      ['estimate', [{ method: 'idw' }, { method: 'idw' }], /estimate: expected at most 1 argument/],
      ['estimate', ['idw'], /estimate: request must be an object/],
      ['estimate', [{ method: 'idw', params: JSON.parse('{"__proto__": 1}') }], /must be a plain record/],
      ['deleteRun', [-1], /deleteRun: runId must be an integer in \[0,/],
      ['version', {}, /version: expects no arguments/],
    ];
    for (const [m, args, msg] of bad) {
      expect(() => (CHANNELS[m].validate as (a: unknown) => unknown)(args), `${m} ${JSON.stringify(args)}`).toThrow(msg);
    }
    expect(() => CHANNELS.estimate.validate([{ method: 'idw', grid: { size: 64 }, x: 1 }])).toThrow(ArgumentError);
  });

  it('does not let an object with a custom prototype through', () => {
    class Evil {
      method = 'idw';
    }
    expect(() => CHANNELS.estimate.validate([new Evil()])).toThrow(/must be an object/);
  });

  it('validates host settings: only http(s) tile templates', () => {
    expect(HOST_VALIDATORS.saveSettings([{ tileUrl: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', tileAttribution: '© OSM' }])).toHaveLength(1);
    expect(HOST_VALIDATORS.saveSettings([{ tileUrl: null, tileAttribution: '' }])).toEqual([{ tileUrl: null, tileAttribution: '' }]);
    for (const url of ['javascript:alert(1)', 'https://x.org/{z}/{x}.png', "https://x.org/{z}/{x}/{y}.png' 'unsafe-inline", 'file:///etc/{z}/{x}/{y}']) {
      expect(() => HOST_VALIDATORS.saveSettings([{ tileUrl: url, tileAttribution: '' }]), url).toThrow(ArgumentError);
    }
    expect(tileCspSource('https://{s}.tile.example.org/{z}/{x}/{y}.png')).toBe('https://*.tile.example.org');
    expect(tileCspSource('https://tile.openstreetmap.org/{z}/{x}/{y}.png')).toBe('https://tile.openstreetmap.org');
    expect(tileCspSource(null)).toBeNull();
  });

  it('calls the service with the validated arguments', async () => {
    const seen: unknown[] = [];
    const api = { runMaps: async (...a: unknown[]) => (seen.push(a), []) } as unknown as EmfmapApi;
    await invokeChannel(api, 'runMaps', [5, 2]);
    expect(seen).toEqual([[5, 2]]);
    expect(() => invokeChannel(api, 'runMaps', ['5'])).toThrow(ArgumentError);
    expect(seen).toHaveLength(1);
  });
});

describe('wire codec', () => {
  const sample = () => ({
    values: new Float32Array([0, -0, 1.5, NaN, Infinity, -Infinity, 3.4e38, 1e-45]),
    f64: new Float64Array([Math.PI, -1e-300, NaN]),
    cells: new Int32Array([-2147483648, 0, 2147483647]),
    metrics: { rmse: 0.25, r2: NaN, worst: -Infinity },
    list: [1, 'a', null, { nested: new Uint8Array([0, 255, 128]) }],
  });

  function checkRoundTrip() {
    const v = sample();
    const text = JSON.stringify(encodeWire(v));
    const back = decodeWire<ReturnType<typeof sample>>(JSON.parse(text));
    expect(back.values).toBeInstanceOf(Float32Array);
    // bit-exact, including the sign of zero and NaN
    expect(new Uint8Array(back.values.buffer)).toEqual(new Uint8Array(v.values.buffer));
    expect(Object.is(back.values[1], -0)).toBe(true);
    expect(Array.from(back.f64)).toEqual(Array.from(v.f64));
    expect(back.cells).toEqual(v.cells);
    expect(back.metrics.r2).toBeNaN();
    expect(back.metrics.worst).toBe(-Infinity);
    expect((back.list[3] as { nested: Uint8Array }).nested).toEqual(new Uint8Array([0, 255, 128]));
    return text;
  }

  it('round-trips typed arrays and non-finite numbers with Node buffers', () => {
    const text = checkRoundTrip();
    // 8 float32 = 32 bytes -> 44 base64 characters, not a list of numbers
    expect(text).toContain('"$typed":"Float32Array","b64":"');
  });

  it('round-trips the same way in the browser code path (no Buffer), and both paths agree', () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7919) % 256);
    const nodeB64 = Buffer.from(bytes).toString('base64');
    const g = globalThis as { Buffer?: unknown };
    const saved = g.Buffer;
    delete g.Buffer;
    try {
      expect(bytesToBase64(bytes)).toBe(nodeB64);
      expect(base64ToBytes(nodeB64)).toEqual(bytes);
      checkRoundTrip();
    } finally {
      g.Buffer = saved;
    }
  });

  it('decodes a float array from a slice of a larger buffer at the right offset', () => {
    const big = new Float32Array([9, 8, 7, 6, 5]);
    const slice = big.subarray(1, 4);
    const back = decodeWire<Float32Array>(JSON.parse(JSON.stringify(encodeWire(slice))));
    expect(Array.from(back)).toEqual([8, 7, 6]);
  });

  it('keeps a user error with its located issues across the transport', () => {
    const err = new UserError('bad.csv: 2 problems', [{ file: 'bad.csv', line: 3, field: 'lat', message: 'out of range' }], 2);
    const w = errorToWire(err);
    expect(w).toEqual({ name: 'UserError', message: 'bad.csv: 2 problems', issues: [{ file: 'bad.csv', line: 3, field: 'lat', message: 'out of range' }], totalIssues: 2 });
    const back = new ApiError(JSON.parse(JSON.stringify(w)));
    expect(back.name).toBe('UserError');
    expect(back.issues[0].line).toBe(3);
    expect(back.totalIssues).toBe(2);
    expect(new ApiError({ name: 'CancelledError', message: 'cancelled' }).cancelled).toBe(true);
  });
});
