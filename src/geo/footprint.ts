// The WGS84 footprint of a grid in a projected CRS: its bounding box in lon/lat. Straight grid edges are
// curves in lon/lat, so each side is sampled rather than only the four corners. Used by the KMZ export and
// by the renderer's map overlay.

import type { Grid } from '../domain/types.ts';

export interface LonLatBox {
  north: number;
  south: number;
  east: number;
  west: number;
}

/** Bounding box of the grid's outline, each side sampled at `steps` + 1 points; `toLonLat` maps grid CRS → [lon, lat]. */
export function footprintLonLat(grid: Grid, toLonLat: (p: [number, number]) => number[], steps: number): LonLatBox {
  const { xmin, ymin, xmax, ymax } = grid.bounds;
  const box: LonLatBox = { north: -Infinity, south: Infinity, east: -Infinity, west: Infinity };
  const add = (x: number, y: number) => {
    const [lon, lat] = toLonLat([x, y]);
    box.north = Math.max(box.north, lat);
    box.south = Math.min(box.south, lat);
    box.east = Math.max(box.east, lon);
    box.west = Math.min(box.west, lon);
  };
  for (let i = 0; i <= steps; i++) {
    const s = i / steps;
    add(xmin + s * (xmax - xmin), ymin);
    add(xmin + s * (xmax - xmin), ymax);
    add(xmin, ymin + s * (ymax - ymin));
    add(xmax, ymin + s * (ymax - ymin));
  }
  return box;
}
