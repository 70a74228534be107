import { describe, expect, it } from 'vitest';
import { TinyLM, tinyConfig } from './model.ts';
import { pickToken, sample } from './sampling.ts';
import { encode } from './tokenizer.ts';

const model = new TinyLM(tinyConfig({ rank: 0 }));
// Make byte 'a' (97) after 'a' very likely, and 'b' second, so stops are reachable.
model.params.get('b2')![97] = 6;
model.params.get('b2')![98] = 5;
model.weightsChanged();
const base = { max_tokens: 12, temperature: 1, top_p: 1, top_k: -1 };

describe('TinyLM sampling', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const prompt = encode('xy');
    const a = await sample(model, prompt, 3, { ...base, seed: 42 }, false);
    const b = await sample(model, prompt, 3, { ...base, seed: 42 }, false);
    const c = await sample(model, prompt, 3, { ...base, seed: 43 }, false);
    expect(b).toEqual(a);
    expect(c.sequences.map((s) => s.tokens)).not.toEqual(a.sequences.map((s) => s.tokens));
    expect(a.sequences).toHaveLength(3);
    for (const s of a.sequences) {
      expect(s.tokens).toHaveLength(12);
      expect(s.stop_reason).toBe('length');
    }
  });

  it('top_k=1 and temperature 0 are greedy, with raw (temperature-1) logprobs', async () => {
    const prompt = encode('q');
    const greedy = await sample(model, prompt, 1, { ...base, top_k: 1, seed: 1 }, false);
    const zero = await sample(model, prompt, 1, { ...base, temperature: 0 }, false);
    expect(greedy.sequences[0].tokens).toEqual(zero.sequences[0].tokens);
    const hot = await sample(model, prompt, 1, { ...base, top_k: 1, temperature: 5, seed: 9 }, false);
    expect(hot.sequences[0].tokens).toEqual(zero.sequences[0].tokens);
    // Same tokens → same logprobs: the temperature does not change what is reported.
    expect(hot.sequences[0].logprobs).toEqual(zero.sequences[0].logprobs);
    const eff = model.effective();
    const first = model.nextLogprobs(eff, prompt);
    expect(zero.sequences[0].logprobs[0]).toBe(Math.fround(first[zero.sequences[0].tokens[0]]));
  });

  it('stops on stop strings (decoded bytes) and stop token ids, keeping the stop tokens', async () => {
    const greedy = { ...base, temperature: 0 };
    const plain = await sample(model, encode('z'), 1, greedy, false);
    const text = Buffer.from(plain.sequences[0].tokens).toString('latin1');
    const stopAt = text.slice(2, 4);
    const stopped = await sample(model, encode('z'), 1, { ...greedy, stop_strings: [stopAt] }, false);
    const got = Buffer.from(stopped.sequences[0].tokens).toString('latin1');
    expect(stopped.sequences[0].stop_reason).toBe('stop');
    expect(got.endsWith(stopAt)).toBe(true);
    expect(got.length).toBeLessThanOrEqual(text.indexOf(stopAt) + stopAt.length);
    const byId = await sample(model, encode('z'), 1, { ...greedy, stop_token_ids: [plain.sequences[0].tokens[0]] }, false);
    expect(byId.sequences[0]).toMatchObject({ tokens: [plain.sequences[0].tokens[0]], stop_reason: 'stop' });
  });

  it('returns prompt logprobs with null at position 0', async () => {
    const prompt = encode('abc');
    const r = await sample(model, prompt, 1, { ...base, max_tokens: 0 }, true);
    expect(r.sequences[0]).toEqual({ tokens: [], logprobs: [], stop_reason: 'length' });
    expect(r.prompt_logprobs).toHaveLength(3);
    expect(r.prompt_logprobs![0]).toBeNull();
    const eff = model.effective();
    expect(r.prompt_logprobs![2]).toBe(Math.fround(model.nextLogprobs(eff, prompt.slice(0, 2))[prompt[2]]));
  });

  it('top_p keeps the smallest set reaching the mass', () => {
    const lp = Float64Array.from([Math.log(0.6), Math.log(0.3), Math.log(0.1)]);
    const rng = () => 0.999;
    expect(pickToken(lp, { ...base, top_p: 0.5 }, rng)).toBe(0);
    expect(pickToken(lp, { ...base, top_p: 0.85 }, rng)).toBe(1);
    expect(pickToken(lp, { ...base, top_p: 1 }, rng)).toBe(2);
  });
});
