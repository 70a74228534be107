import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { InputError, NotFoundError } from '../../core/plugin-api.ts';
import { confinePath } from './paths.ts';
import type { IlabModel } from './tables.ts';

/**
 * Finds the directory or file of a model named as the UI names it: a name from `ilab model list`
 * (`models/granite-8b-starter-v1`, `instructlab/granite-7b-lab`, `granite-7b-lab-Q4_K_M.gguf`), the
 * legacy `model/…` spelling, or a path inside the models directory. ilab ≥ 0.24 prints each
 * model's absolute path, which wins when the cache has it and is trusted as ilab listed it. Any
 * other name resolves to a real path inside one of `roots` (the models directory first, then the
 * checkpoints directory).
 */
export async function resolveModelPath(name: string, { roots, cached }: { roots: readonly string[]; cached: readonly IlabModel[] }): Promise<string> {
  const outside = () => new InputError(`Invalid modelName '${name}': the model must be inside ${roots[0]}`);
  const missing = () => new NotFoundError(`Model '${name}' does not exist in ${roots[0]}`);
  // A path ilab itself listed is trusted wherever ilab keeps it (its own configuration decides).
  const listed = cached.find((m) => m.name === name && m.absolutePath && path.isAbsolute(m.absolutePath));
  if (listed?.absolutePath) return realpath(listed.absolutePath).catch(() => Promise.reject(missing()));
  if (path.isAbsolute(name)) return confinePath(name, roots, { outside, missing });

  // ilab names a top-level model directory `<models dir name>/<model>`; the legacy server also
  // accepted `model/…`. Nested Hugging Face repos (`instructlab/granite-7b-lab`) keep their path.
  const prefixes = [...new Set(['models/', 'model/', `${path.basename(roots[0])}/`])];
  const candidates = [name, ...prefixes.filter((p) => name.startsWith(p)).map((p) => name.slice(p.length))];
  let lastError: Error = missing();
  for (const candidate of candidates.reverse()) {
    try {
      return await confinePath(candidate, roots, { outside, missing });
    } catch (error) {
      if (error instanceof InputError) throw error;
      lastError = error as Error;
    }
  }
  throw lastError;
}
