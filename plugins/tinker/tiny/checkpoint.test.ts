import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adamwStep, ADAM_DEFAULTS } from './adamw.ts';
import { applyCheckpoint, modelFromCheckpoint, readCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { TinyLM, tinyConfig } from './model.ts';
import { forwardBackward } from './ops.ts';
import { encode } from './tokenizer.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bwpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function trained(lora: Parameters<typeof tinyConfig>[0]): Promise<TinyLM> {
  const model = new TinyLM(tinyConfig(lora), 3);
  const tokens = encode('hello world');
  const datum = { model_input: { chunks: [{ type: 'encoded_text' as const, tokens: tokens.slice(0, -1) }] }, loss_fn_inputs: { target_tokens: { data: tokens.slice(1), dtype: 'int64' as const } } };
  for (let i = 0; i < 3; i++) {
    await forwardBackward(model, [datum], 'cross_entropy', { backward: true });
    adamwStep(model, { ...ADAM_DEFAULTS, learning_rate: 0.01 });
  }
  return model;
}

describe('.bwpt checkpoints', () => {
  it('round-trips a training checkpoint exactly, Adam state and step included', async () => {
    const model = await trained({ rank: 2, train_attn: false, alpha: 16 });
    const file = path.join(dir, 'a', 'train.bwpt');
    const bytes = await saveCheckpoint(model, file, 'training');
    expect((await readFile(file)).length).toBe(bytes);
    const checkpoint = await readCheckpoint(file);
    expect(checkpoint.header).toMatchObject({ format: 'bwp-tensors/1', backend: 'tiny', kind: 'training', step: 3, config: { rank: 2, alpha: 16, train_attn: false, V: 259, k: 4, d: 16, H: 64 } });
    expect(checkpoint.tensors.has('W1.lora_A.adam_m')).toBe(true);
    expect(checkpoint.tensors.has('E.adam_m')).toBe(false);
    const loaded = modelFromCheckpoint(checkpoint);
    expect(loaded.step).toBe(3);
    for (const [name, p] of model.params) expect(loaded.params.get(name), name).toEqual(p);
    for (const [name, m] of model.adamM) expect(loaded.adamM.get(name), name).toEqual(m);
    for (const [name, v] of model.adamV) expect(loaded.adamV.get(name), name).toEqual(v);
    // Same next step from either copy.
    await forwardBackward(model, [], 'cross_entropy', { backward: true });
    model.grads.get('b1')!.fill(0.1);
    loaded.grads.get('b1')!.fill(0.1);
    adamwStep(model, { ...ADAM_DEFAULTS, learning_rate: 0.01 });
    adamwStep(loaded, { ...ADAM_DEFAULTS, learning_rate: 0.01 });
    expect(loaded.params.get('b1')).toEqual(model.params.get('b1'));
  });

  it('a sampler checkpoint holds weights only and loads with optimizer:false', async () => {
    const model = await trained({ rank: 0 });
    const file = path.join(dir, 'sampler.bwpt');
    await saveCheckpoint(model, file, 'sampler');
    const checkpoint = await readCheckpoint(file);
    expect([...checkpoint.tensors.keys()].some((n) => n.endsWith('.adam_m'))).toBe(false);
    const fresh = new TinyLM(tinyConfig({ rank: 0 }));
    expect(() => applyCheckpoint(fresh, checkpoint, true)).toThrow(/no optimizer state/);
    applyCheckpoint(fresh, checkpoint, false);
    expect(fresh.params.get('W2')).toEqual(model.params.get('W2'));
    expect(fresh.step).toBe(0);
  });

  it('refuses a checkpoint whose LoRA config differs, and garbage files, with user errors', async () => {
    const model = await trained({ rank: 2, train_unembed: false });
    const file = path.join(dir, 'cfg.bwpt');
    await saveCheckpoint(model, file, 'training');
    const other = new TinyLM(tinyConfig({ rank: 2 }));
    const checkpoint = await readCheckpoint(file);
    expect(() => applyCheckpoint(other, checkpoint, true)).toThrow(/checkpoint train_unembed is false but the model's train_unembed is true/);
    const junk = path.join(dir, 'junk.bwpt');
    await writeFile(junk, 'not a checkpoint at all');
    await expect(readCheckpoint(junk)).rejects.toMatchObject({ rpcCode: -32602 });
    await expect(readCheckpoint(path.join(dir, 'missing.bwpt'))).rejects.toThrow(/ENOENT/);
  });
});
