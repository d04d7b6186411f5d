// Sniffing a text file before parsing: is it text at all (binary garbage is refused), which encoding
// (UTF-8, UTF-16 with BOM, or Windows-1252 as the fallback for legacy European exports), which field
// delimiter, and whether numbers use a decimal comma.

export type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export interface TextSniff {
  encoding: Encoding;
  /** Bytes of byte-order mark to skip. */
  bom: number;
  /** Set when the sample is not text. */
  binary: string | null;
}

/** How many bytes of the head are examined. */
export const SNIFF_BYTES = 64 * 1024;

export function sniffText(head: Uint8Array): TextSniff {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bom: 3, binary: null };
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bom: 2, binary: null };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bom: 2, binary: null };
  let nul = 0;
  let control = 0;
  for (let i = 0; i < head.length; i++) {
    const b = head[i];
    if (b === 0) nul++;
    else if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) control++;
  }
  if (nul > 0) return { encoding: 'utf-8', bom: 0, binary: `binary data (${nul} NUL bytes in the first ${head.length} bytes): not a CSV, TSV or GeoJSON text file` };
  if (control > Math.max(2, head.length * 0.01)) {
    return { encoding: 'utf-8', bom: 0, binary: `binary data (${control} control characters in the first ${head.length} bytes): not a text file` };
  }
  // cut a possibly split multi-byte character at the end of the sample before validating
  let end = head.length;
  for (let k = 0; k < 3 && end > 0 && (head[end - 1] & 0xc0) === 0x80; k++) end--;
  if (end > 0 && head[end - 1] >= 0xc0) end--;
  const sample = head.subarray(0, end);
  if (isUtf8(sample)) return { encoding: 'utf-8', bom: 0, binary: null };
  // not UTF-8: count the lines that are not; many invalid lines = a legacy 8-bit file, else mixed
  return { encoding: invalidUtf8Ratio(sample) > 0.5 ? 'windows-1252' : 'utf-8', bom: 0, binary: null };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Share of non-ASCII lines that are not valid UTF-8. */
function invalidUtf8Ratio(bytes: Uint8Array): number {
  let start = 0;
  let nonAscii = 0;
  let invalid = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      const line = bytes.subarray(start, i);
      if (line.some((b) => b >= 0x80)) {
        nonAscii++;
        if (!isUtf8(line)) invalid++;
      }
      start = i + 1;
    }
  }
  return nonAscii === 0 ? 0 : invalid / nonAscii;
}

const CANDIDATES = [',', ';', '\t', '|'];

/** Count delimiter occurrences outside double quotes. */
function countOutsideQuotes(line: string, d: string): number {
  let n = 0;
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') q = !q;
    else if (!q && c === d) n++;
  }
  return n;
}

/**
 * The delimiter that splits the first lines into the same number (> 0) of fields most consistently.
 * Ties prefer ";" and tab over ",", because a decimal comma inflates the comma count.
 */
export function sniffDelimiter(lines: string[]): string {
  const sample = lines.filter((l) => l.trim() !== '').slice(0, 50);
  if (sample.length === 0) return ',';
  let best = ',';
  let bestScore = -1;
  for (const d of CANDIDATES) {
    const counts = sample.map((l) => countOutsideQuotes(l, d));
    const header = counts[0];
    if (header === 0) continue;
    const consistent = counts.filter((c) => c === header).length / counts.length;
    // consistency first, then the number of fields
    const score = consistent * 1000 + Math.min(header, 999) * (d === ',' ? 0.5 : 1);
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Decimal comma: some numeric-looking cells are "12,5" and none is "12.5". Only possible when the
 * delimiter is not a comma (or the cells are quoted).
 */
export function sniffDecimalComma(rows: string[][]): boolean {
  let comma = 0;
  let dot = 0;
  for (const r of rows) {
    for (const cell of r) {
      const s = cell.trim();
      if (/^[+-]?\d+,\d+$/.test(s)) comma++;
      else if (/^[+-]?\d*\.\d+(?:[eE][+-]?\d+)?$/.test(s)) dot++;
    }
  }
  return comma > 0 && dot === 0;
}
