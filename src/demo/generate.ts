// The synthetic demo datasets, built from a seed without touching disk:
//  - "sensors": ~70 kerb-side sensors with 2-hourly readings over 7 days, and the ground-truth raster
//    (time-averaged total field at 3.5 m) as reference map;
//  - "drive": a drive-test snapshot of ≥ 20 000 readings along every street, each point stored as a
//    one-reading sensor flagged `drive: true`, and the field at 1.5 m at the snapshot time as reference.
// The reference rasters cover public open space only (streets and squares, where sensors and people
// are); cells inside buildings and private courtyards are NaN (no data).
// Everything here is SYNTHETIC and says so: project name and description, reference map name, sensor
// metadata.

import { throwIfCancelled, subProgress, yieldToLoop, type RunContext } from '../domain/run.ts';
import type { Bounds, Grid, Reading, ReferenceMap, Sensor } from '../domain/types.ts';
import { cellCentres } from '../geo/grid.ts';
import { WGS84, transformer } from '../geo/crs.ts';
import { driveRoute } from './drive.ts';
import { isPublicSpace, toCity } from './layout.ts';
import { computeSiteFields, pointsOf, totalField, type SiteFields } from './field.ts';
import { Rng } from './prng.ts';
import { DEFAULT_SEED, DEMO_CENTRE, buildScene, type Scene, type SceneParams } from './scene.ts';
import { DEFAULT_NETWORK, INSTRUMENT, MISSING_RATE, drawOutages, measure, placeSensors, type Outage } from './sensors.ts';
import { powerShare, siteLoad } from './traffic.ts';

/** Bumped whenever a change alters the generated data; stored in the project so a stale demo is detectable. */
export const GENERATOR_VERSION = 2;

/** Local time of the scene: Lille in winter time (CET, UTC+1); the demo week avoids the DST change. */
export const UTC_OFFSET_HOURS = 1;
/** Monday 3 March 2025, 00:00 CET. */
export const DEMO_START = Date.UTC(2025, 2, 2, 23, 0, 0);
/** The drive-test snapshot: Wednesday 5 March 2025, 15:00 CET. */
export const DRIVE_TIME = Date.UTC(2025, 2, 5, 14, 0, 0);

export type DemoVariant = 'sensors' | 'drive';

export interface DemoParams {
  seed: number;
  variant: DemoVariant;
  scene: Partial<SceneParams>;
  sensors: number;
  days: number;
  stepHours: number;
  /** Reference raster side (cells); the raster covers the mapped square. */
  rasterSize: number;
  /** Reference height of the sensor variant's raster, metres. */
  referenceHeight: number;
  /** Which reference cells carry a value: public open space only (streets, squares), or all. */
  referenceMask: 'public' | 'none';
  /** Minimum distance between two fixed sensors, metres. */
  sensorSpacing: number;
  drivePoints: number;
  driveHeight: number;
}

export const DEFAULT_DEMO: DemoParams = {
  seed: DEFAULT_SEED,
  variant: 'sensors',
  scene: {},
  sensors: DEFAULT_NETWORK.count,
  days: 7,
  stepHours: 2,
  rasterSize: 200,
  referenceHeight: 3.5,
  referenceMask: 'public',
  sensorSpacing: DEFAULT_NETWORK.spacing,
  drivePoints: 24_000,
  driveHeight: 1.5,
};

export interface DemoMeta {
  name: string;
  description: string;
  crs: string;
  aoi: Bounds;
  synthetic: true;
}

export interface DemoDataset {
  params: DemoParams;
  scene: Scene;
  meta: DemoMeta;
  sensors: Sensor[];
  readings: Reading[];
  reference: ReferenceMap;
  /** Scheduled reading times (sensor variant) or the snapshot time (drive variant). */
  times: number[];
  /** Noise-free field at each sensor: per sensor (in `sensors` order) per time (in `times` order), V/m. */
  truth: Float64Array[];
  outages: Outage[];
  /** Per-site power share at each time (load-scaled), [time][site]. */
  shares: number[][];
}

/** Machine-readable tag in the project description, used to recognise an existing demo project. */
export function demoTag(seed: number, variant: DemoVariant): string {
  return `[emfmap-demo generator=${GENERATOR_VERSION} seed=${seed} variant=${variant}]`;
}

export function parseDemoTag(description: string): { generator: number; seed: number; variant: DemoVariant } | null {
  const m = /\[emfmap-demo generator=(\d+) seed=(-?\d+) variant=(sensors|drive)\]/.exec(description);
  return m ? { generator: Number(m[1]), seed: Number(m[2]), variant: m[3] as DemoVariant } : null;
}

function sitesSummary(scene: Scene): string {
  const inst = scene.sites.flatMap((s) => s.installations);
  const eirp = inst.map((i) => 10 * Math.log10(i.carriers.reduce((a, c) => a + 10 ** (c.eirpDbm / 10), 0)));
  const hs = scene.sites.map((s) => s.height);
  return (
    `${scene.sites.length} rooftop sites shared by ${inst.length} three-sector operator installations ` +
    `(antennas ${Math.min(...hs).toFixed(0)}–${Math.max(...hs).toFixed(0)} m, sector EIRP ${Math.min(...eirp).toFixed(1)}–${Math.max(...eirp).toFixed(1)} dBm)`
  );
}

function referenceGrid(scene: Scene, size: number): Grid {
  return { crs: scene.crs, bounds: { ...scene.bounds }, width: size, height: size };
}

/** Set to NaN (no data) the cells whose centre is not public open space (buildings, courtyards). */
function maskPublicSpace(scene: Scene, cells: { x: ArrayLike<number>; y: ArrayLike<number> }, values: Float64Array): void {
  for (let i = 0; i < values.length; i++) {
    const [u, v] = toCity(scene.layout.frame, cells.x[i], cells.y[i]);
    if (!isPublicSpace(scene.layout, u, v, scene.index.buildingAt(u, v) >= 0)) values[i] = NaN;
  }
}

/** What the reference covers, for the reference map's description. */
function maskNote(params: DemoParams): string {
  return params.referenceMask === 'public'
    ? 'Cells whose centre is inside a building or a private courtyard are NaN (no data): the map covers streets and squares.'
    : 'Every cell carries a value; inside buildings it is the outdoor field at that height (no building-entry loss).';
}

function sharesAt(scene: Scene, t: number): number[] {
  return scene.sites.map((s) => powerShare(siteLoad(s.traffic, t, UTC_OFFSET_HOURS)));
}

/** WGS84 position rounded to 1e-7° (≈ 1 cm), what a sensor file would carry. One proj4 set-up for all points. */
function lonLatOf(scene: Scene): (x: number, y: number) => { lat: number; lon: number } {
  const t = transformer(scene.crs, WGS84);
  return (x, y) => {
    const [lon, lat] = t.forward([x, y]);
    return { lat: Math.round(lat * 1e7) / 1e7, lon: Math.round(lon * 1e7) / 1e7 };
  };
}

export async function generateDemo(opts: Partial<DemoParams> = {}, ctx: RunContext = {}): Promise<DemoDataset> {
  const params: DemoParams = { ...DEFAULT_DEMO, ...opts, scene: { ...DEFAULT_DEMO.scene, ...opts.scene } };
  if (!Number.isInteger(params.seed) || params.seed < 0 || params.seed > 0xffffffff) {
    throw new Error(`seed must be an integer from 0 to 4294967295 (got ${params.seed})`);
  }
  ctx.onProgress?.({ stage: 'scene', fraction: 0, message: 'streets, buildings, sites' });
  const scene = buildScene(params.seed, params.scene);
  throwIfCancelled(ctx.signal);
  await yieldToLoop();
  return params.variant === 'drive' ? driveDataset(params, scene, ctx) : sensorDataset(params, scene, ctx);
}

async function sensorDataset(params: DemoParams, scene: Scene, ctx: RunContext): Promise<DemoDataset> {
  const rng = new Rng(params.seed);
  const grid = referenceGrid(scene, params.rasterSize);
  const cells = cellCentres(grid);
  const times: number[] = [];
  const nSteps = Math.round((params.days * 24) / params.stepHours);
  for (let k = 0; k < nSteps; k++) times.push(DEMO_START + k * params.stepHours * 3_600_000);
  const shares = times.map((t) => sharesAt(scene, t));

  // reference raster: time-averaged noise-free field at the reference height
  const rasterFields = await computeSiteFields(scene, pointsOf(cells.x, cells.y, params.referenceHeight), {
    signal: ctx.signal,
    onProgress: subProgress(ctx.onProgress, 0.02, 0.85, 'reference raster'),
  });
  const mean = new Float64Array(rasterFields.n);
  const buf = new Float64Array(rasterFields.n);
  for (let k = 0; k < times.length; k++) {
    totalField(rasterFields, shares[k], buf);
    for (let i = 0; i < mean.length; i++) mean[i] += buf[i] / times.length;
  }
  if (params.referenceMask === 'public') maskPublicSpace(scene, cells, mean);
  throwIfCancelled(ctx.signal);

  // sensors and their time series
  ctx.onProgress?.({ stage: 'sensors', fraction: 0.86 });
  const placed = placeSensors(scene, rng.fork('sensors'), { ...DEFAULT_NETWORK, count: params.sensors, spacing: params.sensorSpacing });
  const sensorFields = await computeSiteFields(
    scene,
    pointsOf(placed.map((p) => p.x), placed.map((p) => p.y), placed.map((p) => p.height)),
    { signal: ctx.signal },
  );
  const end = times[times.length - 1] + params.stepHours * 3_600_000;
  const outages = drawOutages(rng.fork('outages'), placed.length, times[0], end);
  const noise = rng.fork('measurement');
  const gaps = rng.fork('gaps');
  const truth = placed.map(() => new Float64Array(times.length));
  const readings: Reading[] = [];
  const lonLat = lonLatOf(scene);
  const sensors: Sensor[] = placed.map((p, i) => ({
    id: `S${String(i + 1).padStart(3, '0')}`,
    name: `Synthetic sensor ${String(i + 1).padStart(2, '0')} (${p.street})`,
    ...lonLat(p.x, p.y),
    x: p.x,
    y: p.y,
    height: p.height,
    meta: {
      synthetic: true,
      source: `emfmap synthetic demo (seed ${params.seed}), not a real sensor`,
      mount: 'lamp post',
      street: p.street,
      installed: '2025-01-15',
      band: '80 MHz – 6 GHz broadband',
    },
  }));
  const tmp = new Float64Array(placed.length);
  for (let k = 0; k < times.length; k++) {
    totalField(sensorFields, shares[k], tmp);
    for (let i = 0; i < placed.length; i++) {
      truth[i][k] = tmp[i];
      const t = times[k];
      const off = outages.some((o) => o.sensor === i && t >= o.from && t < o.to);
      // draw for every slot so a gap does not shift the following noise draws
      const value = measure(noise, tmp[i]);
      const missing = gaps.chance(MISSING_RATE);
      if (off || missing) continue;
      readings.push({ sensorId: sensors[i].id, time: t, value, band: null, quality: 0 });
    }
  }
  ctx.onProgress?.({ stage: 'sensors', fraction: 0.95 });

  const reference: ReferenceMap = {
    name: `SYNTHETIC ground truth: time-averaged field at ${params.referenceHeight} m (demo seed ${params.seed})`,
    grid,
    values: Float32Array.from(mean),
    synthetic: true,
    description:
      `Synthetic, not measured. Noise-free total field (V/m) of the emfmap demo scene at ${params.referenceHeight} m above ground, ` +
      `averaged over the ${times.length} reading times (every ${params.stepHours} h for ${params.days} days, traffic load applied), ` +
      `${grid.width}×${grid.height} cells of ${((grid.bounds.xmax - grid.bounds.xmin) / grid.width).toFixed(1)} m. ` +
      maskNote(params),
  };
  return {
    params,
    scene,
    meta: demoMeta(params, scene, 'sensors', `${sensors.length} kerb-side sensors (3–4 m) reading every ${params.stepHours} h for ${params.days} days with ${INSTRUMENT.noise * 100} % noise, a ${INSTRUMENT.floor} V/m floor, ${MISSING_RATE * 100} % missing readings, two outages and one sensor that dies`),
    sensors,
    readings,
    reference,
    times,
    truth,
    outages,
    shares,
  };
}

/** Extra log-normal spread of a drive-test reading (residual fast fading after averaging), dB. */
export const DRIVE_FADING_DB = 1.5;

async function driveDataset(params: DemoParams, scene: Scene, ctx: RunContext): Promise<DemoDataset> {
  const rng = new Rng(params.seed);
  const grid = referenceGrid(scene, params.rasterSize);
  const cells = cellCentres(grid);
  const share = sharesAt(scene, DRIVE_TIME);
  const rasterFields = await computeSiteFields(scene, pointsOf(cells.x, cells.y, params.driveHeight), {
    signal: ctx.signal,
    onProgress: subProgress(ctx.onProgress, 0.02, 0.5, 'reference raster'),
  });
  const refField = totalField(rasterFields, share);
  if (params.referenceMask === 'public') maskPublicSpace(scene, cells, refField);
  const refValues = Float32Array.from(refField);

  const route = driveRoute(scene, params.drivePoints);
  const driveFields: SiteFields = await computeSiteFields(
    scene,
    pointsOf(route.map((p) => p.x), route.map((p) => p.y), params.driveHeight),
    { signal: ctx.signal, onProgress: subProgress(ctx.onProgress, 0.5, 0.9, 'drive test') },
  );
  const e = totalField(driveFields, share);
  const noise = rng.fork('drive-measurement');
  const lonLat = lonLatOf(scene);
  const sensors: Sensor[] = [];
  const readings: Reading[] = [];
  const truth: Float64Array[] = [];
  for (let i = 0; i < route.length; i++) {
    if (i % 4096 === 0) {
      throwIfCancelled(ctx.signal);
      ctx.onProgress?.({ stage: 'drive test', fraction: 0.9 + (0.08 * i) / route.length });
    }
    const p = route[i];
    const id = `D${String(i + 1).padStart(5, '0')}`;
    const x = Math.round(p.x * 100) / 100;
    const y = Math.round(p.y * 100) / 100;
    sensors.push({
      id,
      name: `drive point ${i + 1}`,
      ...lonLat(x, y),
      x,
      y,
      height: params.driveHeight,
      meta: { synthetic: true, drive: true, street: p.street, routeMetres: Math.round(p.s * 10) / 10, source: `emfmap synthetic demo drive test (seed ${params.seed})` },
    });
    const faded = e[i] * Math.pow(10, (DRIVE_FADING_DB * noise.normal()) / 20);
    readings.push({ sensorId: id, time: DRIVE_TIME, value: measure(noise, faded), band: null, quality: 0 });
    truth.push(Float64Array.of(e[i]));
  }
  const reference: ReferenceMap = {
    name: `SYNTHETIC ground truth: field at ${params.driveHeight} m at the drive-test time (demo seed ${params.seed})`,
    grid,
    values: refValues,
    synthetic: true,
    description:
      `Synthetic, not measured. Noise-free total field (V/m) of the emfmap demo scene at ${params.driveHeight} m above ground ` +
      `with the traffic load of the drive-test snapshot (${new Date(DRIVE_TIME).toISOString()}), ${grid.width}×${grid.height} cells. ` +
      maskNote(params),
  };
  return {
    params,
    scene,
    meta: demoMeta(params, scene, 'drive', `a drive-test snapshot of ${route.length} readings along every street at ${params.driveHeight} m (each point stored as a one-reading sensor with meta.drive = true), ${INSTRUMENT.noise * 100} % noise and ${DRIVE_FADING_DB} dB residual fading`),
    sensors,
    readings,
    reference,
    times: [DRIVE_TIME],
    truth,
    outages: [],
    shares: [share],
  };
}

function demoMeta(params: DemoParams, scene: Scene, variant: DemoVariant, what: string): DemoMeta {
  const area = ((scene.bounds.xmax - scene.bounds.xmin) * (scene.bounds.ymax - scene.bounds.ymin)) / 1e6;
  return {
    name: `SYNTHETIC demo${variant === 'drive' ? ' drive test' : ''}: Lille district (seed ${params.seed})`,
    description:
      `SYNTHETIC data generated by emfmap's demo scenario, not measurements. A procedural district of ${area.toFixed(2)} km² ` +
      `(${scene.layout.buildings.count} buildings in the generated city, centre ${DEMO_CENTRE.lat} N ${DEMO_CENTRE.lon} E), ` +
      `${sitesSummary(scene)}, 3GPP TR 38.901 UMa path loss graded by the buildings in the way, two-scale correlated shadowing, daily traffic load; ` +
      `${what}. See docs/demo.md. ${demoTag(params.seed, variant)}`,
    crs: scene.crs,
    aoi: { ...scene.bounds },
    synthetic: true,
  };
}
