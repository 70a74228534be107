/**
 * `Date#toISOString` without the Date: `2025-01-28T07:11:03.456Z` for epoch milliseconds. Listing
 * 100,000 jobs formats 300,000 times, and V8's own formatter (~0.5 µs a call) was most of that;
 * this one computes the clock arithmetically, reuses the date part of the previous call, and
 * builds each result as one flat string (a template literal makes a rope of 5–6 heap objects,
 * which costs more to keep alive than to build). Instants outside years 0000–9999, which
 * toISOString writes as `+010000-…`, fractional and invalid ones go to toISOString itself, so
 * the output and its RangeError are exactly Date's.
 */
export function formatIsoUtc(ms: number): string {
  if (!fast(ms)) return new Date(ms).toISOString();
  const d = dateCodes(ms);
  const t = ms - Math.floor(ms / dayMs) * dayMs;
  const s = Math.floor(t / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  const sec = s % 60;
  const milli = t % 1000;
  return String.fromCharCode(
    d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10],
    tens(h), ones(h), colon, tens(m), ones(m), colon, tens(sec), ones(sec),
    dot, zero + Math.floor(milli / 100), zero + (Math.floor(milli / 10) % 10), zero + (milli % 10), upperZ,
  );
}

/**
 * {@link formatIsoUtc} to the second, followed by `suffix` instead of the milliseconds and `Z`:
 * `isoSeconds(ms, '+05:30')` is `2025-01-28T07:11:03+05:30`. One flat string for a suffix of 0,
 * 1 or 6 characters (none, `Z`, an offset).
 */
export function isoSeconds(ms: number, suffix = ''): string {
  if (!fast(ms)) return `${new Date(ms).toISOString().slice(0, -5)}${suffix}`;
  const d = dateCodes(ms);
  const s = Math.floor((ms - Math.floor(ms / dayMs) * dayMs) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  const sec = s % 60;
  switch (suffix.length) {
    case 0:
      return String.fromCharCode(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], tens(h), ones(h), colon, tens(m), ones(m), colon, tens(sec), ones(sec));
    case 1:
      return String.fromCharCode(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], tens(h), ones(h), colon, tens(m), ones(m), colon, tens(sec), ones(sec), suffix.charCodeAt(0));
    case 6:
      return String.fromCharCode(
        d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10],
        tens(h), ones(h), colon, tens(m), ones(m), colon, tens(sec), ones(sec),
        suffix.charCodeAt(0), suffix.charCodeAt(1), suffix.charCodeAt(2), suffix.charCodeAt(3), suffix.charCodeAt(4), suffix.charCodeAt(5),
      );
    default:
      return `${isoSeconds(ms)}${suffix}`;
  }
}

const dayMs = 86_400_000;
const minMs = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const maxMs = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
const zero = 48;
const colon = 58;
const dot = 46;
const upperZ = 90;
const tens = (n: number) => zero + Math.floor(n / 10);
const ones = (n: number) => zero + (n % 10);
const fast = (ms: number) => Number.isInteger(ms) && ms >= minMs && ms <= maxMs;

let lastDay = Number.NaN;
let lastDate: number[] = [];

/** The character codes of `YYYY-MM-DDT` for the day of `ms` (consecutive times share days). */
function dateCodes(ms: number): number[] {
  const day = Math.floor(ms / dayMs);
  if (day !== lastDay) {
    const text = new Date(day * dayMs).toISOString();
    lastDate = Array.from({ length: 11 }, (_, i) => text.charCodeAt(i));
    lastDay = day;
  }
  return lastDate;
}
