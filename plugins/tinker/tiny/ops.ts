/**
 * `forward` / `forward_backward` over a batch of bwp/1 data: per-datum forward, the loss's
 * per-token ∂L/∂lp, backward added to the model's gradient buffers. Yields to the event loop
 * every `yieldEveryTokens` tokens (default 256) so a worker keeps answering `sample` during a
 * large batch. Not cancellable midway: half-accumulated gradients would be worse than waiting.
 *
 * @module
 */
import { setImmediate as nextTick } from 'node:timers/promises';
import { userError, type Datum, type ForwardResult, type LossFn } from '../protocol/index.ts';
import { tokenLoss } from './losses.ts';
import type { TinyLM } from './model.ts';

/** The tokens of a datum's model input (its chunks concatenated). */
export function datumTokens(datum: Datum): number[] {
  return datum.model_input.chunks.flatMap((chunk) => chunk.tokens);
}

/** Options of {@link forwardBackward}. */
export interface ForwardBackwardOptions {
  /** false = `forward`: gradients untouched. */
  backward: boolean;
  loss_fn_config?: Record<string, number>;
  yieldEveryTokens?: number;
}

/** Runs `data` through `model` with `lossFn`; the bwp/1 forward result. */
export async function forwardBackward(model: TinyLM, data: Datum[], lossFn: LossFn, options: ForwardBackwardOptions): Promise<ForwardResult> {
  const eff = model.effective();
  const outputs: ForwardResult['loss_fn_outputs'] = [];
  const yieldEvery = options.yieldEveryTokens ?? 256;
  let total = 0;
  let sinceYield = 0;
  // Validate everything first so a bad datum leaves the gradients untouched.
  const prepared = data.map((datum, i) => {
    const tokens = datumTokens(datum);
    const targets = datum.loss_fn_inputs.target_tokens;
    if (targets.shape && targets.shape.length > 1) throw userError(`data[${i}].loss_fn_inputs.target_tokens: only 1-D targets are supported`);
    if (targets.data.length !== tokens.length) {
      throw userError(`data[${i}]: target_tokens has ${targets.data.length} values; model_input has ${tokens.length} tokens`);
    }
    for (const t of [...tokens, ...targets.data]) {
      if (!Number.isInteger(t) || t < 0 || t >= model.config.V) throw userError(`data[${i}]: token ${t} is outside the vocabulary (0..${model.config.V - 1})`);
    }
    return { tokens, targets: targets.data, loss: tokenLoss(lossFn, datum, tokens.length, options.loss_fn_config) };
  });
  for (const { tokens, targets, loss } of prepared) {
    const n = tokens.length;
    const elementwise = new Array<number>(n);
    const lps = new Float64Array(n);
    const grad = options.backward
      ? (t: number, lp: number) => {
          const r = loss(t, lp);
          elementwise[t] = r.loss;
          return r.grad;
        }
      : undefined;
    // Positions are independent (a fixed window each), so a datum can be split into ranges.
    for (let from = 0; from < n; ) {
      const to = Math.min(n, from + Math.max(1, yieldEvery - sinceYield));
      model.run(eff, tokens, targets, grad, { from, to, out: lps });
      sinceYield += to - from;
      from = to;
      if (sinceYield >= yieldEvery) {
        sinceYield = 0;
        await nextTick();
      }
    }
    if (!grad) for (let t = 0; t < n; t++) elementwise[t] = loss(t, lps[t]).loss;
    for (const l of elementwise) total += l;
    outputs.push({
      logprobs: { data: Array.from(lps, Math.fround), dtype: 'float32', shape: [n] },
      elementwise_loss: { data: elementwise.map(Math.fround), dtype: 'float32', shape: [n] },
    });
  }
  return { loss_fn_output_type: 'TensorData', loss_fn_outputs: outputs, metrics: { 'loss:sum': total } };
}
