import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import YAML from 'yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface BenchDaemon {
  url: string;
  pid: number;
  dataDir: string;
  child: ResultPromise;
  /** Milliseconds from spawn until /readyz answered 200. */
  readyMs: number;
  /** Stops the daemon; removes its data dir unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export interface SpawnBenchOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Node options before the entry script (`--cpu-prof`, `--import …`). */
  nodeArgs?: string[];
}

/**
 * Runs `backplane serve` through `bin/backplane.mjs`, the way `npm start` does, in its own
 * process (so its CPU and memory can be measured apart).
 */
export async function spawnBenchDaemon(config: Record<string, unknown> = {}, dataDir?: string, options: SpawnBenchOptions = {}): Promise<BenchDaemon> {
  const dir = dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'bp-bench-')));
  const file = path.join(dir, 'bench.yaml');
  await writeFile(file, YAML.stringify({ dataDir: dir, server: { port: 0 }, log: { level: 'warn' }, ...config }));
  const started = performance.now();
  const child = execa(process.execPath, [...(options.nodeArgs ?? []), path.join(repoRoot, 'bin', 'backplane.mjs'), 'serve', '--config', file, '--log-level', 'info'], {
    cwd: repoRoot,
    env: options.env,
    reject: false,
    buffer: false,
    all: true,
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.all!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"msg":"listening","url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) resolve(match[1]);
    });
    void child.then(() => reject(new Error(`daemon exited:\n${output}`)));
  });
  while ((await fetch(`${url}/readyz`).catch(() => undefined))?.status !== 200) await new Promise((r) => setTimeout(r, 5));
  const readyMs = performance.now() - started;
  return {
    url,
    pid: child.pid!,
    dataDir: dir,
    child,
    readyMs,
    async stop({ keepData = false } = {}) {
      child.kill('SIGTERM');
      await child;
      if (!keepData) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resident set size (and its peak) of a process, in MiB, from /proc. */
export async function memoryOf(pid: number): Promise<{ rssMiB: number; peakMiB: number }> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/** CPU seconds (user + system) a process and its reaped children have used, from /proc. */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  return ticks / 100;
}
