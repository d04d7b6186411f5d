// Derivative-free minimisation for the few smooth hyper-parameters of the geostatistical fits (variogram
// model, GP marginal likelihood).

export interface NelderMeadResult {
  x: number[];
  f: number;
  evaluations: number;
}

/**
 * Nelder–Mead simplex minimisation (standard coefficients 1, 2, ½, ½). Small, derivative-free and robust
 * for the 1–3 smooth parameters of variogram and GP fits. Non-finite objective values count as +∞.
 */
export function nelderMead(
  f: (x: number[]) => number,
  x0: number[],
  opts: { step?: number | number[]; maxEvaluations?: number; tolF?: number; tolX?: number } = {},
): NelderMeadResult {
  const d = x0.length;
  const maxEval = opts.maxEvaluations ?? 200 * d;
  const tolF = opts.tolF ?? 1e-10;
  const tolX = opts.tolX ?? 1e-6;
  let evals = 0;
  const F = (x: number[]) => {
    evals++;
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  const steps = Array.isArray(opts.step) ? opts.step : new Array(d).fill(opts.step ?? 0.5);
  const pts: number[][] = [x0.slice()];
  for (let i = 0; i < d; i++) {
    const p = x0.slice();
    p[i] += steps[i];
    pts.push(p);
  }
  const vals = pts.map(F);
  const order = () => {
    const ix = pts.map((_, i) => i).sort((a, b) => vals[a] - vals[b]);
    const p2 = ix.map((i) => pts[i]);
    const v2 = ix.map((i) => vals[i]);
    for (let i = 0; i <= d; i++) {
      pts[i] = p2[i];
      vals[i] = v2[i];
    }
  };
  while (evals < maxEval) {
    order();
    // convergence: function spread and simplex size
    let size = 0;
    for (let i = 1; i <= d; i++) for (let j = 0; j < d; j++) size = Math.max(size, Math.abs(pts[i][j] - pts[0][j]));
    if (Math.abs(vals[d] - vals[0]) <= tolF * (Math.abs(vals[0]) + tolF) && size <= tolX) break;
    if (size <= tolX * 1e-3) break;
    const c = new Array(d).fill(0);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) c[j] += pts[i][j] / d;
    const worst = pts[d];
    const xr = c.map((cj, j) => cj + (cj - worst[j]));
    const fr = F(xr);
    if (fr < vals[0]) {
      const xe = c.map((cj, j) => cj + 2 * (cj - worst[j]));
      const fe = F(xe);
      if (fe < fr) {
        pts[d] = xe;
        vals[d] = fe;
      } else {
        pts[d] = xr;
        vals[d] = fr;
      }
    } else if (fr < vals[d - 1]) {
      pts[d] = xr;
      vals[d] = fr;
    } else {
      const outside = fr < vals[d];
      const xc = outside ? c.map((cj, j) => cj + 0.5 * (xr[j] - cj)) : c.map((cj, j) => cj + 0.5 * (worst[j] - cj));
      const fc = F(xc);
      if (fc < (outside ? fr : vals[d])) {
        pts[d] = xc;
        vals[d] = fc;
      } else {
        for (let i = 1; i <= d; i++) {
          pts[i] = pts[i].map((v, j) => pts[0][j] + 0.5 * (v - pts[0][j]));
          vals[i] = F(pts[i]);
        }
      }
    }
  }
  order();
  return { x: pts[0], f: vals[0], evaluations: evals };
}
