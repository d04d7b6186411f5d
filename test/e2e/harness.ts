// Browser-mode harness for the real-browser tests and bench/ui.ts: builds the renderer when needed, starts the
// server in this process on a random port with the service in a compute child process (as `emfmap serve`
// does), and drives Debian's Chromium through playwright-core (never a downloaded browser).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { HostState } from '../../src/server/state.ts';
import { ComputeClient, nodeComputeProcess } from '../../src/server/compute-client.ts';
import { ensureRenderer, RENDERER_OUT, ROOT } from '../../src/server/renderer-build.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
export const SCREENSHOTS = path.join(ROOT, 'test-output', 'screenshots');

export interface Harness {
  dir: string;
  server: RunningServer;
  client: ComputeClient;
  browser: Browser;
  page: Page;
  /** Content-Security-Policy violations reported by the page. */
  cspViolations(): Promise<string[]>;
  close(): Promise<void>;
}

/** Records long tasks (main-thread stalls ≥ 50 ms) and CSP violations from the first script on. */
const INIT_SCRIPT = `
  window.__longtasks = [];
  window.__csp = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) {}
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
`;

export async function startHarness(opts: { viewport?: { width: number; height: number }; log?: (s: string) => void } = {}): Promise<Harness> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  await ensureRenderer({ quiet: true, log: opts.log });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-e2e-'));
  const state = new HostState(path.join(dir, 'state'));
  // offline: no basemap (and no tile host in the page's CSP)
  state.setSettings({ tileUrl: null, tileAttribution: '' });
  const client = new ComputeClient(() => nodeComputeProcess(), { cancelGraceMs: 15_000 });
  await client.start();
  const server = await startServer({ invoker: client, staticDir: RENDERER_OUT, state, demoPath: path.join(dir, 'demo.emfmap') });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1400, height: 900 } });
  await page.addInitScript(INIT_SCRIPT);
  page.on('pageerror', (e) => opts.log?.(`page error: ${e.message}`));
  return {
    dir,
    server,
    client,
    browser,
    page,
    cspViolations: () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp),
    async close() {
      await browser.close().catch(() => {});
      await server.close();
      await client.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export interface OverlayPixels {
  /** Name under which the page keeps the RGBA for pixelDifference (reading 1 M numbers back is slow). */
  name: string;
  width: number;
  height: number;
  /** Share of pixels drawn (alpha > 0). */
  opaque: number;
  /** Number of distinct colours among drawn pixels. */
  distinct: number;
}

/**
 * Read back the pixels of the map overlay's image (a same-origin blob: URL, so the canvas is not tainted).
 * The RGBA stays in the page under `name`; only a summary comes back.
 */
export async function overlayPixels(page: Page, name: string, slot: 'a' | 'b' = 'a'): Promise<OverlayPixels> {
  return page.evaluate(
    async ([cls, key]) => {
      const img = document.querySelector<HTMLImageElement>(`img.${cls}`);
      if (!img) throw new Error('no overlay image on the map');
      if (!img.complete) await new Promise((r) => img.addEventListener('load', r, { once: true }));
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      const w = window as unknown as { __pixels?: Record<string, { w: number; h: number; d: Uint8ClampedArray }> };
      (w.__pixels ??= {})[key] = { w: c.width, h: c.height, d };
      let opaque = 0;
      const colours = new Set<number>();
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] === 0) continue;
        opaque++;
        colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      }
      return { name: key, width: c.width, height: c.height, opaque: opaque / (c.width * c.height), distinct: colours.size };
    },
    [`overlay-${slot}`, name] as const,
  );
}

/** Share of pixels that differ between two overlay readbacks (1 when the sizes differ). */
export async function pixelDifference(page: Page, a: OverlayPixels, b: OverlayPixels): Promise<number> {
  return page.evaluate(
    ([ka, kb]) => {
      const px = (window as unknown as { __pixels: Record<string, { w: number; h: number; d: Uint8ClampedArray }> }).__pixels;
      const A = px[ka];
      const B = px[kb];
      if (A.w !== B.w || A.h !== B.h) return 1;
      let diff = 0;
      for (let i = 0; i < A.d.length; i += 4) {
        if (A.d[i] !== B.d[i] || A.d[i + 1] !== B.d[i + 1] || A.d[i + 2] !== B.d[i + 2] || A.d[i + 3] !== B.d[i + 3]) diff++;
      }
      return diff / (A.w * A.h);
    },
    [a.name, b.name] as const,
  );
}

export async function clearLongTasks(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __longtasks: unknown[] }).__longtasks = [];
  });
}

/** Longest main-thread stall (ms) since the last clear; 0 when no task reached the 50 ms long-task threshold. */
export async function longestStall(page: Page): Promise<{ max: number; count: number }> {
  return page.evaluate(() => {
    const t = (window as unknown as { __longtasks: Array<{ duration: number }> }).__longtasks;
    return { max: t.reduce((m, x) => Math.max(m, x.duration), 0), count: t.length };
  });
}

/** Duration (ms) of the last overlay render measured by the app (request to image decoded on the map). */
export interface OverlayMeasure {
  /** Request to image decoded on the map. */
  ms: number;
  cells: number;
  pixels: number;
  /** Worker-side split: reprojection index (0 when cached), colouring, PNG encoding. */
  worker: { geometry: number; colour: number; encode: number };
  /** Request to image URL ready (before the browser decodes and paints it). */
  page: number;
}

export async function overlayMeasures(page: Page): Promise<OverlayMeasure[]> {
  return page.evaluate(() =>
    performance.getEntriesByName('emfmap:overlay', 'measure').map((e) => {
      const d = (e as PerformanceMeasure).detail as Omit<OverlayMeasure, 'ms'>;
      return { ms: e.duration, ...d };
    }),
  );
}

export async function lastOverlayMeasure(page: Page): Promise<OverlayMeasure | null> {
  const all = await overlayMeasures(page);
  return all.length > 0 ? all[all.length - 1] : null;
}
