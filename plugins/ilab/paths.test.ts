import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { confinePath, isWithin } from './paths.ts';

let root: string;
let outside: string;
const errors = { outside: () => new Error('outside'), missing: () => new Error('missing') };
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'bp-paths-'));
  outside = await mkdtemp(path.join(os.tmpdir(), 'bp-paths-out-'));
  await mkdir(path.join(root, 'models', 'a'), { recursive: true });
  await writeFile(path.join(outside, 'secret'), 'x');
  await symlink(outside, path.join(root, 'models', 'escape'));
  await symlink(path.join(root, 'models', 'a'), path.join(root, 'models', 'alias'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

test('isWithin', () => {
  expect(isWithin('/a/b', '/a/b')).toBe(true);
  expect(isWithin('/a/b', '/a/b/c')).toBe(true);
  expect(isWithin('/a/b', '/a/bc')).toBe(false);
  expect(isWithin('/a/b', '/a')).toBe(false);
});

test('relative and absolute paths inside a root resolve to their real path', async () => {
  const models = path.join(root, 'models');
  expect(await confinePath('a', [models], errors)).toBe(path.join(models, 'a'));
  expect(await confinePath(path.join(models, 'alias'), [models], errors)).toBe(path.join(models, 'a'));
  expect(await confinePath(path.join(outside, 'secret'), [models, outside], errors)).toBe(path.join(outside, 'secret'));
});

test.each([
  ['../../etc', 'outside'],
  ['/etc/passwd', 'outside'],
  ['a/../../../etc', 'outside'],
  ['escape/secret', 'outside'],
  ['/etc/does-not-exist', 'outside'],
  ['nope', 'missing'],
  ['a\0b', 'outside'],
])('%s → %s (outside is decided before existence)', async (value, expected) => {
  await expect(confinePath(value, [path.join(root, 'models')], errors)).rejects.toThrow(expected);
});
