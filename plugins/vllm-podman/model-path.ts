import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../core/plugin-api.ts';

/**
 * Resolves a model path the way the container will see it and confines it: absolute, strictly
 * inside one of `roots`, existing, still inside after symlinks are resolved, and free of the
 * characters podman's `-v src:dst:ro` syntax would misread. Returns the real path.
 *
 * Confinement is checked before existence, so a refused path never reveals whether it exists.
 */
export async function resolveModelPath(input: string, roots: readonly string[]): Promise<string> {
  if (!path.isAbsolute(input)) throw new InputError('Model path must be absolute');
  const outside = () => new InputError(`Model path is outside the allowed model roots (${roots.join(', ')}): ${input}`);
  // A root may itself be a symlink (RHEL's /home → /var/home): accept both spellings.
  const realRoots = (await Promise.all(roots.map((root) => realpath(root).catch(() => undefined)))).filter((r): r is string => r !== undefined);
  const allRoots = [...new Set([...roots.map((r) => path.resolve(r)), ...realRoots])];
  if (!isInside(path.resolve(input), allRoots)) throw outside();
  let real: string;
  try {
    real = await realpath(path.resolve(input));
  } catch {
    throw new InputError(`Model path does not exist: ${input}`);
  }
  if (!isInside(real, realRoots)) throw outside();
  if (/[:,\n\r\0]/.test(real)) throw new InputError('Model path must not contain ":", "," or control characters');
  const info = await stat(real);
  if (!info.isDirectory() && !info.isFile()) throw new InputError(`Model path is neither a directory nor a file: ${input}`);
  return real;
}

/** Strictly below one of `roots` (a root itself is not a model). */
function isInside(candidate: string, roots: readonly string[]): boolean {
  return roots.some((root) => candidate.startsWith(root.endsWith(path.sep) ? root : `${root}${path.sep}`));
}
