import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { writeTinyLlamaModel } from '../../test/fixtures/llama/tiny-model.ts';
import { estimateVramMiB, readModelInfo, resolveModelFile } from './model-file.ts';

let dir: string;
let root: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bp-llama-model-'));
  root = path.join(dir, 'models');
  await mkdir(root);
  await writeTinyLlamaModel(path.join(root, 'tiny.gguf'));
  await writeFile(path.join(root, 'notes.txt'), 'not a model');
  await writeFile(path.join(dir, 'outside.gguf'), 'x');
  await symlink(path.join(dir, 'outside.gguf'), path.join(root, 'escape.gguf'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('a GGUF file inside a root resolves to its real path, with its size and layer count', async () => {
  const real = await resolveModelFile(path.join(root, '.', 'tiny.gguf'), [root]);
  expect(real).toBe(path.join(root, 'tiny.gguf'));
  const info = await readModelInfo(real);
  expect(info.blockCount).toBe(2);
  expect(info.sizeBytes).toBeGreaterThan(400_000);
  expect(estimateVramMiB(info, 0)).toBe(0);
  expect(estimateVramMiB(info, 1)).toBe(Math.ceil(info.sizeBytes / 2 / 1024 / 1024));
  expect(estimateVramMiB(info, -1)).toBe(Math.ceil(info.sizeBytes / 1024 / 1024));
});

test('paths outside the roots (also through a symlink), missing files and non-GGUF files are refused', async () => {
  await expect(resolveModelFile(path.join(dir, 'outside.gguf'), [root])).rejects.toThrow(/outside the allowed model roots/);
  await expect(resolveModelFile(path.join(root, '..', 'outside.gguf'), [root])).rejects.toThrow(/outside the allowed model roots/);
  await expect(resolveModelFile(path.join(root, 'escape.gguf'), [root])).rejects.toThrow(/outside the allowed model roots/);
  await expect(resolveModelFile(path.join(root, 'nope.gguf'), [root])).rejects.toThrow(/does not exist/);
  await expect(resolveModelFile('models/tiny.gguf', [root])).rejects.toThrow(/must be absolute/);
  await expect(readModelInfo(path.join(root, 'notes.txt'))).rejects.toThrow(/not a GGUF file/);
});
