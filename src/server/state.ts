// What browser mode remembers between sessions: settings (basemap tile URL) and recent projects, in one small
// JSON file in the user's config directory (or --state-dir). Written atomically (temporary file + rename).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SETTINGS, type HostSettings } from '../service/channels.ts';

export const MAX_RECENT = 10;

interface StateFile {
  settings: HostSettings;
  recent: string[];
}

/** $EMFMAP_STATE_DIR, else $XDG_CONFIG_HOME/emfmap, else ~/.config/emfmap. */
export function defaultStateDir(): string {
  if (process.env.EMFMAP_STATE_DIR) return process.env.EMFMAP_STATE_DIR;
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'emfmap');
}

export class HostState {
  private data: StateFile;
  private readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, 'browser-mode.json');
    this.data = HostState.read(this.file);
  }

  private static read(file: string): StateFile {
    try {
      const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<StateFile>;
      const s = raw.settings ?? DEFAULT_SETTINGS;
      return {
        settings: {
          tileUrl: typeof s.tileUrl === 'string' || s.tileUrl === null ? s.tileUrl : DEFAULT_SETTINGS.tileUrl,
          tileAttribution: typeof s.tileAttribution === 'string' ? s.tileAttribution : DEFAULT_SETTINGS.tileAttribution,
        },
        recent: Array.isArray(raw.recent) ? raw.recent.filter((r): r is string => typeof r === 'string').slice(0, MAX_RECENT) : [],
      };
    } catch {
      // missing or unreadable: start from defaults (the file is rewritten on the next change)
      return { settings: { ...DEFAULT_SETTINGS }, recent: [] };
    }
  }

  private save(): void {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(this.data, null, 2));
      fs.renameSync(tmp, this.file);
    } catch (err) {
      // remembering is a convenience: a read-only home must not break the session
      process.stderr.write(`warning: could not save ${this.file}: ${(err as Error).message}\n`);
    }
  }

  settings(): HostSettings {
    return { ...this.data.settings };
  }

  setSettings(s: HostSettings): HostSettings {
    this.data.settings = { tileUrl: s.tileUrl, tileAttribution: s.tileAttribution };
    this.save();
    return this.settings();
  }

  recent(): string[] {
    return this.data.recent.filter((p) => fs.existsSync(p));
  }

  addRecent(p: string): void {
    this.data.recent = [p, ...this.data.recent.filter((r) => r !== p)].slice(0, MAX_RECENT);
    this.save();
  }
}
