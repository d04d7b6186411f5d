// The one list of service methods the user interface may call, shared by both transports (browser mode HTTP
// server and Electron IPC) and by the renderer's clients. Each channel says whether it is a long job
// (progress events + cancel) and validates its arguments: whatever arrives from a renderer is untrusted and
// is checked here, at the boundary, before it reaches the service (plain functions, no schema library).
// Semantic checks (a grid too large, an unknown method) stay in the service; these checks make sure the
// service gets values of the declared shape and nothing else (unknown keys are refused).
// Pure module (no Node or DOM imports).

import type {
  CompareRequest,
  EmfmapApi,
  EstimateRequest,
  ExportRequest,
  GridRequest,
  ImportRequest,
  JobContext,
} from './api.ts';
import type { Aggregation, Selection } from '../domain/types.ts';

export type ApiMethod = keyof EmfmapApi;

/** Arguments of each method as they cross the wire (the JobContext is supplied by the transport). */
export interface ChannelArgs {
  version: [];
  createProject: [path: string, opts?: { name?: string; crs?: string }];
  openProject: [path: string];
  openDemo: [path?: string];
  summary: [];
  importReadings: [req: ImportRequest];
  imports: [];
  sensors: [];
  readings: [q: { sensorIds?: string[]; from?: number; to?: number; limit?: number }];
  referenceMap: [];
  estimators: [];
  estimate: [req: EstimateRequest];
  runs: [];
  runMaps: [runId: number, step?: number];
  deleteRun: [runId: number];
  compare: [req: CompareRequest];
  exportMap: [req: ExportRequest];
  backends: [];
}

export type ChannelResult<K extends ApiMethod> = Awaited<ReturnType<EmfmapApi[K]>>;

export interface Channel<K extends ApiMethod> {
  /** Long job: reports progress, can be cancelled, runs as a job on the transports. */
  job: boolean;
  /** Check untrusted arguments; throws ArgumentError naming the method, argument and field. */
  validate(args: unknown): ChannelArgs[K];
  /** Call the service with validated arguments. */
  call(api: EmfmapApi, args: ChannelArgs[K], ctx?: JobContext): ReturnType<EmfmapApi[K]>;
}

/** A renderer sent arguments of the wrong shape (a programming error on the UI side, or a hostile page). */
export class ArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentError';
  }
}

// ---------------------------------------------------------------------------------------------------------
// validators: each takes (value, path) and returns the value typed, or throws ArgumentError naming the path

type V<T> = (v: unknown, path: string) => T;

const MAX_PATH = 4096;
const MAX_TEXT = 10_000;

function fail(path: string, what: string, v: unknown): never {
  let shown: string;
  try {
    shown = v === undefined ? 'nothing' : JSON.stringify(v);
  } catch {
    shown = typeof v;
  }
  if (shown.length > 60) shown = shown.slice(0, 57) + '...';
  throw new ArgumentError(`${path} must be ${what} (got ${shown})`);
}

export const str =
  (max = MAX_TEXT): V<string> =>
  (v, p) => {
    if (typeof v !== 'string') fail(p, 'a string', v);
    if (v.length > max) fail(p, `at most ${max} characters`, v);
    if (v.includes('\0')) fail(p, 'free of NUL characters', v);
    return v;
  };

/** A file path: a non-empty string of bounded length (the service reports a missing or unreadable file). */
export const filePath: V<string> = (v, p) => {
  const s = str(MAX_PATH)(v, p);
  if (s.trim() === '') fail(p, 'a non-empty file path', v);
  return s;
};

export const num =
  (min = -Infinity, max = Infinity): V<number> =>
  (v, p) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(p, 'a finite number', v);
    if (v < min || v > max) fail(p, `a number in [${min}, ${max}]`, v);
    return v;
  };

export const int =
  (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): V<number> =>
  (v, p) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(p, 'an integer', v);
    if (v < min || v > max) fail(p, `an integer in [${min}, ${max}]`, v);
    return v;
  };

export const bool: V<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, 'true or false', v));

export const oneOf =
  <T extends string>(...choices: T[]): V<T> =>
  (v, p) =>
    typeof v === 'string' && (choices as string[]).includes(v) ? (v as T) : fail(p, `one of ${choices.join(', ')}`, v);

export const nullable =
  <T>(inner: V<T>): V<T | null> =>
  (v, p) =>
    v === null ? null : inner(v, p);

export const arr =
  <T>(item: V<T>, maxLength = 1_000_000): V<T[]> =>
  (v, p) => {
    if (!Array.isArray(v)) fail(p, 'an array', v);
    if (v.length > maxLength) fail(p, `an array of at most ${maxLength} items`, v.length);
    return v.map((x, i) => item(x, `${p}[${i}]`));
  };

const OPTIONAL = Symbol('optional');
type Opt<T> = V<T | undefined> & { [OPTIONAL]: true };

export function opt<T>(inner: V<T>): Opt<T> {
  const f = ((v: unknown, p: string) => (v === undefined ? undefined : inner(v, p))) as Opt<T>;
  f[OPTIONAL] = true;
  return f;
}

type Shape = Record<string, V<unknown>>;
type RequiredKeys<S extends Shape> = { [K in keyof S]: S[K] extends Opt<unknown> ? never : K }[keyof S];
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends Opt<unknown> ? K : never }[keyof S];
type FromShape<S extends Shape> = { [K in RequiredKeys<S>]: ReturnType<S[K]> } & {
  [K in OptionalKeys<S>]?: Exclude<ReturnType<S[K]>, undefined>;
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** An object with exactly these keys (optional ones may be missing or undefined); unknown keys are refused. */
export const obj =
  <S extends Shape>(shape: S): V<FromShape<S>> =>
  (v, p) => {
    if (!isPlainObject(v)) fail(p, 'an object', v);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) {
      if (!Object.prototype.hasOwnProperty.call(shape, key)) {
        throw new ArgumentError(`${p} has an unknown field "${key}" (known: ${Object.keys(shape).join(', ')})`);
      }
    }
    for (const [key, check] of Object.entries(shape)) {
      const val = check(v[key], `${p}.${key}`);
      if (val !== undefined) out[key] = val;
    }
    return out as FromShape<S>;
  };

/** A record of free keys (estimator parameters), values checked by `value`. */
export const dict =
  <T>(value: V<T>, maxKeys = 200): V<Record<string, T>> =>
  (v, p) => {
    if (!isPlainObject(v)) fail(p, 'an object', v);
    const keys = Object.keys(v);
    if (keys.length > maxKeys) fail(p, `an object with at most ${maxKeys} fields`, keys.length);
    const out: Record<string, T> = {};
    for (const k of keys) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype' || k.length > 200) fail(`${p}`, 'a plain record', k);
      out[k] = value(v[k], `${p}.${k}`);
    }
    return out;
  };

/** A parameter value as a form produces it: number, boolean or string (the service coerces and range-checks). */
export const paramValue: V<number | boolean | string> = (v, p) => {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return str(1000)(v, p);
  return num()(v, p);
};

/** The positional arguments of a method: an array of at most `checks.length` items. */
function tuple<T extends unknown[]>(method: string, names: string[], checks: { [I in keyof T]: V<T[I]> }): (a: unknown) => T {
  return (a) => {
    if (!Array.isArray(a)) throw new ArgumentError(`${method}: arguments must be an array`);
    if (a.length > checks.length) throw new ArgumentError(`${method}: expected at most ${checks.length} argument(s), got ${a.length}`);
    const out = (checks as V<unknown>[]).map((check, i) => check(a[i], `${method}: ${names[i]}`));
    // drop trailing undefined so optional arguments stay optional
    while (out.length > 0 && out[out.length - 1] === undefined) out.pop();
    return out as T;
  };
}

const none =
  (method: string) =>
  (a: unknown): [] => {
    if (!Array.isArray(a) || a.length !== 0) throw new ArgumentError(`${method}: expects no arguments`);
    return [];
  };

// ---------------------------------------------------------------------------------------------------------
// shapes of the request objects

const bounds = obj({ xmin: num(), ymin: num(), xmax: num(), ymax: num() });

const gridRequest: V<GridRequest> = obj({
  size: opt(int(2, 100_000)),
  width: opt(int(2, 100_000)),
  height: opt(int(2, 100_000)),
  cell: opt(num(1e-9, 1e9)),
  bounds: opt(bounds),
  crs: opt(str(2000)),
});

const AGGS: Aggregation[] = ['mean', 'median', 'max', 'p95', 'last'];

const selection: V<Partial<Selection>> = obj({
  from: opt(nullable(num())),
  to: opt(nullable(num())),
  agg: opt(oneOf(...AGGS)),
  band: opt(nullable(str(200))),
  sensorIds: opt(nullable(arr(str(500), 100_000))),
  quality: opt(oneOf('good', 'all')),
});

const params = dict(paramValue);

const importRequest: V<ImportRequest> = obj({
  file: filePath,
  format: opt(oneOf('auto', 'csv', 'tsv', 'geojson')),
  crs: opt(str(2000)),
  unit: opt(str(50)),
  timezone: opt(str(100)),
  sensorsFile: opt(filePath),
  onDuplicate: opt(oneOf('replace', 'keep')),
  dryRun: opt(bool),
});

const estimateRequest: V<EstimateRequest> = obj({
  method: str(100),
  params: opt(params),
  grid: opt(gridRequest),
  selection: opt(selection),
  every: opt(str(50)),
  steps: opt(int(1, 100_000)),
  label: opt(str(500)),
});

const cvScheme: V<CompareRequest['cv']> = (v, p) => {
  if (typeof v === 'string' && /^(none|loo|kfold:\d{1,6}|blocks:\d{1,6})$/.test(v)) return v as CompareRequest['cv'];
  return fail(p, 'none, loo, kfold:K or blocks:K', v);
};

const compareRequest: V<CompareRequest> = obj({
  methods: (v, p) => {
    const m = arr(str(100), 50)(v, p);
    if (m.length === 0) fail(p, 'a non-empty list of methods', v);
    return m;
  },
  params: opt(dict(params, 50)),
  cv: opt(cvScheme),
  grid: opt(gridRequest),
  selection: opt(selection),
  seed: opt(int(0, 2 ** 32)),
  save: opt(bool),
});

const exportRequest: V<ExportRequest> = obj({
  runId: opt(int(0)),
  method: opt(str(100)),
  step: opt(int(0)),
  format: oneOf('geotiff', 'png', 'kmz', 'geojson', 'csv', 'report'),
  out: filePath,
  thresholds: opt(arr(num(), 100)),
  ramp: opt(str(50)),
});

const readingsQuery = obj({
  sensorIds: opt(arr(str(500), 100_000)),
  from: opt(num()),
  to: opt(num()),
  limit: opt(int(1, 10_000_000)),
});

// ---------------------------------------------------------------------------------------------------------
// the list

export const CHANNELS: { [K in ApiMethod]: Channel<K> } = {
  version: { job: false, validate: none('version'), call: (api) => api.version() },
  createProject: {
    job: false,
    validate: tuple('createProject', ['path', 'options'], [filePath, opt(obj({ name: opt(str(200)), crs: opt(str(2000)) }))]),
    call: (api, [path, o]) => api.createProject(path, o),
  },
  openProject: {
    job: false,
    validate: tuple('openProject', ['path'], [filePath]),
    call: (api, [path]) => api.openProject(path),
  },
  openDemo: {
    job: true,
    validate: tuple('openDemo', ['path'], [opt(filePath)]),
    call: (api, [path], ctx) => api.openDemo(path, ctx),
  },
  summary: { job: false, validate: none('summary'), call: (api) => api.summary() },
  importReadings: {
    job: true,
    validate: tuple('importReadings', ['request'], [importRequest]),
    call: (api, [req], ctx) => api.importReadings(req, ctx),
  },
  imports: { job: false, validate: none('imports'), call: (api) => api.imports() },
  sensors: { job: false, validate: none('sensors'), call: (api) => api.sensors() },
  readings: {
    job: false,
    validate: tuple('readings', ['query'], [readingsQuery]),
    call: (api, [q]) => api.readings(q),
  },
  referenceMap: { job: false, validate: none('referenceMap'), call: (api) => api.referenceMap() },
  estimators: { job: false, validate: none('estimators'), call: (api) => api.estimators() },
  estimate: {
    job: true,
    validate: tuple('estimate', ['request'], [estimateRequest]),
    call: (api, [req], ctx) => api.estimate(req, ctx),
  },
  runs: { job: false, validate: none('runs'), call: (api) => api.runs() },
  runMaps: {
    job: false,
    validate: tuple('runMaps', ['runId', 'step'], [int(0), opt(int(0))]),
    call: (api, [id, step]) => api.runMaps(id, step),
  },
  deleteRun: {
    job: false,
    validate: tuple('deleteRun', ['runId'], [int(0)]),
    call: (api, [id]) => api.deleteRun(id),
  },
  compare: {
    job: true,
    validate: tuple('compare', ['request'], [compareRequest]),
    call: (api, [req], ctx) => api.compare(req, ctx),
  },
  exportMap: {
    job: true,
    validate: tuple('exportMap', ['request'], [exportRequest]),
    call: (api, [req], ctx) => api.exportMap(req, ctx),
  },
  backends: { job: false, validate: none('backends'), call: (api) => api.backends() },
};

export const API_METHODS = Object.keys(CHANNELS) as ApiMethod[];

export function isApiMethod(name: string): name is ApiMethod {
  return Object.prototype.hasOwnProperty.call(CHANNELS, name);
}

export type JobMethod = { [K in ApiMethod]: (typeof CHANNELS)[K]['job'] extends true ? K : never }[ApiMethod];

/** Methods that run as jobs (progress + cancel). */
export const JOB_METHODS = API_METHODS.filter((m) => CHANNELS[m].job);

/** Validate then call: the single entry point both transports use. */
export function invokeChannel<K extends ApiMethod>(api: EmfmapApi, method: K, args: unknown, ctx?: JobContext): ReturnType<EmfmapApi[K]> {
  const ch = CHANNELS[method] as Channel<K>;
  return ch.call(api, ch.validate(args), ctx);
}

// ---------------------------------------------------------------------------------------------------------
// host channels: what the shell around the service provides (settings, recent projects). Both the browser-mode
// server and the Electron main process implement them; dialogs and menus are Electron-only (electron/ipc.ts).

export interface HostSettings {
  /** Basemap tile URL template ({z}/{x}/{y}, optional {s}); null = no basemap (offline, neutral background). */
  tileUrl: string | null;
  /** Attribution shown for the tiles (required by OpenStreetMap's tile usage policy). */
  tileAttribution: string;
}

export const DEFAULT_SETTINGS: HostSettings = {
  tileUrl: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
  tileAttribution: '© OpenStreetMap contributors',
};

export interface HostInfo {
  kind: 'browser' | 'electron';
  /** Where the default (demo) project lives, for the project view's "Open demo". */
  demoPath: string | null;
  /** The project open in the service now (given at start-up or opened since), or null: the page starts there. */
  currentProject: string | null;
}

export interface HostApi {
  info(): Promise<HostInfo>;
  recentProjects(): Promise<string[]>;
  settings(): Promise<HostSettings>;
  /** Saves the settings; a changed tile URL takes effect after a reload (it changes the page's CSP). */
  saveSettings(s: HostSettings): Promise<HostSettings>;
}

export type HostMethod = keyof HostApi;

/** A tile URL template safe to put in a page and a Content-Security-Policy: http(s), no quotes or spaces. */
export const tileUrl: V<string> = (v, p) => {
  const s = str(500)(v, p);
  if (!/^https?:\/\/[A-Za-z0-9.\-{}:\[\]]+(\/[A-Za-z0-9._~\-{}\/@%=&?+]*)?$/.test(s) || !s.includes('{z}') || !s.includes('{x}') || !s.includes('{y}')) {
    fail(p, 'an http(s) tile URL template with {z}, {x} and {y}', v);
  }
  return s;
};

export const HOST_VALIDATORS: { [K in HostMethod]: (a: unknown) => Parameters<HostApi[K]> } = {
  info: none('info'),
  recentProjects: none('recentProjects'),
  settings: none('settings'),
  saveSettings: tuple('saveSettings', ['settings'], [obj({ tileUrl: nullable(tileUrl), tileAttribution: str(300) })]) as (
    a: unknown,
  ) => [HostSettings],
};

export function isHostMethod(name: string): name is HostMethod {
  return Object.prototype.hasOwnProperty.call(HOST_VALIDATORS, name);
}

/** CSP source for a tile URL template: its origin, with a "{s}" subdomain widened to a wildcard. */
export function tileCspSource(url: string | null): string | null {
  if (!url) return null;
  const m = /^(https?:\/\/)([^/]+)/.exec(url);
  if (!m) return null;
  const host = m[2].replace(/^\{s\}\./, '*.').replace(/\{[a-z]+\}/g, '*');
  if (!/^[A-Za-z0-9.*\-:\[\]]+$/.test(host)) return null;
  return m[1] + host;
}
