import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

const trainFile = /^knowledge_train_msgs_(\d{4}-\d\d-\d\dT\d\d_\d\d_\d\d)\.jsonl$/;

/**
 * The newest `knowledge_train_msgs_<ts>.jsonl` anywhere under the datasets directory: ilab ≥ 0.23
 * writes each run into `datasets/<run>/`, which the legacy server (top level only) never saw.
 * Ordered by the timestamp in the name, then by mtime. `since` skips files written before it
 * (a pipeline wants the data its own generation step wrote).
 */
export async function findNewestTrainingData(datasetsDir: string, { since }: { since?: Date } = {}): Promise<string | undefined> {
  let best: { file: string; stamp: string; mtime: number } | undefined;
  for await (const file of walk(datasetsDir, 3)) {
    const match = trainFile.exec(path.basename(file));
    if (!match) continue;
    const mtime = (await stat(file)).mtimeMs;
    if (since && mtime < since.getTime() - 1000) continue;
    if (!best || match[1] > best.stamp || (match[1] === best.stamp && mtime > best.mtime)) best = { file, stamp: match[1], mtime };
  }
  return best?.file;
}

async function* walk(dir: string, depth: number): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isFile()) yield full;
    else if (entry.isDirectory() && depth > 0) yield* walk(full, depth - 1);
  }
}
