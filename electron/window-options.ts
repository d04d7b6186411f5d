// The main window's options and its remembered size/position. No Electron import at run time (types only),
// so the options object and the state handling are unit-tested without an Electron binary.

import fs from 'node:fs';
import path from 'node:path';
import type { BrowserWindowConstructorOptions, Rectangle } from 'electron';

export interface WindowState {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const DEFAULT_WINDOW: WindowState = { width: 1400, height: 900, maximized: false };
const MIN_W = 900;
const MIN_H = 600;

export function readWindowState(file: string): WindowState {
  try {
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<WindowState>;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : undefined);
    const width = num(raw.width);
    const height = num(raw.height);
    return {
      x: num(raw.x),
      y: num(raw.y),
      width: Math.max(MIN_W, width ?? DEFAULT_WINDOW.width),
      height: Math.max(MIN_H, height ?? DEFAULT_WINDOW.height),
      maximized: raw.maximized === true,
    };
  } catch {
    return { ...DEFAULT_WINDOW };
  }
}

export function writeWindowState(file: string, s: WindowState): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(s));
    fs.renameSync(tmp, file);
  } catch {
    // not remembering the window is not worth an error
  }
}

/** Keep the remembered position only when most of the window's title bar lands on a current display. */
export function placeOnDisplays(s: WindowState, workAreas: Rectangle[]): WindowState {
  if (s.x === undefined || s.y === undefined) return { ...s, x: undefined, y: undefined };
  const bar = { x: s.x, y: s.y, width: s.width, height: 40 };
  const visible = workAreas.some((a) => {
    const w = Math.min(bar.x + bar.width, a.x + a.width) - Math.max(bar.x, a.x);
    const h = Math.min(bar.y + bar.height, a.y + a.height) - Math.max(bar.y, a.y);
    return w >= Math.min(200, bar.width / 2) && h >= 20;
  });
  return visible ? s : { ...s, x: undefined, y: undefined };
}

/** The BrowserWindow options: isolated, sandboxed renderer with no Node, our preload only. */
export function windowOptions(s: WindowState, preloadPath: string): BrowserWindowConstructorOptions {
  return {
    x: s.x,
    y: s.y,
    width: s.width,
    height: s.height,
    minWidth: MIN_W,
    minHeight: MIN_H,
    show: false,
    title: 'emfmap',
    backgroundColor: '#f4f4f1',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: true,
    },
  };
}
