import { expect, test } from 'vitest';
import { parseGoRequestHead } from './go-request-head.ts';

const parse = (text: string) => parseGoRequestHead(Buffer.from(text, 'latin1'));

test('any token is a method and any single-digit version parses, as in Go', () => {
  expect(parse('FOO /models HTTP/1.1\r\nHost: x\r\nX-A:  1 \r\n\r\n')).toMatchObject({ method: 'FOO', target: '/models', major: 1, minor: 1, rawHeaders: ['Host', 'x', 'X-A', '1'] });
  expect(parse('get /a HTTP/1.2\nHost: x\n\n')).toMatchObject({ method: 'get', major: 1, minor: 2 });
  expect(parse('GET /a HTTP/3.0\r\n\r\n')).toMatchObject({ major: 3, minor: 0 });
});

test('the body is there when its Content-Length is in the packet', () => {
  expect(parse('FOO / HTTP/1.1\r\nContent-Length: 2\r\n\r\nabcd')!.body!.toString()).toBe('ab');
  expect(parse('FOO / HTTP/1.1\r\nContent-Length: 9\r\n\r\nabcd')!.body).toBeUndefined();
  expect(parse('FOO / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')!.body).toBeUndefined();
  expect(parse('FOO / HTTP/1.1\r\n\r\n')!.body!.length).toBe(0);
});

test('heads Go refuses, or that are not complete, are not parsed', () => {
  for (const bad of ['GARBAGE\r\n\r\n', 'G(T / HTTP/1.1\r\n\r\n', 'GET / HTTP/1.10\r\n\r\n', 'GET  / HTTP/1.1\r\n\r\n', 'GET / HTTP/1.1\r\nno colon\r\n\r\n', 'GET / HTTP/1.1\r\nBad Name: x\r\n\r\n', 'GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n', 'GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\n']) {
    expect(parse(bad), JSON.stringify(bad)).toBeUndefined();
  }
});
