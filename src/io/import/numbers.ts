// Numbers in user files: "1.5", "-0.25", "1e-3", and with a decimal comma "1,5" when the file uses one.
// Empty cells and the usual "no data" markers are missing values, not errors.

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const MISSING = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', '-', '--', 'nd', 'n.d.', '#n/a', 'missing']);

/** True for an empty cell or a "no data" marker (NA, NaN, null, -, ...). */
export function isMissing(s: string): boolean {
  return s.length === 0 || MISSING.has(s.trim().toLowerCase());
}

/** Parse a number; NaN when the text is not one. A comma is a decimal separator only with decimalComma. */
export function parseNumber(text: string, decimalComma: boolean): number {
  let s = text.trim();
  if (decimalComma && s.indexOf(',') >= 0) s = s.replace(',', '.');
  // a non-breaking or thin space can separate thousands in French exports: "1 234,5"
  if (s.indexOf('\u00a0') >= 0 || s.indexOf('\u202f') >= 0) s = s.replace(/[\u00a0\u202f]/g, '');
  if (!NUMBER.test(s)) return NaN;
  return Number(s);
}
