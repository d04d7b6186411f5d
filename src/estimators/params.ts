// Validate user-given parameters (from --param k=v or the UI form) against an estimator's schema.

import { UserError } from '../domain/errors.ts';
import type { ParamSpec, ParamValues } from './types.ts';

/** Fill defaults, coerce strings ("3", "true") to the declared type, check ranges and choices. */
export function resolveParams(method: string, specs: ParamSpec[], given: Record<string, unknown> = {}): ParamValues {
  const out: ParamValues = {};
  const known = new Set(specs.map((s) => s.name));
  for (const key of Object.keys(given)) {
    if (!known.has(key)) {
      throw new UserError(`${method}: unknown parameter "${key}" (known: ${[...known].join(', ') || 'none'})`);
    }
  }
  for (const spec of specs) {
    const raw = given[spec.name];
    if (raw === undefined || raw === null || raw === '') {
      out[spec.name] = spec.default;
      continue;
    }
    out[spec.name] = coerce(method, spec, raw);
  }
  return out;
}

function coerce(method: string, spec: ParamSpec, raw: unknown): number | boolean | string {
  const bad = (why: string) => new UserError(`${method}: parameter "${spec.name}" ${why} (got ${JSON.stringify(raw)})`);
  switch (spec.type) {
    case 'number':
    case 'integer': {
      const v = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isFinite(v)) throw bad('must be a number');
      if (spec.type === 'integer' && !Number.isInteger(v)) throw bad('must be an integer');
      if (spec.min !== undefined && v < spec.min) throw bad(`must be ≥ ${spec.min}`);
      if (spec.max !== undefined && v > spec.max) throw bad(`must be ≤ ${spec.max}`);
      return v;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(s)) return true;
      if (['false', '0', 'no', 'off'].includes(s)) return false;
      throw bad('must be true or false');
    }
    case 'enum': {
      const s = String(raw).trim();
      if (!spec.choices?.includes(s)) throw bad(`must be one of ${spec.choices?.join(', ')}`);
      return s;
    }
    case 'string':
      return String(raw);
  }
}

/** Parse CLI "k=v" pairs into a record (values stay strings; resolveParams coerces them). */
export function parseParamPairs(pairs: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UserError(`--param expects key=value, got "${p}"`);
    out[p.slice(0, i).trim()] = p.slice(i + 1).trim();
  }
  return out;
}
