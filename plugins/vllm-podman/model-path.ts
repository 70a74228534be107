import { stat } from 'node:fs/promises';
import { confinePath, InputError } from '../../core/plugin-api.ts';

/**
 * Resolves a model path the way the container will see it and confines it: absolute, strictly
 * inside one of `roots`, existing, still inside after symlinks are resolved, and free of the
 * characters podman's `-v src:dst:ro` syntax would misread. Returns the real path.
 *
 * Confinement is checked before existence, so a refused path never reveals whether it exists.
 */
export async function resolveModelPath(input: string, roots: readonly string[]): Promise<string> {
  const real = await confinePath(input, roots, { what: 'Model path', rootsLabel: 'allowed model roots' });
  if (/[:,\n\r\0]/.test(real)) throw new InputError('Model path must not contain ":", "," or control characters');
  const info = await stat(real);
  if (!info.isDirectory() && !info.isFile()) throw new InputError(`Model path is neither a directory nor a file: ${input}`);
  return real;
}
