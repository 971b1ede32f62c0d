// Python's str methods as the official scorers use them. They differ from
// JavaScript's: Python's whitespace includes \x1c-\x1f and \x85 but not \ufeff.

const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_WS_RUN = new RegExp(`[${PY_WS}]+`, 'u');
const PY_WS_LEAD = new RegExp(`^[${PY_WS}]+`, 'u');
const PY_WS_TRAIL = new RegExp(`[${PY_WS}]+$`, 'u');

/** Python `s.split()` (no argument): split on whitespace runs, drop empty parts. */
export function pySplit(text: string): string[] {
  return text.split(PY_WS_RUN).filter((part) => part.length > 0);
}

/** Python `s.strip()` (no argument). */
export function pyStrip(text: string): string {
  return text.replace(PY_WS_LEAD, '').replace(PY_WS_TRAIL, '');
}

/** Python `s.rstrip(chars)`. */
export function pyRstripChars(text: string, chars: string): string {
  let end = text.length;
  while (end > 0 && chars.includes(text[end - 1] as string)) end -= 1;
  return text.slice(0, end);
}

/** Python `s.strip(chars)`. */
export function pyStripChars(text: string, chars: string): string {
  let start = 0;
  while (start < text.length && chars.includes(text[start] as string)) start += 1;
  return pyRstripChars(text.slice(start), chars);
}

/** Python `a.split(sep)` with an explicit separator (keeps empty parts). */
export function pySplitOn(text: string, separator: string): string[] {
  return text.split(separator);
}

/** Python's `round(x, n)` (round-half-even on the binary value, like CPython). */
export function pyRound(value: number, digits: number): number {
  if (!Number.isFinite(value)) return value;
  const text = value.toFixed(Math.min(100, digits + 30));
  const dot = text.indexOf('.');
  const keep = dot + 1 + digits;
  const head = digits === 0 ? text.slice(0, dot) : text.slice(0, keep);
  const rest = text.slice(keep).replace(/0+$/, '');
  let rounded = Number(head);
  const unit = 10 ** -digits;
  const sign = value < 0 ? -1 : 1;
  const lastDigit = Number(head.replace('.', '').slice(-1));
  const exactHalf = rest === '5';
  if (rest.length > 0 && (rest[0] as string) >= '5' && !(exactHalf && lastDigit % 2 === 0)) {
    rounded = Number((rounded + sign * unit).toFixed(digits));
  }
  return rounded;
}
