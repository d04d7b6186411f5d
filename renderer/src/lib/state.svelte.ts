// Application state shared by the views (Svelte 5 runes). One long job at a time is driven from here, with
// its progress, ETA and cancel; errors become a notice that keeps the located issues of a bad input file.

import type { ExposureMap, ReferenceMap, RunRecord, Sensor } from '../../../src/domain/types.ts';
import type { CompareResult, ProjectSummary, VersionInfo } from '../../../src/service/api.ts';
import type { EstimatorInfo } from '../../../src/estimators/types.ts';
import type { HostInfo, HostSettings } from '../../../src/service/channels.ts';
import type { InputIssue } from '../../../src/domain/errors.ts';
import type { JobContext } from '../../../src/service/api.ts';
import type { Progress } from '../../../src/domain/run.ts';
import { ApiError, type Api } from './api.ts';
import { isRampName, type ColourMode, type RampName } from './ramps.ts';

export type View = 'project' | 'import' | 'map' | 'compare';

export type SensorRow = Sensor & { readings: number; latest: number | null; latestTime: number | null };

export interface Notice {
  kind: 'error' | 'info' | 'success';
  text: string;
  issues?: InputIssue[];
  totalIssues?: number;
}

export interface JobState {
  label: string;
  progress: Progress | null;
  startedAt: number;
  controller: AbortController;
  cancelling: boolean;
}

export interface DisplaySettings {
  ramp: RampName;
  mode: ColourMode;
  /** e.g. "1, 3, 6": class breaks (classed mode) and outlined thresholds (both modes). */
  thresholds: string;
  opacity: number;
  /** Show the standard deviation (sqrt of the variance) instead of the value, when the run has one. */
  uncertainty: boolean;
  /** Colour domain: automatic (the displayed map(s)) or fixed. */
  domainAuto: boolean;
  domainMin: number;
  domainMax: number;
}

const DISPLAY_KEY = 'emfmap.display.v1';
const DEFAULT_DISPLAY: DisplaySettings = {
  ramp: 'viridis',
  mode: 'continuous',
  thresholds: '6',
  opacity: 0.75,
  uncertainty: false,
  domainAuto: true,
  domainMin: 0,
  domainMax: 6,
};

function loadDisplay(): DisplaySettings {
  try {
    const raw = JSON.parse(localStorage.getItem(DISPLAY_KEY) ?? '{}') as Partial<DisplaySettings>;
    const d = { ...DEFAULT_DISPLAY, ...raw };
    if (!isRampName(d.ramp)) d.ramp = DEFAULT_DISPLAY.ramp;
    return d;
  } catch {
    return { ...DEFAULT_DISPLAY };
  }
}

export class AppState {
  api: Api;
  view = $state<View>('project');
  hostInfo = $state<HostInfo | null>(null);
  settings = $state<HostSettings>({ tileUrl: null, tileAttribution: '' });
  version = $state<VersionInfo | null>(null);
  project = $state<ProjectSummary | null>(null);
  recent = $state<string[]>([]);
  estimators = $state<EstimatorInfo[]>([]);
  estimatorsError = $state<string | null>(null);
  runs = $state<RunRecord[]>([]);
  sensors = $state<SensorRow[]>([]);
  reference = $state<ReferenceMap | null>(null);
  notice = $state<Notice | null>(null);
  job = $state<JobState | null>(null);
  selectedRunId = $state<number | null>(null);
  /** Second run shown by the swipe (right side). */
  swipeRunId = $state<number | null>(null);
  step = $state(0);
  compareResult = $state<CompareResult | null>(null);
  exportOpen = $state(false);
  settingsOpen = $state(false);
  display = $state<DisplaySettings>(loadDisplay());
  /** Measurements the tests and the benchmark read (also shown in the About box). */
  perf = $state<{ overlayMs: number | null; overlayPixels: number | null }>({ overlayMs: null, overlayPixels: null });

  private maps = new Map<string, Promise<ExposureMap>>();

  constructor(api: Api) {
    this.api = api;
    $effect.root(() => {
      $effect(() => {
        localStorage.setItem(DISPLAY_KEY, JSON.stringify(this.display));
      });
    });
  }

  // ---------------------------------------------------------------------------------------- start-up

  async init(): Promise<void> {
    const [info, settings] = await Promise.all([this.api.host.info(), this.api.host.settings()]);
    this.hostInfo = info;
    this.settings = settings;
    this.api.version().then((v) => (this.version = v)).catch(() => {});
    this.loadEstimators();
    await this.refreshRecent();
    // the host may have a project open already (serve --project, npm start on the demo, a page reload)
    if (info.currentProject) {
      try {
        this.project = await this.api.summary();
      } catch {
        this.project = null;
      }
    }
    if (this.project) {
      await this.loadProjectData();
      this.view = 'map';
    }
  }

  async loadEstimators(): Promise<void> {
    try {
      this.estimators = await this.api.estimators();
      this.estimatorsError = null;
    } catch (err) {
      this.estimatorsError = (err as Error).message;
    }
  }

  async refreshRecent(): Promise<void> {
    try {
      this.recent = await this.api.host.recentProjects();
    } catch {
      this.recent = [];
    }
  }

  // ---------------------------------------------------------------------------------------- errors and jobs

  fail(err: unknown, context?: string): void {
    if (err instanceof ApiError && err.cancelled) {
      this.notice = { kind: 'info', text: `${context ? context + ': ' : ''}cancelled — nothing was changed.` };
      return;
    }
    const e = err as ApiError;
    this.notice = {
      kind: 'error',
      text: `${context ? context + ': ' : ''}${e?.message ?? String(err)}`,
      issues: e?.issues?.length ? e.issues : undefined,
      totalIssues: e?.totalIssues,
    };
  }

  info(text: string, kind: 'info' | 'success' = 'success'): void {
    this.notice = { kind, text };
  }

  /** Run one long job with progress and cancel; resolves undefined when it failed or was cancelled. */
  async runJob<T>(label: string, fn: (ctx: JobContext) => Promise<T>, opts: { quietErrors?: boolean } = {}): Promise<T | undefined> {
    if (this.job) {
      this.notice = { kind: 'info', text: `wait for "${this.job.label}" to finish (or cancel it) first` };
      return undefined;
    }
    const controller = new AbortController();
    const job: JobState = { label, progress: null, startedAt: performance.now(), controller, cancelling: false };
    this.job = job;
    try {
      return await fn({
        signal: controller.signal,
        onProgress: (p) => {
          if (this.job) this.job.progress = p;
        },
      });
    } catch (err) {
      if (opts.quietErrors) throw err;
      this.fail(err, label);
      return undefined;
    } finally {
      this.job = null;
    }
  }

  cancelJob(): void {
    if (!this.job || this.job.cancelling) return;
    this.job.cancelling = true;
    this.job.controller.abort();
  }

  // ---------------------------------------------------------------------------------------- projects

  async afterOpen(summary: ProjectSummary): Promise<void> {
    this.project = summary;
    this.maps.clear();
    this.selectedRunId = null;
    this.swipeRunId = null;
    this.compareResult = null;
    this.step = 0;
    await this.loadProjectData();
    await this.refreshRecent();
    this.view = 'map';
  }

  async openProject(path: string): Promise<void> {
    try {
      await this.afterOpen(await this.api.openProject(path));
      this.notice = null;
    } catch (err) {
      this.fail(err, 'open project');
    }
  }

  async createProject(path: string, name?: string, crs?: string): Promise<void> {
    try {
      await this.afterOpen(await this.api.createProject(path, { name: name || undefined, crs: crs || undefined }));
      this.info(`created ${path}: import readings next`);
      this.view = 'import';
    } catch (err) {
      this.fail(err, 'create project');
    }
  }

  async openDemo(): Promise<void> {
    const path = this.hostInfo?.demoPath ?? undefined;
    const s = await this.runJob('open demo', (ctx) => this.api.openDemo(path, ctx));
    if (s) await this.afterOpen(s);
  }

  async refreshSummary(): Promise<void> {
    if (!this.project) return;
    try {
      this.project = await this.api.summary();
    } catch (err) {
      this.fail(err);
    }
  }

  async loadProjectData(): Promise<void> {
    const [sensors, reference] = await Promise.all([
      this.api.sensors().catch((err) => {
        this.fail(err, 'sensors');
        return [] as SensorRow[];
      }),
      this.api.referenceMap().catch(() => null),
    ]);
    this.sensors = sensors;
    this.reference = reference;
    await this.refreshRuns();
  }

  async refreshRuns(): Promise<void> {
    try {
      this.runs = await this.api.runs();
    } catch (err) {
      this.runs = [];
      // "not available yet" while the engine is being written: show once, not as a blocking error
      if (!this.notice) this.fail(err, 'runs');
    }
    if (this.selectedRunId !== null && !this.runs.some((r) => r.id === this.selectedRunId)) this.selectedRunId = null;
    if (this.swipeRunId !== null && !this.runs.some((r) => r.id === this.swipeRunId)) this.swipeRunId = null;
    if (this.selectedRunId === null && this.runs.length > 0) this.selectedRunId = this.latestRun()!.id;
  }

  latestRun(): RunRecord | null {
    return this.runs.reduce<RunRecord | null>((a, r) => (a === null || r.createdAt > a.createdAt || (r.createdAt === a.createdAt && r.id > a.id) ? r : a), null);
  }

  get selectedRun(): RunRecord | null {
    return this.runs.find((r) => r.id === this.selectedRunId) ?? null;
  }

  get swipeRun(): RunRecord | null {
    return this.runs.find((r) => r.id === this.swipeRunId) ?? null;
  }

  /** One stored map (cached; a run's maps never change). */
  runMap(runId: number, step = 0): Promise<ExposureMap> {
    const key = `${runId}:${step}`;
    let p = this.maps.get(key);
    if (!p) {
      p = this.api.runMaps(runId, step).then((maps) => {
        if (maps.length === 0) throw new Error(`run ${runId} has no map for step ${step}`);
        return maps[0];
      });
      p.catch(() => this.maps.delete(key));
      this.maps.set(key, p);
    }
    return p;
  }

  async deleteRun(id: number): Promise<void> {
    try {
      await this.api.deleteRun(id);
      for (const k of [...this.maps.keys()]) if (k.startsWith(`${id}:`)) this.maps.delete(k);
      await this.refreshRuns();
      await this.refreshSummary();
    } catch (err) {
      this.fail(err, 'delete run');
    }
  }

  async saveSettings(s: HostSettings): Promise<boolean> {
    try {
      const before = this.settings.tileUrl;
      this.settings = await this.api.host.saveSettings(s);
      // the page's Content-Security-Policy names the tile host: a new host needs a reload to be allowed
      return before !== this.settings.tileUrl;
    } catch (err) {
      this.fail(err, 'settings');
      return false;
    }
  }
}

let current: AppState | null = null;

export function setApp(a: AppState): void {
  current = a;
}

export function app(): AppState {
  if (!current) throw new Error('application state used before start-up');
  return current;
}
