import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { ilabConfigSchema } from './config.ts';
import { findNewestTrainingData } from './datasets.ts';
import { buildTrainArgs } from './train.ts';

const args = (config: Record<string, unknown>, epochs: number | null = 5) =>
  buildTrainArgs(ilabConfigSchema.parse(config), { modelPath: '/m/granite', dataPath: '/d/run/knowledge_train_msgs_x.jsonl', epochs });

test('standard profile, accelerated or full: --model-path, the fresh data, devices, epochs', () => {
  expect(args({ devices: ['cuda'] })).toEqual(['model', 'train', '--pipeline', 'accelerated', '--model-path=/m/granite', '--data-path=/d/run/knowledge_train_msgs_x.jsonl', '--device=cuda', '--num-epochs=5']);
  expect(args({ pipeline: 'full', devices: ['mps', 'cuda'] }, null)).toEqual(['model', 'train', '--pipeline', 'full', '--model-path=/m/granite', '--data-path=/d/run/knowledge_train_msgs_x.jsonl', '--device=mps', '--device=cuda']);
});

test('standard profile, simple pipeline: GGUF path and --optimize-memory', () => {
  expect(args({ pipeline: 'simple' })).toEqual(['model', 'train', '--pipeline', 'simple', '--optimize-memory', '--gguf-model-path=/m/granite', '--num-epochs=5']);
});

test('rhelai profile: every value as an --opt=value argument, GPUs from config', () => {
  expect(args({ train: { profile: 'rhelai', gpus: 8, maxBatchLen: 6000, saveSamples: 500 } })).toEqual([
    'model', 'train', '--data-path=/d/run/knowledge_train_msgs_x.jsonl', '--max-batch-len=6000', '--gpus=8', '--device=cuda', '--save-samples=500', '--model-path=/m/granite', '--pipeline', 'accelerated', '--num-epochs=5',
  ]);
});

test('findNewestTrainingData: inside run directories, by the stamp in the name, then mtime; `since` skips old runs', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bp-data-'));
  try {
    const put = async (rel: string, minutesAgo: number) => {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), '{}');
      const t = new Date(Date.now() - minutesAgo * 60_000);
      await utimes(path.join(dir, rel), t, t);
    };
    expect(await findNewestTrainingData(dir)).toBeUndefined();
    await put('knowledge_train_msgs_2024-12-02T10_00_00.jsonl', 1);
    await put('2025-01-28_021103/knowledge_train_msgs_2025-01-28T02_11_05.jsonl', 30);
    await put('2025-01-28_021103/skills_train_msgs_2025-01-28T02_11_05.jsonl', 0);
    expect(await findNewestTrainingData(dir)).toBe(path.join(dir, '2025-01-28_021103/knowledge_train_msgs_2025-01-28T02_11_05.jsonl'));
    expect(await findNewestTrainingData(dir, { since: new Date(Date.now() - 10 * 60_000) })).toBe(path.join(dir, 'knowledge_train_msgs_2024-12-02T10_00_00.jsonl'));
    expect(await findNewestTrainingData(path.join(dir, 'missing'))).toBeUndefined();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
