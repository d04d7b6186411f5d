// Architecture strings for the pixel-to-pixel CNN and its infinite-width kernels (CNTK, GLIP, sketch).
// A spec is a comma-separated list of layers: convK (K odd, K×K 'same' conv), relu, down (2×2 average
// pool), up (nearest ×2). See /shared/design/cntk.md for what each layer does to (Σ, Θ).

import { UserError } from '../domain/errors.ts';

export type Layer = { kind: 'conv'; size: number } | { kind: 'relu' } | { kind: 'down' } | { kind: 'up' };

/** Encoder–decoder used when nothing else is asked for: two downs, two ups, output at full resolution. */
export const DEFAULT_ARCH = 'conv3,relu,down,conv3,relu,down,conv3,relu,up,conv3,relu,up,conv3';

/** Largest conv window accepted (the kernel recursion costs K² per pixel pair). */
export const MAX_CONV_SIZE = 15;

/**
 * Parse "conv3,relu,down,..." (case-insensitive, spaces allowed) into layers.
 * Throws UserError naming the bad token and its position.
 */
export function parseArch(spec: string): Layer[] {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new UserError('architecture is empty: give layers like "conv3,relu,down,conv3,relu,up,conv3"');
  }
  const tokens = spec.split(',').map((t) => t.trim().toLowerCase());
  const layers: Layer[] = [];
  tokens.forEach((tok, i) => {
    const where = `architecture "${spec}", layer ${i + 1}`;
    if (tok === 'relu') layers.push({ kind: 'relu' });
    else if (tok === 'down') layers.push({ kind: 'down' });
    else if (tok === 'up') layers.push({ kind: 'up' });
    else if (/^conv\d+$/.test(tok)) {
      const size = Number(tok.slice(4));
      if (size < 1 || size % 2 === 0 || size > MAX_CONV_SIZE) {
        throw new UserError(`${where}: "${tok}" needs an odd window size from 1 to ${MAX_CONV_SIZE} (e.g. conv3, conv5)`);
      }
      layers.push({ kind: 'conv', size });
    } else {
      throw new UserError(`${where}: unknown layer "${tok}" (known: convK with K odd, relu, down, up)`);
    }
  });
  if (!layers.some((l) => l.kind === 'conv')) {
    throw new UserError(`architecture "${spec}" has no conv layer: the network needs at least one (e.g. end with conv3)`);
  }
  return layers;
}

/** Layers from a spec string or an already-parsed list. */
export function toLayers(arch: string | Layer[]): Layer[] {
  return typeof arch === 'string' ? parseArch(arch) : arch;
}

/** Canonical string of a layer list (inverse of parseArch). */
export function archToString(layers: Layer[]): string {
  return layers.map((l) => (l.kind === 'conv' ? `conv${l.size}` : l.kind)).join(',');
}

/** The resolution (height, width) at the input of each layer and at the output, i.e. layers.length + 1 entries. */
export function layerShapes(layers: Layer[], height: number, width: number): Array<{ height: number; width: number }> {
  const out = [{ height, width }];
  let h = height;
  let w = width;
  for (const l of layers) {
    if (l.kind === 'down') {
      h /= 2;
      w /= 2;
    } else if (l.kind === 'up') {
      h *= 2;
      w *= 2;
    }
    out.push({ height: h, width: w });
  }
  return out;
}

/**
 * Check that an H×W grid works with the architecture: every `down` must see even sides and the
 * ups must undo the downs so that the output is H×W again. Throws UserError with the smallest fix.
 */
export function checkArchGrid(layers: Layer[], height: number, width: number): void {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new UserError(`grid ${width}×${height} is not a valid size`);
  }
  let level = 0;
  let minLevel = 0;
  let maxDown = 0;
  for (const l of layers) {
    if (l.kind === 'down') {
      level -= 1;
      minLevel = Math.min(minLevel, level);
      maxDown = Math.max(maxDown, -level);
    } else if (l.kind === 'up') level += 1;
  }
  const arch = archToString(layers);
  if (level !== 0) {
    throw new UserError(
      `architecture "${arch}" has ${layers.filter((l) => l.kind === 'down').length} down and ${layers.filter((l) => l.kind === 'up').length} up layers: they must balance so that the output has the grid's size`,
    );
  }
  const f = 2 ** -minLevel;
  if (height % f !== 0 || width % f !== 0) {
    throw new UserError(
      `grid ${width}×${height} (width×height) does not suit architecture "${arch}": with ${maxDown} nested down step(s) both sides must be multiples of ${f} (e.g. ${Math.ceil(width / f) * f}×${Math.ceil(height / f) * f})`,
    );
  }
}

/** The multiple that grid sides must be for this architecture (2^deepest down level). */
export function archGridMultiple(layers: Layer[]): number {
  let level = 0;
  let minLevel = 0;
  for (const l of layers) {
    if (l.kind === 'down') level -= 1;
    else if (l.kind === 'up') level += 1;
    minLevel = Math.min(minLevel, level);
  }
  return 2 ** -minLevel;
}
