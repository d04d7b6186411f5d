// Reading a text file as a stream of decoded chunks made of whole lines, so that a 1 GB file never sits
// in memory. UTF-8 lines that are not valid UTF-8 (a file edited with mixed tools) are decoded as
// Windows-1252 and counted, so the import can warn about them.

import fs from 'node:fs';
import { CancelledError } from '../../domain/run.ts';
import type { Encoding } from './sniff.ts';

export interface TextChunk {
  text: string;
  /** Bytes of the file consumed so far (for progress). */
  bytesRead: number;
}

export interface DecodeStats {
  /** 1-based line numbers (of the physical file) decoded as Windows-1252; first few only. */
  fallbackLines: number[];
  fallbackCount: number;
}

const CHUNK = 1 << 20;
const NL = 0x0a;

/** Decoded chunks of whole lines. The last chunk may lack a final newline. */
export async function* readTextChunks(
  file: string,
  encoding: Encoding,
  bom: number,
  stats: DecodeStats,
  signal?: AbortSignal,
): AsyncGenerator<TextChunk> {
  const stream = fs.createReadStream(file, { start: bom, highWaterMark: CHUNK });
  let bytesRead = bom;
  try {
    if (encoding === 'utf-16le' || encoding === 'utf-16be') {
      const dec = new TextDecoder(encoding);
      let carry = '';
      for await (const buf of stream as AsyncIterable<Buffer>) {
        if (signal?.aborted) throw new CancelledError();
        bytesRead += buf.length;
        const text = carry + dec.decode(buf, { stream: true });
        const cut = text.lastIndexOf('\n');
        if (cut < 0) {
          carry = text;
          continue;
        }
        carry = text.slice(cut + 1);
        yield { text: text.slice(0, cut + 1), bytesRead };
      }
      const rest = carry + dec.decode();
      if (rest.length) yield { text: rest, bytesRead };
      return;
    }
    const strict = new TextDecoder('utf-8', { fatal: true });
    const latin = new TextDecoder('windows-1252');
    const loose = encoding === 'windows-1252';
    let carry: Buffer | null = null;
    let line = 1;
    const decode = (bytes: Buffer): string => {
      if (loose) return latin.decode(bytes);
      try {
        return strict.decode(bytes);
      } catch {
        // mixed encodings: decode line by line, falling back to Windows-1252 where UTF-8 fails
        const parts: string[] = [];
        let start = 0;
        let ln = line;
        for (let i = 0; i <= bytes.length; i++) {
          if (i === bytes.length || bytes[i] === NL) {
            const seg = bytes.subarray(start, Math.min(i + 1, bytes.length));
            try {
              parts.push(strict.decode(seg));
            } catch {
              parts.push(latin.decode(seg));
              stats.fallbackCount++;
              if (stats.fallbackLines.length < 5) stats.fallbackLines.push(ln);
            }
            start = i + 1;
            ln++;
          }
        }
        return parts.join('');
      }
    };
    const countLines = (b: Buffer) => {
      let n = 0;
      for (let i = b.indexOf(NL); i >= 0; i = b.indexOf(NL, i + 1)) n++;
      return n;
    };
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) throw new CancelledError();
      bytesRead += chunk.length;
      const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      const cut = buf.lastIndexOf(NL);
      if (cut < 0) {
        carry = buf;
        continue;
      }
      const whole = buf.subarray(0, cut + 1);
      carry = Buffer.from(buf.subarray(cut + 1));
      const text = decode(whole);
      if (!loose) line += countLines(whole);
      yield { text, bytesRead };
    }
    if (carry && carry.length) yield { text: decode(carry), bytesRead };
  } finally {
    stream.destroy();
  }
}
