import { open, stat } from 'node:fs/promises';
import { confinePath, InputError } from '../../core/plugin-api.ts';
import type { ModelInfo } from './entities.ts';

/**
 * Resolves a model path and confines it: absolute, strictly inside one of `roots`, existing,
 * still inside after symlinks are resolved, a regular file, and a GGUF file. Returns the real
 * path. Confinement is checked before existence, so a refused path never reveals whether it exists.
 */
export async function resolveModelFile(input: string, roots: readonly string[]): Promise<string> {
  const details = { modelPath: input };
  const real = await confinePath(input, roots, { what: 'Model path', rootsLabel: 'allowed model roots', details });
  if (/[\n\r\0]/.test(real)) throw new InputError('Model path must not contain control characters');
  if (!(await stat(real)).isFile()) throw new InputError(`Model path is not a file: ${input}`, { details });
  return real;
}

/** The header bytes read to find `block_count`: metadata comes first, vocabularies can be large. */
const headerBytes = 16 * 1024 * 1024;

/**
 * Reads a GGUF file's size and `<arch>.block_count` (the layer count, for the VRAM estimate).
 * A file that is not GGUF (v2 or v3) is a {@link InputError}.
 */
export async function readModelInfo(file: string): Promise<ModelInfo> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.min(size, headerBytes));
    await handle.read(buffer, 0, buffer.length, 0);
    if (buffer.length < 24 || buffer.toString('ascii', 0, 4) !== 'GGUF') throw new InputError(`Model file is not a GGUF file: ${file}`, { details: { modelPath: file } });
    const version = buffer.readUInt32LE(4);
    if (version < 2) throw new InputError(`GGUF version ${version} is not supported: ${file}`, { details: { modelPath: file } });
    return { sizeBytes: size, blockCount: findBlockCount(buffer) };
  } finally {
    await handle.close();
  }
}

/** Walks the metadata until `<arch>.block_count`; null when it is absent or past the header read. */
function findBlockCount(buffer: Buffer): number | null {
  let at = 24;
  const kvCount = Number(buffer.readBigUInt64LE(16));
  const fixed: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const readString = () => {
    const length = Number(buffer.readBigUInt64LE(at));
    const text = buffer.toString('utf8', at + 8, at + 8 + length);
    at += 8 + length;
    return text;
  };
  const skip = (type: number) => {
    if (type === 8) readString();
    else if (type === 9) {
      const inner = buffer.readUInt32LE(at);
      const count = Number(buffer.readBigUInt64LE(at + 4));
      at += 12;
      if (inner === 8) for (let i = 0; i < count; i++) readString();
      else at += (fixed[inner] ?? 0) * count;
    } else at += fixed[type] ?? 0;
  };
  try {
    for (let i = 0; i < kvCount; i++) {
      const key = readString();
      const type = buffer.readUInt32LE(at);
      at += 4;
      if (key.endsWith('.block_count') && (type === 4 || type === 5)) return buffer.readUInt32LE(at);
      skip(type);
    }
  } catch {
    // Ran past the bytes read: the count is unknown.
  }
  return null;
}

/**
 * Estimated VRAM of an instance in MiB: the model file's size times the share of its layers
 * offloaded (`gpuLayers`; -1 or more than the model has means all). A coarse estimate: the KV
 * cache and compute buffers come on top.
 */
export function estimateVramMiB(info: ModelInfo, gpuLayers: number): number {
  if (gpuLayers === 0) return 0;
  const share = gpuLayers < 0 || info.blockCount === null || gpuLayers >= info.blockCount ? 1 : gpuLayers / info.blockCount;
  return Math.ceil((info.sizeBytes * share) / (1024 * 1024));
}
