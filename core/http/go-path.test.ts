import { expect, test } from 'vitest';
import { goCleanPath, goCleanRedirect, goEscapePath, goUnescapePath } from './go-path.ts';
import { parseRequestTarget } from './request-target.ts';

const redirect = (raw: string) => goCleanRedirect(parseRequestTarget(raw)!);

test('gorilla/mux cleanPath: Go path.Clean, trailing slash kept', () => {
  expect(['', '/', '//', '/a/./b', '/a/../../b', 'a/b', '/a/b/', '/a/b/../', '/..'].map(goCleanPath)).toEqual(['/', '/', '/', '/a/b', '/b', '/a/b', '/a/b/', '/a/', '/']);
});

test('Location as Go writes it: cleaned decoded path, re-escaped, origin and raw query kept', () => {
  expect(redirect('/models')).toBeUndefined();
  expect(redirect('/mo%64els')).toBeUndefined(); // decoded it is clean; no redirect
  expect(redirect('/./models?a=%zz')).toBe('/models?a=%zz');
  expect(redirect('/x/..%2Fmodels')).toBe('/models');
  expect(redirect('/./a b')).toBe('/a%20b');
  expect(redirect('/./caf%C3%A9')).toBe('/caf%C3%A9');
  expect(redirect('/./a;b=c@d:e$f&g+h,i!j*k')).toBe('/a;b=c@d:e$f&g+h,i%21j%2Ak');
  expect(redirect('*')).toBe('/%2A');
  expect(redirect('http://h:1')).toBe('http://h:1/');
  expect(redirect('http://h:1/a/../b?q')).toBe('http://h:1/b?q');
  expect(redirect('/a/%zz/../b')).toBeUndefined(); // not a path Go accepts; refused before routing
});

test('escapes round-trip bytes', () => {
  expect(goUnescapePath('/%41%2f%zz')).toBeUndefined();
  expect(goUnescapePath('/%41%2f')).toBe('/A/');
  expect(goEscapePath('/\u00ff?#')).toBe('/%FF%3F%23');
});

test('request targets: origin, absolute and asterisk form; nothing else', () => {
  expect(parseRequestTarget('/a?b?c')).toEqual({ origin: '', path: '/a', query: 'b?c' });
  expect(parseRequestTarget('HTTP://Host:8080/x')).toEqual({ origin: 'http://Host:8080', path: '/x', query: undefined });
  expect(parseRequestTarget('http://host?x')).toEqual({ origin: 'http://host', path: '', query: 'x' });
  expect(parseRequestTarget('*')).toEqual({ origin: '', path: '*', query: undefined });
  for (const bad of ['models', 'host:443', '']) expect(parseRequestTarget(bad), bad).toBeUndefined();
});
