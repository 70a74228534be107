import { randomBytes } from 'node:crypto';
import { open, realpath, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { confinePath, isBackplaneError } from '../../core/plugin-api.ts';

export interface OutputDirCheck {
  valid: boolean;
  writable: boolean;
  path: string;
  errors: string[];
}

/**
 * Whether jobs may write into `dir`: an existing directory inside the configured output roots
 * where a probe file can be created (and is removed again). Never creates the directory.
 */
export async function checkOutputDir(dir: string, roots: readonly string[]): Promise<OutputDirCheck> {
  const result = (errors: string[], writable = false): OutputDirCheck => ({ valid: errors.length === 0, writable, path: dir, errors });
  if (!path.isAbsolute(dir)) return result(['Output directory must be an absolute path']);
  let real: string;
  try {
    real = await confinePath(dir, roots, { what: 'Output directory', rootsLabel: 'output roots (plugins.training.outputRoots)' });
  } catch (error) {
    if (!isBackplaneError(error)) throw error;
    // A root itself is a fine place for outputs (confinePath keeps paths strictly inside).
    const self = await realpath(dir).catch(() => undefined);
    const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => undefined)));
    if (self === undefined || !realRoots.includes(self)) return result([error.message]);
    real = self;
  }
  const info = await stat(real);
  if (!info.isDirectory()) return result([`Output directory is not a directory: ${dir}`]);
  const probe = path.join(real, `.write_test.${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(probe, 'wx', 0o600);
    await handle.close();
    await unlink(probe);
  } catch (error) {
    return result([`Output directory is not writable: ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  return result([], true);
}
