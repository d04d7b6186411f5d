// Versioned schema migrations of a project file. `PRAGMA user_version` holds the version a file is at;
// opening a file runs, in one transaction, every migration above it. Never edit a released migration:
// append a new one. A file whose version is above the last entry was written by a newer emfmap and is
// refused (see project.ts).
//
// Conventions: times are epoch milliseconds UTC (INTEGER); JSON columns are TEXT; rasters are
// little-endian float32 BLOBs, row-major, row 0 = north. A reading's band is '' for the total field
// (SQLite UNIQUE treats NULLs as distinct, so null is not usable in the key); a snapshot reading has
// time NULL and is kept unique per (sensor, band) by a partial index.

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'project metadata, sensors, readings, imports',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      CREATE TABLE sensors (
        sid    INTEGER PRIMARY KEY,
        id     TEXT NOT NULL UNIQUE,
        name   TEXT NOT NULL,
        lat    REAL,
        lon    REAL,
        x      REAL NOT NULL,
        y      REAL NOT NULL,
        height REAL,
        meta   TEXT NOT NULL DEFAULT '{}'
      );
      CREATE TABLE readings (
        sensor  INTEGER NOT NULL REFERENCES sensors(sid) ON DELETE CASCADE,
        time    INTEGER,
        value   REAL NOT NULL,
        band    TEXT NOT NULL DEFAULT '',
        quality INTEGER NOT NULL DEFAULT 0
      );
      CREATE UNIQUE INDEX readings_key ON readings(sensor, band, time);
      CREATE UNIQUE INDEX readings_snapshot_key ON readings(sensor, band) WHERE time IS NULL;
      CREATE INDEX readings_time ON readings(time);
      CREATE TABLE imports (
        id                INTEGER PRIMARY KEY,
        file_name         TEXT NOT NULL,
        content_hash      TEXT NOT NULL,
        imported_at       INTEGER NOT NULL,
        sensors_added     INTEGER NOT NULL,
        readings_added    INTEGER NOT NULL,
        readings_replaced INTEGER NOT NULL,
        readings_skipped  INTEGER NOT NULL,
        options           TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX imports_hash ON imports(content_hash);
    `,
  },
  {
    version: 2,
    description: 'runs and their maps, reference maps, reading provenance',
    sql: `
      ALTER TABLE readings ADD COLUMN import_id INTEGER REFERENCES imports(id) ON DELETE SET NULL;
      CREATE TABLE runs (
        id          INTEGER PRIMARY KEY,
        created_at  INTEGER NOT NULL,
        method      TEXT NOT NULL,
        params      TEXT NOT NULL,
        grid        TEXT NOT NULL,
        selection   TEXT NOT NULL,
        backend     TEXT NOT NULL,
        timings     TEXT NOT NULL,
        metrics     TEXT NOT NULL DEFAULT '{}',
        diagnostics TEXT NOT NULL DEFAULT '{}',
        label       TEXT NOT NULL DEFAULT ''
      );
      CREATE TABLE run_maps (
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step        INTEGER NOT NULL,
        time        INTEGER,
        vals        BLOB NOT NULL,
        variance    BLOB,
        timings     TEXT NOT NULL DEFAULT '{}',
        diagnostics TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (run_id, step)
      );
      CREATE TABLE reference_maps (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        grid        TEXT NOT NULL,
        vals        BLOB NOT NULL,
        synthetic   INTEGER NOT NULL DEFAULT 0,
        description TEXT NOT NULL DEFAULT '',
        created_at  INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    description: 'partial index of per-band readings (selections combine bands into the total field)',
    // Tiny or empty in the common case (sensors that report only the total field), so asking "does this
    // window hold any per-band reading?" costs an index probe instead of a scan of the window; ordered by
    // (time, sensor) so that combining the bands of each (sensor, time) needs no sort.
    sql: `
      CREATE INDEX readings_bands ON readings(time, sensor) WHERE band <> '';
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Written into the SQLite header (PRAGMA application_id) so that a project file is recognisable: "EMFM". */
export const APPLICATION_ID = 0x454d464d;
