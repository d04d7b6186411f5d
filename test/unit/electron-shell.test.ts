// The desktop shell's pieces that do not need an Electron binary: the window's security options and remembered
// bounds, the URL rules (our page only), the IPC router's sender check and validation, and the menu.

import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { placeOnDisplays, readWindowState, windowOptions, writeWindowState } from '../../electron/window-options.ts';
import { appPathToFile, externalLinkAllowed, isAppUrl, isTrustedSender, navigationAllowed } from '../../electron/security.ts';
import { IPC, registerIpc } from '../../electron/ipc.ts';
import { menuTemplate } from '../../electron/menu.ts';
import { inProcessInvoker } from '../../src/server/invoker.ts';
import { DEFAULT_SETTINGS, type HostApi } from '../../src/service/channels.ts';
import type { EmfmapApi, JobContext } from '../../src/service/api.ts';
import type { MenuCommand } from '../../electron/bridge.ts';
import type { MenuItemConstructorOptions } from 'electron';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-shell-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('BrowserWindow options', () => {
  it('isolates and sandboxes the page, without Node', () => {
    const o = windowOptions({ width: 1200, height: 800, maximized: false }, '/app/dist-electron/preload.cjs');
    expect(o.webPreferences).toMatchObject({
      preload: '/app/dist-electron/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    expect(o.show).toBe(false);
  });

  it('remembers size and position, and forgets a position that is off every display', () => {
    const file = path.join(dir, 'window-state.json');
    expect(readWindowState(file)).toEqual({ width: 1400, height: 900, maximized: false });
    writeWindowState(file, { x: 100, y: 50, width: 1000, height: 700, maximized: true });
    const s = readWindowState(file);
    expect(s).toEqual({ x: 100, y: 50, width: 1000, height: 700, maximized: true });
    const screens = [{ x: 0, y: 0, width: 1920, height: 1080 }];
    expect(placeOnDisplays(s, screens)).toEqual(s);
    // the second monitor it was on is gone
    expect(placeOnDisplays({ ...s, x: 2500 }, screens)).toEqual({ ...s, x: undefined, y: undefined });
    // too small or corrupt values fall back to sane ones
    fs.writeFileSync(file, '{"width": 10, "height": "x"}');
    expect(readWindowState(file)).toMatchObject({ width: 900, height: 900 });
    fs.writeFileSync(file, 'not json');
    expect(readWindowState(file)).toEqual({ width: 1400, height: 900, maximized: false });
  });
});

describe('URL rules', () => {
  it('recognises only our page', () => {
    expect(isAppUrl('app://emfmap/index.html')).toBe(true);
    expect(isAppUrl('app://emfmap/assets/x.js?v=1')).toBe(true);
    for (const u of ['https://emfmap/index.html', 'app://evil/index.html', 'file:///etc/passwd', 'app://user:pw@emfmap/', 'javascript:alert(1)', '', null]) expect(isAppUrl(u), String(u)).toBe(false);
    expect(isTrustedSender('app://emfmap/index.html', true)).toBe(true);
    // an iframe, even of our page, is not trusted
    expect(isTrustedSender('app://emfmap/index.html', false)).toBe(false);
    expect(navigationAllowed('https://tile.openstreetmap.org/')).toBe(false);
    expect(externalLinkAllowed('https://www.openstreetmap.org/copyright')).toBe(true);
    expect(externalLinkAllowed('https://evil.example/')).toBe(false);
    expect(externalLinkAllowed('http://leafletjs.com')).toBe(false);
  });

  it('maps app:// paths into the renderer folder only', () => {
    expect(appPathToFile('app://emfmap/', '/r')).toBe('/r/index.html');
    expect(appPathToFile('app://emfmap/assets/a.js', '/r/')).toBe('/r/assets/a.js');
    // the URL parser resolves dot segments first: they cannot climb above the root
    expect(appPathToFile('app://emfmap/%2e%2e/secret', '/r')).toBe('/r/secret');
    expect(appPathToFile('app://emfmap/../../etc/passwd', '/r')).toBe('/r/etc/passwd');
    expect(appPathToFile('app://emfmap/assets/..%2F..%2Fsecret', '/r')).toBeNull();
    expect(appPathToFile('app://emfmap/a%5C..%5Cb', '/r')).toBeNull();
    expect(appPathToFile('app://other/index.html', '/r')).toBeNull();
  });
});

// ------------------------------------------------------------------------------------------- IPC router

type Handler = (e: unknown, ...args: unknown[]) => unknown;

function fakeIpc() {
  const handlers = new Map<string, Handler>();
  const listeners = new Map<string, Handler>();
  return {
    ipcMain: {
      handle: (ch: string, fn: Handler) => handlers.set(ch, fn),
      on: (ch: string, fn: Handler) => listeners.set(ch, fn),
    },
    handlers,
    listeners,
  };
}

function event(url: string, opts: { iframe?: boolean } = {}) {
  const sent: unknown[][] = [];
  return {
    senderFrame: { url, parent: opts.iframe ? {} : null },
    sender: { send: (...a: unknown[]) => sent.push(a), isDestroyed: () => false },
    sent,
  };
}

describe('IPC router', () => {
  const seen: string[] = [];
  const api = {
    summary: async () => (seen.push('summary'), { path: '/p.emfmap', meta: {}, counts: {} }),
    openProject: async (p: string) => (seen.push(`open ${p}`), { path: p, meta: {}, counts: {} }),
    estimate: async (_r: unknown, ctx: JobContext = {}) => {
      for (let i = 1; i <= 100; i++) {
        if (ctx.signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'CancelledError' });
        ctx.onProgress?.({ stage: 's', fraction: i / 100 });
        await new Promise((r) => setTimeout(r, 5));
      }
      return { run: { id: 1 } };
    },
  } as unknown as EmfmapApi;
  const host: HostApi = {
    info: async () => ({ kind: 'electron', demoPath: null, currentProject: null }),
    recentProjects: async () => ['/p.emfmap'],
    settings: async () => DEFAULT_SETTINGS,
    saveSettings: async (s) => s,
  };
  const opened: string[] = [];
  const f = fakeIpc();
  registerIpc({
    ipcMain: f.ipcMain as never,
    invoker: inProcessInvoker(api),
    host,
    shell: { pickOpenFile: async () => '/picked.csv', pickSaveFile: async () => null },
    onProjectOpened: (p) => opened.push(p),
  });
  const call = (e: unknown, ...a: unknown[]) => f.handlers.get(IPC.call)!(e, ...a);

  it('answers our page', async () => {
    expect(await call(event('app://emfmap/index.html'), 'summary', [])).toEqual({ ok: true, value: { path: '/p.emfmap', meta: {}, counts: {} } });
    expect(await call(event('app://emfmap/index.html'), 'openProject', ['/q.emfmap'])).toMatchObject({ ok: true });
    expect(opened).toEqual(['/q.emfmap']);
  });

  it('refuses other frames before anything runs', async () => {
    const n = seen.length;
    for (const e of [event('https://evil.example/'), event('app://emfmap/index.html', { iframe: true }), { senderFrame: null }]) {
      expect(await call(e, 'summary', [])).toMatchObject({ ok: false, error: { name: 'Forbidden' } });
      expect(await f.handlers.get(IPC.host)!(e, 'recentProjects', [])).toMatchObject({ ok: false, error: { name: 'Forbidden' } });
      expect(await f.handlers.get(IPC.shell)!(e, 'pickOpenFile', [{ title: 'x' }])).toMatchObject({ ok: false, error: { name: 'Forbidden' } });
    }
    expect(seen.length).toBe(n);
  });

  it('validates arguments and method names', async () => {
    const e = event('app://emfmap/index.html');
    expect(await call(e, 'openProject', [7])).toMatchObject({ ok: false, error: { name: 'ArgumentError', message: expect.stringMatching(/openProject: path must be a string/) } });
    expect(await call(e, 'toString', [])).toMatchObject({ ok: false, error: { name: 'ArgumentError' } });
    // long methods must go through the job channel (progress + cancel), short ones must not
    expect(await call(e, 'estimate', [{ method: 'idw' }])).toMatchObject({ ok: false, error: { message: expect.stringMatching(/is a job/) } });
    expect(await f.handlers.get(IPC.shell)!(e, 'pickOpenFile', [{ title: 'x', filters: [{ name: 'CSV', extensions: 'csv' }] }])).toMatchObject({ ok: false, error: { name: 'ArgumentError' } });
    expect(await f.handlers.get(IPC.shell)!(e, 'pickOpenFile', [{ title: 'Readings' }])).toEqual({ ok: true, value: '/picked.csv' });
    expect(await f.handlers.get(IPC.host)!(e, 'saveSettings', [{ tileUrl: 'ftp://x/{z}/{x}/{y}', tileAttribution: '' }])).toMatchObject({ ok: false });
  });

  it('forwards job progress to the calling page and cancels on request', async () => {
    const e = event('app://emfmap/index.html');
    const done = f.handlers.get(IPC.job)!(e, 'estimate', [{ method: 'idw' }], 'job-1') as Promise<unknown>;
    await new Promise((r) => setTimeout(r, 60));
    f.listeners.get(IPC.cancel)!(e, 'job-1');
    const res = (await done) as { ok: boolean; error?: { name: string } };
    expect(res).toMatchObject({ ok: false, error: { name: 'CancelledError' } });
    const progress = e.sent.filter((s) => s[0] === IPC.progress);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.length).toBeLessThan(100);
    expect(progress[0][1]).toBe('job-1');
  });

  it('runs a job to completion', async () => {
    const e = event('app://emfmap/index.html');
    expect(await f.handlers.get(IPC.job)!(e, 'estimate', [{ method: 'idw' }], 'job-2')).toEqual({ ok: true, value: { run: { id: 1 } } });
  });
});

describe('application menu', () => {
  it('has the project, import, export, recent and about entries, wired to the page', () => {
    const sent: MenuCommand[] = [];
    let about = 0;
    const t = menuTemplate({ recent: ['/data/a.emfmap'], isMac: false, dev: false, actions: { send: (c) => sent.push(c), about: () => about++, quit: () => {} } });
    const items = t.flatMap((m) => (Array.isArray(m.submenu) ? m.submenu : [])) as MenuItemConstructorOptions[];
    const byLabel = (l: string) => items.find((i) => i.label === l)!;
    for (const l of ['New Project…', 'Open Project…', 'Recent Projects', 'Import Readings…', 'Export Map…', 'About emfmap']) expect(byLabel(l), l).toBeDefined();
    (byLabel('Import Readings…').click as () => void)();
    (byLabel('Export Map…').click as () => void)();
    const recent = (byLabel('Recent Projects').submenu as MenuItemConstructorOptions[])[0];
    expect(recent.label).toBe('a.emfmap');
    (recent.click as () => void)();
    (byLabel('About emfmap').click as () => void)();
    expect(sent).toEqual([{ cmd: 'import' }, { cmd: 'export' }, { cmd: 'open-recent', path: '/data/a.emfmap' }]);
    expect(about).toBe(1);
  });
});
