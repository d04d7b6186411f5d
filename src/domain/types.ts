// Domain types shared by the engine, the service API and (type-only) the renderer.
// Plain data only: everything here must survive JSON / structured clone across a process boundary
// (typed arrays survive structured clone; the HTTP transport encodes them, see service/wire.ts).

/** Electric field strength is always stored and computed in V/m. */
export type VoltsPerMetre = number;

export interface Sensor {
  /** Stable identifier from the source file (or generated for anonymous points). */
  id: string;
  name: string;
  /** WGS84 position, decimal degrees. */
  lat: number;
  lon: number;
  /** Position in the project's metric CRS (metres). */
  x: number;
  y: number;
  /** Height above ground, metres, when known. */
  height: number | null;
  /** Free metadata from the sensor-metadata file (installation date, operator, ...). */
  meta: Record<string, unknown>;
}

export interface Reading {
  sensorId: string;
  /** Epoch milliseconds UTC; null for a snapshot file with no timestamps. */
  time: number | null;
  value: VoltsPerMetre;
  /** Frequency band label when the instrument reports per band (e.g. "GSM900"); null = total field. */
  band: string | null;
  /** Quality flag: 0 = good; other values are source-specific. */
  quality: number;
}

/** Axis-aligned bounds in a metric CRS, metres. */
export interface Bounds {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
}

/**
 * A raster grid. Row 0 is the northern-most row (image / GeoTIFF convention); cell p = row*width + col.
 * Cell (row, col) covers x in [xmin + col*dx, xmin + (col+1)*dx], y in [ymax - (row+1)*dy, ymax - row*dy]
 * with dx = (xmax - xmin)/width and dy = (ymax - ymin)/height.
 */
export interface Grid {
  /** CRS as accepted by geo/crs.ts: "EPSG:2154", a proj4 string, or "local" (plain metres). */
  crs: string;
  bounds: Bounds;
  width: number;
  height: number;
}

/**
 * Observations snapped to grid cells: one entry per observed cell (several sensors or readings in
 * one cell are averaged and counted). This is what every estimator consumes.
 */
export interface Observations {
  grid: Grid;
  /** Cell index row*width + col of each observed cell (unique). */
  cell: Int32Array;
  /** Cell-centre coordinates in the grid CRS, metres. */
  x: Float64Array;
  y: Float64Array;
  /** Values, V/m (mean of what fell in the cell). */
  values: Float64Array;
  /** Number of sensors / readings averaged into each cell. */
  count: Int32Array;
  /** Sensor ids that fell into each cell. */
  sensorIds: string[][];
}

/** A dense raster of known values on a grid (ground truth, simulation, measured map). */
export interface ReferenceMap {
  name: string;
  grid: Grid;
  /** Row-major, length width*height, V/m; NaN = no data. */
  values: Float32Array;
  synthetic: boolean;
  description: string;
}

export interface Timings {
  /** Seconds. */
  fit: number;
  predict: number;
  total: number;
}

export interface ExposureMap {
  grid: Grid;
  /** Row-major, V/m. */
  values: Float32Array;
  /** Predictive variance in (V/m)², when the method provides one. */
  variance?: Float32Array;
  method: string;
  params: Record<string, unknown>;
  /** Compute backend that produced it: "js" for plain typed-array code, or the tfjs backend name. */
  backend: string;
  timings: Timings;
  /** Method-specific diagnostics (variogram, λ, loss curve, alignment, ...). JSON-serialisable. */
  diagnostics: Record<string, unknown>;
  /** Time step this map stands for (epoch ms), when time-resolved. */
  time?: number | null;
}

export type Aggregation = 'mean' | 'median' | 'max' | 'p95' | 'last';

/** Which readings a selection uses by their quality flag: 'good' = flag 0 only; 'all' = every reading. */
export type QualitySelection = 'good' | 'all';

/** What to map: a time window and how each sensor's readings in it are reduced to one value. */
export interface Selection {
  from?: number | null;
  to?: number | null;
  agg: Aggregation;
  /** One frequency band; null = the total field (per-band readings combined by power where no total exists). */
  band?: string | null;
  sensorIds?: string[] | null;
  /** Default 'good' (quality flag 0 only). */
  quality?: QualitySelection;
}

export interface CvMetrics {
  n: number;
  rmse: number;
  mae: number;
  bias: number;
  r2: number;
  /** With variance only: mean standardized error, RMS standardized error, interval coverage. */
  mse?: number;
  rmsse?: number;
  cover90?: number;
  cover95?: number;
}

export interface RunRecord {
  id: number;
  createdAt: number;
  method: string;
  params: Record<string, unknown>;
  grid: Grid;
  selection: Selection;
  backend: string;
  timings: Timings;
  metrics: Record<string, unknown>;
  diagnostics: Record<string, unknown>;
  /** Number of maps (time steps) stored for the run. */
  steps: number;
  label: string;
}
