// The map view (renderer/src/lib/ramps.ts) and the exporter (src/io/export/colour.ts) keep separate ramp
// tables: the renderer's carries labels and the diverging flag, the exporter's the CLI names. The export
// dialog offers the renderer's names, so every one of them must be accepted by the exporter and give the
// colours seen on screen (a PNG or KMZ that looks different from the map would mislead).

import { describe, expect, it } from 'vitest';
import { RAMPS as VIEW_RAMPS } from '../../renderer/src/lib/ramps.ts';
import { parseColour, resolveRamp } from '../../src/io/export/colour.ts';

describe('colour ramps: map view and export agree', () => {
  for (const name of Object.keys(VIEW_RAMPS) as (keyof typeof VIEW_RAMPS)[]) {
    it(`${name}: same colour at t = 0, 0.25, 0.5, 0.75, 1`, () => {
      const exp = resolveRamp(name);
      for (const t of [0, 0.25, 0.5, 0.75, 1]) expect(exp.at(t)).toEqual(parseColour(VIEW_RAMPS[name].fn(t)));
    });
  }
  it('greys runs from light (low) to dark (high) in both', () => {
    const lo = resolveRamp('greys').at(0);
    const hi = resolveRamp('greys').at(1);
    expect(lo[0]).toBeGreaterThan(200);
    expect(hi[0]).toBeLessThan(50);
  });
});
