/**
 * TinyLM (tinker-contract.md): a Bengio-style byte LM over the last k=4 tokens with optional
 * LoRA adapters, hand-written backward and gradient accumulation.
 *
 * Position t predicts `target[t]` from (x_{t-3}, …, x_t) (`<pad>` before 0):
 * x = concat(E'[x_{t-3}], …, E'[x_t]); h = tanh(W1'·x + b1); logits = W2'·h + b2, where
 * W' = W + (alpha/rank)·B·A for each adapted matrix. Arithmetic is float64; parameters and
 * Adam state are kept at float32 precision (rounded after init and every update), so a `.bwpt`
 * checkpoint round-trips exactly.
 *
 * Gradients are accumulated with respect to the *effective* matrices (E', W1', W2', b1, b2)
 * and turned into parameter gradients only when read ({@link TinyLM.materializeGrads}): the
 * map is linear and the weights do not move between `optim_step`s, so this is exact, and
 * `fb(8)` equals `2×fb(4)` bit for bit.
 *
 * @module
 */
import { fillUniform, mulberry32 } from './rng.ts';
import { PAD, VOCAB_SIZE } from './tokenizer.ts';

/** Architecture and adapter configuration (the `.bwpt` header's `config`). */
export interface TinyConfig {
  V: number;
  k: number;
  d: number;
  H: number;
  /** 0 = full fine-tune (no adapters, every base tensor trainable). */
  rank: number;
  alpha: number;
  train_mlp: boolean;
  train_attn: boolean;
  train_unembed: boolean;
}

/** The fixed TinyLM dimensions. */
export const TINY_DIMS = { V: VOCAB_SIZE, k: 4, d: 16, H: 64 } as const;
/** LoRA alpha when `lora_config.alpha` is absent (Tinker's de-facto default). */
export const DEFAULT_ALPHA = 32;
/** Base models this worker knows; all share the same seed-0 base weights. */
export const TINY_BASE_MODELS = ['tiny-lm'] as const;

/** The effective weights one forward uses (a snapshot: later updates do not change it). */
export interface EffectiveWeights {
  E: Float64Array;
  W1: Float64Array;
  b1: Float64Array;
  W2: Float64Array;
  b2: Float64Array;
}

type Base = 'E' | 'W1' | 'W2';
const ADAPTED: Record<Base, 'train_attn' | 'train_mlp' | 'train_unembed'> = { E: 'train_attn', W1: 'train_mlp', W2: 'train_unembed' };

/** Builds a config from `lora_config`-style options. */
export function tinyConfig(lora: { rank: number; alpha?: number; train_mlp?: boolean; train_attn?: boolean; train_unembed?: boolean }): TinyConfig {
  return {
    ...TINY_DIMS,
    rank: lora.rank,
    alpha: lora.alpha ?? DEFAULT_ALPHA,
    train_mlp: lora.train_mlp ?? true,
    train_attn: lora.train_attn ?? true,
    train_unembed: lora.train_unembed ?? true,
  };
}

/** A TinyLM with its gradient buffers and AdamW state. */
export class TinyLM {
  readonly config: TinyConfig;
  /** Every tensor (base and adapters), row-major. */
  readonly params = new Map<string, Float64Array>();
  readonly shapes = new Map<string, number[]>();
  /** Names that get gradients and Adam state, in a fixed order. */
  readonly trainable: string[];
  /** Parameter gradients (materialised). */
  readonly grads = new Map<string, Float64Array>();
  readonly adamM = new Map<string, Float64Array>();
  readonly adamV = new Map<string, Float64Array>();
  /** AdamW steps taken. */
  step = 0;
  #effective: EffectiveWeights | undefined;
  /** Gradients w.r.t. the effective weights, pending materialisation. */
  #effGrad: EffectiveWeights | undefined;

  /** A fresh model: seed-0 base weights and adapters initialised from `seed` (B = 0). */
  constructor(config: TinyConfig, seed = 0) {
    this.config = config;
    const { V, k, d, H, rank } = config;
    const inputs = k * d;
    const base = mulberry32(0);
    this.#add('E', [V, d], (a) => fillUniform(a, base, -0.1, 0.1));
    this.#add('W1', [H, inputs], (a) => fillUniform(a, base, -1 / Math.sqrt(inputs), 1 / Math.sqrt(inputs)));
    this.#add('b1', [H]);
    this.#add('W2', [V, H], (a) => fillUniform(a, base, -1 / Math.sqrt(H), 1 / Math.sqrt(H)));
    this.#add('b2', [V]);
    const trainable: string[] = [];
    if (rank === 0) {
      trainable.push('E', 'W1', 'b1', 'W2', 'b2');
    } else {
      const rng = mulberry32(seed);
      for (const name of ['E', 'W1', 'W2'] as const) {
        if (!config[ADAPTED[name]]) continue;
        const [out, inDim] = this.shapes.get(name)!;
        this.#add(`${name}.lora_A`, [rank, inDim], (a) => fillUniform(a, rng, -1 / Math.sqrt(inDim), 1 / Math.sqrt(inDim)));
        this.#add(`${name}.lora_B`, [out, rank]);
        trainable.push(`${name}.lora_A`, `${name}.lora_B`);
      }
      if (config.train_mlp) trainable.push('b1');
      if (config.train_unembed) trainable.push('b2');
    }
    this.trainable = trainable;
    for (const name of trainable) {
      const n = this.params.get(name)!.length;
      this.grads.set(name, new Float64Array(n));
      this.adamM.set(name, new Float64Array(n));
      this.adamV.set(name, new Float64Array(n));
    }
  }

  #add(name: string, shape: number[], init?: (a: Float64Array) => void): void {
    const a = new Float64Array(shape.reduce((x, y) => x * y, 1));
    init?.(a);
    this.params.set(name, a);
    this.shapes.set(name, shape);
  }

  /** LoRA scale alpha/rank (0 for a full fine-tune). */
  get scale(): number {
    return this.config.rank === 0 ? 0 : this.config.alpha / this.config.rank;
  }

  /** Total number of scalars in every tensor. */
  get parameterCount(): number {
    let n = 0;
    for (const a of this.params.values()) n += a.length;
    return n;
  }

  /** Number of trainable scalars. */
  get trainableCount(): number {
    return this.trainable.reduce((n, name) => n + this.params.get(name)!.length, 0);
  }

  /** Call after changing `params` in place (optimizer step, checkpoint load). */
  weightsChanged(): void {
    this.#effective = undefined;
  }

  /** The effective weights (merged adapters), cached until the weights change. Do not mutate. */
  effective(): EffectiveWeights {
    if (this.#effective) return this.#effective;
    const merged = (name: Base): Float64Array => {
      const w = Float64Array.from(this.params.get(name)!);
      const A = this.params.get(`${name}.lora_A`);
      const B = this.params.get(`${name}.lora_B`);
      if (!A || !B) return w;
      const [out, inDim] = this.shapes.get(name)!;
      const r = this.config.rank;
      const s = this.scale;
      for (let o = 0; o < out; o++) {
        for (let j = 0; j < r; j++) {
          const bs = s * B[o * r + j];
          if (bs === 0) continue;
          const row = o * inDim;
          const arow = j * inDim;
          for (let i = 0; i < inDim; i++) w[row + i] += bs * A[arow + i];
        }
      }
      return w;
    };
    this.#effective = {
      E: merged('E'),
      W1: merged('W1'),
      b1: Float64Array.from(this.params.get('b1')!),
      W2: merged('W2'),
      b2: Float64Array.from(this.params.get('b2')!),
    };
    return this.#effective;
  }

  /** Which effective gradients are needed at all. */
  #needs(): { E: boolean; W1: boolean; b1: boolean; W2: boolean; b2: boolean } {
    const full = this.config.rank === 0;
    const c = this.config;
    return { E: full || c.train_attn, W1: full || c.train_mlp, b1: full || c.train_mlp, W2: full || c.train_unembed, b2: full || c.train_unembed };
  }

  /**
   * Forward (and, when `tokenGrad` is given, backward) of one sequence. Returns the target
   * logprob of every position; `tokenGrad(t, lp)` supplies ∂L/∂lp_t, whose backprop is ADDED
   * to the pending gradients.
   */
  run(
    eff: EffectiveWeights,
    tokens: readonly number[],
    targets: ArrayLike<number>,
    tokenGrad?: (t: number, lp: number) => number,
    range: { from: number; to: number; out?: Float64Array } = { from: 0, to: tokens.length },
  ): Float64Array {
    const { V, k, d, H } = this.config;
    const inputs = k * d;
    const lps = range.out ?? new Float64Array(tokens.length);
    const { E, W1, b1, W2, b2 } = eff;
    const x = new Float64Array(inputs);
    const h = new Float64Array(H);
    const logits = new Float64Array(V);
    const window = new Int32Array(k);
    const probs = new Float64Array(V);
    const dlogits = new Float64Array(V);
    const dpre = new Float64Array(H);
    const dx = new Float64Array(inputs);
    const needs = this.#needs();
    const g = tokenGrad ? (this.#effGrad ??= zeroLike(eff)) : undefined;
    for (let t = range.from; t < range.to; t++) {
      const target = targets[t];
      if (!Number.isInteger(target) || target < 0 || target >= V) throw new RangeError(`target token ${target} at position ${t} is outside 0..${V - 1}`);
      for (let j = 0; j < k; j++) {
        const pos = t - (k - 1) + j;
        const tok = pos < 0 ? PAD : tokens[pos];
        window[j] = tok;
        x.set(E.subarray(tok * d, tok * d + d), j * d);
      }
      for (let i = 0; i < H; i++) {
        let s = b1[i];
        const row = i * inputs;
        for (let c = 0; c < inputs; c++) s += W1[row + c] * x[c];
        h[i] = Math.tanh(s);
      }
      let max = -Infinity;
      for (let v = 0; v < V; v++) {
        let s = b2[v];
        const row = v * H;
        for (let i = 0; i < H; i++) s += W2[row + i] * h[i];
        logits[v] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let v = 0; v < V; v++) {
        const e = Math.exp(logits[v] - max);
        probs[v] = e;
        sum += e;
      }
      const lse = max + Math.log(sum);
      const lp = logits[target] - lse;
      lps[t] = lp;
      if (!g || !tokenGrad) continue;
      const gt = tokenGrad(t, lp);
      if (gt === 0) continue;
      // ∂L/∂logits = g·(onehot − softmax)
      const scale = -gt / sum;
      for (let v = 0; v < V; v++) dlogits[v] = scale * probs[v];
      dlogits[target] += gt;
      const { E: gE, W1: gW1, b1: gb1, W2: gW2, b2: gb2 } = g;
      if (needs.b2) for (let v = 0; v < V; v++) gb2[v] += dlogits[v];
      dpre.fill(0);
      for (let v = 0; v < V; v++) {
        const dl = dlogits[v];
        const row = v * H;
        if (needs.W2) for (let i = 0; i < H; i++) gW2[row + i] += dl * h[i];
        for (let i = 0; i < H; i++) dpre[i] += W2[row + i] * dl;
      }
      if (!needs.E && !needs.W1 && !needs.b1) continue;
      for (let i = 0; i < H; i++) dpre[i] *= 1 - h[i] * h[i];
      if (needs.b1) for (let i = 0; i < H; i++) gb1[i] += dpre[i];
      if (needs.E) dx.fill(0);
      for (let i = 0; i < H; i++) {
        const di = dpre[i];
        const row = i * inputs;
        if (needs.W1) for (let c = 0; c < inputs; c++) gW1[row + c] += di * x[c];
        if (needs.E) for (let c = 0; c < inputs; c++) dx[c] += W1[row + c] * di;
      }
      if (needs.E) {
        for (let j = 0; j < k; j++) {
          const erow = window[j] * d;
          for (let m = 0; m < d; m++) gE[erow + m] += dx[j * d + m];
        }
      }
    }
    return lps;
  }

  /** The hidden vectors h of every position of `tokens` (for embeddings). */
  hidden(eff: EffectiveWeights, tokens: readonly number[]): Float64Array[] {
    const { k, d, H } = this.config;
    const inputs = k * d;
    const out: Float64Array[] = [];
    const x = new Float64Array(inputs);
    for (let t = 0; t < tokens.length; t++) {
      for (let j = 0; j < k; j++) {
        const pos = t - (k - 1) + j;
        const tok = pos < 0 ? PAD : tokens[pos];
        x.set(eff.E.subarray(tok * d, tok * d + d), j * d);
      }
      const h = new Float64Array(H);
      for (let i = 0; i < H; i++) {
        let s = eff.b1[i];
        for (let c = 0; c < inputs; c++) s += eff.W1[i * inputs + c] * x[c];
        h[i] = Math.tanh(s);
      }
      out.push(h);
    }
    return out;
  }

  /** The next-token log-softmax after the window ending at `tokens`' last token. */
  nextLogprobs(eff: EffectiveWeights, tokens: readonly number[]): Float64Array {
    const { V, k, d, H } = this.config;
    const inputs = k * d;
    const x = new Float64Array(inputs);
    const n = tokens.length;
    for (let j = 0; j < k; j++) {
      const pos = n - k + j;
      const tok = pos < 0 ? PAD : tokens[pos];
      x.set(eff.E.subarray(tok * d, tok * d + d), j * d);
    }
    const h = new Float64Array(H);
    for (let i = 0; i < H; i++) {
      let s = eff.b1[i];
      for (let c = 0; c < inputs; c++) s += eff.W1[i * inputs + c] * x[c];
      h[i] = Math.tanh(s);
    }
    const out = new Float64Array(V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) {
      let s = eff.b2[v];
      for (let i = 0; i < H; i++) s += eff.W2[v * H + i] * h[i];
      out[v] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(out[v] - max);
    const lse = max + Math.log(sum);
    for (let v = 0; v < V; v++) out[v] -= lse;
    return out;
  }

  /** Turns pending effective-weight gradients into parameter gradients (added to {@link grads}). */
  materializeGrads(): void {
    const g = this.#effGrad;
    if (!g) return;
    this.#effGrad = undefined;
    const add = (name: string, src: Float64Array) => {
      const dst = this.grads.get(name);
      if (dst) for (let i = 0; i < dst.length; i++) dst[i] += src[i];
    };
    add('b1', g.b1);
    add('b2', g.b2);
    if (this.config.rank === 0) {
      add('E', g.E);
      add('W1', g.W1);
      add('W2', g.W2);
      return;
    }
    const r = this.config.rank;
    const s = this.scale;
    for (const name of ['E', 'W1', 'W2'] as const) {
      const gA = this.grads.get(`${name}.lora_A`);
      const gB = this.grads.get(`${name}.lora_B`);
      if (!gA || !gB) continue;
      const A = this.params.get(`${name}.lora_A`)!;
      const B = this.params.get(`${name}.lora_B`)!;
      const gW = g[name];
      const [out, inDim] = this.shapes.get(name)!;
      // W' = W + s·B·A  ⇒  dB = s·dW'·Aᵀ, dA = s·Bᵀ·dW'
      for (let o = 0; o < out; o++) {
        const row = o * inDim;
        for (let j = 0; j < r; j++) {
          let sb = 0;
          const arow = j * inDim;
          for (let i = 0; i < inDim; i++) sb += gW[row + i] * A[arow + i];
          gB[o * r + j] += s * sb;
          const bo = s * B[o * r + j];
          if (bo !== 0) for (let i = 0; i < inDim; i++) gA[arow + i] += bo * gW[row + i];
        }
      }
    }
  }

  /** Zeroes every gradient (pending and materialised). */
  zeroGrads(): void {
    this.#effGrad = undefined;
    for (const a of this.grads.values()) a.fill(0);
  }
}

function zeroLike(w: EffectiveWeights): EffectiveWeights {
  return {
    E: new Float64Array(w.E.length),
    W1: new Float64Array(w.W1.length),
    b1: new Float64Array(w.b1.length),
    W2: new Float64Array(w.W2.length),
    b2: new Float64Array(w.b2.length),
  };
}
