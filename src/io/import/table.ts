// Delimited text (CSV / TSV / semicolon) read as a stream of rows with papaparse, one chunk of whole
// lines at a time, keeping the physical line number of every row for error messages. Quoted fields may
// contain delimiters and newlines. Lines before the header that start with "#" are skipped, and an Excel
// "sep=;" first line sets the delimiter.

import Papa from 'papaparse';
import { readTextChunks, type DecodeStats } from './text.ts';
import { sniffDecimalComma, sniffDelimiter, type TextSniff } from './sniff.ts';
import { yieldToLoop } from '../../domain/run.ts';

export interface TableHead {
  delimiter: string;
  /** True = "1,5" is read as 1.5. Decided from the first rows (see allowComma). */
  decimalComma: boolean;
  /** No number with a comma or a dot in the first rows: accept a decimal comma when the delimiter allows it. */
  undecidedDecimal: boolean;
  headers: string[];
  headerLine: number;
  /** First data rows, for sniffing and the preview. */
  sample: string[][];
}

export interface TableScan {
  head: TableHead | null;
  rows: number;
  decode: DecodeStats;
}

/**
 * Stream a delimited file. onHead is called once (after sniffing), then onRow for every non-empty data
 * row with its 1-based physical line number.
 */
export async function scanTable(
  file: string,
  text: TextSniff,
  opts: { delimiter?: string; signal?: AbortSignal; onBytes?: (n: number) => void },
  onHead: (head: TableHead) => void,
  onRow: (fields: string[], line: number) => void,
): Promise<TableScan> {
  const decode: DecodeStats = { fallbackLines: [], fallbackCount: 0 };
  let head: TableHead | null = null;
  let delimiter = opts.delimiter ?? '';
  let newline: '\n' | '\r\n' = '\n';
  let line = 1;
  let carry = '';
  let rows = 0;
  let first = true;
  let pendingRows: Array<{ fields: string[]; line: number }> | null = [];

  const emit = (fields: string[], ln: number) => {
    if (fields.length === 1 && fields[0].trim() === '') return; // blank line
    if (!head) {
      if (fields[0].trimStart().startsWith('#')) return; // preamble comment
      head = {
        delimiter,
        decimalComma: false,
        undecidedDecimal: true,
        headers: fields.map((f) => f.trim()),
        headerLine: ln,
        sample: [],
      };
      return;
    }
    if (pendingRows) {
      // hold the first rows back until the decimal separator is sniffed
      pendingRows.push({ fields, line: ln });
      if (pendingRows.length >= 200) flushPending();
      return;
    }
    rows++;
    onRow(fields, ln);
  };
  const flushPending = () => {
    if (!pendingRows) return;
    const held = pendingRows;
    pendingRows = null;
    if (head) {
      head.sample = held.slice(0, 50).map((r) => r.fields);
      const cells = held.map((r) => r.fields);
      head.decimalComma = sniffDecimalComma(cells);
      head.undecidedDecimal = !head.decimalComma && !cells.some((r) => r.some((c) => /^[+-]?\d*\.\d+$/.test(c.trim())));
      onHead(head);
    }
    for (const r of held) {
      rows++;
      onRow(r.fields, r.line);
    }
  };

  const parsePiece = (piece: string) => {
    if (piece.length === 0) {
      line++; // a blank line
      return;
    }
    const res = Papa.parse<string[]>(piece, { delimiter, newline, quoteChar: '"', skipEmptyLines: false, header: false });
    const quoted = piece.indexOf('"') >= 0;
    for (const fields of res.data) {
      emit(fields, line);
      let nl = 1;
      if (quoted) for (const f of fields) for (let i = f.indexOf('\n'); i >= 0; i = f.indexOf('\n', i + 1)) nl++;
      line += nl;
    }
  };

  /** Index of the last newline outside quotes, or -1. */
  const safeCut = (s: string): number => {
    const last = s.lastIndexOf('\n');
    if (last < 0 || s.indexOf('"') < 0) return last;
    let inQuotes = false;
    let cut = -1;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 34) inQuotes = !inQuotes;
      else if (c === 10 && !inQuotes) cut = i;
    }
    return cut;
  };

  for await (const chunk of readTextChunks(file, text.encoding, text.bom, decode, opts.signal)) {
    let s = carry + chunk.text;
    if (first) {
      first = false;
      newline = /\r\n/.test(s.slice(0, 10_000)) ? '\r\n' : '\n';
      const sep = /^sep=(.)\r?\n/i.exec(s);
      if (sep) {
        delimiter = sep[1];
        s = s.slice(sep[0].length);
        line++;
      }
      if (!delimiter) {
        const lines = s.slice(0, 200_000).split('\n', 60).filter((l) => !l.trimStart().startsWith('#'));
        delimiter = sniffDelimiter(lines);
      }
    }
    const cut = safeCut(s);
    if (cut < 0) {
      carry = s;
      continue;
    }
    // parse up to the newline (excluded: a trailing newline would make papaparse emit an empty row)
    const end = newline === '\r\n' && s[cut - 1] === '\r' ? cut - 1 : cut;
    parsePiece(s.slice(0, end));
    carry = s.slice(cut + 1);
    opts.onBytes?.(chunk.bytesRead);
    await yieldToLoop();
  }
  if (carry.replace(/\r?\n$/, '').length) parsePiece(carry.replace(/\r?\n$/, ''));
  flushPending();
  return { head, rows, decode };
}
