// Wire encoding of service results and errors for text transports (browser mode HTTP / Server-Sent Events).
// Electron IPC uses structured clone and needs none of this except the error envelope.
//
// JSON cannot carry typed arrays efficiently (a 512×512 Float32Array as a JSON number list is ~5 MB of text and
// slow to parse) nor NaN/±Infinity (JSON.stringify turns them into null, and reference maps use NaN for no data).
// So, inside an otherwise plain JSON value:
//   typed array      -> { "$typed": "Float32Array", "b64": "<base64 of the little-endian bytes>" }
//   NaN / ±Infinity  -> { "$num": "NaN" | "Infinity" | "-Infinity" }
// Base64 costs 4/3 of the raw bytes and decodes in a few milliseconds per megabyte in the browser.
// Pure module (no Node or DOM imports): used by the server and by the renderer.

import type { InputIssue } from '../domain/errors.ts';

type TypedKind = 'Float32Array' | 'Float64Array' | 'Int32Array' | 'Uint8Array' | 'Uint16Array' | 'Int16Array' | 'Uint32Array';

const CTORS = {
  Float32Array,
  Float64Array,
  Int32Array,
  Uint8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
} as const;

interface NodeBufferLike {
  from(data: ArrayBufferLike | string, offsetOrEncoding?: number | string, length?: number): Uint8Array & { toString(enc: string): string };
}

/** Node's Buffer when running in Node (fast native base64), undefined in the browser. */
function nodeBuffer(): NodeBufferLike | undefined {
  return (globalThis as { Buffer?: NodeBufferLike }).Buffer;
}

export function bytesToBase64(bytes: Uint8Array): string {
  const B = nodeBuffer();
  if (B) return B.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  // browser: btoa over binary strings built in chunks (String.fromCharCode has an argument-count limit)
  let bin = '';
  const CH = 0x8000;
  for (let i = 0; i < bytes.length; i += CH) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + CH) as unknown as number[]);
  }
  return btoa(bin);
}

export function base64ToBytes(b64: string): Uint8Array {
  const B = nodeBuffer();
  if (B) {
    const buf = B.from(b64, 'base64');
    // copy into a fresh, aligned ArrayBuffer (Node buffers may be slices of a shared pool)
    return new Uint8Array(buf);
  }
  const fromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
  if (fromBase64) return fromBase64(b64);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function typedKind(v: ArrayBufferView): TypedKind | null {
  for (const k of Object.keys(CTORS) as TypedKind[]) if (v instanceof CTORS[k]) return k;
  return null;
}

/** Turn a result into a JSON-safe value (see the header comment). */
export function encodeWire(value: unknown): unknown {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    return { $num: Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity' };
  }
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) {
    const kind = typedKind(value);
    if (!kind) throw new Error(`cannot encode ${value.constructor.name} on the wire`);
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return { $typed: kind, b64: bytesToBase64(bytes) };
  }
  if (Array.isArray(value)) return value.map(encodeWire);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || typeof v === 'function') continue;
    out[k] = encodeWire(v);
  }
  return out;
}

/**
 * Inverse of encodeWire, applied to freshly parsed JSON. Decodes in place (the parsed value is owned by the
 * caller and never shared): a readings list of thousands of small objects then costs no copies, which keeps
 * the browser's main thread and garbage collector quiet.
 */
export function decodeWire<T = unknown>(value: unknown): T {
  return decode(value) as T;
}

const PLAIN = Symbol('plain object');

function decodeSpecial(o: Record<string, unknown>): unknown {
  if (typeof o.$typed === 'string' && typeof o.b64 === 'string') {
    const ctor = CTORS[o.$typed as TypedKind];
    if (!ctor) throw new Error(`unknown typed array kind ${o.$typed}`);
    const bytes = base64ToBytes(o.b64);
    if (bytes.byteLength % ctor.BYTES_PER_ELEMENT !== 0) throw new Error(`corrupt ${o.$typed} on the wire`);
    // bytes owns a fresh buffer starting at offset 0, so it is aligned for any element size
    return new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / ctor.BYTES_PER_ELEMENT);
  }
  if (typeof o.$num === 'string') {
    let only = true;
    for (const k in o) if (k !== '$num') only = false;
    if (only) return o.$num === 'NaN' ? NaN : o.$num === 'Infinity' ? Infinity : -Infinity;
  }
  return PLAIN;
}

function decode(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v !== null && typeof v === 'object') value[i] = decode(v);
    }
    return value;
  }
  const o = value as Record<string, unknown>;
  const special = decodeSpecial(o);
  if (special !== PLAIN) return special;
  for (const k in o) {
    const v = o[k];
    if (v !== null && typeof v === 'object') o[k] = decode(v);
  }
  return o;
}

/** How an error crosses a transport: enough to rebuild a UserError with its located issues. */
export interface WireError {
  /** "UserError" (bad input; shown as is), "CancelledError", "ComputeCrashed", "ArgumentError", or "Error" (internal). */
  name: string;
  message: string;
  issues?: InputIssue[];
  totalIssues?: number;
}

export function errorToWire(err: unknown): WireError {
  const e = err as { name?: unknown; message?: unknown; issues?: unknown; totalIssues?: unknown };
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const out: WireError = { name, message };
  if (Array.isArray(e?.issues)) {
    out.issues = (e.issues as InputIssue[]).map((i) => ({ file: i.file, line: i.line, field: i.field, message: i.message }));
    out.totalIssues = typeof e.totalIssues === 'number' ? e.totalIssues : out.issues.length;
  }
  return out;
}

/** The error a client throws for a WireError: `name`, `issues` and `totalIssues` kept for the UI. */
export class ApiError extends Error {
  readonly issues: InputIssue[];
  readonly totalIssues: number;
  constructor(w: WireError) {
    super(w.message);
    this.name = w.name;
    this.issues = w.issues ?? [];
    this.totalIssues = w.totalIssues ?? this.issues.length;
  }
  get cancelled(): boolean {
    return this.name === 'CancelledError';
  }
}

/** Result envelope used by both transports (so errors keep their issues instead of becoming plain strings). */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: WireError };
