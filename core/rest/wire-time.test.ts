import { afterEach, expect, test } from 'vitest';
import { formatIsoUtc, isoSeconds } from '../../packages/plugin-api/src/wire/iso-time.ts';
import { formatGoRfc3339 } from './go-time.ts';

// The fast formatters must write exactly what Date does, so listings keep their bytes.

/** Instants across four millennia (both sides of 1970), with every millisecond value, plus edges. */
function instants(): number[] {
  const out = [0, -1, -999, -1000, -86_400_000, 951_782_400_000, -62_167_219_200_000, 253_402_300_799_999, Date.UTC(2025, 2, 30, 1, 0, 0), Date.UTC(2025, 9, 26, 0, 59, 59, 999)];
  let seed = 42;
  for (let i = 0; i < 20_000; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    out.push(Math.floor((seed / 2 ** 31 - 0.3) * 1.3e14) + i);
  }
  return out;
}

const zoneBefore = process.env.TZ;
afterEach(() => {
  if (zoneBefore === undefined) delete process.env.TZ;
  else process.env.TZ = zoneBefore;
});

test('formatIsoUtc and isoSeconds write what Date#toISOString does', () => {
  for (const ms of instants()) {
    const iso = new Date(ms).toISOString();
    expect(formatIsoUtc(ms)).toBe(iso);
    expect(isoSeconds(ms)).toBe(iso.slice(0, 19));
    expect(isoSeconds(ms, 'Z')).toBe(`${iso.slice(0, 19)}Z`);
    expect(isoSeconds(ms, '+05:30')).toBe(`${iso.slice(0, 19)}+05:30`);
  }
  // Outside years 0000–9999, fractional and invalid instants: Date's own answers and errors.
  for (const ms of [-62_167_219_200_001, 253_402_300_800_000, 8.64e15, 1.5]) expect(formatIsoUtc(ms)).toBe(new Date(ms).toISOString());
  expect(isoSeconds(253_402_300_800_000, 'Z')).toBe('+010000-01-01T00:00:00Z');
  expect(() => formatIsoUtc(Number.NaN)).toThrow(RangeError);
  expect(() => isoSeconds(8.64e15 + 1)).toThrow(RangeError);
});

test('formatGoRfc3339 writes the local time and offset as before, in zones with odd offsets and DST', () => {
  const reference = (date: Date) => {
    const offsetMinutes = -date.getTimezoneOffset();
    const stamp = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 19);
    if (offsetMinutes === 0) return `${stamp}Z`;
    const abs = Math.abs(offsetMinutes);
    return `${stamp}${offsetMinutes > 0 ? '+' : '-'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  };
  const samples = instants().filter((ms) => Math.abs(ms) < 4e12);
  for (const zone of ['UTC', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/St_Johns', 'Europe/Amsterdam']) {
    process.env.TZ = zone;
    for (const ms of samples) {
      const date = new Date(ms);
      const want = reference(date);
      expect(formatGoRfc3339(date)).toBe(want);
      expect(formatGoRfc3339(date.toISOString())).toBe(want);
      expect(formatGoRfc3339(ms)).toBe(want);
    }
  }
  process.env.TZ = 'Asia/Kolkata';
  expect(formatGoRfc3339('2025-01-28T07:11:03.456Z')).toBe('2025-01-28T12:41:03+05:30');
  process.env.TZ = 'UTC';
  expect(formatGoRfc3339('2025-01-28T07:11:03.456Z')).toBe('2025-01-28T07:11:03Z');
});
