// Where each pixel of the map overlay takes its value from.
//
// Leaflet shows an L.ImageOverlay stretched linearly between two corners in Web Mercator. A grid in a projected
// CRS (UTM, Lambert-93, a local transverse Mercator) is not a Mercator rectangle: it is slightly rotated and
// curved. Instead of approximating it by its WGS84 bounding box, the overlay is warped: each output pixel of
// the grid's Mercator bounding box is mapped back to the grid CRS (exactly on a lattice every LATTICE pixels,
// bilinearly in between, which is within a small fraction of a cell at city scale) and takes the value of the
// cell it falls in (nearest neighbour; pixels outside the grid stay transparent).
// A "local" CRS (plain metres, no geographic reference) is shown on Leaflet's CRS.Simple: no warp needed.

import proj4 from 'proj4';
import type { Grid } from '../../../src/domain/types.ts';
import { footprintLonLat, type LonLatBox } from '../../../src/geo/footprint.ts';

const R = 6378137;
const LATTICE = 8;

export type LatLngBox = LonLatBox;

export interface OverlayGeometry {
  /** Output pixel -> source cell (row*width+col), -1 outside the grid. */
  index: Int32Array;
  width: number;
  height: number;
  /** Leaflet bounds of the image: [[south, west], [north, east]] (for CRS.Simple: [[ymin, xmin], [ymax, xmax]]). */
  bounds: [[number, number], [number, number]];
}

export const mercX = (lon: number) => (R * lon * Math.PI) / 180;
export const mercY = (lat: number) => R * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360));
export const lonOfX = (x: number) => ((x / R) * 180) / Math.PI;
export const latOfY = (y: number) => ((2 * Math.atan(Math.exp(y / R)) - Math.PI / 2) * 180) / Math.PI;

/**
 * Output oversampling so that threshold lines stay thin on small grids: up to 4 pixels per cell, while the
 * image stays ≤ 768 px on the long side (a 512×512 grid is drawn 1:1; its cells are small enough on screen).
 */
export function oversample(grid: Pick<Grid, 'width' | 'height'>): number {
  return Math.max(1, Math.min(4, Math.floor(768 / Math.max(grid.width, grid.height))));
}

/** Grid drawn as is (local CRS, or a grid already in Web Mercator / plate carrée handled by the caller). */
export function identityGeometry(grid: Grid): OverlayGeometry {
  const s = oversample(grid);
  const width = grid.width * s;
  const height = grid.height * s;
  const index = new Int32Array(width * height);
  for (let j = 0; j < height; j++) {
    const row = Math.floor(j / s) * grid.width;
    for (let i = 0; i < width; i++) index[j * width + i] = row + Math.floor(i / s);
  }
  const b = grid.bounds;
  return { index, width, height, bounds: [[b.ymin, b.xmin], [b.ymax, b.xmax]] };
}

/** WGS84 box around the grid (its outline sampled densely, since projected edges are curves in lat/lon). */
export function gridFootprint(grid: Grid, def: string): LatLngBox {
  const conv = proj4(def, 'EPSG:4326');
  return footprintLonLat(grid, (p) => conv.forward(p), 32);
}

/** Warp a projected grid onto its Web Mercator bounding box (see the header comment). */
export function warpGeometry(grid: Grid, def: string): OverlayGeometry {
  const box = gridFootprint(grid, def);
  const x0 = mercX(box.west);
  const x1 = mercX(box.east);
  const y0 = mercY(box.south);
  const y1 = mercY(box.north);
  const s = oversample(grid);
  const long = Math.max(grid.width, grid.height) * s;
  const aspect = (x1 - x0) / (y1 - y0);
  const width = Math.max(1, Math.round(aspect >= 1 ? long : long * aspect));
  const height = Math.max(1, Math.round(aspect >= 1 ? long / aspect : long));

  // exact reprojection on a coarse lattice of output pixel centres
  const conv = proj4('EPSG:4326', def);
  const lw = Math.ceil(width / LATTICE) + 1;
  const lh = Math.ceil(height / LATTICE) + 1;
  const lx = new Float64Array(lw * lh);
  const ly = new Float64Array(lw * lh);
  for (let b = 0; b < lh; b++) {
    const py = b * LATTICE + 0.5;
    const lat = latOfY(y1 - (py / height) * (y1 - y0));
    for (let a = 0; a < lw; a++) {
      const px = a * LATTICE + 0.5;
      const lon = lonOfX(x0 + (px / width) * (x1 - x0));
      const [x, y] = conv.forward([lon, lat]);
      lx[b * lw + a] = x;
      ly[b * lw + a] = y;
    }
  }

  const g = grid.bounds;
  const dx = (g.xmax - g.xmin) / grid.width;
  const dy = (g.ymax - g.ymin) / grid.height;
  const index = new Int32Array(width * height);
  for (let j = 0; j < height; j++) {
    const b = Math.min(lh - 2, Math.floor(j / LATTICE));
    const ty = (j - b * LATTICE) / LATTICE;
    for (let i = 0; i < width; i++) {
      const a = Math.min(lw - 2, Math.floor(i / LATTICE));
      const tx = (i - a * LATTICE) / LATTICE;
      const k = b * lw + a;
      const x =
        (1 - ty) * ((1 - tx) * lx[k] + tx * lx[k + 1]) + ty * ((1 - tx) * lx[k + lw] + tx * lx[k + lw + 1]);
      const y =
        (1 - ty) * ((1 - tx) * ly[k] + tx * ly[k + 1]) + ty * ((1 - tx) * ly[k + lw] + tx * ly[k + lw + 1]);
      const col = Math.floor((x - g.xmin) / dx);
      const row = Math.floor((g.ymax - y) / dy);
      index[j * width + i] = col < 0 || col >= grid.width || row < 0 || row >= grid.height ? -1 : row * grid.width + col;
    }
  }
  return { index, width, height, bounds: [[box.south, box.west], [box.north, box.east]] };
}
