import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { resolveModelPath } from './model-names.ts';
import { sanitizeModelName } from './train.ts';

let models: string;
let checkpoints: string;
beforeAll(async () => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'bp-names-'));
  models = path.join(base, 'models');
  checkpoints = path.join(base, 'checkpoints');
  await mkdir(path.join(models, 'granite-8b-starter-v1'), { recursive: true });
  await mkdir(path.join(models, 'instructlab', 'granite-7b-lab'), { recursive: true });
  await mkdir(path.join(checkpoints, 'samples_64'), { recursive: true });
  await writeFile(path.join(models, 'granite-7b-lab-Q4_K_M.gguf'), 'GGUF');
});
afterAll(() => rm(path.dirname(models), { recursive: true, force: true }));

const resolve = (name: string, cached: { name: string; absolutePath: string | null }[] = []) =>
  resolveModelPath(name, { roots: [models, checkpoints], cached: cached.map((c) => ({ ...c, lastModified: '', size: '' })) });

test('the names ilab prints, old and new', async () => {
  expect(await resolve('models/granite-8b-starter-v1')).toBe(path.join(models, 'granite-8b-starter-v1'));
  expect(await resolve(sanitizeModelName('model/granite-8b-starter-v1'))).toBe(path.join(models, 'granite-8b-starter-v1'));
  expect(await resolve('granite-8b-starter-v1')).toBe(path.join(models, 'granite-8b-starter-v1'));
  expect(await resolve('instructlab/granite-7b-lab')).toBe(path.join(models, 'instructlab', 'granite-7b-lab'));
  expect(await resolve('granite-7b-lab-Q4_K_M.gguf')).toBe(path.join(models, 'granite-7b-lab-Q4_K_M.gguf'));
  expect(await resolve(path.join(checkpoints, 'samples_64'))).toBe(path.join(checkpoints, 'samples_64'));
});

test('ilab ≥ 0.24’s absolute path wins and is trusted wherever ilab keeps models; only the name is user input', async () => {
  expect(await resolve('odd name', [{ name: 'odd name', absolutePath: path.join(models, 'instructlab', 'granite-7b-lab') }])).toBe(path.join(models, 'instructlab', 'granite-7b-lab'));
  const elsewhere = path.join(path.dirname(models), 'other-disk', 'granite-8b-starter-v1');
  await mkdir(elsewhere, { recursive: true });
  expect(await resolve('models/granite-8b-starter-v1', [{ name: 'models/granite-8b-starter-v1', absolutePath: elsewhere }])).toBe(elsewhere);
  await expect(resolve('gone', [{ name: 'gone', absolutePath: path.join(path.dirname(models), 'gone') }])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  // A name ilab did not list stays confined, even when it is a path ilab listed under another name.
  await expect(resolve(elsewhere, [{ name: 'models/granite-8b-starter-v1', absolutePath: elsewhere }])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
});

test('outside the roots is BAD_USER_INPUT; inside but missing is NOT_FOUND', async () => {
  for (const name of ['../../etc', 'models/../../etc', '/etc/passwd']) await expect(resolve(name)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  await expect(resolve('models/nope')).rejects.toMatchObject({ code: 'NOT_FOUND', message: `Model 'models/nope' does not exist in ${models}` });
});
