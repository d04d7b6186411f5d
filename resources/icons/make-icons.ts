// Draws the application icons (PNG, with pngjs) so they are reproducible from source:
//   npx tsx resources/icons/make-icons.ts
// writes resources/icons/icon.png (1024×1024: electron-builder derives the macOS .icns, the Windows .ico
// and the Linux sizes from it) and NxN.png for Linux desktop entries (16 ... 512).
// The picture: a rounded tile holding an exposure "heat map" (viridis, decaying away from a mast) with a
// white antenna mast and three radio-wave arcs on each side. Drawn analytically with 4×4 supersampling.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { interpolateViridis } from 'd3-scale-chromatic';

type Rgba = [number, number, number, number];

function hexToRgb(css: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(css);
  if (m) return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
  const r = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(css);
  if (!r) throw new Error(`colour ${css}`);
  return [Number(r[1]), Number(r[2]), Number(r[3])];
}

/** Colour of the icon at (u, v) in [0, 1]² (v down), or null outside the tile. */
function shade(u: number, v: number): Rgba | null {
  // rounded square tile with a small margin
  const m = 0.06;
  const r = 0.2;
  const x = Math.abs(u - 0.5);
  const y = Math.abs(v - 0.5);
  const h = 0.5 - m;
  const qx = Math.max(x - (h - r), 0);
  const qy = Math.max(y - (h - r), 0);
  if (x > h || y > h || qx * qx + qy * qy > r * r) return null;

  // exposure field: decays with distance from the mast top, a little anisotropic
  const mx = 0.5;
  const my = 0.42;
  const d = Math.hypot((u - mx) * 1.0, (v - my) * 1.25);
  const t = Math.max(0, Math.min(1, 1.05 - d * 1.9));
  const [fr, fg, fb] = hexToRgb(interpolateViridis(t));
  let col: Rgba = [fr, fg, fb, 255];

  const white: Rgba = [255, 255, 255, 255];
  // mast: a tapered vertical bar from the top point to the base, and a base foot
  const top = 0.36;
  const base = 0.8;
  if (v >= top && v <= base) {
    const halfW = 0.012 + 0.03 * ((v - top) / (base - top));
    if (Math.abs(u - mx) <= halfW) col = white;
  }
  if (v >= base - 0.012 && v <= base + 0.02 && Math.abs(u - mx) <= 0.09) col = white;
  // antenna head
  if (Math.hypot(u - mx, v - top) <= 0.035) col = white;
  // radio-wave arcs on both sides of the head
  const a = Math.atan2(v - top, u - mx);
  const rr = Math.hypot(u - mx, v - top);
  const side = Math.abs(Math.cos(a)) > Math.cos((40 * Math.PI) / 180); // within ±40° of horizontal
  if (side) {
    for (const R of [0.1, 0.17, 0.24]) if (Math.abs(rr - R) <= 0.014) col = white;
  }
  return col;
}

function render(size: number): PNG {
  const png = new PNG({ width: size, height: size, colorType: 6 });
  const ss = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const c = shade((px + (sx + 0.5) / ss) / size, (py + (sy + 0.5) / ss) / size);
          if (!c) continue;
          // premultiplied accumulation
          r += c[0] * c[3]; g += c[1] * c[3]; b += c[2] * c[3]; a += c[3];
        }
      }
      const o = (py * size + px) * 4;
      if (a > 0) {
        png.data[o] = Math.round(r / a);
        png.data[o + 1] = Math.round(g / a);
        png.data[o + 2] = Math.round(b / a);
      }
      png.data[o + 3] = Math.round(a / (ss * ss));
    }
  }
  return png;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const write = (name: string, size: number) => {
  fs.writeFileSync(path.join(here, name), PNG.sync.write(render(size), { colorType: 6 }));
  process.stdout.write(`${name} ${size}×${size}\n`);
};
write('icon.png', 1024);
for (const s of [16, 32, 48, 64, 128, 256, 512]) write(`${s}x${s}.png`, s);
