import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { findCheckpoint, listCheckpoints, pickLatestCheckpoint, type IlabCheckpoint } from './checkpoints.ts';

const at = (minutes: number) => new Date(Date.UTC(2025, 0, 1, 0, minutes));
const ckpt = (name: string, minutes: number): IlabCheckpoint => ({ name, path: `/c/${name}`, samples: /^samples_(\d+)$/.test(name) ? Number(name.slice(8)) : null, modifiedAt: at(minutes) });

test('the latest is the highest samples number, whatever the mtimes say', () => {
  expect(pickLatestCheckpoint([ckpt('samples_1000', 1), ckpt('samples_200', 9), ckpt('samples_64', 5)])?.name).toBe('samples_1000');
});

test('last_epoch counts when it is newer than the highest samples_N, or the only one', () => {
  expect(pickLatestCheckpoint([ckpt('samples_1000', 1), ckpt('last_epoch', 2)])?.name).toBe('last_epoch');
  expect(pickLatestCheckpoint([ckpt('samples_1000', 3), ckpt('last_epoch', 2)])?.name).toBe('samples_1000');
  expect(pickLatestCheckpoint([ckpt('last_epoch', 2), ckpt('other', 9)])?.name).toBe('last_epoch');
  expect(pickLatestCheckpoint([ckpt('other', 9)])).toBeUndefined();
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bp-ckpt-'));
  for (const name of ['samples_200', 'samples_1000', 'Zeta']) await mkdir(path.join(dir, name));
  await writeFile(path.join(dir, 'training_params.jsonl'), '');
  await utimes(path.join(dir, 'samples_200'), at(50), at(50));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('listCheckpoints: directories only, sorted by bytes; a missing directory is NOT_FOUND', async () => {
  expect((await listCheckpoints(dir)).map((c) => c.name)).toEqual(['Zeta', 'samples_1000', 'samples_200']);
  await expect(listCheckpoints(path.join(dir, 'nope'))).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'Checkpoints directory does not exist' });
});

test('findCheckpoint: the named one (confined), else the latest', async () => {
  expect((await findCheckpoint(dir, null)).name).toBe('samples_1000');
  expect((await findCheckpoint(dir, 'samples_200')).path).toBe(path.join(dir, 'samples_200'));
  for (const bad of ['../../etc', '..', 'samples_9', 'a/b']) {
    await expect(findCheckpoint(dir, bad)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: `Checkpoint '${bad}' does not exist` });
  }
});
