import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { BackendError, InputError, NotFoundError } from '../../core/plugin-api.ts';
import { confinePath } from './paths.ts';

/** A checkpoint directory under `checkpoints/hf_format`. */
export interface IlabCheckpoint {
  name: string;
  path: string;
  /** N of `samples_<N>`; null for other names (`last_epoch`). */
  samples: number | null;
  modifiedAt: Date;
}

export const checkpointsDirMissing = 'Checkpoints directory does not exist';
export const noLatestCheckpoint = 'Failed to find the latest checkpoint';

/** Every subdirectory, sorted by name in byte order (as Go's `ReadDir` sorts). */
export async function listCheckpoints(dir: string): Promise<IlabCheckpoint[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(checkpointsDirMissing);
    throw new BackendError('Failed to read checkpoints directory', { cause: error });
  }
  const checkpoints: IlabCheckpoint[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    // Go's DirEntry.IsDir does not follow symlinks; neither do we.
    if (!entry.isDirectory()) continue;
    const samples = /^samples_(\d+)$/.exec(entry.name);
    checkpoints.push({ name: entry.name, path: full, samples: samples ? Number(samples[1]) : null, modifiedAt: (await stat(full)).mtime });
  }
  return checkpoints.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}

/**
 * The newest checkpoint: the highest `samples_<N>` by number (not by mtime, which copying or
 * touching a directory changes), unless a `last_epoch` directory (keep-last-only training)
 * was written after it.
 */
export function pickLatestCheckpoint(checkpoints: readonly IlabCheckpoint[]): IlabCheckpoint | undefined {
  const numbered = checkpoints.filter((c) => c.samples !== null).sort((a, b) => b.samples! - a.samples!)[0];
  const lastEpoch = checkpoints.find((c) => c.name === 'last_epoch');
  if (!numbered) return lastEpoch;
  if (lastEpoch && lastEpoch.modifiedAt > numbered.modifiedAt) return lastEpoch;
  return numbered;
}

/** The checkpoint to serve: the named one (confined to the directory) or the latest. */
export async function findCheckpoint(dir: string, name: string | null | undefined): Promise<IlabCheckpoint> {
  const checkpoints = await listCheckpoints(dir);
  if (name) {
    if (name === '.' || name === '..' || name.includes('/') || name.includes('\\')) throw new InputError(`Checkpoint '${name}' does not exist`);
    const real = await confinePath(name, [dir], {
      outside: () => new InputError(`Checkpoint '${name}' does not exist`),
      missing: () => new InputError(`Checkpoint '${name}' does not exist`),
    });
    const found = checkpoints.find((c) => c.name === name);
    return found ?? { name, path: real, samples: null, modifiedAt: (await stat(real)).mtime };
  }
  const latest = pickLatestCheckpoint(checkpoints);
  if (!latest) throw new NotFoundError(noLatestCheckpoint);
  return latest;
}
