/**
 * mulberry32, the seeded PRNG TinyLM uses for init and sampling (so a seed gives the same
 * numbers on every run and in every worker that implements it).
 *
 * @module
 */

/** A uniform [0, 1) generator seeded with a 32-bit integer (other numbers are truncated to 32 bits). */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `out` with U(lo, hi) draws from `rng`, in index order: `lo + (hi - lo) * rng()`. */
export function fillUniform(out: Float64Array, rng: () => number, lo: number, hi: number): Float64Array {
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(lo + (hi - lo) * rng());
  return out;
}
