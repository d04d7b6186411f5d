// The application service: the one implementation of EmfmapApi that the CLI, the Electron IPC bridge and
// browser mode call. It owns at most one open project at a time. Methods owned by other parts of the
// engine (demo, estimators, export, backends) are filled in by their owners; the project, import, sensor
// and reading methods live here.

import { createRequire } from 'node:module';
import path from 'node:path';
import type {
  BackendInfo,
  CompareRequest,
  CompareResult,
  EmfmapApi,
  EstimateRequest,
  EstimateResult,
  ExportRequest,
  ExportResult,
  ImportReport,
  ImportRequest,
  JobContext,
  ProjectSummary,
  VersionInfo,
} from './api.ts';
import type { ExposureMap, Reading, ReferenceMap, RunRecord, Sensor } from '../domain/types.ts';
import type { EstimatorInfo } from '../estimators/types.ts';
import type { ImportRecord, ProjectStore } from '../store/types.ts';
import { UserError } from '../domain/errors.ts';
import { createProject, openProject } from '../store/project.ts';
import { importReadings } from '../io/import/import.ts';

/** Readings returned by `readings()` when the caller gives no limit (the UI pages or narrows by sensor). */
export const DEFAULT_READINGS_LIMIT = 100_000;

export interface ServiceOptions {
  /** Project opened lazily on first use (the CLI's --project). */
  projectPath?: string;
}

export class EmfmapService implements EmfmapApi {
  private current: ProjectStore | null = null;
  private pendingPath: string | null;

  constructor(opts: ServiceOptions = {}) {
    this.pendingPath = opts.projectPath ? path.resolve(opts.projectPath) : null;
  }

  // ---------------------------------------------------------------- project access for other owners

  /** The open project. Opens the constructor's projectPath on first use; throws a UserError when none. */
  store(): ProjectStore {
    if (!this.current && this.pendingPath) {
      this.current = openProject(this.pendingPath);
      this.pendingPath = null;
    }
    if (!this.current) throw new UserError('no project open: create one (emfmap init) or open one (--project FILE)');
    return this.current;
  }

  /** Alias of store(), named for what callers want. */
  requireStore(): ProjectStore {
    return this.store();
  }

  /** Make an already opened store the current project (e.g. the demo generator's). Closes the previous one. */
  useStore(store: ProjectStore): void {
    if (this.current && this.current !== store) this.current.close();
    this.current = store;
    this.pendingPath = null;
  }

  /** Close the open project (idempotent). */
  close(): void {
    this.current?.close();
    this.current = null;
  }

  // ---------------------------------------------------------------- version

  async version(): Promise<VersionInfo> {
    const require = createRequire(import.meta.url);
    const pkg = require('../../package.json') as { version: string };
    const { initBackend } = await import('../compute/backend.ts');
    const b = await initBackend();
    return {
      app: pkg.version,
      node: process.versions.node,
      electron: process.versions.electron ?? null,
      backend: b.name,
      backendReason: b.reason,
    };
  }

  // ---------------------------------------------------------------- projects

  async createProject(file: string, opts: { name?: string; crs?: string } = {}): Promise<ProjectSummary> {
    const p = path.resolve(file);
    const store = createProject(p, {
      name: opts.name?.trim() || path.basename(p).replace(/\.[^.]+$/, ''),
      crs: opts.crs?.trim() ?? '',
    });
    this.useStore(store);
    return this.summary();
  }

  async openProject(file: string): Promise<ProjectSummary> {
    const store = openProject(path.resolve(file));
    this.useStore(store);
    return this.summary();
  }

  async openDemo(file?: string, ctx?: JobContext): Promise<ProjectSummary> {
    // generated deterministically on first use (see src/demo/project.ts and docs/demo.md)
    const { ensureDemoProject } = await import('../demo/project.ts');
    const demo = await ensureDemoProject(file, {}, ctx);
    return this.openProject(demo.path);
  }

  async summary(): Promise<ProjectSummary> {
    const s = this.store();
    return { path: s.path, meta: s.meta(), counts: s.counts() };
  }

  // ---------------------------------------------------------------- data

  async importReadings(req: ImportRequest, ctx: JobContext = {}): Promise<ImportReport> {
    return importReadings(this.store(), req, ctx);
  }

  async imports(): Promise<ImportRecord[]> {
    return this.store().imports();
  }

  async sensors(): Promise<Array<Sensor & { readings: number; latest: number | null; latestTime: number | null }>> {
    const s = this.store();
    const stats = new Map(s.sensorStats().map((r) => [r.id, r]));
    return s.sensors().map((sensor) => {
      const st = stats.get(sensor.id);
      return { ...sensor, readings: st?.readings ?? 0, latest: st?.latest ?? null, latestTime: st?.latestTime ?? null };
    });
  }

  async readings(q: { sensorIds?: string[]; from?: number; to?: number; limit?: number } = {}): Promise<Reading[]> {
    const limit = q.limit ?? DEFAULT_READINGS_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) throw new UserError(`limit must be a positive integer (got ${q.limit})`);
    if (q.from != null && q.to != null && q.from >= q.to) throw new UserError('the time window is empty: "from" must be before "to"');
    return this.store().readings({ sensorIds: q.sensorIds, from: q.from ?? null, to: q.to ?? null, limit });
  }

  async referenceMap(): Promise<ReferenceMap | null> {
    return this.store().referenceMap();
  }

  // ---------------------------------------------------------------- estimation (engine owner)

  async estimators(): Promise<EstimatorInfo[]> {
    const { estimatorInfos } = await import('./estimate.ts');
    return estimatorInfos();
  }

  async estimate(req: EstimateRequest, ctx: JobContext = {}): Promise<EstimateResult> {
    const { runEstimate } = await import('./estimate.ts');
    return runEstimate(this.store(), req, ctx);
  }

  async runs(): Promise<RunRecord[]> {
    const { listRuns } = await import('./estimate.ts');
    return listRuns(this.store());
  }

  async runMaps(runId: number, step?: number): Promise<ExposureMap[]> {
    const { runMapsOf } = await import('./estimate.ts');
    return runMapsOf(this.store(), runId, step);
  }

  async deleteRun(runId: number): Promise<void> {
    const { removeRun } = await import('./estimate.ts');
    removeRun(this.store(), runId);
  }

  async compare(req: CompareRequest, ctx: JobContext = {}): Promise<CompareResult> {
    const { runCompare } = await import('./estimate.ts');
    return runCompare(this.store(), req, ctx);
  }

  // ---------------------------------------------------------------- export (export owner)

  async exportMap(req: ExportRequest, ctx: JobContext = {}): Promise<ExportResult> {
    const { exportRun } = await import('./export.ts');
    return exportRun(this.store(), req, ctx);
  }

  // ---------------------------------------------------------------- compute backends (glip owner)

  async backends(): Promise<BackendInfo[]> {
    // probes tensorflow / wasm / cpu and times a small matMul and conv2d on each (compute/backend.ts)
    const { listBackends } = await import('../compute/backend.ts');
    return (await listBackends()).map((b) => ({
      name: b.name,
      available: b.available,
      reason: b.reason,
      ...(b.matMulMs !== undefined ? { matMulMs: b.matMulMs } : {}),
      ...(b.conv2dMs !== undefined ? { conv2dMs: b.conv2dMs } : {}),
    }));
  }
}
