/**
 * RFC 3339 at seconds precision in the daemon's local time zone, as Go's `time.RFC3339` prints
 * it: `2025-01-28T02:11:03-05:00`, or `…Z` under UTC.
 */
export function formatGoRfc3339(value: Date | string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  const offsetMinutes = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMinutes * 60_000);
  const stamp = local.toISOString().slice(0, 19);
  if (offsetMinutes === 0) return `${stamp}Z`;
  const sign = offsetMinutes > 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return `${stamp}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
