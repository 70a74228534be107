import { constants } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/** The model every worker has built in (the TypeScript TinyLM of bwp/1). */
export const TINY_MODEL = 'tiny-lm';

const tokenizerFiles = ['tokenizer.json', 'tokenizer_config.json', 'tokenizer.model'];

/** Ollama-style names the real project accepted, and the Hugging Face ids they stand for (no fallback for others). */
export const ollamaAliases: Record<string, string> = {
  'llama3.2:3b': 'meta-llama/Llama-3.2-3B-Instruct',
  'llama3.2:1b': 'meta-llama/Llama-3.2-1B-Instruct',
  'llama3.1:8b': 'meta-llama/Llama-3.1-8B-Instruct',
  'mistral:7b': 'mistralai/Mistral-7B-Instruct-v0.2',
  'phi3:mini': 'microsoft/Phi-3-mini-4k-instruct',
  'gemma2:9b': 'google/gemma-2-9b-it',
  'qwen2.5:7b': 'Qwen/Qwen2.5-7B-Instruct',
};

export interface ModelCheck {
  available: boolean;
  model_name: string;
  path: string | null;
  errors: string[];
}

/** `org/name` → `models--org--name`, the hub cache's folder for it. */
function cacheFolder(modelId: string): string {
  return `models--${modelId.split('/').join('--')}`;
}

/** Whether a snapshot folder holds a parsable config.json and a tokenizer file (weights are not checked, as in the real project). */
async function snapshotErrors(dir: string): Promise<string[]> {
  const errors: string[] = [];
  try {
    JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
  } catch (error) {
    errors.push((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'config.json is missing' : `config.json is not valid JSON: ${(error as Error).message}`);
  }
  const found = await Promise.all(tokenizerFiles.map((f) => access(path.join(dir, f), constants.R_OK).then(() => true, () => false)));
  if (!found.some(Boolean)) errors.push(`no tokenizer file (${tokenizerFiles.join(', ')})`);
  return errors;
}

/** Snapshot folders of one cached model, newest first. */
async function snapshots(cache: string, modelId: string): Promise<string[]> {
  const root = path.join(cache, cacheFolder(modelId), 'snapshots');
  const names = await readdir(root).catch(() => [] as string[]);
  const withTimes = await Promise.all(names.map(async (n) => ({ dir: path.join(root, n), mtime: (await stat(path.join(root, n)).catch(() => undefined))?.mtimeMs })));
  return withTimes.filter((s) => s.mtime !== undefined).sort((a, b) => b.mtime! - a.mtime!).map((s) => s.dir);
}

/**
 * Whether a model can be trained from here: `tiny-lm`, or a Hugging Face id (or a known Ollama
 * alias of one) with a valid snapshot in the cache.
 */
export async function checkModel(cache: string, modelName: string): Promise<ModelCheck> {
  if (modelName === TINY_MODEL) return { available: true, model_name: modelName, path: null, errors: [] };
  const id = ollamaAliases[modelName] ?? modelName;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) || id.includes('..')) {
    return { available: false, model_name: modelName, path: null, errors: [`'${modelName}' is not a Hugging Face model id (org/name) nor ${TINY_MODEL}`] };
  }
  const dirs = await snapshots(cache, id);
  if (dirs.length === 0) return { available: false, model_name: modelName, path: null, errors: [`${id} is not in the Hugging Face cache (${cache})`] };
  let firstErrors: string[] = [];
  for (const dir of dirs) {
    const errors = await snapshotErrors(dir);
    if (errors.length === 0) return { available: true, model_name: modelName, path: dir, errors: [] };
    if (firstErrors.length === 0) firstErrors = errors.map((e) => `${path.basename(dir)}: ${e}`);
  }
  return { available: false, model_name: modelName, path: null, errors: firstErrors };
}

/** Every cached model with at least one valid snapshot, as `org/name`, sorted; `tiny-lm` first. */
export async function availableModels(cache: string): Promise<string[]> {
  const entries = await readdir(cache, { withFileTypes: true }).catch(() => []);
  const ids = entries
    .filter((e) => e.isDirectory() && e.name.startsWith('models--'))
    .map((e) => e.name.slice('models--'.length).split('--'))
    .filter((parts) => parts.length >= 2)
    .map((parts) => `${parts[0]}/${parts.slice(1).join('--')}`);
  const valid = await Promise.all(ids.map(async (id) => ((await checkModel(cache, id)).available ? id : undefined)));
  return [TINY_MODEL, ...valid.filter((id): id is string => id !== undefined).sort()];
}
