import { expect, test } from 'vitest';
import { encodeGoJson } from '../plugin-api.ts';
import { decodeSurrogateEscape } from './surrogate-escape.ts';

test('valid UTF-8 decodes as usual, a real U+FFFD included', () => {
  expect(decodeSurrogateEscape(Buffer.from('héllo \ufffd 😀'))).toBe('héllo \ufffd 😀');
});

test('each byte that does not start a valid sequence becomes U+DC00 + byte', () => {
  const bytes = Buffer.from([0x61, 0xff, 0xe2, 0x82, 0x62, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80]);
  expect([...decodeSurrogateEscape(bytes)].map((c) => c.codePointAt(0)!.toString(16))).toEqual(['61', 'dcff', 'dce2', 'dc82', '62', 'dcc0', 'dcaf', 'dced', 'dca0', 'dc80', 'dcf4', 'dc90', 'dc80', 'dc80']);
});

test("Go's encoder output: \\ufffd per invalid byte, the character itself for a real U+FFFD", () => {
  expect(encodeGoJson(decodeSurrogateEscape(Buffer.from([0x78, 0xff, 0xfe, 0xef, 0xbf, 0xbd])))).toBe('"x\\ufffd\\ufffd\ufffd"\n');
});
