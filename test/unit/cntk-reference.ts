// Independent float64 reference of the cntk.md formulas for tests: naive loops over pixel pairs and windows,
// full P×P matrices at every layer. Deliberately written without any of the tricks of src/kernels.

export interface RefLayer {
  kind: string;
  size?: number;
}

export function parseRef(spec: string): RefLayer[] {
  return spec.split(',').map((t) => (t.startsWith('conv') ? { kind: 'conv', size: Number(t.slice(4)) } : { kind: t }));
}

export function referenceKernel(
  h: number,
  w: number,
  channels: ArrayLike<number>[],
  spec: string,
  sw2: number,
  sb2: number,
): { sigma: Float64Array; theta: Float64Array } {
  let H = h;
  let Wd = w;
  let P = H * Wd;
  const C = channels.length;
  let S = new Float64Array(P * P);
  let T = new Float64Array(P * P);
  for (let p = 0; p < P; p++) for (let q = 0; q < P; q++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += channels[c][p] * channels[c][q];
    S[p * P + q] = s / C;
  }
  for (const layer of parseRef(spec)) {
    if (layer.kind === 'conv') {
      const K = layer.size!;
      const k = (K - 1) / 2;
      const S2 = new Float64Array(P * P);
      const T2 = new Float64Array(P * P);
      for (let pr = 0; pr < H; pr++) for (let pc = 0; pc < Wd; pc++) for (let qr = 0; qr < H; qr++) for (let qc = 0; qc < Wd; qc++) {
        let as = 0;
        let at = 0;
        for (let dr = -k; dr <= k; dr++) for (let dc = -k; dc <= k; dc++) {
          const a1 = pr + dr, b1 = pc + dc, a2 = qr + dr, b2 = qc + dc;
          if (a1 < 0 || a1 >= H || b1 < 0 || b1 >= Wd || a2 < 0 || a2 >= H || b2 < 0 || b2 >= Wd) continue;
          as += S[(a1 * Wd + b1) * P + a2 * Wd + b2];
          at += T[(a1 * Wd + b1) * P + a2 * Wd + b2];
        }
        const i = (pr * Wd + pc) * P + qr * Wd + qc;
        S2[i] = (sw2 * as) / (K * K) + sb2;
        T2[i] = (sw2 * at) / (K * K) + S2[i];
      }
      S = S2;
      T = T2;
    } else if (layer.kind === 'relu') {
      const S2 = new Float64Array(P * P);
      const T2 = new Float64Array(P * P);
      for (let p = 0; p < P; p++) for (let q = 0; q < P; q++) {
        const n = Math.sqrt(S[p * P + p] * S[q * P + q]);
        if (n === 0) continue;
        const c = Math.min(1, Math.max(-1, S[p * P + q] / n));
        const th = Math.acos(c);
        S2[p * P + q] = (n / (2 * Math.PI)) * (Math.sin(th) + (Math.PI - th) * c);
        T2[p * P + q] = T[p * P + q] * ((Math.PI - th) / (2 * Math.PI));
      }
      S = S2;
      T = T2;
    } else if (layer.kind === 'down') {
      const H2 = H / 2, W2 = Wd / 2, P2 = H2 * W2;
      const S2 = new Float64Array(P2 * P2);
      const T2 = new Float64Array(P2 * P2);
      for (let pr = 0; pr < H2; pr++) for (let pc = 0; pc < W2; pc++) for (let qr = 0; qr < H2; qr++) for (let qc = 0; qc < W2; qc++) {
        let as = 0;
        let at = 0;
        for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) for (let c = 0; c < 2; c++) for (let d = 0; d < 2; d++) {
          const i = ((2 * pr + a) * Wd + 2 * pc + b) * P + (2 * qr + c) * Wd + 2 * qc + d;
          as += S[i];
          at += T[i];
        }
        S2[(pr * W2 + pc) * P2 + qr * W2 + qc] = as / 16;
        T2[(pr * W2 + pc) * P2 + qr * W2 + qc] = at / 16;
      }
      S = S2; T = T2; H = H2; Wd = W2; P = P2;
    } else if (layer.kind === 'up') {
      const H2 = H * 2, W2 = Wd * 2, P2 = H2 * W2;
      const S2 = new Float64Array(P2 * P2);
      const T2 = new Float64Array(P2 * P2);
      for (let pr = 0; pr < H2; pr++) for (let pc = 0; pc < W2; pc++) for (let qr = 0; qr < H2; qr++) for (let qc = 0; qc < W2; qc++) {
        const i = (Math.floor(pr / 2) * Wd + Math.floor(pc / 2)) * P + Math.floor(qr / 2) * Wd + Math.floor(qc / 2);
        S2[(pr * W2 + pc) * P2 + qr * W2 + qc] = S[i];
        T2[(pr * W2 + pc) * P2 + qr * W2 + qc] = T[i];
      }
      S = S2; T = T2; H = H2; Wd = W2; P = P2;
    } else throw new Error(`reference: unknown layer ${layer.kind}`);
  }
  return { sigma: S, theta: T };
}
