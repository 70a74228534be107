import { describe, expect, it } from 'vitest';
import { lossFns, type Datum, type LossFn } from '../protocol/index.ts';
import { adamwStep, ADAM_DEFAULTS } from './adamw.ts';
import { TinyLM, tinyConfig } from './model.ts';
import { forwardBackward } from './ops.ts';
import { mulberry32 } from './rng.ts';

const tensor = (data: number[], dtype: 'int64' | 'float32' = 'float32') => ({ data, dtype, shape: [data.length] });

/** Random data; RL inputs use `q = lp + noise` so PPO/CISPO ratios land both inside and outside the clip range. */
function makeData(model: TinyLM, count: number, seed: number, lossFn: LossFn): Datum[] {
  const rng = mulberry32(seed);
  const data: Datum[] = [];
  for (let i = 0; i < count; i++) {
    const n = 3 + Math.floor(rng() * 6);
    const tokens = Array.from({ length: n }, () => Math.floor(rng() * 259));
    const targets = Array.from({ length: n }, () => Math.floor(rng() * 259));
    const lps = model.run(model.effective(), tokens, targets);
    const inputs: Datum['loss_fn_inputs'] = { target_tokens: tensor(targets, 'int64') };
    if (lossFn === 'cross_entropy') inputs.weights = tensor(targets.map(() => rng() * 2 - 0.5));
    else {
      inputs.logprobs = tensor(Array.from(lps, (lp) => lp + (rng() - 0.5) * 0.8));
      inputs.advantages = tensor(targets.map(() => rng() * 2 - 1));
    }
    data.push({ model_input: { chunks: [{ type: 'encoded_text', tokens }] }, loss_fn_inputs: inputs });
  }
  return data;
}

/** A model whose every tensor (B included) is random, so no gradient is trivially zero. */
function randomModel(lora: Parameters<typeof tinyConfig>[0], seed = 1): TinyLM {
  const model = new TinyLM(tinyConfig(lora), seed);
  const rng = mulberry32(seed + 100);
  for (const p of model.params.values()) for (let i = 0; i < p.length; i++) p[i] += (rng() - 0.5) * 0.2;
  model.weightsChanged();
  return model;
}

function cispoAsCrossEntropy(model: TinyLM, data: Datum[], config: Record<string, number>): Datum[] {
  return data.map((datum) => {
    const tokens = datum.model_input.chunks.flatMap((c) => c.tokens);
    const lps = model.run(model.effective(), tokens, datum.loss_fn_inputs.target_tokens.data);
    const q = datum.loss_fn_inputs.logprobs.data;
    const adv = datum.loss_fn_inputs.advantages.data;
    const weights = Array.from(lps, (lp, t) => Math.min(Math.max(Math.exp(lp - q[t]), config.clip_low_threshold), config.clip_high_threshold) * adv[t]);
    return { ...datum, loss_fn_inputs: { target_tokens: datum.loss_fn_inputs.target_tokens, weights: tensor(weights) } };
  });
}

async function lossOf(model: TinyLM, data: Datum[], lossFn: LossFn, config?: Record<string, number>): Promise<number> {
  return (await forwardBackward(model, data, lossFn, { backward: false, loss_fn_config: config })).metrics['loss:sum'];
}

const configs = [
  { label: 'LoRA rank 2, all adapters', lora: { rank: 2, alpha: 8 } },
  { label: 'LoRA rank 1, mlp only', lora: { rank: 1, train_attn: false, train_unembed: false } },
  { label: 'full fine-tune (rank 0)', lora: { rank: 0 } },
];

describe('TinyLM gradients match finite differences', () => {
  for (const { label, lora } of configs) {
    for (const lossFn of lossFns) {
      it(`${lossFn}, ${label}`, async () => {
        const model = randomModel(lora);
        const data = makeData(model, 3, 7, lossFn);
        const config: Record<string, number> | undefined = lossFn === 'dro' ? { beta: 0.3 } : lossFn === 'cross_entropy' ? undefined : { clip_low_threshold: 0.9, clip_high_threshold: 1.1 };
        await forwardBackward(model, data, lossFn, { backward: true, loss_fn_config: config });
        model.materializeGrads();
        // CISPO's clip weight is stop-gradient: differentiate −Σ c·A·lp with c frozen, i.e. CE with weights c·A.
        const [fdLoss, fdData, fdConfig] = lossFn === 'cispo' ? ['cross_entropy' as const, cispoAsCrossEntropy(model, data, config!), undefined] : [lossFn, data, config];
        const rng = mulberry32(3);
        const eps = 1e-6;
        let checked = 0;
        for (const name of model.trainable) {
          const p = model.params.get(name)!;
          const g = model.grads.get(name)!;
          // A few random entries plus the largest-gradient one.
          let big = 0;
          for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[big])) big = i;
          const picks = [big, ...Array.from({ length: 4 }, () => Math.floor(rng() * p.length))];
          for (const i of picks) {
            const orig = p[i];
            p[i] = orig + eps;
            model.weightsChanged();
            const up = await lossOf(model, fdData, fdLoss, fdConfig);
            p[i] = orig - eps;
            model.weightsChanged();
            const down = await lossOf(model, fdData, fdLoss, fdConfig);
            p[i] = orig;
            model.weightsChanged();
            const numeric = (up - down) / (2 * eps);
            expect(Math.abs(numeric - g[i]), `${name}[${i}] analytic ${g[i]} numeric ${numeric}`).toBeLessThan(1e-6 + 1e-4 * Math.abs(numeric));
            checked++;
          }
          expect(Math.abs(g[big]), `${name} has a nonzero gradient`).toBeGreaterThan(0);
        }
        expect(checked).toBe(model.trainable.length * 5);
      });
    }
  }
});

describe('TinyLM training semantics', () => {
  const adam = { ...ADAM_DEFAULTS, learning_rate: 0.01 };

  it('only adapters and enabled biases are trainable; frozen tensors have no grads or Adam state', () => {
    const model = new TinyLM(tinyConfig({ rank: 4, train_attn: false }), 5);
    expect(model.trainable).toEqual(['W1.lora_A', 'W1.lora_B', 'W2.lora_A', 'W2.lora_B', 'b1', 'b2']);
    expect(model.grads.has('E')).toBe(false);
    expect(model.adamM.has('W1')).toBe(false);
    expect(model.params.has('E.lora_A')).toBe(false);
    expect(model.params.get('W1.lora_B')!.every((x) => x === 0)).toBe(true);
    const full = new TinyLM(tinyConfig({ rank: 0 }));
    expect(full.trainable).toEqual(['E', 'W1', 'b1', 'W2', 'b2']);
    expect(full.parameterCount).toBe(259 * 16 + 64 * 64 + 64 + 259 * 64 + 259);
    expect(full.trainableCount).toBe(full.parameterCount);
  });

  it('base weights are the same for every seed; adapters depend on the seed', () => {
    const a = new TinyLM(tinyConfig({ rank: 2 }), 1);
    const b = new TinyLM(tinyConfig({ rank: 2 }), 2);
    expect(a.params.get('W2')).toEqual(b.params.get('W2'));
    expect(a.params.get('W2.lora_A')).not.toEqual(b.params.get('W2.lora_A'));
  });

  it('fb(8) + step equals 2×fb(4) + step bit for bit', async () => {
    for (const lora of [{ rank: 3 }, { rank: 0 }]) {
      const one = randomModel(lora, 4);
      const two = randomModel(lora, 4);
      const data = makeData(one, 8, 11, 'cross_entropy');
      await forwardBackward(one, data, 'cross_entropy', { backward: true });
      await forwardBackward(two, data.slice(0, 4), 'cross_entropy', { backward: true });
      await forwardBackward(two, data.slice(4), 'cross_entropy', { backward: true });
      adamwStep(one, adam);
      adamwStep(two, adam);
      for (const name of one.trainable) expect(two.params.get(name), name).toEqual(one.params.get(name));
    }
  });

  it('forward leaves gradients alone; optim_step zeroes them', async () => {
    const model = randomModel({ rank: 2 });
    const data = makeData(model, 2, 1, 'cross_entropy');
    await forwardBackward(model, data, 'cross_entropy', { backward: true });
    model.materializeGrads();
    const before = new Map([...model.grads].map(([k, v]) => [k, Float64Array.from(v)]));
    await forwardBackward(model, makeData(model, 3, 2, 'ppo'), 'ppo', { backward: false });
    model.materializeGrads();
    for (const [name, g] of model.grads) expect(g, name).toEqual(before.get(name));
    adamwStep(model, adam);
    for (const g of model.grads.values()) expect(g.every((x) => x === 0)).toBe(true);
  });

  it('gradients accumulate across forward_backward calls', async () => {
    const model = randomModel({ rank: 2 });
    const data = makeData(model, 2, 9, 'cross_entropy');
    await forwardBackward(model, data, 'cross_entropy', { backward: true });
    model.materializeGrads();
    const once = Float64Array.from(model.grads.get('W2.lora_B')!);
    await forwardBackward(model, data, 'cross_entropy', { backward: true });
    model.materializeGrads();
    const twice = model.grads.get('W2.lora_B')!;
    for (let i = 0; i < once.length; i += 97) expect(twice[i]).toBeCloseTo(2 * once[i], 12);
  });

  it('a rank-r adapter changes each matrix by a rank-r delta', async () => {
    for (const rank of [1, 3]) {
      const model = new TinyLM(tinyConfig({ rank }), 2);
      const base = model.effective();
      const data = makeData(model, 4, 5, 'cross_entropy');
      for (let s = 0; s < 3; s++) {
        await forwardBackward(model, data, 'cross_entropy', { backward: true });
        adamwStep(model, adam);
      }
      const eff = model.effective();
      for (const [name, rows, cols] of [['W1', 64, 64], ['W2', 259, 64], ['E', 259, 16]] as const) {
        const delta = Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => eff[name][r * cols + c] - base[name][r * cols + c]));
        expect(matrixRank(delta), `${name} delta rank`).toBe(rank);
      }
    }
  });
});

/** Numerical rank by Gaussian elimination with partial pivoting (relative tolerance). */
function matrixRank(m: number[][]): number {
  const a = m.map((row) => [...row]);
  const scale = Math.max(...a.flat().map(Math.abs));
  const tol = scale * 1e-9;
  let rank = 0;
  const cols = a[0].length;
  for (let c = 0; c < cols && rank < a.length; c++) {
    let pivot = rank;
    for (let r = rank + 1; r < a.length; r++) if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) pivot = r;
    if (Math.abs(a[pivot][c]) <= tol) continue;
    [a[rank], a[pivot]] = [a[pivot], a[rank]];
    for (let r = rank + 1; r < a.length; r++) {
      const f = a[r][c] / a[rank][c];
      for (let k = c; k < cols; k++) a[r][k] -= f * a[rank][k];
    }
    rank++;
  }
  return rank;
}
