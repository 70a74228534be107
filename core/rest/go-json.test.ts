import { expect, test } from 'vitest';
import { encodeGoJson, sortedKeys } from './go-json.ts';
import { formatGoRfc3339 } from './go-time.ts';

test('encodes like Go json.Encoder', () => {
  expect(encodeGoJson({ a: '<b> & c' })).toBe('{"a":"\\u003cb\\u003e \\u0026 c"}\n');
  expect(encodeGoJson(['\u2028', '\u2029'])).toBe('["\\u2028","\\u2029"]\n');
  expect(encodeGoJson({ s: 'x\ud800y' })).toBe('{"s":"x\\ufffdy"}\n');
  expect(encodeGoJson({ s: 'emoji 🎉 ok' })).toBe('{"s":"emoji 🎉 ok"}\n');
  expect(encodeGoJson({ s: 'a literal \\ud800 stays' })).toBe('{"s":"a literal \\\\ud800 stays"}\n');
  expect(encodeGoJson(null)).toBe('null\n');
  expect(encodeGoJson(sortedKeys({ status: 'x', job_id: 'y', branch: '' }))).toBe('{"branch":"","job_id":"y","status":"x"}\n');
});

test('formats times as Go RFC 3339 with seconds and the local offset', () => {
  const date = new Date('2025-01-28T07:11:03.456Z');
  const text = formatGoRfc3339(date);
  expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
  expect(new Date(text).getTime()).toBe(Date.parse('2025-01-28T07:11:03Z'));
  if (date.getTimezoneOffset() === 0) expect(text).toBe('2025-01-28T07:11:03Z');
});
