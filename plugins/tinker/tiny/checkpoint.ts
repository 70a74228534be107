/**
 * The `.bwpt` checkpoint file both workers read and write:
 * `[u32 LE headerLength][header JSON, UTF-8][raw float32 LE data]`. The header lists each
 * tensor's name, shape and byte range in the data section. A `training` checkpoint also holds
 * `<name>.adam_m` / `<name>.adam_v` for every trainable tensor and the Adam `step`; a `sampler`
 * checkpoint holds weights only.
 *
 * @module
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { userError } from '../protocol/index.ts';
import { TinyLM, type TinyConfig } from './model.ts';

/** The `format` value of a `.bwpt` header. */
export const CHECKPOINT_FORMAT = 'bwp-tensors/1';

/** One tensor entry of the header. */
export interface CheckpointTensor {
  name: string;
  dtype: 'float32';
  shape: number[];
  /** Byte offset into the data section (after the header). */
  offset: number;
  byteLength: number;
}

/** The `.bwpt` header. Readers ignore unknown keys. */
export interface CheckpointHeader {
  format: typeof CHECKPOINT_FORMAT;
  backend: string;
  config: TinyConfig;
  kind: 'training' | 'sampler';
  step: number;
  tensors: CheckpointTensor[];
  /** Informational: the base model name. */
  base_model?: string;
}

/** A decoded checkpoint. */
export interface Checkpoint {
  header: CheckpointHeader;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** Encodes named float32 tensors into a `.bwpt` buffer. */
export function encodeCheckpoint(meta: Omit<CheckpointHeader, 'tensors' | 'format'>, tensors: Array<{ name: string; shape: number[]; data: ArrayLike<number> }>): Buffer {
  let offset = 0;
  const entries: CheckpointTensor[] = tensors.map((t) => {
    const entry: CheckpointTensor = { name: t.name, dtype: 'float32', shape: t.shape, offset, byteLength: t.data.length * 4 };
    offset += entry.byteLength;
    return entry;
  });
  const header = Buffer.from(JSON.stringify({ format: CHECKPOINT_FORMAT, ...meta, tensors: entries }), 'utf8');
  const out = Buffer.alloc(4 + header.length + offset);
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  const base = 4 + header.length;
  tensors.forEach((t, i) => {
    const at = base + entries[i].offset;
    for (let j = 0; j < t.data.length; j++) out.writeFloatLE(t.data[j], at + j * 4);
  });
  return out;
}

/** Decodes a `.bwpt` buffer; a malformed one is a user error naming what is wrong. */
export function decodeCheckpoint(buffer: Buffer, source = 'checkpoint'): Checkpoint {
  if (buffer.length < 4) throw userError(`${source}: not a bwpt file (too short)`);
  const headerLength = buffer.readUInt32LE(0);
  if (4 + headerLength > buffer.length) throw userError(`${source}: header length ${headerLength} exceeds the file`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(buffer.subarray(4, 4 + headerLength).toString('utf8')) as CheckpointHeader;
  } catch {
    throw userError(`${source}: header is not JSON`);
  }
  if (header?.format !== CHECKPOINT_FORMAT) throw userError(`${source}: format is ${JSON.stringify(header?.format)}, expected ${CHECKPOINT_FORMAT}`);
  if (!Array.isArray(header.tensors)) throw userError(`${source}: header has no tensors list`);
  const base = 4 + headerLength;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const t of header.tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.dtype !== 'float32' || t.byteLength !== count * 4 || base + t.offset + t.byteLength > buffer.length) {
      throw userError(`${source}: tensor ${t.name} has a bad dtype, shape or byte range`);
    }
    const data = new Float32Array(count);
    for (let j = 0; j < count; j++) data[j] = buffer.readFloatLE(base + t.offset + j * 4);
    tensors.set(t.name, { shape: t.shape, data });
  }
  return { header, tensors };
}

/** Writes `model` to `file` (parent dirs created); returns the byte size. */
export async function saveCheckpoint(model: TinyLM, file: string, kind: 'training' | 'sampler', baseModel = 'tiny-lm'): Promise<number> {
  const tensors: Array<{ name: string; shape: number[]; data: ArrayLike<number> }> = [];
  for (const [name, data] of model.params) tensors.push({ name, shape: model.shapes.get(name)!, data });
  if (kind === 'training') {
    for (const name of model.trainable) {
      const shape = model.shapes.get(name)!;
      tensors.push({ name: `${name}.adam_m`, shape, data: model.adamM.get(name)! });
      tensors.push({ name: `${name}.adam_v`, shape, data: model.adamV.get(name)! });
    }
  }
  const buffer = encodeCheckpoint({ backend: 'tiny', config: model.config, kind, step: model.step, base_model: baseModel }, tensors);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, buffer);
  return buffer.length;
}

/** Reads and decodes a `.bwpt` file (a missing file is a user error). */
export async function readCheckpoint(file: string): Promise<Checkpoint> {
  let buffer: Buffer;
  try {
    buffer = await readFile(file);
  } catch (error) {
    throw userError(`cannot read checkpoint ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return decodeCheckpoint(buffer, file);
}

const CONFIG_KEYS = ['V', 'k', 'd', 'H', 'rank', 'train_mlp', 'train_attn', 'train_unembed'] as const;

/**
 * Loads checkpoint weights into `model` (configs must match, alpha included), and the Adam state
 * and step when `optimizer` is true (a sampler checkpoint then is a user error). Without
 * `optimizer` the Adam state is reset. Gradients are zeroed either way.
 */
export function applyCheckpoint(model: TinyLM, checkpoint: Checkpoint, optimizer: boolean): void {
  const { header, tensors } = checkpoint;
  for (const key of [...CONFIG_KEYS, 'alpha'] as const) {
    if (header.config?.[key] !== model.config[key]) {
      throw userError(`checkpoint ${key} is ${JSON.stringify(header.config?.[key])} but the model's ${key} is ${JSON.stringify(model.config[key])}`);
    }
  }
  if (optimizer && header.kind !== 'training') throw userError('a sampler checkpoint holds no optimizer state; load it with optimizer:false');
  for (const [name, param] of model.params) {
    const t = tensors.get(name);
    if (!t || t.data.length !== param.length) throw userError(`checkpoint lacks tensor ${name} of shape [${model.shapes.get(name)!.join(',')}]`);
    param.set(t.data);
  }
  for (const name of model.trainable) {
    const m = model.adamM.get(name)!;
    const v = model.adamV.get(name)!;
    if (optimizer) {
      const tm = tensors.get(`${name}.adam_m`);
      const tv = tensors.get(`${name}.adam_v`);
      if (!tm || !tv) throw userError(`checkpoint lacks the Adam state of ${name}`);
      m.set(tm.data);
      v.set(tv.data);
    } else {
      m.fill(0);
      v.fill(0);
    }
  }
  model.step = optimizer ? header.step : 0;
  model.zeroGrads();
  model.weightsChanged();
}

/** A new model built from a checkpoint's own config, with its weights (and Adam state if training). */
export function modelFromCheckpoint(checkpoint: Checkpoint): TinyLM {
  const c = checkpoint.header.config;
  if (!c || CONFIG_KEYS.some((k) => c[k] === undefined)) throw userError('checkpoint header has an incomplete config');
  const model = new TinyLM({ ...c });
  applyCheckpoint(model, checkpoint, checkpoint.header.kind === 'training');
  return model;
}
