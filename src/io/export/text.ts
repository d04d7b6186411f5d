// Small text helpers shared by the exporters: XML/HTML escaping and number formatting for labels.

/** Escape for XML/HTML text and attribute values; with asciiOnly, non-ASCII becomes numeric references. */
export function xmlEscape(s: string, asciiOnly = false): string {
  let out = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  if (asciiOnly) out = out.replace(/[^\x20-\x7e\n\t]/gu, (c) => `&#${c.codePointAt(0)};`);
  return out;
}

/** A value label for legends: 3 significant digits at most, no trailing zeros, no exponent for map values. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a < 0.001) return v.toExponential(1);
  const s = v.toPrecision(3);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** A short decimal (7 to 9 significant digits) that reads back to the same float32: exact, and not 17 digits long. */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return '';
  // 7 digits suffice for most float32 values, 9 always do
  for (let p = 7; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}
