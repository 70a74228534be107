import { isoSeconds } from './iso-time.ts';

/**
 * RFC 3339 at seconds precision in the daemon's local time zone, as Go's `time.RFC3339` prints
 * it: `2025-01-28T02:11:03-05:00`, or `…Z` under UTC. Takes a Date, an ISO string or epoch ms.
 */
export function formatGoRfc3339(value: Date | string | number): string {
  const date = typeof value === 'object' ? value : new Date(value);
  const offsetMinutes = -date.getTimezoneOffset();
  return isoSeconds(date.getTime() + offsetMinutes * 60_000, zone(offsetMinutes));
}

const zones = new Map<number, string>();

function zone(offsetMinutes: number): string {
  let text = zones.get(offsetMinutes);
  if (text === undefined) {
    const abs = Math.abs(offsetMinutes);
    text = offsetMinutes === 0 ? 'Z' : `${offsetMinutes > 0 ? '+' : '-'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    // A zone has a handful of offsets; the bound only guards against odd inputs.
    if (zones.size > 100) zones.clear();
    zones.set(offsetMinutes, text);
  }
  return text;
}
