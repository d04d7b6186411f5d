// Electron main process, kept thin: the window (size/position remembered), the application menu, native
// dialogs, the app:// protocol serving the renderer with a strict CSP, and IPC routing to the service, which
// runs in a separate compute process (a crash or out-of-memory there is reported in the window and the process
// restarted). Bundled by electron/bundle.js into dist-electron/main.cjs.

import path from 'node:path';
import fs from 'node:fs';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, screen, session, shell, utilityProcess, type UtilityProcess } from 'electron';
import { ComputeClient, nodeComputeProcess, type ComputeProcess } from '../src/server/compute-client.ts';
import type { FromCompute, ToCompute } from '../src/server/compute-protocol.ts';
import { HostState } from '../src/server/state.ts';
import { contentSecurityPolicy } from '../src/server/security.ts';
import { contentType } from '../src/server/static-files.ts';
import type { HostApi } from '../src/service/channels.ts';
import type { MenuCommand, ShellCalls } from './bridge.ts';
import { IPC, registerIpc } from './ipc.ts';
import { menuTemplate } from './menu.ts';
import { APP_SCHEME, APP_URL, appPathToFile, externalLinkAllowed, navigationAllowed } from './security.ts';
import { placeOnDisplays, readWindowState, windowOptions, writeWindowState, type WindowState } from './window-options.ts';

// dist-electron/main.cjs -> the checkout (or the packaged app's resources)
const ROOT = path.resolve(__dirname, '..');
const RENDERER = path.join(ROOT, 'dist', 'renderer');
const PRELOAD = path.join(__dirname, 'preload.cjs');
const COMPUTE_HOST = path.join(__dirname, 'compute-host.cjs');

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }]);

let win: BrowserWindow | null = null;
let state: HostState;
let client: ComputeClient;
const windowStateFile = () => path.join(app.getPath('userData'), 'window-state.json');

// ------------------------------------------------------------------------------------ compute process

function utilityCompute(): ComputeProcess {
  const child: UtilityProcess = utilityProcess.fork(COMPUTE_HOST, [], { serviceName: 'emfmap compute', stdio: 'pipe' });
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    process.stderr.write(d);
    tail = (tail + d.toString('utf8')).slice(-4000);
  });
  child.stdout?.on('data', (d: Buffer) => process.stdout.write(d));
  const exitCbs: Array<(r: string) => void> = [];
  let fatal = '';
  child.on('error', (type: string, location: string) => {
    fatal = `${type} at ${location}`;
  });
  child.on('exit', (code: number) => {
    const oom = /heap out of memory|Allocation failed|OOM/i.test(tail + fatal);
    const abi = /NODE_MODULE_VERSION/.test(tail);
    const reason = oom
      ? 'out of memory'
      : abi
        ? 'a native module (better-sqlite3) was built for another Node version: run "npx electron-builder install-app-deps"'
        : fatal || `exit code ${code}`;
    for (const cb of exitCbs) cb(reason);
  });
  return {
    send: (m: ToCompute) => child.postMessage(m),
    onMessage: (cb: (m: FromCompute) => void) => child.on('message', (m: FromCompute) => cb(m)),
    onExit: (cb) => exitCbs.push(cb),
    kill: () => {
      child.kill();
    },
  };
}

/**
 * In development (`npm start`), launch.js passes the system Node's path: the compute process then runs under it,
 * so native modules built by npm for Node load without an Electron rebuild. Packaged apps use utilityProcess.
 */
function spawnCompute(): ComputeProcess {
  const nodePath = process.env.EMFMAP_COMPUTE_NODE;
  if (nodePath && fs.existsSync(nodePath)) return nodeComputeProcess({ execPath: nodePath, root: ROOT });
  return utilityCompute();
}

function sendToPage(channel: string, payload: unknown): void {
  if (win && !win.isDestroyed()) win.webContents.send(channel, payload);
}

// ------------------------------------------------------------------------------------ protocol and security

function csp(): string {
  return contentSecurityPolicy({ tileUrl: state.settings().tileUrl });
}

function registerAppProtocol(): void {
  protocol.handle(APP_SCHEME, async (req) => {
    const file = appPathToFile(req.url, RENDERER, path.sep);
    if (!file || !file.startsWith(RENDERER + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      return new Response('not found', { status: 404 });
    }
    return new Response(fs.readFileSync(file), {
      headers: { 'content-type': contentType(file), 'content-security-policy': csp(), 'x-content-type-options': 'nosniff' },
    });
  });
}

function hardenSessions(): void {
  // no permission (camera, geolocation, notifications...) is ever granted to the page
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (e, url) => {
      if (!navigationAllowed(url)) e.preventDefault();
    });
    contents.on('will-redirect', (e, url) => {
      if (!navigationAllowed(url)) e.preventDefault();
    });
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      // attribution and documentation links open in the user's browser; nothing opens inside the app
      if (externalLinkAllowed(url)) shell.openExternal(url).catch(() => {});
      return { action: 'deny' };
    });
  });
}

// ------------------------------------------------------------------------------------ window and menu

function createWindow(): BrowserWindow {
  const saved = placeOnDisplays(readWindowState(windowStateFile()), screen.getAllDisplays().map((d) => d.workArea));
  const w = new BrowserWindow(windowOptions(saved, PRELOAD));
  if (saved.maximized) w.maximize();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const save = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      if (w.isDestroyed()) return;
      const b = w.getNormalBounds();
      const s: WindowState = { x: b.x, y: b.y, width: b.width, height: b.height, maximized: w.isMaximized() };
      writeWindowState(windowStateFile(), s);
    }, 400);
  };
  w.on('resize', save);
  w.on('move', save);
  w.on('maximize', save);
  w.on('unmaximize', save);
  w.once('ready-to-show', () => w.show());
  w.webContents.on('render-process-gone', (_e, details) => {
    dialog.showErrorBox('emfmap', `The window's page stopped (${details.reason}). It will be reloaded.`);
    if (!w.isDestroyed()) w.loadURL(APP_URL);
  });
  w.loadURL(APP_URL);
  return w;
}

function updateMenu(): void {
  const template = menuTemplate({
    recent: state.recent(),
    isMac: process.platform === 'darwin',
    dev: !app.isPackaged,
    actions: {
      send: (cmd: MenuCommand) => sendToPage(IPC.menu, cmd),
      about: () => void showAbout(),
      quit: () => app.quit(),
    },
  });
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function showAbout(): Promise<void> {
  let backend = 'unknown';
  let node = process.versions.node;
  try {
    const v = await client.invoke('version', []);
    backend = `${v.backend} (${v.backendReason})`;
    node = v.node;
  } catch (err) {
    backend = `unavailable: ${(err as Error).message}`;
  }
  const detail = [
    `emfmap ${app.getVersion()}`,
    `Electron ${process.versions.electron} · Chromium ${process.versions.chrome}`,
    `Node ${process.versions.node} (compute: Node ${node})`,
    `Compute backend: ${backend}`,
    '',
    'RF-EMF exposure maps from sparse sensor networks. MIT licence.',
  ].join('\n');
  const opts = { type: 'info' as const, title: 'About emfmap', message: 'emfmap', detail, buttons: ['OK'] };
  if (win) await dialog.showMessageBox(win, opts);
  else await dialog.showMessageBox(opts);
}

// ------------------------------------------------------------------------------------ start

async function start(): Promise<void> {
  state = new HostState(app.getPath('userData'));
  client = new ComputeClient(spawnCompute, {
    onStatus: (s) => {
      if (s.state !== 'started') sendToPage(IPC.computeStatus, s);
    },
  });
  registerAppProtocol();
  hardenSessions();

  const startProject = process.argv.slice(1).find((a) => a.endsWith('.emfmap') && fs.existsSync(a)) ?? null;
  const wantDemo = process.argv.includes('--demo') || !!process.env.EMFMAP_OPEN_DEMO;
  let opened: string | null = null;

  const host: HostApi = {
    info: async () => ({ kind: 'electron', demoPath: null, currentProject: opened }),
    recentProjects: async () => state.recent(),
    settings: async () => state.settings(),
    // a new tile host takes effect on the page's reload (the app:// responses carry the new CSP)
    saveSettings: async (s) => state.setSettings(s),
  };
  const shellCalls: ShellCalls = {
    pickOpenFile: async (o) => {
      const r = await dialog.showOpenDialog(win!, { title: o.title, filters: o.filters, properties: ['openFile'] });
      return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0];
    },
    pickSaveFile: async (o) => {
      const r = await dialog.showSaveDialog(win!, { title: o.title, defaultPath: o.defaultPath, filters: o.filters, properties: ['createDirectory', 'showOverwriteConfirmation'] });
      return r.canceled || !r.filePath ? null : r.filePath;
    },
  };
  const ipc = registerIpc({
    ipcMain,
    invoker: client,
    host,
    shell: shellCalls,
    onProjectOpened: (p) => {
      opened = p;
      state.addRecent(p);
      app.addRecentDocument(p);
      updateMenu();
      win?.setTitle(`emfmap — ${path.basename(p)}`);
    },
  });

  try {
    await client.start();
    if (startProject) opened = (await client.invoke('openProject', [startProject])).path;
    else if (wantDemo) opened = (await client.invoke('openDemo', [])).path;
    if (opened) state.addRecent(opened);
  } catch (err) {
    // the window still opens: the page shows the problem and the user can pick another project
    dialog.showErrorBox('emfmap', `Could not start the compute process or open the project:\n${(err as Error).message}`);
  }

  updateMenu();
  win = createWindow();
  if (opened) win.setTitle(`emfmap — ${path.basename(opened)}`);
  win.on('closed', () => {
    win = null;
  });
  app.on('before-quit', () => {
    ipc.cancelAll();
    void client.close();
  });
}

app.setName('emfmap');
if (!app.requestSingleInstanceLock()) app.quit();
else {
  app.on('second-instance', () => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  app.whenReady().then(start, (err) => {
    dialog.showErrorBox('emfmap', String(err));
    app.quit();
  });
  app.on('window-all-closed', () => app.quit());
}
