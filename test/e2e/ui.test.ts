// End-to-end: the real user interface in Debian's Chromium against browser mode (server in this process on a
// random port, service in a compute child process). One browser session walks through the product: open the
// demo, map with two estimators, compare them, refuse a bad file, cancel a long run, export.
// Screenshots go to test-output/screenshots/. Timings are recorded in test-output/ui-measurements.json, not
// asserted (speed goals live in bench/ui.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import {
  clearLongTasks,
  lastOverlayMeasure,
  longestStall,
  overlayPixels,
  pixelDifference,
  screenshot,
  startHarness,
  type Harness,
  type OverlayPixels,
} from './harness.ts';
import { ROOT } from '../../src/server/renderer-build.ts';

let h: Harness;
let page: Page;
const measurements: Record<string, unknown> = {};
let methods: { first: string; second: string; secondParams: Record<string, string> };

beforeAll(async () => {
  h = await startHarness({ log: (s) => process.stderr.write(s + '\n') });
  page = h.page;
  const ids = (await h.client.invoke('estimators', [])).map((e) => e.id);
  // two estimators: IDW and kriging when registered, else any other, else IDW again with another power
  const second = ids.includes('kriging') ? 'kriging' : (ids.find((i) => i !== 'idw') ?? 'idw');
  methods = { first: ids.includes('idw') ? 'idw' : ids[0], second, secondParams: second === 'idw' ? { power: '1' } : {} };
  await page.goto(h.server.url);
}, 300_000);

afterAll(async () => {
  if (page) {
    measurements.cspViolations = await h.cspViolations().catch(() => null);
    fs.mkdirSync(path.join(ROOT, 'test-output'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'test-output', 'ui-measurements.json'), JSON.stringify(measurements, null, 2));
  }
  await h?.close();
});

async function noticeText(): Promise<string> {
  return (await page.locator('[data-test=notice]').textContent()) ?? '';
}

/** Wait until the job bar is gone; fail with the app's error notice if the job failed. */
async function waitJobDone(timeout = 120_000): Promise<void> {
  await page.waitForSelector('[data-test=jobbar]', { state: 'detached', timeout });
}

async function runEstimate(method: string, params: Record<string, string>, gridSize: number): Promise<string> {
  await page.click('[data-view=map]');
  await page.selectOption('[data-test=method]', method);
  for (const [k, v] of Object.entries(params)) await page.fill(`[data-param="${k}"]`, v);
  await page.fill('[data-test=grid-size]', String(gridSize));
  const before = await page.getAttribute('[data-test=map]', 'data-overlay');
  await page.click('[data-action=run-estimate]');
  await waitJobDone();
  const error = await page.locator('.notice.error').count();
  if (error > 0) throw new Error(`estimate ${method} failed in the UI: ${await noticeText()}`);
  await page.waitForFunction((prev) => {
    const v = document.querySelector('[data-test=map]')?.getAttribute('data-overlay');
    return !!v && v !== 'none' && v !== prev;
  }, before);
  return (await page.getAttribute('[data-test=map]', 'data-overlay'))!;
}

describe('browser mode in Chromium', () => {
  it('opens the demo project and shows its summary', async () => {
    await page.waitForSelector('[data-action=open-demo]');
    await page.click('[data-action=open-demo]');
    await waitJobDone(240_000);
    await page.waitForSelector('.badge.synthetic');
    await page.click('[data-view=project]');
    const sensors = Number(await page.textContent('[data-test=count-sensors]'));
    const readings = Number(await page.textContent('[data-test=count-readings]'));
    const summary = await h.client.invoke('summary', []);
    expect(summary.meta.synthetic).toBe(true);
    expect(sensors).toBe(summary.counts.sensors);
    expect(readings).toBe(summary.counts.readings);
    expect(sensors).toBeGreaterThan(10);
    await screenshot(page, 'project');
  });

  let first: OverlayPixels;

  it('maps with a first estimator: the overlay is drawn', async () => {
    const key = await runEstimate(methods.first, {}, 128);
    first = await overlayPixels(page, 'first');
    expect(first.width).toBeGreaterThanOrEqual(128);
    // the grid covers most of its bounding box (a slightly rotated projected grid leaves corners empty)
    expect(first.opaque).toBeGreaterThan(0.8);
    // a real field, not a flat fill
    expect(first.distinct).toBeGreaterThan(30);
    measurements.overlay128 = await lastOverlayMeasure(page);
    measurements.firstRun = key;
    await screenshot(page, 'map');
  });

  it('maps with a second estimator: the overlay pixels change', async () => {
    await runEstimate(methods.second, methods.secondParams, 128);
    const second = await overlayPixels(page, 'second');
    expect(second.opaque).toBeGreaterThan(0.8);
    // a different estimator gives a different field; more than 5 % of the pixels change colour
    expect(await pixelDifference(page, first, second)).toBeGreaterThan(0.05);
  });

  it('shows the uncertainty (sd) overlay of a method that gives a variance', async () => {
    const info = (await h.client.invoke('estimators', [])).find((e) => e.id === methods.second)!;
    if (!info.providesVariance) {
      expect(await page.isDisabled('[data-test=uncertainty]')).toBe(true);
      return;
    }
    const values = await overlayPixels(page, 'values');
    await page.check('[data-test=uncertainty]');
    await page.waitForFunction(() => (document.querySelector('[data-test=map]')?.getAttribute('data-overlay') ?? '').endsWith(':sd'));
    const sd = await overlayPixels(page, 'sd');
    expect(await pixelDifference(page, values, sd)).toBeGreaterThan(0.5);
    expect(await page.textContent('[data-test=legend]')).toContain('Standard deviation');
    await screenshot(page, 'uncertainty');
    await page.uncheck('[data-test=uncertainty]');
    await page.waitForFunction(() => !(document.querySelector('[data-test=map]')?.getAttribute('data-overlay') ?? '').endsWith(':sd'));
  });

  it('compares two runs with a swipe', async () => {
    const firstId = (measurements.firstRun as string).split(':')[0];
    await page.click(`li[data-run-id="${firstId}"] [data-action=swipe]`);
    await page.waitForSelector('img.overlay-b');
    // the second overlay is clipped to the right of the swipe position
    const clip = await page.evaluate(() => document.querySelector<HTMLElement>('.leaflet-swipeB-pane')!.style.clip);
    expect(clip).toMatch(/^rect\(/);
    await page.locator('[data-test=swipe]').fill('0.3');
    const clip2 = await page.evaluate(() => document.querySelector<HTMLElement>('.leaflet-swipeB-pane')!.style.clip);
    expect(clip2).not.toBe(clip);
    await screenshot(page, 'swipe');
    await page.click(`li[data-run-id="${firstId}"] [data-action=swipe]`);
    await page.waitForSelector('[data-test=swipe]', { state: 'detached' });
  });

  it('opens a sensor popup with its readings chart', async () => {
    await page.click('[data-test=notice] .close').catch(() => {});
    const marker = page.locator('path.sensor-marker').first();
    await marker.click();
    await page.waitForSelector('.sensor-popup .uplot', { timeout: 30_000 });
    const text = await page.textContent('.sensor-popup');
    const sensors = await h.client.invoke('sensors', []);
    expect(sensors.some((x) => text!.includes(`id ${x.id}`))).toBe(true);
    await page.waitForTimeout(400); // popup fade-in
    await screenshot(page, 'sensor-popup');
    await page.click('.leaflet-popup-close-button');
  });

  it('steps through a time-resolved run with the time slider', async () => {
    await page.selectOption('[data-test=method]', methods.first);
    await page.fill('[data-test=grid-size]', '64');
    await page.selectOption('[data-test=time-mode]', 'every');
    await page.fill('[data-test=every]', '24h');
    const before = await page.getAttribute('[data-test=map]', 'data-overlay');
    await page.click('[data-action=run-estimate]');
    await waitJobDone();
    await page.waitForFunction((prev) => document.querySelector('[data-test=map]')?.getAttribute('data-overlay') !== prev, before);
    const key0 = (await page.getAttribute('[data-test=map]', 'data-overlay'))!;
    const runId = key0.split(':')[0];
    expect(key0).toBe(`${runId}:0`);
    const step0 = await overlayPixels(page, 'step0');
    await page.locator('[data-test=time-slider]').fill('3');
    await page.waitForFunction((k) => document.querySelector('[data-test=map]')?.getAttribute('data-overlay') === k, `${runId}:3`);
    const step3 = await overlayPixels(page, 'step3');
    // the daily maps differ (traffic and gaps change the readings)
    expect(await pixelDifference(page, step0, step3)).toBeGreaterThan(0.01);
    const maps = await h.client.invoke('runMaps', [Number(runId)]);
    expect(maps.length).toBeGreaterThan(3);
    await screenshot(page, 'time-slider');
    await page.selectOption('[data-test=time-mode]', 'single');
  });

  it('redraws the overlay when the colour ramp and thresholds change', async () => {
    const before = await overlayPixels(page, 'before-style');
    const prev = await page.getAttribute('[data-test=map]', 'data-overlay');
    const renders = await page.evaluate(() => performance.getEntriesByName('emfmap:overlay', 'measure').length);
    await page.selectOption('[data-test=ramp]', 'magma');
    await page.waitForFunction((n) => performance.getEntriesByName('emfmap:overlay', 'measure').length > n, renders);
    await page.selectOption('[data-test=mode]', 'classed');
    await page.waitForFunction((n) => performance.getEntriesByName('emfmap:overlay', 'measure').length > n + 1, renders);
    const after = await overlayPixels(page, 'after-style');
    expect(await page.getAttribute('[data-test=map]', 'data-overlay')).toBe(prev);
    expect(await pixelDifference(page, before, after)).toBeGreaterThan(0.5);
    // classed bands: far fewer colours than a continuous ramp (bands + threshold outline)
    expect(after.distinct).toBeLessThan(12);
    await page.selectOption('[data-test=mode]', 'continuous');
    await page.selectOption('[data-test=ramp]', 'viridis');
  });

  it('compares both estimators in a table with numbers', async () => {
    await page.click('[data-view=compare]');
    for (const box of await page.locator('[data-compare-method]').all()) {
      const id = await box.getAttribute('data-compare-method');
      const want = id === methods.first || id === methods.second;
      if ((await box.isChecked()) !== want) await box.click();
    }
    await page.selectOption('[data-test=cv]', 'loo');
    await page.fill('[data-test=compare-grid]', '48');
    await page.click('[data-action=run-compare]');
    await waitJobDone(240_000);
    if ((await page.locator('.notice.error').count()) > 0) throw new Error(`compare failed: ${await noticeText()}`);
    const table = page.locator('[data-test=compare-table]');
    await table.waitFor();
    for (const m of new Set([methods.first, methods.second])) {
      const rmse = await table.locator(`tr[data-method="${m}"] [data-metric=rmse]`).textContent();
      const r2 = await table.locator(`tr[data-method="${m}"] [data-metric=r2]`).textContent();
      expect(Number(rmse)).toBeGreaterThan(0);
      expect(Number.isFinite(Number(r2))).toBe(true);
    }
    // the table shows what the service computed (same numbers, rounded to 4 significant digits)
    const result = await h.client.invoke('compare', [{ methods: [methods.first], cv: 'loo', grid: { size: 48 }, seed: 1 }]);
    const shown = Number(await table.locator(`tr[data-method="${methods.first}"] [data-metric=rmse]`).textContent());
    expect(shown).toBeCloseTo(result.rows[0].rmse!, 3);
    await screenshot(page, 'compare');
    // the per-sensor residual map shows one marker per held-out cell of the selected method
    const row = result.rows[0];
    await page.selectOption('[data-test=residual-method]', methods.first);
    await page.locator('[data-test=residual-map]').scrollIntoViewIfNeeded();
    await page.waitForFunction((n) => document.querySelectorAll('path.residual-marker').length === n, row.residuals?.length ?? 0);
    await page.waitForTimeout(300);
    await screenshot(page, 'compare-residuals');
  });

  it('refuses a bad file with line-numbered errors and leaves the project unchanged', async () => {
    const before = await h.client.invoke('summary', []);
    const sensorsBefore = await h.client.invoke('sensors', []);
    const bad = path.join(h.dir, 'bad-readings.csv');
    fs.writeFileSync(
      bad,
      'sensor_id,lat,lon,time,value\n' +
        'X1,50.630,3.050,2025-03-05T10:00:00Z,0.5\n' +
        'X2,50.631,3.052,2025-03-05T10:00:00Z,0.7\n' +
        'X3,50.632,3.049,2025-03-05T10:00:00Z,abc\n' +
        'X4,50.633,3.051,2025-03-05T10:00:00Z,0.9\n' +
        'X5,95.000,3.051,2025-03-05T10:00:00Z,0.9\n',
    );
    await page.click('[data-view=import]');
    await page.fill('[data-test=import-file]', bad);
    await page.click('[data-action=import-preview]');
    const errors = page.locator('[data-test=import-errors]');
    await errors.waitFor({ timeout: 60_000 });
    const rows = await errors.locator('tbody tr').allTextContents();
    // the unparseable value is on line 4 (header = line 1); the impossible latitude on line 6
    expect(rows.some((r) => r.startsWith('4') && r.includes('value'))).toBe(true);
    expect(rows.some((r) => r.startsWith('6'))).toBe(true);
    expect(await page.isDisabled('[data-action=import-confirm]')).toBe(true);
    await screenshot(page, 'import-errors');
    const after = await h.client.invoke('summary', []);
    const sensorsAfter = await h.client.invoke('sensors', []);
    expect(after.counts).toEqual(before.counts);
    expect(sensorsAfter.map((s) => s.id).sort()).toEqual(sensorsBefore.map((s) => s.id).sort());
  });

  it('previews a good file (dry run) without writing, then imports it', async () => {
    const good = path.join(h.dir, 'good-readings.csv');
    fs.writeFileSync(good, 'sensor_id,lat,lon,time,value\nG1,50.6300,3.0500,2025-03-05T10:00:00Z,0.5\nG2,50.6310,3.0520,2025-03-05T10:00:00Z,0.7\n');
    const before = await h.client.invoke('summary', []);
    await page.fill('[data-test=import-file]', good);
    await page.click('[data-action=import-preview]');
    await page.locator('[data-test=import-report]').waitFor({ timeout: 60_000 });
    expect(await page.textContent('[data-test=dry-readings]')).toMatch(/^2:/);
    expect((await h.client.invoke('summary', [])).counts).toEqual(before.counts);
    await screenshot(page, 'import-preview');
    await page.click('[data-action=import-confirm]');
    await page.locator('[data-test=import-done]').waitFor({ timeout: 60_000 });
    const after = await h.client.invoke('summary', []);
    expect(after.counts.readings).toBe(before.counts.readings + 2);
    expect(after.counts.sensors).toBe(before.counts.sensors + 2);
  });

  it('cancels a long run, keeps the page responsive, and stores nothing', async () => {
    const runsBefore = (await h.client.invoke('runs', [])).length;
    await page.click('[data-view=map]');
    await page.selectOption('[data-test=method]', methods.first);
    await page.fill('[data-test=grid-size]', '512');
    await page.selectOption('[data-test=time-mode]', 'every');
    await page.fill('[data-test=every]', '1h');
    await clearLongTasks(page);
    await page.click('[data-action=run-estimate]');
    // let it run until progress is reported, then cancel
    await page.waitForFunction(() => {
      const p = document.querySelector<HTMLProgressElement>('[data-test=job-progress]');
      return !!p && p.position > 0.02;
    }, undefined, { timeout: 120_000 });
    await page.waitForTimeout(1500);
    const stall = await longestStall(page);
    measurements.longestStallDuringEstimateMs = stall.max;
    measurements.longTasksDuringEstimate = stall.count;
    const t0 = Date.now();
    await page.click('[data-action=cancel-job]');
    await waitJobDone(60_000);
    measurements.cancelSeconds = (Date.now() - t0) / 1000;
    expect(await noticeText()).toContain('cancelled');
    expect((await h.client.invoke('runs', [])).length).toBe(runsBefore);
    await page.selectOption('[data-test=time-mode]', 'single');
  });

  it('exports the map to a GeoTIFF file', async () => {
    await page.click('[data-action=open-export]');
    await page.locator('[data-test=export-dialog]').waitFor();
    await page.selectOption('[data-test=export-format]', 'geotiff');
    const out = path.join(h.dir, 'exported.tif');
    await page.fill('[data-test=export-out]', out);
    await screenshot(page, 'export');
    await page.click('[data-action=export]');
    await page.locator('[data-test=export-result]').waitFor({ timeout: 120_000 });
    const bytes = fs.readFileSync(out);
    // little-endian TIFF ("II*\0") or BigTIFF ("II+\0")
    expect(bytes.subarray(0, 2).toString('latin1')).toBe('II');
    expect([42, 43]).toContain(bytes.readUInt16LE(2));
    expect(bytes.length).toBeGreaterThan(1000);
    await page.click('.modal .actions button.secondary');
  });

  it('deletes a run from the history', async () => {
    const runs = await h.client.invoke('runs', []);
    const victim = runs[runs.length - 1].id;
    await page.click('[data-view=map]');
    await page.click(`li[data-run-id="${victim}"] [data-action=delete-run]`);
    await page.click(`li[data-run-id="${victim}"] [data-action=confirm-delete]`);
    await page.waitForSelector(`li[data-run-id="${victim}"]`, { state: 'detached' });
    const after = await h.client.invoke('runs', []);
    expect(after.map((r) => r.id)).not.toContain(victim);
    expect(after.length).toBe(runs.length - 1);
  });

  it('loaded nothing that the page security policy refused', async () => {
    expect(await h.cspViolations()).toEqual([]);
  });
});
