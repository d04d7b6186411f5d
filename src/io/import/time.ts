// Timestamps on import: ISO 8601 (with or without offset), "dd/mm/yyyy hh:mm[:ss]" (also "-" or "."
// separated, "10h30"), "yyyy/mm/dd hh:mm", and Unix epochs (10 digits = seconds, 13 = milliseconds).
// A timestamp without an offset is read in the import's time zone: "UTC" (default), a fixed offset
// "+02:00", or an IANA zone name ("Europe/Paris", via Intl; daylight-saving aware). At a DST change,
// an ambiguous local time (the repeated hour) takes the first occurrence and a skipped one is moved forward.

import { UserError } from '../../domain/errors.ts';

export interface TimeZone {
  /** As given, for reports ("UTC", "+02:00", "Europe/Paris"). */
  name: string;
  /** Epoch ms of a local wall-clock time expressed as if it were UTC. */
  localToUtc(localAsUtc: number): number;
}

export interface ParsedTime {
  /** Epoch ms UTC, or NaN when the text is not a timestamp. */
  ms: number;
  /** True when the text carried no offset (so the time zone option was applied). */
  naive: boolean;
  /** Why it failed, when ms is NaN. */
  error?: string;
}

const FIXED = /^([+-])(\d{2}):?(\d{2})?$/;

export function parseTimeZone(zone: string | undefined): TimeZone {
  const z = (zone ?? '').trim();
  if (z === '' || /^(utc|gmt|z)$/i.test(z)) return { name: 'UTC', localToUtc: (t) => t };
  const m = FIXED.exec(z);
  if (m) {
    const off = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0)) * 60_000;
    if (Math.abs(off) > 14 * 3_600_000) throw new UserError(`time zone offset ${z} is out of range (−14:00 to +14:00)`);
    return { name: z, localToUtc: (t) => t - off };
  }
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: z,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new UserError(`unknown time zone "${z}": use an IANA name such as Europe/Paris, UTC, or an offset such as +02:00`);
  }
  const offsetAt = (utc: number): number => {
    const p: Record<string, number> = {};
    for (const part of fmt.formatToParts(new Date(utc))) if (part.type !== 'literal') p[part.type] = Number(part.value);
    const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    return wall - Math.floor(utc / 1000) * 1000;
  };
  // offsets only change on (quarter-)hour boundaries: cache per 15 minutes of local time
  const cache = new Map<number, number>();
  const BUCKET = 15 * 60_000;
  return {
    name: fmt.resolvedOptions().timeZone,
    localToUtc(local: number): number {
      const key = Math.floor(local / BUCKET);
      let off = cache.get(key);
      if (off === undefined) {
        // two candidate offsets around the local time; the earlier instant wins when both fit (repeated hour)
        const a = offsetAt(local - 86_400_000 / 2);
        const b = offsetAt(local + 86_400_000 / 2);
        const fitA = offsetAt(local - a) === a;
        const fitB = offsetAt(local - b) === b;
        if (fitA && fitB) off = Math.max(a, b);
        else if (fitA) off = a;
        else if (fitB) off = b;
        else off = Math.min(a, b); // skipped hour: read with the offset before the change (moves forward)
        if (cache.size > 100_000) cache.clear();
        cache.set(key, off);
      }
      return local - off;
    },
  };
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function daysIn(year: number, month: number): number {
  if (month === 2 && ((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0)) return 29;
  return DAYS[month - 1];
}

const ISO = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ]+(\d{1,2})[:h](\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;
const DMY = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[T ]+(\d{1,2})[:h](\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;
const EPOCH = /^(\d{10})(?:\.(\d{1,3}))?$|^(\d{13})$/;

function offsetMs(s: string): number {
  if (/^(z|utc|gmt)$/i.test(s)) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(s)!;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0)) * 60_000;
}

function build(
  y: number,
  mo: number,
  d: number,
  h: string | undefined,
  mi: string | undefined,
  s: string | undefined,
  frac: string | undefined,
  off: string | undefined,
  zone: TimeZone,
): ParsedTime {
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (mo < 1 || mo > 12) return { ms: NaN, naive: false, error: `month ${mo} does not exist` };
  if (d < 1 || d > daysIn(y, mo)) return { ms: NaN, naive: false, error: `day ${d} does not exist in ${y}-${String(mo).padStart(2, '0')}` };
  if (hour > 23 || minute > 59 || second > 59) return { ms: NaN, naive: false, error: 'time of day out of range' };
  const millis = frac === undefined ? 0 : Math.round(Number(`0.${frac}`) * 1000);
  const local = Date.UTC(y, mo - 1, d, hour, minute, second, millis);
  if (off !== undefined) return { ms: local - offsetMs(off), naive: false };
  return { ms: zone.localToUtc(local), naive: true };
}

/** Parse one timestamp. Never throws: returns ms = NaN with an error text when unreadable. */
export function parseTimestamp(text: string, zone: TimeZone): ParsedTime {
  const s = text.trim();
  let m = ISO.exec(s);
  if (m) return build(Number(m[1]), Number(m[2]), Number(m[3]), m[4], m[5], m[6], m[7], m[8], zone);
  m = DMY.exec(s);
  if (m) {
    const first = Number(m[1]);
    const second = Number(m[2]);
    if (second > 12 && first <= 12) {
      return { ms: NaN, naive: false, error: `"${s}" looks like month/day/year; timestamps are read as day/month/year` };
    }
    return build(Number(m[3]), second, first, m[4], m[5], m[6], m[7], m[8], zone);
  }
  m = EPOCH.exec(s);
  if (m) {
    if (m[3]) return { ms: Number(m[3]), naive: false };
    return { ms: Number(m[1]) * 1000 + (m[2] ? Math.round(Number(`0.${m[2]}`) * 1000) : 0), naive: false };
  }
  return {
    ms: NaN,
    naive: false,
    error: `cannot read "${s}" as a timestamp (use ISO 8601 like 2024-03-01T10:00:00Z, or dd/mm/yyyy hh:mm[:ss])`,
  };
}

/** A column value that is a time of day ("10:30", "10:30:15", "10h30"), for split date + time columns. */
export function isTimeOfDay(s: string): boolean {
  return /^\d{1,2}[:h]\d{2}(?::\d{2}(?:[.,]\d+)?)?$/.test(s.trim());
}

/** True when a header text is itself a timestamp (wide files with one column per time step). */
export function headerIsTimestamp(h: string): boolean {
  const s = h.trim();
  if (EPOCH.test(s)) return false; // a bare number header is more likely a sensor id
  return !Number.isNaN(parseTimestamp(s, parseTimeZone('UTC')).ms);
}
