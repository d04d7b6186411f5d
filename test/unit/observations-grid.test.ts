import { describe, expect, it } from 'vitest';
import { observationsFromSites, siteCells, snapPoints, subsetObservations, complementIndices } from '../../src/estimators/observations.ts';
import { chooseGridCrs, defaultGrid, gridOver, gridSizeFromOptions, sensorPositions } from '../../src/estimators/grid-default.ts';
import { UserError } from '../../src/domain/errors.ts';
import type { Grid, Sensor } from '../../src/domain/types.ts';

const g: Grid = { crs: 'local', width: 10, height: 10, bounds: { xmin: 0, xmax: 100, ymin: 0, ymax: 100 } };

describe('snapping observations to cells', () => {
  it('averages points sharing a cell, keeps counts and ids, row 0 is north', () => {
    const r = snapPoints(g, [5, 6, 95, 50, 500, 30], [5, 4, 95, 52, 50, 30], [1, 3, 7, 2, 9, NaN], ['a', 'b', 'c', 'd', 'far', 'nan']);
    // (5,5) and (6,4): row 9 (south), col 0 -> cell 90; (95,95): row 0, col 9 -> cell 9; (50,52): row 4 col 5 -> 45
    expect(Array.from(r.obs.cell)).toEqual([9, 45, 90]);
    expect(Array.from(r.obs.values)).toEqual([7, 2, 2]);
    expect(Array.from(r.obs.count)).toEqual([1, 1, 2]);
    expect(r.obs.sensorIds[2].sort()).toEqual(['a', 'b']);
    // cell centres, not the raw positions
    expect([r.obs.x[2], r.obs.y[2]]).toEqual([5, 5]);
    expect([r.obs.x[0], r.obs.y[0]]).toEqual([95, 95]);
    expect(r.outside).toEqual(['far']);
    expect(r.used).toBe(4);
  });

  it('leaves out NaN values (no reading) rather than filling them', () => {
    const cells = siteCells(g, [5, 6, 95], [5, 4, 95]);
    const r = observationsFromSites(g, cells, ['a', 'b', 'c'], [NaN, 3, NaN]);
    expect(Array.from(r.obs.values)).toEqual([3]);
    expect(r.obs.sensorIds).toEqual([['b']]);
  });

  it('subsets and complements', () => {
    const r = snapPoints(g, [5, 15, 25, 35], [5, 5, 5, 5], [1, 2, 3, 4]);
    const tr = complementIndices(4, [1, 3]);
    expect(Array.from(tr)).toEqual([0, 2]);
    expect(Array.from(subsetObservations(r.obs, tr).values)).toEqual([1, 3]);
  });
});

describe('default grids', () => {
  it('--grid N sets the larger side, square cells, bounds cover the sites plus margin', () => {
    const grid = defaultGrid({ x: [0, 1000, 500], y: [0, 400, 200], crs: 'local', size: { size: 128 } });
    expect(grid.width).toBe(128);
    const dx = (grid.bounds.xmax - grid.bounds.xmin) / grid.width;
    const dy = (grid.bounds.ymax - grid.bounds.ymin) / grid.height;
    expect(dx).toBeCloseTo(dy, 9);
    // 5 % margin of the larger side (50 m) on each side
    expect(grid.bounds.xmin).toBeCloseTo(-50, 6);
    expect(grid.bounds.xmax).toBeCloseTo(1050, 6);
    expect(grid.bounds.ymin).toBeLessThanOrEqual(-50);
    expect(grid.bounds.ymax).toBeGreaterThanOrEqual(450);
    expect(grid.height).toBe(Math.ceil((500 / 1100) * 128));
  });

  it('WxH and cell size', () => {
    const a = gridOver({ xmin: 0, xmax: 1000, ymin: 0, ymax: 1000 }, 'local', { width: 128, height: 96 });
    expect([a.width, a.height]).toEqual([128, 96]);
    expect((a.bounds.xmax - a.bounds.xmin) / 128).toBeCloseTo((a.bounds.ymax - a.bounds.ymin) / 96, 9);
    expect(a.bounds.ymax - a.bounds.ymin).toBeGreaterThanOrEqual(1000);
    const b = gridOver({ xmin: 0, xmax: 1001, ymin: 0, ymax: 333 }, 'local', { cell: 10 });
    expect([b.width, b.height]).toEqual([101, 34]);
    expect((b.bounds.xmax - b.bounds.xmin) / b.width).toBeCloseTo(10, 9);
    expect(b.bounds.xmin).toBeLessThanOrEqual(0);
    expect(b.bounds.xmax).toBeGreaterThanOrEqual(1001);
  });

  it('refuses sizes outside 8..1024 and impossible cell sizes clearly', () => {
    expect(() => gridOver({ xmin: 0, xmax: 100000, ymin: 0, ymax: 100 }, 'local', { cell: 1 })).toThrow(/maximum is 1024.*at least/);
    expect(() => gridSizeFromOptions('4')).toThrow(UserError);
    expect(() => gridSizeFromOptions('2000x10')).toThrow(UserError);
    expect(() => gridSizeFromOptions('128', '10')).toThrow(/either/);
    expect(gridSizeFromOptions('128x96')).toEqual({ width: 128, height: 96 });
    expect(gridSizeFromOptions(undefined, '2.5')).toEqual({ cell: 2.5 });
  });

  it('a single sensor still gets a grid of at least 8 cells a side', () => {
    const grid = defaultGrid({ x: [100], y: [200], crs: 'local', size: { size: 16 } });
    expect(grid.width).toBe(16);
    expect(grid.height).toBe(16);
    expect(grid.bounds.xmin).toBeLessThan(100);
    expect(grid.bounds.xmax).toBeGreaterThan(100);
    const line = defaultGrid({ x: [0, 1000], y: [0, 0], crs: 'local', size: { size: 64 } });
    expect(line.height).toBeGreaterThanOrEqual(8);
  });

  it('chooses a local transverse Mercator for a geographic project, centred on the sensors', () => {
    const sensors = [
      { id: 'a', lat: 50.63, lon: 3.05 },
      { id: 'b', lat: 50.64, lon: 3.07 },
    ].map((s) => ({ ...s, name: s.id, x: s.lon, y: s.lat, height: null, meta: {} })) as Sensor[];
    const crs = chooseGridCrs('EPSG:4326', sensors);
    expect(crs).toMatch(/\+proj=tmerc \+lat_0=50.635 \+lon_0=3.06/);
    const pos = sensorPositions(sensors, 'EPSG:4326', crs);
    // 0.01° lat ≈ 1112 m; 0.02° lon at 50.6° ≈ 1413 m
    expect(pos.y[1] - pos.y[0]).toBeCloseTo(1112, -1);
    expect(pos.x[1] - pos.x[0]).toBeCloseTo(1413, -1);
    expect(chooseGridCrs('EPSG:2154', sensors)).toBe('EPSG:2154');
    expect(() => chooseGridCrs('EPSG:2154', sensors, 'EPSG:4326')).toThrow(/geographic/);
  });
});
