// The project store: one SQLite file (WAL mode) per project, via better-sqlite3. Schema and migrations
// live in migrations.ts. Everything the engine asks of a project goes through the ProjectStore
// interface (types.ts); this file is its only implementation.
//
// Duplicate rule for readings: a reading is identified by (sensor, time, band). Under the 'replace'
// policy (default) a reading for an existing key overwrites its value and quality flag; under 'keep' the
// stored reading stays and the new one is counted as skipped. Rows of one import are applied in file
// order, so a key repeated inside a file ends up with its last value ('replace') or its first ('keep').

import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Bounds, ExposureMap, Grid, Reading, ReferenceMap, RunRecord, Selection, Sensor, Timings } from '../domain/types.ts';
import { UserError } from '../domain/errors.ts';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './migrations.ts';
import type { DuplicatePolicy, ImportRecord, ProjectCounts, ProjectMeta, ProjectStore, ReadingQuery } from './types.ts';

export interface ProjectInit {
  name: string;
  /** Project CRS; '' = not chosen yet (the first import picks a local transverse Mercator). */
  crs: string;
  description?: string;
  synthetic?: boolean;
  aoi?: Bounds | null;
}

const SQLITE_MAGIC = 'SQLite format 3\0';

/** Create a new project file. Refuses when the file exists. */
export function createProject(file: string, init: ProjectInit): ProjectStore {
  const p = path.resolve(file);
  if (fs.existsSync(p)) throw new UserError(`${p} already exists: open it, or choose another file name`);
  const dir = path.dirname(p);
  if (!fs.existsSync(dir)) throw new UserError(`cannot create ${p}: folder ${dir} does not exist`);
  let db: Database.Database | null = null;
  try {
    db = new Database(p);
    configure(db);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(db, 0, p);
    const now = Date.now();
    const put = db.prepare('INSERT INTO meta(key, value) VALUES (?, ?)');
    db.transaction(() => {
      put.run('name', init.name);
      put.run('crs', init.crs);
      put.run('aoi', JSON.stringify(init.aoi ?? null));
      put.run('description', init.description ?? '');
      put.run('synthetic', init.synthetic ? '1' : '0');
      put.run('created_at', String(now));
    })();
    return new SqliteProject(p, db);
  } catch (e) {
    // never leave a half-made project behind
    if (db?.open) db.close();
    for (const f of [p, `${p}-wal`, `${p}-shm`]) fs.rmSync(f, { force: true });
    throw e;
  }
}

/** Open an existing project, migrating an older schema. Refuses missing, foreign or newer files. */
export function openProject(file: string): ProjectStore {
  const p = path.resolve(file);
  if (!fs.existsSync(p)) throw new UserError(`no project at ${p} (create one with: emfmap init --project ${file})`);
  if (!fs.statSync(p).isFile()) throw new UserError(`${p} is not a file`);
  const head = Buffer.alloc(16);
  const fd = fs.openSync(p, 'r');
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, 16, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (n < 16 || head.toString('latin1') !== SQLITE_MAGIC) {
    throw new UserError(`${p} is not an emfmap project (not an SQLite database)`);
  }
  const db = new Database(p, { fileMustExist: true });
  try {
    const appId = db.pragma('application_id', { simple: true }) as number;
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
    if (appId !== APPLICATION_ID || !hasMeta) {
      throw new UserError(`${p} is an SQLite database but not an emfmap project`);
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new UserError(
        `${p} was written by a newer emfmap (project schema ${version}; this version reads up to ${SCHEMA_VERSION}): update emfmap to open it`,
      );
    }
    configure(db);
    if (version < SCHEMA_VERSION) migrate(db, version, p);
    return new SqliteProject(p, db);
  } catch (e) {
    if (db.open) db.close();
    if (e instanceof Database.SqliteError && /not a database|malformed/i.test(e.message)) {
      throw new UserError(`${p} is not an emfmap project (${e.message})`);
    }
    throw e;
  }
}

function configure(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // 64 MB page cache: keeps the readings indexes in memory during a large import
  db.pragma('cache_size = -65536');
}

/** Apply every migration above `from`, all in one transaction (a failed migration changes nothing). */
function migrate(db: Database.Database, from: number, file: string): void {
  const todo = MIGRATIONS.filter((m) => m.version > from);
  try {
    db.transaction(() => {
      for (const m of todo) {
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      }
    })();
  } catch (e) {
    throw new Error(`migrating ${file} from schema ${from} to ${SCHEMA_VERSION} failed (file left unchanged): ${(e as Error).message}`);
  }
}

// ------------------------------------------------------------------------------------------ helpers

type Row = Record<string, unknown>;

function f32Blob(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function blobF32(b: Buffer): Float32Array {
  // copy: the Buffer may not be 4-byte aligned inside its pool
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}

function json<T>(s: unknown, fallback: T): T {
  if (typeof s !== 'string' || s === '') return fallback;
  return JSON.parse(s) as T;
}

const toBand = (b: string | null | undefined): string => b ?? '';
const fromBand = (b: string): string | null => (b === '' ? null : b);

// ------------------------------------------------------------------------------------------ the store

class SqliteProject implements ProjectStore {
  private readonly als = new AsyncLocalStorage<object>();
  private longTx: object | null = null;
  private sidCache: Map<string, number> | null = null;
  private readonly batchStmts = new Map<string, Database.Statement>();
  private readonly stmts: Record<string, Database.Statement>;

  constructor(
    readonly path: string,
    private readonly db: Database.Database,
  ) {
    this.stmts = {
      sensorById: db.prepare('SELECT sid FROM sensors WHERE id = ?'),
      insertSensor: db.prepare(
        'INSERT INTO sensors(id, name, lat, lon, x, y, height, meta) VALUES (@id, @name, @lat, @lon, @x, @y, @height, @meta)',
      ),
      updateSensor: db.prepare(
        'UPDATE sensors SET name = @name, lat = @lat, lon = @lon, x = @x, y = @y, height = @height, meta = @meta WHERE id = @id',
      ),
    };
  }

  // -------------------------------------------------------------------------------- transactions

  /** Writes from outside a running asyncTransaction would silently join it: refuse them instead. */
  private assertWritable(): void {
    if (this.longTx !== null && this.als.getStore() !== this.longTx) {
      throw new UserError('the project is busy with an import: try again when it has finished');
    }
  }

  transaction<T>(fn: () => T): T {
    this.assertWritable();
    return this.db.transaction(fn)();
  }

  async asyncTransaction<T>(fn: () => Promise<T>): Promise<T> {
    this.assertWritable();
    if (this.db.inTransaction) throw new Error('asyncTransaction cannot be nested in another transaction');
    const token = {};
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      if (e instanceof Database.SqliteError && e.code.startsWith('SQLITE_BUSY')) {
        throw new UserError(`${this.path} is being written by another program (another emfmap?): try again when it has finished`);
      }
      throw e;
    }
    this.longTx = token;
    let ok = false;
    try {
      const result = await this.als.run(token, fn);
      this.db.exec('COMMIT');
      ok = true;
      return result;
    } finally {
      if (!ok) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        this.sidCache = null;
      }
      this.longTx = null;
      // a long import leaves a large write-ahead log; fold it back into the file
      if (ok && this.db.open) this.db.pragma('wal_checkpoint(TRUNCATE)');
    }
  }

  // -------------------------------------------------------------------------------- metadata

  meta(): ProjectMeta {
    const rows = this.db.prepare('SELECT key, value FROM meta').all() as Array<{ key: string; value: string }>;
    const m = new Map(rows.map((r) => [r.key, r.value]));
    return {
      name: m.get('name') ?? '',
      crs: m.get('crs') ?? '',
      aoi: json<Bounds | null>(m.get('aoi'), null),
      description: m.get('description') ?? '',
      synthetic: m.get('synthetic') === '1',
      createdAt: Number(m.get('created_at') ?? 0),
      schemaVersion: this.db.pragma('user_version', { simple: true }) as number,
    };
  }

  updateMeta(patch: Partial<Pick<ProjectMeta, 'name' | 'crs' | 'aoi' | 'description' | 'synthetic'>>): void {
    this.assertWritable();
    const put = this.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.db.transaction(() => {
      if (patch.name !== undefined) put.run('name', patch.name);
      if (patch.crs !== undefined) put.run('crs', patch.crs);
      if (patch.aoi !== undefined) put.run('aoi', JSON.stringify(patch.aoi));
      if (patch.description !== undefined) put.run('description', patch.description);
      if (patch.synthetic !== undefined) put.run('synthetic', patch.synthetic ? '1' : '0');
    })();
  }

  counts(): ProjectCounts {
    const one = (sql: string) => this.db.prepare(sql).pluck().get() as number;
    const span = this.db.prepare('SELECT min(time) AS a, max(time) AS b FROM readings').get() as { a: number | null; b: number | null };
    return {
      sensors: one('SELECT count(*) FROM sensors'),
      readings: one('SELECT count(*) FROM readings'),
      runs: one('SELECT count(*) FROM runs'),
      imports: one('SELECT count(*) FROM imports'),
      timeFrom: span.a,
      timeTo: span.b,
      hasReferenceMap: one('SELECT count(*) FROM reference_maps') > 0,
    };
  }

  // -------------------------------------------------------------------------------- sensors

  upsertSensors(sensors: Sensor[]): { added: number; updated: number } {
    this.assertWritable();
    let added = 0;
    let updated = 0;
    const run = () => {
      for (const s of sensors) {
        const row = {
          id: s.id,
          name: s.name,
          lat: Number.isFinite(s.lat) ? s.lat : null,
          lon: Number.isFinite(s.lon) ? s.lon : null,
          x: s.x,
          y: s.y,
          height: s.height ?? null,
          meta: JSON.stringify(s.meta ?? {}),
        };
        if (!Number.isFinite(s.x) || !Number.isFinite(s.y)) throw new UserError(`sensor ${s.id}: position x/y is not a finite number`);
        if (this.stmts.sensorById.get(s.id) === undefined) {
          this.stmts.insertSensor.run(row);
          added++;
        } else {
          this.stmts.updateSensor.run(row);
          updated++;
        }
      }
    };
    if (this.db.inTransaction) run();
    else this.db.transaction(run)();
    this.sidCache = null;
    return { added, updated };
  }

  sensors(): Sensor[] {
    const rows = this.db.prepare('SELECT id, name, lat, lon, x, y, height, meta FROM sensors ORDER BY id').all() as Row[];
    return rows.map((r) => ({
      id: r.id as string,
      name: r.name as string,
      lat: r.lat === null ? NaN : (r.lat as number),
      lon: r.lon === null ? NaN : (r.lon as number),
      x: r.x as number,
      y: r.y as number,
      height: r.height as number | null,
      meta: json<Record<string, unknown>>(r.meta, {}),
    }));
  }

  sensorStats(): Array<{ id: string; readings: number; latest: number | null; latestTime: number | null }> {
    const counts = this.db.prepare('SELECT sensor, count(*) AS n FROM readings GROUP BY sensor').raw().all() as Array<[number, number]>;
    // SQLite returns the bare column `value` from the row holding max(time)
    const latest = this.hasBandReadings({})
      ? // per-band readings: the latest time of any reading, its total-field reading or else its bands combined
        (this.db
          .prepare(
            `WITH m AS (SELECT sensor, max(time) AS t FROM readings GROUP BY sensor)
             SELECT m.sensor, m.t, coalesce(
               (SELECT x.value FROM readings x WHERE x.sensor = m.sensor AND x.band = '' AND x.time IS m.t),
               (SELECT sqrt(sum(y.value * y.value)) FROM readings y WHERE y.sensor = m.sensor AND y.band <> '' AND y.time IS m.t))
             FROM m`,
          )
          .raw()
          .all() as Array<[number, number | null, number]>)
      : (this.db
          .prepare("SELECT sensor, max(time) AS t, value FROM readings WHERE band = '' GROUP BY sensor")
          .raw()
          .all() as Array<[number, number | null, number]>);
    const n = new Map(counts.map(([s, c]) => [s, c]));
    const l = new Map(latest.map(([s, t, v]) => [s, { t, v }]));
    const sensors = this.db.prepare('SELECT sid, id FROM sensors ORDER BY id').raw().all() as Array<[number, string]>;
    return sensors.map(([sid, id]) => ({
      id,
      readings: n.get(sid) ?? 0,
      latest: l.get(sid)?.v ?? null,
      latestTime: l.get(sid)?.t ?? null,
    }));
  }

  private sids(): Map<string, number> {
    if (!this.sidCache) {
      const rows = this.db.prepare('SELECT id, sid FROM sensors').raw().all() as Array<[string, number]>;
      this.sidCache = new Map(rows);
    }
    return this.sidCache;
  }

  // -------------------------------------------------------------------------------- readings

  /** Multi-row INSERT for `rows` readings under a policy (cached by size). */
  private batchInsert(rows: number, policy: DuplicatePolicy): Database.Statement {
    const key = `${policy}:${rows}`;
    let st = this.batchStmts.get(key);
    if (!st) {
      const values = Array(rows).fill('(?, ?, ?, ?, ?)').join(', ');
      st = this.db.prepare(
        policy === 'keep'
          ? `INSERT OR IGNORE INTO readings(sensor, time, value, band, quality) VALUES ${values}`
          : // no conflict target: applies to both unique keys (timed and snapshot readings)
            `INSERT INTO readings(sensor, time, value, band, quality) VALUES ${values} ON CONFLICT DO UPDATE SET value = excluded.value, quality = excluded.quality`,
      );
      this.batchStmts.set(key, st);
    }
    return st;
  }

  insertReadings(readings: Iterable<Reading>, policy: DuplicatePolicy): { added: number; replaced: number; skipped: number } {
    this.assertWritable();
    if (policy !== 'replace' && policy !== 'keep') throw new UserError(`unknown duplicate policy "${policy}" (use replace or keep)`);
    const sids = this.sids();
    const maxRowid = this.db.prepare('SELECT max(rowid) FROM readings').pluck();
    let total = 0;
    let added = 0;
    // Rows go in batches of BATCH per statement (far fewer calls into SQLite). A new row always gets
    // rowid max+1 and a replaced one keeps its row, so the rowid high-water mark counts the additions.
    const BATCH = 200;
    const args: unknown[] = new Array(BATCH * 5);
    const flush = (n: number) => {
      if (n === 0) return;
      const before = (maxRowid.get() as number | null) ?? 0;
      this.batchInsert(n, policy).run(n === BATCH ? args : args.slice(0, n * 5));
      added += ((maxRowid.get() as number | null) ?? 0) - before;
      total += n;
    };
    const run = () => {
      let k = 0;
      for (const r of readings) {
        const sid = sids.get(r.sensorId);
        if (sid === undefined) throw new UserError(`reading for unknown sensor "${r.sensorId}": import the sensor first`);
        const o = k * 5;
        args[o] = sid;
        args[o + 1] = r.time;
        args[o + 2] = r.value;
        args[o + 3] = toBand(r.band);
        args[o + 4] = r.quality;
        if (++k === BATCH) {
          flush(k);
          k = 0;
        }
      }
      flush(k);
    };
    if (this.db.inTransaction) run();
    else this.db.transaction(run)();
    return policy === 'replace' ? { added, replaced: total - added, skipped: 0 } : { added, replaced: 0, skipped: total - added };
  }

  /** WHERE clause and parameters for a reading query (alias r = readings). */
  private where(q: ReadingQuery): { sql: string; params: unknown[] } {
    const parts: string[] = [];
    const params: unknown[] = [];
    if (q.sensorIds && q.sensorIds.length > 0) {
      parts.push('r.sensor IN (SELECT sid FROM sensors WHERE id IN (SELECT value FROM json_each(?)))');
      params.push(JSON.stringify(q.sensorIds));
    }
    if (q.from !== undefined && q.from !== null) {
      parts.push('r.time >= ?');
      params.push(q.from);
    }
    if (q.to !== undefined && q.to !== null) {
      parts.push('r.time < ?');
      params.push(q.to);
    }
    if (q.band !== undefined) {
      parts.push('r.band = ?');
      params.push(toBand(q.band));
    }
    if (q.quality !== undefined && q.quality !== 'all') {
      if (q.quality !== 'good') throw new UserError(`unknown quality selection "${String(q.quality)}" (use good or all)`);
      parts.push('r.quality = 0');
    }
    return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
  }

  /** True when some per-band reading lies in q's window and sensors (a probe of the partial index readings_bands). */
  private hasBandReadings(q: ReadingQuery): boolean {
    const w = this.where({ sensorIds: q.sensorIds, from: q.from, to: q.to });
    const cond = w.sql ? `${w.sql} AND r.band <> ''` : "WHERE r.band <> ''";
    return this.db.prepare(`SELECT 1 FROM readings r INDEXED BY readings_bands ${cond} LIMIT 1`).get(...w.params) !== undefined;
  }

  /**
   * The total field as rows (sensor, time, value) when q asks for band-combined totals and the window holds
   * per-band readings; null when the plain query on band '' gives the same answer (the fast path).
   * Stored totals come first; then, per (sensor, time) without a (good, under quality 'good') stored
   * total, √(Σ E_band²) over its bands — left out when one of them is flagged under 'good'. The bands are
   * grouped in the order of the partial index (time, sensor), so no sort; the stored-total probe runs
   * once per group, not per band.
   */
  private combinedTotals(q: ReadingQuery): { sql: string; params: unknown[] } | null {
    if (!q.combineBands || q.band !== null || !this.hasBandReadings(q)) return null;
    const good = q.quality === 'good';
    const total = this.where({ ...q, band: null });
    const window = this.where({ sensorIds: q.sensorIds, from: q.from, to: q.to });
    const bandCond = window.sql ? `${window.sql} AND r.band <> ''` : "WHERE r.band <> ''";
    const sql = `
      SELECT r.sensor AS sensor, r.time AS time, r.value AS value FROM readings r ${this.scanHint(q)} ${total.sql}
      UNION ALL
      SELECT g.sensor, g.time, sqrt(g.ss) FROM (
        SELECT r.time AS time, r.sensor AS sensor, sum(r.value * r.value) AS ss, sum(r.quality <> 0) AS flagged
          FROM readings r INDEXED BY readings_bands ${bandCond}
          GROUP BY r.time, r.sensor
      ) g
      WHERE ${good ? 'g.flagged = 0 AND ' : ''}NOT EXISTS (SELECT 1 FROM readings t WHERE t.sensor = g.sensor AND t.band = '' AND t.time IS g.time${good ? ' AND t.quality = 0' : ''})`;
    return { sql, params: [...total.params, ...window.params] };
  }

  /**
   * "NOT INDEXED" when a query without a sensor filter spans most of the stored time range: a plain table
   * scan then beats walking an index and fetching every row through it (measured ~1.7× on 1M readings).
   */
  private scanHint(q: ReadingQuery): string {
    if (q.sensorIds && q.sensorIds.length > 0) return '';
    if ((q.from ?? null) === null && (q.to ?? null) === null) return 'NOT INDEXED';
    // two statements: SQLite answers a lone min() or max() from the time index, but min() and max() together scan the table
    const span = [
      this.db.prepare('SELECT min(time) FROM readings').pluck().get() as number | null,
      this.db.prepare('SELECT max(time) FROM readings').pluck().get() as number | null,
    ];
    if (span[0] === null || span[1] === null) return '';
    const lo = Math.max(q.from ?? -Infinity, span[0]);
    const hi = Math.min(q.to ?? Infinity, span[1] + 1);
    return (hi - lo) / (span[1] + 1 - span[0]) > 0.25 ? 'NOT INDEXED' : '';
  }

  readings(q: ReadingQuery = {}): Reading[] {
    const w = this.where(q);
    const limit = q.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(q.limit))}` : '';
    const rows = this.db
      .prepare(
        `SELECT s.id, r.time, r.value, r.band, r.quality FROM readings r JOIN sensors s ON s.sid = r.sensor ${w.sql} ORDER BY r.time, s.id, r.band${limit}`,
      )
      .raw()
      .all(...w.params) as Array<[string, number | null, number, string, number]>;
    return rows.map(([sensorId, time, value, band, quality]) => ({ sensorId, time, value, band: fromBand(band), quality }));
  }

  scanReadings(q: ReadingQuery, fn: (sensorId: string, time: number | null, value: number) => void): void {
    const combined = this.combinedTotals(q);
    const w = combined ?? this.where(q);
    const idOf = new Map<number, string>();
    for (const [id, sid] of this.sids()) idOf.set(sid, id);
    const sql = combined ? `SELECT c.sensor, c.time, c.value FROM (${combined.sql}) c` : `SELECT r.sensor, r.time, r.value FROM readings r ${this.scanHint(q)} ${w.sql}`;
    const it = this.db
      .prepare(sql)
      .raw()
      .iterate(...w.params) as IterableIterator<[number, number | null, number]>;
    for (const [sid, time, value] of it) fn(idOf.get(sid)!, time, value);
  }

  aggregateReadings(q: ReadingQuery): Array<{ id: string; n: number; mean: number; max: number; last: number }> {
    const combined = this.combinedTotals(q);
    if (combined) return this.aggregateCombined(combined);
    const w = this.where(q);
    const from = `readings r ${this.scanHint(q)} ${w.sql}`;
    const stats = this.db
      .prepare(`SELECT r.sensor, count(*), avg(r.value), max(r.value) FROM ${from} GROUP BY r.sensor`)
      .raw()
      .all(...w.params) as Array<[number, number, number, number]>;
    // the bare column `value` comes from the row holding the max(); snapshots (time NULL) rank oldest
    const last = this.db
      .prepare(`SELECT r.sensor, max(coalesce(r.time, -9223372036854775808)), r.value FROM ${from} GROUP BY r.sensor`)
      .raw()
      .all(...w.params) as Array<[number, number, number]>;
    const lastOf = new Map(last.map(([sid, , v]) => [sid, v]));
    const idOf = new Map<number, string>();
    for (const [id, sid] of this.sids()) idOf.set(sid, id);
    return stats.map(([sid, n, mean, max]) => ({ id: idOf.get(sid)!, n, mean, max, last: lastOf.get(sid)! }));
  }

  /** aggregateReadings over band-combined totals: one pass in JS (the totals are computed once, not per aggregate). */
  private aggregateCombined(c: { sql: string; params: unknown[] }): Array<{ id: string; n: number; mean: number; max: number; last: number }> {
    const acc = new Map<number, { n: number; sum: number; max: number; lastTime: number; last: number }>();
    const it = this.db.prepare(`SELECT c.sensor, c.time, c.value FROM (${c.sql}) c`).raw().iterate(...c.params) as IterableIterator<[number, number | null, number]>;
    for (const [sid, time, value] of it) {
      const t = time ?? -Infinity; // a snapshot ranks oldest, as in the SQL path
      const a = acc.get(sid);
      if (!a) acc.set(sid, { n: 1, sum: value, max: value, lastTime: t, last: value });
      else {
        a.n++;
        a.sum += value;
        if (value > a.max) a.max = value;
        if (t > a.lastTime) {
          a.lastTime = t;
          a.last = value;
        }
      }
    }
    const idOf = new Map<number, string>();
    for (const [id, sid] of this.sids()) idOf.set(sid, id);
    return [...acc].map(([sid, a]) => ({ id: idOf.get(sid)!, n: a.n, mean: a.sum / a.n, max: a.max, last: a.last }));
  }

  readingTimes(q: ReadingQuery = {}): number[] {
    const w = this.where(q);
    const cond = w.sql ? `${w.sql} AND r.time IS NOT NULL` : 'WHERE r.time IS NOT NULL';
    return this.db.prepare(`SELECT DISTINCT r.time FROM readings r ${cond} ORDER BY r.time`).pluck().all(...w.params) as number[];
  }

  // -------------------------------------------------------------------------------- imports

  recordImport(rec: Omit<ImportRecord, 'id'>): number {
    this.assertWritable();
    const info = this.db
      .prepare(
        `INSERT INTO imports(file_name, content_hash, imported_at, sensors_added, readings_added, readings_replaced, readings_skipped, options)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        rec.fileName,
        rec.contentHash,
        rec.importedAt,
        rec.sensorsAdded,
        rec.readingsAdded,
        rec.readingsReplaced,
        rec.readingsSkipped,
        JSON.stringify(rec.options ?? {}),
      );
    return Number(info.lastInsertRowid);
  }

  private importRow(r: Row): ImportRecord {
    return {
      id: r.id as number,
      fileName: r.file_name as string,
      contentHash: r.content_hash as string,
      importedAt: r.imported_at as number,
      sensorsAdded: r.sensors_added as number,
      readingsAdded: r.readings_added as number,
      readingsReplaced: r.readings_replaced as number,
      readingsSkipped: r.readings_skipped as number,
      options: json<Record<string, unknown>>(r.options, {}),
    };
  }

  imports(): ImportRecord[] {
    return (this.db.prepare('SELECT * FROM imports ORDER BY id').all() as Row[]).map((r) => this.importRow(r));
  }

  findImportByHash(hash: string): ImportRecord | null {
    const r = this.db.prepare('SELECT * FROM imports WHERE content_hash = ? ORDER BY id DESC LIMIT 1').get(hash) as Row | undefined;
    return r ? this.importRow(r) : null;
  }

  // -------------------------------------------------------------------------------- reference map

  setReferenceMap(map: ReferenceMap): void {
    this.assertWritable();
    checkRaster(map.grid, map.values, 'reference map');
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM reference_maps').run();
      this.db
        .prepare('INSERT INTO reference_maps(name, grid, vals, synthetic, description, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(map.name, JSON.stringify(map.grid), f32Blob(map.values), map.synthetic ? 1 : 0, map.description, Date.now());
    })();
  }

  referenceMap(): ReferenceMap | null {
    const r = this.db.prepare('SELECT * FROM reference_maps ORDER BY id DESC LIMIT 1').get() as Row | undefined;
    if (!r) return null;
    return {
      name: r.name as string,
      grid: json<Grid>(r.grid, null as unknown as Grid),
      values: blobF32(r.vals as Buffer),
      synthetic: r.synthetic === 1,
      description: r.description as string,
    };
  }

  // -------------------------------------------------------------------------------- runs

  saveRun(run: Omit<RunRecord, 'id' | 'createdAt' | 'steps'>, maps: ExposureMap[]): number {
    this.assertWritable();
    for (const m of maps) {
      checkRaster(run.grid, m.values, 'run map');
      if (m.variance) checkRaster(run.grid, m.variance, 'run variance map');
    }
    return this.db.transaction(() => {
      const info = this.db
        .prepare(
          `INSERT INTO runs(created_at, method, params, grid, selection, backend, timings, metrics, diagnostics, label)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          Date.now(),
          run.method,
          JSON.stringify(run.params),
          JSON.stringify(run.grid),
          JSON.stringify(run.selection),
          run.backend,
          JSON.stringify(run.timings),
          JSON.stringify(run.metrics ?? {}),
          JSON.stringify(run.diagnostics ?? {}),
          run.label ?? '',
        );
      const id = Number(info.lastInsertRowid);
      const put = this.db.prepare(
        'INSERT INTO run_maps(run_id, step, time, vals, variance, timings, diagnostics) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      maps.forEach((m, step) =>
        put.run(
          id,
          step,
          m.time ?? null,
          f32Blob(m.values),
          m.variance ? f32Blob(m.variance) : null,
          JSON.stringify(m.timings ?? {}),
          JSON.stringify(m.diagnostics ?? {}),
        ),
      );
      return id;
    })();
  }

  private runRow(r: Row): RunRecord {
    return {
      id: r.id as number,
      createdAt: r.created_at as number,
      method: r.method as string,
      params: json(r.params, {}),
      grid: json<Grid>(r.grid, null as unknown as Grid),
      selection: json<Selection>(r.selection, { agg: 'mean' }),
      backend: r.backend as string,
      timings: json<Timings>(r.timings, { fit: 0, predict: 0, total: 0 }),
      metrics: json(r.metrics, {}),
      diagnostics: json(r.diagnostics, {}),
      steps: r.steps as number,
      label: r.label as string,
    };
  }

  runs(): RunRecord[] {
    const rows = this.db
      .prepare('SELECT r.*, (SELECT count(*) FROM run_maps m WHERE m.run_id = r.id) AS steps FROM runs r ORDER BY r.id')
      .all() as Row[];
    return rows.map((r) => this.runRow(r));
  }

  run(id: number): RunRecord | null {
    const r = this.db
      .prepare('SELECT r.*, (SELECT count(*) FROM run_maps m WHERE m.run_id = r.id) AS steps FROM runs r WHERE r.id = ?')
      .get(id) as Row | undefined;
    return r ? this.runRow(r) : null;
  }

  runMaps(id: number, step?: number): ExposureMap[] {
    const run = this.run(id);
    if (!run) throw new UserError(`no run ${id} in this project`);
    const rows = (
      step === undefined
        ? this.db.prepare('SELECT * FROM run_maps WHERE run_id = ? ORDER BY step').all(id)
        : this.db.prepare('SELECT * FROM run_maps WHERE run_id = ? AND step = ?').all(id, step)
    ) as Row[];
    if (step !== undefined && rows.length === 0) throw new UserError(`run ${id} has no step ${step} (it has ${run.steps})`);
    return rows.map((r) => {
      const m: ExposureMap = {
        grid: run.grid,
        values: blobF32(r.vals as Buffer),
        method: run.method,
        params: run.params,
        backend: run.backend,
        timings: json<Timings>(r.timings, run.timings),
        diagnostics: json(r.diagnostics, {}),
        time: r.time as number | null,
      };
      if (r.variance) m.variance = blobF32(r.variance as Buffer);
      return m;
    });
  }

  deleteRun(id: number): void {
    this.assertWritable();
    const n = this.db.prepare('DELETE FROM runs WHERE id = ?').run(id).changes;
    if (n === 0) throw new UserError(`no run ${id} in this project`);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function checkRaster(grid: Grid, values: Float32Array, what: string): void {
  if (!(values instanceof Float32Array)) throw new Error(`${what}: values must be a Float32Array`);
  if (values.length !== grid.width * grid.height) {
    throw new Error(`${what}: ${values.length} values for a ${grid.width}×${grid.height} grid`);
  }
}
