import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from './errors.ts';

export interface ConfinePathOptions {
  /** How messages name the path. @default 'Path' */
  what?: string;
  /** How messages name the roots. @default 'allowed roots' */
  rootsLabel?: string;
  /** Facts attached to every {@link InputError} (e.g. `{ modelPath }`). */
  details?: Record<string, unknown>;
}

/**
 * Resolves a user-supplied path and confines it to configured roots: absolute, strictly inside
 * one of `roots`, existing, and still inside after symlinks are resolved. Returns the real path;
 * anything else is an {@link InputError}. Confinement is checked before existence, so a refused
 * path never reveals whether it exists. A root may itself be a symlink (RHEL's `/home` →
 * `/var/home`): both spellings are accepted. Callers add their own checks on the result (a file,
 * a directory, characters a tool's syntax would misread).
 */
export async function confinePath(input: string, roots: readonly string[], { what = 'Path', rootsLabel = 'allowed roots', details }: ConfinePathOptions = {}): Promise<string> {
  if (!path.isAbsolute(input)) throw new InputError(`${what} must be absolute`, { details });
  const outside = () => new InputError(`${what} is outside the ${rootsLabel} (${roots.join(', ')}): ${input}`, { details });
  const realRoots = (await Promise.all(roots.map((root) => realpath(root).catch(() => undefined)))).filter((r): r is string => r !== undefined);
  const allRoots = [...new Set([...roots.map((r) => path.resolve(r)), ...realRoots])];
  if (!isInside(path.resolve(input), allRoots)) throw outside();
  let real: string;
  try {
    real = await realpath(path.resolve(input));
  } catch {
    throw new InputError(`${what} does not exist: ${input}`, { details });
  }
  if (!isInside(real, realRoots)) throw outside();
  return real;
}

/** Strictly below one of `roots` (a root itself is not inside). */
function isInside(candidate: string, roots: readonly string[]): boolean {
  return roots.some((root) => candidate.startsWith(root.endsWith(path.sep) ? root : `${root}${path.sep}`));
}
