// `ilab model list` and `ilab data list` as ilab 0.26 prints them, from the simulator's directories.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatSize, formatTime, printTable, simulatedBytes } from './sim-format.mjs';

const isModelDir = (dir) => existsSync(path.join(dir, 'config.json'));

function dirBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.name.endsWith('.ilab-sim.json')) continue;
    total += entry.isDirectory() ? dirBytes(full) : simulatedBytes(full);
  }
  const sidecar = `${dir}.ilab-sim.json`;
  return existsSync(sidecar) ? simulatedBytes(dir) : total;
}

/** GGUF files by name; Hugging Face directories by their last two path components. */
export function modelList(modelsDir) {
  const rows = [];
  const add = (name, full, bytes) => rows.push([name, formatTime(statSync(full).mtime), formatSize(bytes, 1), full]);
  const entries = existsSync(modelsDir) ? readdirSync(modelsDir, { withFileTypes: true }) : [];
  for (const entry of entries) {
    const full = path.join(modelsDir, entry.name);
    if (entry.isFile() && entry.name.endsWith('.gguf')) add(entry.name, full, simulatedBytes(full));
    if (!entry.isDirectory()) continue;
    if (isModelDir(full)) {
      add(`${path.basename(modelsDir)}/${entry.name}`, full, dirBytes(full));
      continue;
    }
    for (const nested of readdirSync(full, { withFileTypes: true })) {
      const inner = path.join(full, nested.name);
      if (nested.isDirectory() && isModelDir(inner)) add(`${entry.name}/${nested.name}`, inner, dirBytes(inner));
    }
  }
  rows.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  process.stdout.write(printTable(['Model Name', 'Last Modified', 'Size', 'Absolute path'], rows));
}

function* jsonlFiles(dir, prefix = '') {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) yield* jsonlFiles(path.join(dir, entry.name), rel);
    else if (entry.name.endsWith('.jsonl')) yield rel;
  }
}

/** One table per run directory, newest run first; `Model` from the file name or `General`. */
export function dataList(datasetsDir) {
  if (!existsSync(datasetsDir)) {
    process.stdout.write(`Failed to list datasets with exception: directory does not exist: ${datasetsDir}\n`);
    process.exit(1);
  }
  const groups = new Map();
  for (const rel of jsonlFiles(datasetsDir)) {
    const run = rel.split('/')[0];
    const full = path.join(datasetsDir, rel);
    const model = /^(?:test|messages|train)_(.+)_\d{4}-\d\d-\d\dT\d\d_\d\d_\d\d\.jsonl$/.exec(path.basename(rel))?.[1] ?? 'General';
    const stat = statSync(full);
    if (!groups.has(run)) groups.set(run, []);
    groups.get(run).push([rel, model, formatTime(stat.ctime), formatSize(stat.size, 2)]);
  }
  const runs = [...groups.keys()].sort().reverse();
  const tables = runs.map((run) => `Run from ${run}\n${printTable(['Dataset', 'Model', 'Created At', 'File size'], groups.get(run).sort((a, b) => (a[0] < b[0] ? -1 : 1)))}`);
  process.stdout.write(tables.join('\n'));
}
