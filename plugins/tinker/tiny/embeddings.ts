/**
 * Text embeddings from TinyLM for the `rag` training type: the mean of the hidden vector h over
 * every window of the text's bytes, L2-normalised, so a dot product is a cosine similarity.
 *
 * @module
 */
import type { TinyLM } from './model.ts';
import { encode } from './tokenizer.ts';

/** The embedding (length H) of `text`; the zero vector for empty text. */
export function embedText(model: TinyLM, text: string, maxTokens = 4096): number[] {
  const tokens = encode(text).slice(0, maxTokens);
  const out = new Float64Array(model.config.H);
  if (tokens.length === 0) return Array.from(out);
  for (const h of model.hidden(model.effective(), tokens)) for (let i = 0; i < h.length; i++) out[i] += h[i] / tokens.length;
  const norm = Math.hypot(...out);
  return Array.from(out, (x) => Math.fround(norm > 0 ? x / norm : 0));
}

/** Cosine similarity of two normalised embeddings. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
