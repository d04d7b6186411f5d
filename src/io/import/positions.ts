// Sensor positions: merge what the readings file, the sensor-metadata file and the project already know,
// choose the project CRS on the first import, and convert every position to WGS84 + project x/y.
//
// Project CRS on first import (a project created without one): the import CRS when the file has
// projected x/y (e.g. Lambert-93 stays Lambert-93; "local" stays local), otherwise a local transverse
// Mercator centred on the sensors' centroid (metric, negligible distortion over a city).

import type { Sensor } from '../../domain/types.ts';
import { UserError } from '../../domain/errors.ts';
import { LOCAL, WGS84, isGeographic, localTransverseMercator, transformer, type Transformer } from '../../geo/crs.ts';
import { haversine } from './coords.ts';
import type { IssueList, SensorDraft } from './types.ts';

export interface PositionInput {
  /** Sensors described by the readings file (all of them carry readings). */
  drafts: Map<string, SensorDraft>;
  /** Sensors described by the --sensors file. */
  fileSensors: Map<string, SensorDraft> | null;
  /** CRS of projected x/y coordinates (from --crs, the file, or the project); null = none given. */
  importCrs: string | null;
  /** Current project CRS ('' = not chosen yet). */
  projectCrs: string;
  existing: Map<string, Sensor>;
  issues: IssueList;
}

export interface PositionResult {
  projectCrs: string;
  /** True when this import chooses the project CRS. */
  crsChosen: boolean;
  /** Sensors to insert or update. */
  upserts: Sensor[];
  newSensors: number;
  warnings: string[];
}

const MOVED_METRES = 1;

export function resolvePositions(inp: PositionInput): PositionResult {
  const warnings: string[] = [];
  const { issues } = inp;

  // 1. merge the readings file's and the metadata file's view of each sensor
  const merged = new Map<string, SensorDraft>();
  for (const [id, d] of inp.drafts) merged.set(id, { ...d, meta: { ...d.meta } });
  if (inp.fileSensors) {
    for (const [id, f] of inp.fileSensors) {
      const d = merged.get(id);
      if (!d) {
        merged.set(id, { ...f, meta: { ...f.meta } });
        continue;
      }
      const hasPos = d.lat !== undefined || d.x !== undefined;
      if (hasPos) {
        const dist =
          d.lat !== undefined && f.lat !== undefined
            ? haversine(d.lat, d.lon!, f.lat, f.lon!)
            : d.x !== undefined && f.x !== undefined
              ? Math.hypot(d.x - f.x, d.y! - f.y!)
              : 0;
        if (dist > MOVED_METRES) warnings.push(`sensor ${id}: the sensor file's position (${dist.toFixed(0)} m from the readings file's) is used`);
      }
      d.lat = f.lat;
      d.lon = f.lon;
      d.x = f.x;
      d.y = f.y;
      d.name = f.name ?? d.name;
      d.height = f.height ?? d.height;
      d.meta = { ...d.meta, ...f.meta };
    }
  }

  // 2. the project CRS
  const positioned = [...merged.values()].filter((d) => d.lat !== undefined || d.x !== undefined);
  const anyProjected = positioned.some((d) => d.x !== undefined);
  if (anyProjected && !inp.importCrs) {
    const first = positioned.find((d) => d.x !== undefined)!;
    issues.add(first.file, null, null, 'x/y coordinates need their CRS: give --crs (e.g. EPSG:2154 for Lambert-93, EPSG:32631 for UTM 31N, or "local")');
    return { projectCrs: inp.projectCrs, crsChosen: false, upserts: [], newSensors: 0, warnings };
  }
  let projectCrs = inp.projectCrs;
  let crsChosen = false;
  if (!projectCrs && positioned.length > 0) {
    crsChosen = true;
    if (anyProjected && inp.importCrs && !isGeographic(inp.importCrs)) projectCrs = inp.importCrs;
    else {
      // centroid of WGS84 positions (projected ones in a geographic import CRS are lon/lat too)
      let sl = 0;
      let so = 0;
      for (const d of positioned) {
        sl += d.lat ?? d.y!;
        so += d.lon ?? d.x!;
      }
      projectCrs = localTransverseMercator(sl / positioned.length, so / positioned.length);
    }
  }

  // 3. converters, built once
  const projectIsLocal = projectCrs.trim().toLowerCase() === LOCAL;
  const importIsLocal = (inp.importCrs ?? '').trim().toLowerCase() === LOCAL;
  let toWgs: Transformer | null = null;
  let toProject: Transformer | null = null;
  const fail = (d: SensorDraft, message: string) => issues.add(d.file, d.line, null, `sensor ${d.id}: ${message}`);
  try {
    if (anyProjected && !importIsLocal) toWgs = transformer(inp.importCrs!, WGS84);
    if (projectCrs && !projectIsLocal) toProject = transformer(WGS84, projectCrs);
  } catch (e) {
    if (e instanceof UserError) {
      issues.add(positioned[0]?.file ?? '', null, null, e.message);
      return { projectCrs: inp.projectCrs, crsChosen: false, upserts: [], newSensors: 0, warnings };
    }
    throw e;
  }
  const sameCrs = (inp.importCrs ?? '').trim() === projectCrs.trim();

  // 4. every sensor → WGS84 + project x/y
  const upserts: Sensor[] = [];
  let newSensors = 0;
  for (const d of merged.values()) {
    const old = inp.existing.get(d.id);
    let lat = NaN;
    let lon = NaN;
    let x = NaN;
    let y = NaN;
    if (d.lat !== undefined) {
      if (projectIsLocal) {
        fail(d, 'the project uses local (unreferenced) coordinates: give x/y in the same local frame, not latitude/longitude');
        continue;
      }
      lat = d.lat;
      lon = d.lon!;
      [x, y] = toProject!.forward([lon, lat]);
    } else if (d.x !== undefined) {
      if (importIsLocal !== projectIsLocal) {
        fail(
          d,
          importIsLocal
            ? `local x/y cannot be placed in this project's CRS (${projectCrs}): give the real CRS with --crs`
            : 'the project uses local (unreferenced) coordinates: import x/y with --crs local',
        );
        continue;
      }
      if (importIsLocal) {
        x = d.x;
        y = d.y!;
      } else {
        [lon, lat] = toWgs!.forward([d.x, d.y!]);
        if (!(Math.abs(lat) <= 90 && Math.abs(lon) <= 180)) {
          fail(d, `x/y (${d.x}, ${d.y}) is not a valid position in ${inp.importCrs}: check --crs`);
          continue;
        }
        [x, y] = sameCrs ? [d.x, d.y!] : toProject!.forward([lon, lat]);
      }
    } else if (old) {
      // position known from the project: update descriptive fields only when the files bring any
      if (d.name === undefined && d.height === undefined && Object.keys(d.meta).length === 0) continue;
      upserts.push({ ...old, name: d.name ?? old.name, height: d.height ?? old.height, meta: { ...old.meta, ...d.meta } });
      continue;
    } else {
      fail(d, 'no position: add lat/lon (or x/y with --crs) columns, or give a --sensors file with its position');
      continue;
    }
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      fail(d, `its position cannot be expressed in the project CRS ${projectCrs}`);
      continue;
    }
    if (old) {
      const moved = Math.hypot(old.x - x, old.y - y);
      if (moved > MOVED_METRES) warnings.push(`sensor ${d.id} moved ${moved.toFixed(0)} m from its stored position: updated`);
    } else newSensors++;
    upserts.push({
      id: d.id,
      name: d.name ?? old?.name ?? d.id,
      lat,
      lon,
      x,
      y,
      height: d.height ?? old?.height ?? null,
      meta: { ...(old?.meta ?? {}), ...d.meta },
    });
  }
  return { projectCrs, crsChosen, upserts, newSensors, warnings };
}
