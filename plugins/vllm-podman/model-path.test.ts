import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { resolveModelPath } from './model-path.ts';

let dir: string;
let root: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bp-model-path-'));
  root = path.join(dir, 'models');
  await mkdir(path.join(root, 'granite'), { recursive: true });
  await writeFile(path.join(root, 'tiny.gguf'), 'GGUF');
  await mkdir(path.join(dir, 'secret'));
  await mkdir(path.join(root, 'we:ird'));
  await symlink(path.join(root, 'granite'), path.join(root, 'alias'));
  await symlink(path.join(dir, 'secret'), path.join(root, 'escape'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('paths inside a root resolve to their real path', async () => {
  expect(await resolveModelPath(path.join(root, 'granite'), [root])).toBe(path.join(root, 'granite'));
  expect(await resolveModelPath(path.join(root, 'alias'), [root])).toBe(path.join(root, 'granite'));
  expect(await resolveModelPath(`${root}/x/../granite/`, [root])).toBe(path.join(root, 'granite'));
  expect(await resolveModelPath(path.join(root, 'tiny.gguf'), ['/nonexistent', root])).toBe(path.join(root, 'tiny.gguf'));
});

test.each([
  ['../../etc', 'Model path must be absolute'],
  ['granite', 'Model path must be absolute'],
  ['ROOT/../../etc', 'outside the allowed model roots'],
  ['ROOT/../secret', 'outside the allowed model roots'],
  ['ROOT/escape', 'outside the allowed model roots'],
  ['ROOT', 'outside the allowed model roots'],
  ['ROOT/missing', 'Model path does not exist'],
  ['/no/such/dir/outside', 'outside the allowed model roots'],
  ['ROOT/we:ird', 'must not contain'],
])('%s is refused', async (input, message) => {
  const resolved = input.replace('ROOT', () => root);
  await expect(resolveModelPath(resolved, [root])).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringContaining(message) });
});
