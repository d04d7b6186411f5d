// The application menu as a template (Electron types only, so it can be checked without Electron).

import type { MenuItemConstructorOptions } from 'electron';
import type { MenuCommand } from './bridge.ts';

export interface MenuActions {
  send(cmd: MenuCommand): void;
  about(): void;
  openLogs?(): void;
  quit(): void;
}

export function menuTemplate(opts: { recent: string[]; isMac: boolean; dev: boolean; actions: MenuActions }): MenuItemConstructorOptions[] {
  const { recent, actions, isMac } = opts;
  const base = (p: string) => p.split(/[\\/]/).pop() ?? p;
  const file: MenuItemConstructorOptions = {
    label: '&File',
    submenu: [
      { label: 'New Project…', accelerator: 'CmdOrCtrl+N', click: () => actions.send({ cmd: 'new-project' }) },
      { label: 'Open Project…', accelerator: 'CmdOrCtrl+O', click: () => actions.send({ cmd: 'open-project' }) },
      {
        label: 'Recent Projects',
        enabled: recent.length > 0,
        submenu: recent.length > 0 ? recent.map((p) => ({ label: base(p), sublabel: p, click: () => actions.send({ cmd: 'open-recent', path: p }) })) : [{ label: '(none)', enabled: false }],
      },
      { label: 'Open Demo Project', click: () => actions.send({ cmd: 'open-demo' }) },
      { type: 'separator' },
      { label: 'Import Readings…', accelerator: 'CmdOrCtrl+I', click: () => actions.send({ cmd: 'import' }) },
      { label: 'Export Map…', accelerator: 'CmdOrCtrl+E', click: () => actions.send({ cmd: 'export' }) },
      { type: 'separator' },
      { label: 'Settings…', accelerator: 'CmdOrCtrl+,', click: () => actions.send({ cmd: 'settings' }) },
      ...(isMac ? [] : [{ type: 'separator' } as MenuItemConstructorOptions, { label: 'Quit', accelerator: 'CmdOrCtrl+Q', click: () => actions.quit() }]),
    ],
  };
  const view: MenuItemConstructorOptions = {
    label: '&View',
    submenu: [
      { role: 'reload' },
      ...(opts.dev ? [{ role: 'toggleDevTools' } as MenuItemConstructorOptions] : []),
      { type: 'separator' },
      { role: 'resetZoom' },
      { role: 'zoomIn' },
      { role: 'zoomOut' },
      { type: 'separator' },
      { role: 'togglefullscreen' },
    ],
  };
  const help: MenuItemConstructorOptions = {
    label: '&Help',
    submenu: [{ label: 'About emfmap', click: () => actions.about() }],
  };
  const edit: MenuItemConstructorOptions = { role: 'editMenu' };
  return [...(isMac ? [{ role: 'appMenu' } as MenuItemConstructorOptions] : []), file, edit, view, help];
}
