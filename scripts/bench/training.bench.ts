import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { collectTables } from '../../core/db/core-tables.ts';
import { openDatabase } from '../../core/db/orm.ts';
import { createLogger } from '../../core/services/logger-service.ts';
import { builtinPlugins } from '../../plugins/index.ts';
import { TrainingCounterEntity, TrainingDatasetEntity } from '../../plugins/training/entities.ts';
import { compareWithBare } from './lib/compare.ts';
import { report } from './lib/load.ts';
import { memoryOf, spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * The training plugin's datasets: a 100 MB CSV uploaded through `POST /datasets/` (multipart,
 * staged to disk by core, parsed as it streams by the plugin) against `cp` of the same file,
 * with the daemon's peak RSS (it must stream, not buffer); and `GET /datasets/` with 10,000
 * datasets against a bare node:http handler answering the same bytes.
 */
const api = '/training-manager/api/v1';
const builtinsOff = { ilab: { enabled: false }, 'nvidia-smi': { enabled: false }, 'vllm-podman': { enabled: false }, 'llama-cpp': { enabled: false } };
const work = await mkdtemp(path.join(os.tmpdir(), 'bp-bench-training-'));
try {
  // A 100 MB CSV of instruction/response rows.
  const csv = path.join(work, 'big.csv');
  const out = createWriteStream(csv);
  out.write('instruction,response\n');
  let written = 0;
  let i = 0;
  while (written < 100_000_000) {
    const line = `"Explain item ${i} of the list, with ""quotes"", commas, and detail",The answer to item ${i} is ${'x'.repeat(i % 120)}\n`;
    written += line.length;
    i++;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  const bytes = (await stat(csv)).size;
  const mb = bytes / 1e6;

  const cpStart = performance.now();
  await execa('cp', [csv, path.join(work, 'copy.csv')]);
  const cpSeconds = (performance.now() - cpStart) / 1000;
  await rm(path.join(work, 'copy.csv'));

  const daemon = await spawnBenchDaemon({ plugins: { ...builtinsOff, training: { maxUploadBytes: 200 * 1024 * 1024 } } });
  try {
    await fetch(`${daemon.url}${api}/datasets/`); // warm the route
    const before = await memoryOf(daemon.pid);
    const form = new FormData();
    form.append('name', 'big');
    form.append('file', await openAsBlob(csv), 'big.csv');
    const started = performance.now();
    const response = await fetch(`${daemon.url}${api}/datasets/`, { method: 'POST', body: form });
    const body = (await response.json()) as { row_count?: number; detail?: unknown };
    const seconds = (performance.now() - started) / 1000;
    if (response.status !== 201) throw new Error(`upload failed: ${response.status} ${JSON.stringify(body)}`);
    const after = await memoryOf(daemon.pid);
    report(`POST ${api}/datasets/ (${mb.toFixed(0)} MB CSV, ${body.row_count} rows)`, { seconds, mb_per_s: mb / seconds, peak_rss_mib: after.peakMiB, peak_rss_growth_mib: after.peakMiB - before.peakMiB, rss_before_mib: before.rssMiB });
    report('  cp of the same file', { seconds: cpSeconds, mb_per_s: mb / cpSeconds });
    report('  ratio', { throughput_vs_cp: cpSeconds / seconds, file_mib_vs_peak_growth: bytes / 1048576 / Math.max(1, after.peakMiB - before.peakMiB) });
  } finally {
    await daemon.stop();
  }

  // 10,000 datasets in the plugin's tables (the daemon's SQLite database), then the list route against bare node:http.
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-bench-training-list-'));
  await mkdir(path.join(dataDir, 'plugins', 'training'), { recursive: true });
  const at = new Date();
  const datasets = Array.from({ length: 10_000 }, (_, n) => ({
    id: n + 1,
    name: `dataset ${n + 1}`,
    description: n % 3 === 0 ? null : `rows about topic ${n % 17}`,
    filename: `d${n + 1}.csv`,
    file_path: path.join(dataDir, 'plugins', 'training', 'datasets', `${n + 1}.csv`),
    file_type: 'csv',
    file_size: 1024 + n,
    row_count: 100 + n,
    column_count: 2,
    columns: '["input","output"]',
    created_at: at,
    updated_at: at,
  }));
  const db = await openDatabase({ url: undefined, dataDir, ...collectTables(builtinPlugins), logger: createLogger({ level: 'silent' }) });
  try {
    const em = db.orm.em.fork();
    for (let n = 0; n < datasets.length; n += 500) await em.insertMany(TrainingDatasetEntity, datasets.slice(n, n + 500));
    await em.insert(TrainingCounterEntity, { name: 'dataset', value: 10_001 });
  } finally {
    await db.close();
  }
  const listDaemon = await spawnBenchDaemon({ plugins: builtinsOff }, dataDir);
  try {
    await compareWithBare({ name: `GET ${api}/datasets/?page_size=100 (10,000 datasets)`, daemonUrl: listDaemon.url, path: `${api}/datasets/?page=50&page_size=100`, concurrency: 8 });
    await compareWithBare({ name: `GET ${api}/datasets/ (default page of 10)`, daemonUrl: listDaemon.url, path: `${api}/datasets/`, concurrency: 8 });
    // The same pipeline with no list at all, for scale: what the REST → GraphQL route itself costs here.
    await compareWithBare({ name: `GET ${api}/health (no list, same pipeline)`, daemonUrl: listDaemon.url, path: `${api}/health`, concurrency: 8 });
  } finally {
    await listDaemon.stop();
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
