// Atomic export writes: every file of an export is first written (and fsynced) to a temporary file in
// its target directory, then all are renamed into place. A failure or cancellation before the renames
// removes the temporaries, so a failed export leaves the directory as it was. A rename within one
// directory is atomic, so readers never see a half-written file.

import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../domain/errors.ts';
import { throwIfCancelled } from '../../domain/run.ts';

export interface OutFile {
  path: string;
  data: Uint8Array | string;
}

/**
 * Check that `file` can be created: its directory exists and is writable, and the path is not a
 * directory. Throws a UserError naming the problem; writes nothing.
 */
export function checkWritableTarget(file: string): void {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UserError(`cannot write ${file}: directory ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new UserError(`cannot write ${file}: ${dir} is not a directory`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new UserError(`cannot write ${file}: directory ${dir} is not writable`);
  }
  try {
    if (fs.statSync(abs).isDirectory()) throw new UserError(`cannot write ${file}: it is a directory`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    // does not exist yet: fine
  }
}

function tempName(target: string): string {
  const rnd = Math.random().toString(36).slice(2, 10);
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${rnd}.tmp`);
}

/** Write all files atomically (see above). Returns the total number of bytes written. */
export function writeFilesAtomically(files: OutFile[], signal?: AbortSignal): number {
  const seen = new Set<string>();
  for (const f of files) {
    const abs = path.resolve(f.path);
    if (seen.has(abs)) throw new Error(`export wrote ${f.path} twice`);
    seen.add(abs);
    checkWritableTarget(abs);
  }
  const temps: Array<{ tmp: string; target: string }> = [];
  let bytes = 0;
  try {
    for (const f of files) {
      throwIfCancelled(signal);
      const target = path.resolve(f.path);
      const tmp = tempName(target);
      temps.push({ tmp, target });
      const data = typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : f.data;
      const fd = fs.openSync(tmp, 'wx', 0o644);
      try {
        let off = 0;
        while (off < data.byteLength) off += fs.writeSync(fd, data, off, data.byteLength - off);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      bytes += data.byteLength;
    }
    throwIfCancelled(signal);
  } catch (e) {
    for (const t of temps) fs.rmSync(t.tmp, { force: true });
    if (e instanceof Error && 'code' in e && typeof (e as NodeJS.ErrnoException).code === 'string') {
      const err = e as NodeJS.ErrnoException;
      throw new UserError(`cannot write ${temps.at(-1)?.target ?? 'export'}: ${err.code === 'ENOSPC' ? 'disk full' : err.message}`);
    }
    throw e;
  }
  // all data is on disk: move into place
  for (let i = 0; i < temps.length; i++) {
    try {
      fs.renameSync(temps[i].tmp, temps[i].target);
    } catch (e) {
      for (const t of temps.slice(i)) fs.rmSync(t.tmp, { force: true });
      throw new UserError(`cannot write ${temps[i].target}: ${(e as Error).message}`);
    }
  }
  return bytes;
}
