// The application service API: the only thing the outside world calls (CLI, Electron IPC, browser mode).
// Plain-data arguments and results so it can cross a process boundary unchanged. Long methods take a
// JobContext (progress + cancellation); the transports map it to IPC events / Server-Sent Events.

import type { CvMetrics, ExposureMap, Grid, Reading, ReferenceMap, RunRecord, Selection, Sensor } from '../domain/types.ts';
import type { EstimatorInfo } from '../estimators/types.ts';
import type { RunContext } from '../domain/run.ts';
import type { ImportRecord, ProjectCounts, ProjectMeta, DuplicatePolicy } from '../store/types.ts';
import type { InputIssue } from '../domain/errors.ts';

export type JobContext = RunContext;

export interface ProjectSummary {
  path: string;
  meta: ProjectMeta;
  counts: ProjectCounts;
}

export interface ImportOptions {
  /** "auto" sniffs from the extension and content. */
  format?: 'auto' | 'csv' | 'tsv' | 'geojson';
  /** CRS of coordinate columns when they are projected (EPSG:xxxx, proj4 string, or "local"). */
  crs?: string;
  /** Unit of the value column when neither a unit column nor the header says it. */
  unit?: string;
  /** IANA time zone or "+02:00" for timestamps without an offset; default UTC. */
  timezone?: string;
  /** Sensor metadata file joined by sensor id. */
  sensorsFile?: string;
  /** What to do with a reading for an existing (sensor, time, band). Default "replace". */
  onDuplicate?: DuplicatePolicy;
  dryRun?: boolean;
}

export interface ImportRequest extends ImportOptions {
  /** Path of the readings file (the file is read by the service, never sent over the wire). */
  file: string;
}

export interface DetectedColumn {
  name: string;
  role: string;
  unit?: string;
}

export interface ImportReport {
  file: string;
  dryRun: boolean;
  format: string;
  layout: 'long' | 'wide' | 'geojson';
  delimiter?: string;
  decimalComma?: boolean;
  columns: DetectedColumn[];
  crs: string;
  /** The CRS this import chose for the project (a project created without one takes it from its first import). */
  projectCrs?: string;
  unit: string;
  timezone: string;
  sensors: number;
  sensorsNew: number;
  readings: number;
  readingsAdded: number;
  readingsReplaced: number;
  readingsSkipped: number;
  timeFrom: number | null;
  timeTo: number | null;
  /** First rows as parsed (for the import wizard's preview table). */
  preview: Array<Record<string, string>>;
  warnings: string[];
  /** Non-empty only when the import was refused (then nothing was written). */
  errors: InputIssue[];
  totalErrors: number;
  alreadyImported: boolean;
}

export interface GridRequest {
  /** Larger side's cell count (default 128) ... */
  size?: number;
  /** ... or explicit width x height ... */
  width?: number;
  height?: number;
  /** ... or a cell size in metres. */
  cell?: number;
  /** Bounds in the project CRS; default: sensors' extent plus a margin (or the project's area of interest). */
  bounds?: Grid['bounds'];
  crs?: string;
}

export interface EstimateRequest {
  method: string;
  params?: Record<string, unknown>;
  grid?: GridRequest;
  selection?: Partial<Selection>;
  /** Time-resolved: one map per step over the window ("2h", "30min", "1d") ... */
  every?: string;
  /** ... or this many equal steps. */
  steps?: number;
  label?: string;
}

export interface EstimateResult {
  run: RunRecord;
  /** Summary statistics of the (first) map. */
  summary: {
    min: number;
    max: number;
    mean: number;
    /** Cells of the (first) map below 0 V/m: linear predictors (kriging, GP, CNTK) can undershoot between sensors. */
    negativeCells: number;
    cells: number;
    observed: number;
    droppedSensors: string[];
  };
}

export type CvScheme = 'none' | 'loo' | `kfold:${number}` | `blocks:${number}`;

export interface CompareRequest {
  methods: string[];
  params?: Record<string, Record<string, unknown>>;
  cv?: CvScheme;
  grid?: GridRequest;
  selection?: Partial<Selection>;
  seed?: number;
  /**
   * Store each method's map fitted on all observations as a run (default true), labelled "compare <scheme>",
   * with the cross-validation metrics in `metrics[<scheme>]` (e.g. `loo`, `kfold:10`, `blocks:5`) and the
   * reference-map error in `metrics.truth`.
   */
  save?: boolean;
}

export interface CompareRow {
  method: string;
  rmse: number | null;
  mae: number | null;
  bias: number | null;
  r2: number | null;
  /** RMSE against the project's reference map, when it has one. */
  truthRmse: number | null;
  truthMae: number | null;
  seconds: number;
  backend: string;
  cv: CvMetrics | null;
  /** Per-sensor held-out residuals (observed - predicted), for the residual map. */
  residuals?: Array<{ sensorIds: string[]; x: number; y: number; observed: number; predicted: number; sd?: number }>;
  /** The stored run (map on all observations + these metrics), unless saving was turned off or the method failed. */
  runId?: number;
  error?: string;
}

export interface CompareResult {
  cv: CvScheme;
  grid: Grid;
  rows: CompareRow[];
}

export type ExportFormat = 'geotiff' | 'png' | 'kmz' | 'geojson' | 'csv' | 'report';

export interface ExportRequest {
  runId?: number;
  /** Latest run of this method when runId is not given. */
  method?: string;
  step?: number;
  format: ExportFormat;
  out: string;
  thresholds?: number[];
  ramp?: string;
}

export interface ExportResult {
  files: string[];
  bytes: number;
}

export interface BackendInfo {
  name: string;
  available: boolean;
  reason: string;
  matMulMs?: number;
  conv2dMs?: number;
}

export interface VersionInfo {
  app: string;
  node: string;
  electron: string | null;
  backend: string;
  backendReason: string;
}

/** The service, as every front door sees it. */
export interface EmfmapApi {
  version(): Promise<VersionInfo>;

  createProject(path: string, opts?: { name?: string; crs?: string }): Promise<ProjectSummary>;
  openProject(path: string): Promise<ProjectSummary>;
  /** Create the demo project at path if missing, then open it. */
  openDemo(path?: string, ctx?: JobContext): Promise<ProjectSummary>;
  summary(): Promise<ProjectSummary>;

  importReadings(req: ImportRequest, ctx?: JobContext): Promise<ImportReport>;
  /** The project's imports, oldest first (file, content hash, time, counts, options). */
  imports(): Promise<ImportRecord[]>;
  sensors(): Promise<Array<Sensor & { readings: number; latest: number | null; latestTime: number | null }>>;
  readings(q: { sensorIds?: string[]; from?: number; to?: number; limit?: number }): Promise<Reading[]>;
  referenceMap(): Promise<ReferenceMap | null>;

  estimators(): Promise<EstimatorInfo[]>;
  estimate(req: EstimateRequest, ctx?: JobContext): Promise<EstimateResult>;
  runs(): Promise<RunRecord[]>;
  runMaps(runId: number, step?: number): Promise<ExposureMap[]>;
  deleteRun(runId: number): Promise<void>;
  compare(req: CompareRequest, ctx?: JobContext): Promise<CompareResult>;

  exportMap(req: ExportRequest, ctx?: JobContext): Promise<ExportResult>;
  backends(): Promise<BackendInfo[]>;
}
