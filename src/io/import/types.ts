// Intermediate results of parsing an input file, before anything is written: sensors as found (position
// in the file's own coordinates), readings as compact columns (1 million readings ≈ 30 MB), and the
// issues found on the way.

import type { InputIssue } from '../../domain/errors.ts';
import type { DetectedColumn } from '../../service/api.ts';

/** A sensor as described by an input file; the position is converted to the project CRS later. */
export interface SensorDraft {
  id: string;
  name?: string;
  /** WGS84 degrees, when the file gives lat/lon. */
  lat?: number;
  lon?: number;
  /** Projected coordinates in the import CRS, when the file gives x/y. */
  x?: number;
  y?: number;
  height?: number | null;
  meta: Record<string, unknown>;
  /** Where the sensor was first described (for error messages). */
  file: string;
  line: number | null;
  /** Largest distance between positions given for it in one file, metres (moving sensor warning). */
  spread?: number;
}

/** Growable typed-array columns of readings. time = NaN for a snapshot (no timestamp). */
export class ReadingColumns {
  length = 0;
  sensor = new Int32Array(1024);
  time = new Float64Array(1024);
  value = new Float64Array(1024);
  band = new Int32Array(1024);
  quality = new Int32Array(1024);

  push(sensor: number, time: number, value: number, band: number, quality: number): void {
    if (this.length === this.sensor.length) this.grow();
    const i = this.length++;
    this.sensor[i] = sensor;
    this.time[i] = time;
    this.value[i] = value;
    this.band[i] = band;
    this.quality[i] = quality;
  }

  private grow(): void {
    const n = this.sensor.length * 2;
    const g = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.sensor = g(this.sensor, (k) => new Int32Array(k));
    this.time = g(this.time, (k) => new Float64Array(k));
    this.value = g(this.value, (k) => new Float64Array(k));
    this.band = g(this.band, (k) => new Int32Array(k));
    this.quality = g(this.quality, (k) => new Int32Array(k));
  }
}

/** Issues of one import: the first `keep` are listed, all are counted. */
export class IssueList {
  readonly list: InputIssue[] = [];
  total = 0;
  constructor(readonly keep = 20) {}
  add(file: string, line: number | null, field: string | null, message: string): void {
    this.total++;
    if (this.list.length < this.keep) this.list.push({ file, line, field, message });
  }
}

/** What a readings parser hands to the import. */
export interface ParsedFile {
  format: 'csv' | 'tsv' | 'geojson';
  layout: 'long' | 'wide' | 'geojson';
  delimiter?: string;
  decimalComma?: boolean;
  columns: DetectedColumn[];
  /** Coordinates found in the file: WGS84 lat/lon, projected x/y, or none (positions from elsewhere). */
  coords: 'wgs84' | 'projected' | 'none';
  /** CRS hinted by the file itself (GeoJSON "crs" member, "x_l93" headers). */
  crsHint: string | null;
  /** Unit description for the report. */
  unit: string;
  sensors: Map<string, SensorDraft>;
  /** Index → sensor id, for ReadingColumns.sensor. */
  sensorIds: string[];
  readings: ReadingColumns;
  /** Index → band label, for ReadingColumns.band (-1 = total field). */
  bands: string[];
  preview: Array<Record<string, string>>;
  warnings: string[];
  /** Timestamps without an offset were read in the time zone option. */
  naiveTimes: boolean;
  /** Rows skipped because their value cell was empty / "NA". */
  missingValues: number;
}

/** Shared parsing context. */
export interface ParseContext {
  /** Name used in messages (the file's base name). */
  name: string;
  issues: IssueList;
  signal?: AbortSignal;
  onBytes?: (bytesRead: number) => void;
}

/** Interns sensor ids and band labels to small integers. */
export class Interner {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();
  get(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(s);
      this.index.set(s, i);
    }
    return i;
  }
  has(s: string): boolean {
    return this.index.has(s);
  }
}
