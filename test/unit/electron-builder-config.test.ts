// The desktop packaging configuration, checked without downloading anything: electron-builder.yml parsed
// (a small parser for the YAML subset we allow, cross-checked against electron-builder's own loader),
// validated against electron-builder's JSON schema (app-builder-lib/scheme.json) with a small validator
// of our own and with electron-builder's validator; required targets and options present; every path it
// names exists; the icons are large enough; `npm run dist` stops with one clear message when Electron
// cannot be had.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';

const root = path.resolve(__dirname, '../..');
const require = createRequire(import.meta.url);

// ------------------------------------------------------------------ a YAML subset parser

type Yaml = null | boolean | number | string | Yaml[] | { [k: string]: Yaml };

function stripComment(line: string): string {
  let q: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) {
      if (ch === q) q = null;
    } else if (ch === '"' || ch === "'") q = ch;
    else if (ch === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

function scalar(s: string): Yaml {
  if (/^[|>[{&*!%@`]/.test(s)) throw new Error(`YAML construct outside the allowed subset: ${s}`);
  if (s.startsWith('"')) return JSON.parse(s);
  if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
  if (s === 'null' || s === '~') return null;
  if (s === 'true' || s === 'false') return s === 'true';
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  return s;
}

/** "key: rest" → [key, rest], or null when the text is not a mapping entry. */
function keyValue(text: string): [string, string] | null {
  const m = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s"'#-][^:]*?|-[^\s:][^:]*?):(?:\s+(.*))?$/.exec(text);
  if (!m) return null;
  return [String(scalar(m[1])), (m[2] ?? '').trim()];
}

/** Block mappings, block sequences (also of mappings), plain / quoted scalars, comments. */
function parseYamlSubset(text: string): Yaml {
  const lines = text
    .split('\n')
    .map((raw) => ({ raw, indent: /^ */.exec(raw)![0].length, text: stripComment(raw).trim() }))
    .filter((l) => l.text.length > 0);
  for (const l of lines) if (l.raw.includes('\t')) throw new Error(`tab in ${l.raw}`);
  let i = 0;
  const isItem = (t: string) => t === '-' || t.startsWith('- ');
  const block = (indent: number): Yaml => (isItem(lines[i].text) ? list(indent) : map(indent));
  function map(indent: number): { [k: string]: Yaml } {
    const out: { [k: string]: Yaml } = {};
    while (i < lines.length && lines[i].indent === indent && !isItem(lines[i].text)) {
      const kv = keyValue(lines[i].text);
      if (!kv) throw new Error(`not a "key: value" line: ${lines[i].raw}`);
      const [key, rest] = kv;
      if (key in out) throw new Error(`duplicate key ${key}`);
      i++;
      if (rest !== '') out[key] = scalar(rest);
      else out[key] = i < lines.length && lines[i].indent > indent ? block(lines[i].indent) : null;
    }
    if (i < lines.length && lines[i].indent > indent) throw new Error(`unexpected indentation: ${lines[i].raw}`);
    return out;
  }
  function list(indent: number): Yaml[] {
    const out: Yaml[] = [];
    while (i < lines.length && lines[i].indent === indent && isItem(lines[i].text)) {
      const rest = lines[i].text.slice(1).trim();
      if (rest === '') {
        i++;
        out.push(block(lines[i].indent));
      } else if (keyValue(rest) && !/^["']/.test(rest)) {
        // "- key: value" starts a mapping whose further keys sit two columns deeper
        lines[i] = { ...lines[i], indent: indent + 2, text: rest };
        out.push(map(indent + 2));
      } else {
        out.push(scalar(rest));
        i++;
      }
    }
    return out;
  }
  const doc = block(lines[0].indent);
  if (i !== lines.length) throw new Error(`unparsed from: ${lines[i].raw}`);
  return doc;
}

// ------------------------------------------------------------------ a JSON-schema validator for the keywords scheme.json uses

type Schema = { [k: string]: unknown } | boolean;
interface Root { definitions: Record<string, Schema> }

function typeOk(t: string, v: unknown): boolean {
  switch (t) {
    case 'null': return v === null;
    case 'string': return typeof v === 'string';
    case 'boolean': return typeof v === 'boolean';
    case 'number': return typeof v === 'number';
    case 'integer': return Number.isInteger(v);
    case 'array': return Array.isArray(v);
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    default: throw new Error(`schema type ${t}`);
  }
}

function validate(schema: Schema, value: unknown, at: string, root: Root, errors: string[]): void {
  if (schema === true || schema === undefined) return;
  if (schema === false) {
    errors.push(`${at}: not allowed`);
    return;
  }
  if (typeof schema.$ref === 'string') {
    const def = root.definitions[schema.$ref.replace('#/definitions/', '')];
    if (def === undefined) throw new Error(`unresolved ${schema.$ref}`);
    validate(def, value, at, root, errors);
  }
  if (Array.isArray(schema.anyOf)) {
    const branches = (schema.anyOf as Schema[]).map((s) => {
      const e: string[] = [];
      validate(s, value, at, root, e);
      return e;
    });
    if (!branches.some((e) => e.length === 0)) {
      const best = branches.reduce((a, b) => (b.length < a.length ? b : a));
      errors.push(`${at}: matches none of the ${branches.length} alternatives (closest: ${best.join('; ')})`);
    }
  }
  if (schema.type !== undefined) {
    const types = ([] as string[]).concat(schema.type as string | string[]);
    if (!types.some((t) => typeOk(t, value))) {
      errors.push(`${at}: expected ${types.join(' or ')}, got ${JSON.stringify(value)}`);
      return;
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) errors.push(`${at}: must be ${JSON.stringify(schema.const)}`);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [k, v] of Object.entries(value)) {
      if (k in props) validate(props[k], v, `${at}.${k}`, root, errors);
      else if (schema.additionalProperties === false) {
        if (schema.properties !== undefined || schema.type === 'object') errors.push(`${at}: unknown key "${k}"`);
      } else if (typeof schema.additionalProperties === 'object') validate(schema.additionalProperties as Schema, v, `${at}.${k}`, root, errors);
    }
    for (const r of (schema.required ?? []) as string[]) if (!(r in value)) errors.push(`${at}: "${r}" is required`);
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    if (Array.isArray(schema.items)) (schema.items as Schema[]).forEach((s, k) => k < value.length && validate(s, value[k], `${at}[${k}]`, root, errors));
    else value.forEach((v, k) => validate(schema.items as Schema, v, `${at}[${k}]`, root, errors));
  }
}

// ------------------------------------------------------------------ the tests

const yamlText = fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8');
const config = parseYamlSubset(yamlText) as Record<string, any>;
const scheme = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/app-builder-lib/scheme.json'), 'utf8')) as Schema & Root;

function schemaErrors(cfg: unknown): string[] {
  const errors: string[] = [];
  validate(scheme, cfg, 'config', scheme, errors);
  return errors;
}

function pngSize(file: string): [number, number] {
  const png = PNG.sync.read(fs.readFileSync(file));
  return [png.width, png.height];
}

describe('electron-builder.yml', () => {
  it('parses the same with our subset parser as with the YAML library electron-builder loads it with', () => {
    // electron-builder reads electron-builder.yml with js-yaml (a dependency of app-builder-lib)
    const fromBuilder = createRequire(path.join(root, 'node_modules/app-builder-lib/package.json'));
    const jsYaml = fromBuilder('js-yaml') as { load(text: string): unknown };
    expect(config).toEqual(jsYaml.load(yamlText));
  });

  it('is valid under electron-builder\'s JSON schema (our validator)', () => {
    expect(schemaErrors(config)).toEqual([]);
  });

  it('our validator does reject wrong configurations', () => {
    const bad = structuredClone(config);
    bad.nsis.oneClick = 'no';
    bad.linux.colour = 'blue';
    bad.npmRebuild = 1;
    const errors = schemaErrors(bad).join('\n');
    expect(errors).toMatch(/config\.nsis/);
    expect(errors).toMatch(/unknown key "colour"/);
    expect(errors).toMatch(/config\.npmRebuild: expected boolean/);
  });

  it('is valid for electron-builder\'s own validator', async () => {
    const { validateConfiguration } = require(path.join(root, 'node_modules/app-builder-lib/out/util/config/config.js'));
    const { DebugLogger } = require(path.join(root, 'node_modules/builder-util'));
    await expect(validateConfiguration(structuredClone(config), new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('asks for the targets, installer options and packaging steps of the product', () => {
    expect(config.appId).toMatch(/^[a-z]+(\.[a-z0-9-]+)+$/);
    expect(config.productName).toBe('emfmap');
    expect(config.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(config.win.target).toContain('nsis');
    expect(config.mac.target).toContain('dmg');
    expect(config.nsis.oneClick).toBe(false);
    expect(config.nsis.allowToChangeInstallationDirectory).toBe(true);
    expect(config.fileAssociations.map((f: { ext: string }) => f.ext)).toContain('emfmap');
    expect(config.npmRebuild).toBe(true); // better-sqlite3 rebuilt for Electron's ABI
    expect(config.asarUnpack).toEqual(expect.arrayContaining(['node_modules/better-sqlite3/**/*', 'node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm']));
    expect(config.files).toEqual(expect.arrayContaining(['!node_modules/@tensorflow/tfjs-node-gpu/**', 'dist-electron/**/*', 'dist/renderer/**/*']));
    // the app's entry point (package.json "main") is among the packaged files
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(pkg.main.startsWith('dist-electron/')).toBe(true);
    expect(pkg.scripts.dist).toBe('node electron/dist.js');
  });

  it('names only paths that exist (or that the build creates)', () => {
    const built = ['dist-electron', 'dist/renderer'];
    for (const pattern of config.files as string[]) {
      if (pattern.startsWith('!')) continue;
      const base = pattern.split('/**')[0];
      if (built.includes(base)) continue;
      expect(fs.existsSync(path.join(root, base)), pattern).toBe(true);
    }
    for (const pattern of config.asarUnpack as string[]) {
      const dirPart = pattern.split(/\/\*|\/\*\*/)[0];
      if (dirPart.includes('*')) continue; // optional packages (tfjs-node*), present only in a GPU build
      expect(fs.existsSync(path.join(root, dirPart)), pattern).toBe(true);
    }
    const wasm = fs.readdirSync(path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist')).filter((f) => f.endsWith('.wasm'));
    expect(wasm.length).toBeGreaterThan(0);
    for (const r of config.extraResources) expect(fs.existsSync(path.join(root, r.from)), r.from).toBe(true);
    expect(fs.statSync(path.join(root, config.directories.buildResources)).isDirectory()).toBe(true);
  });

  it('has icons large enough for every platform', () => {
    // macOS wants 512×512 at least (1024 for Retina), Windows 256×256; Linux takes a set of NxN.png
    for (const icon of [config.mac.icon, config.win.icon]) {
      const [w, h] = pngSize(path.join(root, icon));
      expect(w).toBe(h);
      expect(w).toBeGreaterThanOrEqual(512);
    }
    const linuxDir = path.join(root, config.linux.icon);
    const sizes = fs.readdirSync(linuxDir).filter((f) => /^\d+x\d+\.png$/.test(f));
    expect(sizes).toEqual(expect.arrayContaining(['16x16.png', '32x32.png', '48x48.png', '256x256.png', '512x512.png']));
    for (const f of sizes) {
      const n = Number(f.split('x')[0]);
      expect(pngSize(path.join(linuxDir, f))).toEqual([n, n]);
    }
    // drawn, not blank: transparent corners, opaque centre
    const png = PNG.sync.read(fs.readFileSync(path.join(linuxDir, '256x256.png')));
    expect(png.data[3]).toBe(0);
    expect(png.data[4 * (128 * 256 + 128) + 3]).toBe(255);
  });
});

describe('npm run dist (electron/dist.js --check)', () => {
  const localElectron = fs.existsSync(path.join(root, 'node_modules/electron/dist'));
  const check = (env: Record<string, string>) =>
    spawnSync(process.execPath, [path.join(root, 'electron/dist.js'), '--check'], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });

  it.skipIf(localElectron)('without an Electron binary, a cache or a reachable mirror: exit 1 with one clear message', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-ecache-'));
    try {
      // port 9 on loopback refuses at once: nothing leaves the machine
      const r = check({ ELECTRON_CACHE: cache, ELECTRON_MIRROR: 'http://127.0.0.1:9/', XDG_CACHE_HOME: cache, HOME: cache });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines.length).toBe(1);
      expect(lines[0]).toMatch(/^npm run dist: cannot build installers here: Electron \d+\.\d+\.\d+ for \w+-\w+ is not installed/);
      expect(lines[0]).toContain('127.0.0.1:9 is unreachable');
      expect(lines[0]).toContain('emfmap serve');
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });

  it('with the Electron zip in the download cache: packaging may proceed', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'emfmap-ecache-'));
    try {
      const version = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/electron/package.json'), 'utf8')).version;
      fs.mkdirSync(path.join(cache, 'abc123'));
      fs.writeFileSync(path.join(cache, 'abc123', `electron-v${version}-${process.platform}-${process.arch}.zip`), 'zip');
      const r = check({ ELECTRON_CACHE: cache, ELECTRON_MIRROR: 'http://127.0.0.1:9/' });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(localElectron ? /local Electron/ : /cached .*abc123/);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});
