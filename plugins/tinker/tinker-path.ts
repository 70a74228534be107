import path from 'node:path';
import { confinePath, InputError } from '../../core/plugin-api.ts';

/** `weights`: training state (weights + Adam); `sampler_weights`: weights only. */
export type CheckpointKind = 'weights' | 'sampler_weights';

/** A parsed `tinker://<training_run_id>/{weights|sampler_weights}/<checkpoint_id>`. */
export interface TinkerPath {
  modelId: string;
  kind: CheckpointKind;
  name: string;
}

const segment = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Whether a checkpoint name (or model id) is one path segment we store under. */
export function isSegment(value: string): boolean {
  return segment.test(value) && !value.includes('..');
}

/** Parses the grammar of the SDK's `ParsedCheckpointTinkerPath` (§2.9): exactly three parts. */
export function parseTinkerPath(value: string, field = 'path'): TinkerPath {
  if (!value.startsWith('tinker://')) throw new InputError(`${field}: expected tinker://<training_run_id>/{weights|sampler_weights}/<checkpoint_id>, got '${value.slice(0, 200)}'`);
  const parts = value.slice('tinker://'.length).split('/');
  if (parts.length !== 3) throw new InputError(`${field}: a tinker:// path has exactly three parts (<training_run_id>/{weights|sampler_weights}/<checkpoint_id>)`);
  const [modelId, kind, name] = parts;
  if (kind !== 'weights' && kind !== 'sampler_weights') throw new InputError(`${field}: the second part must be 'weights' or 'sampler_weights', not '${kind.slice(0, 64)}'`);
  if (!isSegment(modelId)) throw new InputError(`${field}: malformed training run id '${modelId.slice(0, 64)}'`);
  if (!isSegment(name)) throw new InputError(`${field}: malformed checkpoint id '${name.slice(0, 64)}' (letters, digits, '.', '_', '-')`);
  return { modelId, kind, name };
}

export function formatTinkerPath(p: TinkerPath): string {
  return `tinker://${p.modelId}/${p.kind}/${p.name}`;
}

/** Where a checkpoint's file lives under the plugin's checkpoint root. */
export function checkpointFile(root: string, p: TinkerPath): string {
  return path.join(root, p.modelId, p.kind, `${p.name}.bwpt`);
}

/** The file of a checkpoint, resolved through symlinks and kept inside the checkpoint root. */
export async function confinedCheckpointFile(root: string, p: TinkerPath): Promise<string> {
  return confinePath(checkpointFile(root, p), [root], { what: 'Checkpoint path', rootsLabel: 'the tinker checkpoint directory' });
}
