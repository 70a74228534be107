import { InputError } from '../../core/plugin-api.ts';
import type { Dataset, ProjectTrait, TraitType } from './types.ts';

/** A trait as a client sends it. */
export interface TraitInput {
  trait_type: TraitType;
  datasets: { dataset_id: number; percentage: number }[];
}

const EPSILON = 1e-6;

/**
 * The seed document's project rules, all enforced (the real project checked only some):
 * reasoning and coding take exactly one dataset at 100 %; general_tools one or more summing to
 * 100 %; each trait once; no dataset twice in a project; every dataset exists. Throws an
 * InputError (400) naming the rule.
 */
export function checkTraits(traits: readonly TraitInput[], datasetExists: (id: number) => boolean): void {
  if (traits.length === 0) throw new InputError('A project needs at least one trait');
  const seenTraits = new Set<TraitType>();
  const seenDatasets = new Set<number>();
  for (const trait of traits) {
    if (seenTraits.has(trait.trait_type)) throw new InputError(`Trait '${trait.trait_type}' appears twice`);
    seenTraits.add(trait.trait_type);
    const label = trait.trait_type === 'general_tools' ? 'General/Tools' : trait.trait_type === 'reasoning' ? 'Reasoning' : 'Coding';
    if (trait.datasets.length === 0) throw new InputError(`${label} trait needs at least one dataset`);
    for (const d of trait.datasets) {
      if (!(d.percentage > 0 && d.percentage <= 100)) throw new InputError(`${label} trait: percentage of dataset ${d.dataset_id} must be more than 0 and at most 100`);
      if (seenDatasets.has(d.dataset_id)) throw new InputError(`Dataset ${d.dataset_id} is used twice in this project`);
      seenDatasets.add(d.dataset_id);
      if (!datasetExists(d.dataset_id)) throw new InputError(`Dataset ${d.dataset_id} not found`);
    }
    if (trait.trait_type !== 'general_tools') {
      if (trait.datasets.length !== 1) throw new InputError(`${label} trait requires exactly 1 dataset, got ${trait.datasets.length}`);
      if (Math.abs(trait.datasets[0].percentage - 100) > EPSILON) throw new InputError(`${label} trait requires 100% allocation, got ${trait.datasets[0].percentage}%`);
    } else {
      const sum = trait.datasets.reduce((s, d) => s + d.percentage, 0);
      if (Math.abs(sum - 100) > EPSILON) throw new InputError(`General/Tools trait percentages must sum to 100%, got ${Math.round(sum * 1000) / 1000}%`);
    }
  }
}

/** How many rows of each dataset a project's mix takes. */
export interface MixPlan {
  dataset_id: number;
  trait_type: TraitType;
  rows: number;
  of: number;
}

/**
 * Rows per dataset: a reasoning/coding trait takes all of its dataset; a general_tools trait
 * takes the largest total its datasets can supply at their shares (each dataset contributing
 * `share × total` rows, never more than it has). `max_rows` caps the whole mix, scaling every
 * share down alike.
 */
export function planMix(traits: readonly ProjectTrait[], datasets: ReadonlyMap<number, Dataset>, maxRows: number | null): MixPlan[] {
  const plan: MixPlan[] = [];
  for (const trait of traits) {
    const total = Math.min(...trait.datasets.map((d) => datasets.get(d.dataset_id)!.row_count / (d.percentage / 100)));
    for (const d of trait.datasets) {
      const of = datasets.get(d.dataset_id)!.row_count;
      plan.push({ dataset_id: d.dataset_id, trait_type: trait.trait_type, rows: Math.min(of, Math.max(1, Math.floor((total * d.percentage) / 100 + EPSILON))), of });
    }
  }
  const sum = plan.reduce((s, p) => s + p.rows, 0);
  if (maxRows !== null && sum > maxRows) for (const p of plan) p.rows = Math.max(1, Math.floor((p.rows * maxRows) / sum));
  return plan;
}

/** mulberry32: a small seeded PRNG, so a mix is the same for the same seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Chooses `k` of `n` rows in one pass in file order (Knuth's selection sampling, algorithm S):
 * returns a predicate called once per row index 0…n-1, in order.
 */
export function selectionSampler(k: number, n: number, random: () => number): (index: number) => boolean {
  let needed = k;
  return (index) => {
    const left = n - index;
    if (needed <= 0) return false;
    if (random() * left < needed) {
      needed--;
      return true;
    }
    return false;
  };
}

/** A stable 32-bit hash of a string (FNV-1a), to derive a per-dataset seed. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
