import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createFakeIlab } from '../../test/fixtures/ilab/fake-ilab-env.ts';
import { createFakeNvidiaSmi } from '../../test/fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { icuResidentMiB } from './lib/icu-resident.ts';
import { median, report } from './lib/load.ts';
import { memoryOf, repoRoot, spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * Start-up of `backplane serve` (through bin/backplane.mjs, as `npm start`) with every built-in
 * plugin ready (fakes of test/fixtures for nvidia-smi and ilab, podman and llama-server real
 * when available): time from spawn to `/readyz` and the idle RSS one second later. The baseline,
 * measured in the same run, is a Node process that only imports the npm packages the daemon
 * loaded (recorded from a daemon run) and then idles: time from spawn to the end of its
 * imports, RSS one second later. Runs alternate, median of BENCH_RUNS (default 5), on a data
 * dir a first start created (a restart, the usual case; the first start is reported apart).
 */
const runs = Number(process.env.BENCH_RUNS ?? 5);
const idleMs = 1000;
const compileCache = process.env.NODE_COMPILE_CACHE ?? path.join(os.tmpdir(), 'node-compile-cache');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const nvidiaSmi = await createFakeNvidiaSmi('four-mixed');
const ilab = await createFakeIlab();
const tmp = await mkdtemp(path.join(os.tmpdir(), 'bp-bench-startup-'));
const podmanPath = await realOrFakePodman();
const llamaServerPath = await realOrFakeLlamaServer();
const dataDir = path.join(tmp, 'data');
await mkdir(dataDir);
const config = {
  plugins: {
    'nvidia-smi': { bin: nvidiaSmi.bin },
    'vllm-podman': { podmanPath },
    ilab: await ilab.config(),
    'llama-cpp': { llamaServerPath },
  },
};

/** The real podman when installed (it only answers `version` and `ps` here), else a fake that does. */
async function realOrFakePodman(): Promise<string> {
  const found = await execa('sh', ['-c', 'command -v podman'], { reject: false });
  if (found.exitCode === 0) return String(found.stdout).trim();
  const fake = path.join(tmp, 'podman');
  await writeFile(fake, '#!/bin/sh\ncase "$1" in version) echo 5.4.2 ;; ps) echo "[]" ;; *) echo "fake podman: $1 unsupported" >&2; exit 125 ;; esac\n');
  await chmod(fake, 0o755);
  return fake;
}

/**
 * `BACKPLANE_LLAMA_SERVER` when set (the real one, as its tests use), else a stand-in: the
 * plugin's init only looks the executable up, and the bench starts no instance.
 */
async function realOrFakeLlamaServer(): Promise<string> {
  if (process.env.BACKPLANE_LLAMA_SERVER) return process.env.BACKPLANE_LLAMA_SERVER;
  const fake = path.join(tmp, 'llama-server');
  await writeFile(fake, '#!/bin/sh\necho "stand-in llama-server of the startup bench: it serves nothing" >&2\nexit 1\n');
  await chmod(fake, 0o755);
  return fake;
}

/**
 * CPU milliseconds (user + system) of the process itself, not its children, from /proc: the
 * plugins' commands (fakes are Node processes) stay out, and load disturbs it far less than
 * wall time.
 */
async function ownCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** One daemon start on the bench's data dir (kept between runs, as a host keeps it). */
async function daemonRun(options: Parameters<typeof spawnBenchDaemon>[2] = {}) {
  const daemon = await spawnBenchDaemon(config, dataDir, options);
  const cpuMs = await ownCpuMs(daemon.pid);
  try {
    const response = await fetch(`${daemon.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ plugins { id status message } }' }) });
    const plugins = ((await response.json()) as { data: { plugins: { id: string; status: string; message: string | null }[] } }).data.plugins;
    const notReady = plugins.filter((p) => p.status !== 'ready');
    if (notReady.length > 0) throw new Error(`plugins not ready: ${JSON.stringify(notReady)}`);
    await sleep(idleMs);
    return { readyMs: daemon.readyMs, cpuMs, rssMiB: (await memoryOf(daemon.pid)).rssMiB, icuMiB: await icuResidentMiB(daemon.pid), plugins: plugins.map((p) => p.id) };
  } finally {
    await daemon.stop({ keepData: true });
  }
}

async function baselineRun(packages: string[]) {
  // A JSON file (a package.json read for its version) is required, as the daemon does.
  const load = (name: string) => (name.endsWith('.json') ? `require(${JSON.stringify(name)});` : `await import(${JSON.stringify(name)});`);
  const source = `import { createRequire } from 'node:module';\nconst require = createRequire(process.cwd() + '/');\n${packages.map(load).join('\n')}\nconsole.log('imported');\nsetInterval(() => {}, 1 << 30);`;
  const started = performance.now();
  let importMs = 0;
  let cpuMs = 0;
  // Evaluated with the repo as cwd, so the bare names resolve to the same node_modules.
  // The daemon's compile cache (bin/backplane.mjs enables it) serves the baseline's imports too.
  const child = execa(process.execPath, ['--input-type=module', '-e', source], { cwd: repoRoot, reject: false, buffer: false, env: { NODE_COMPILE_CACHE: compileCache } });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => {
        importMs = performance.now() - started;
        void ownCpuMs(child.pid!).then((ms) => {
          cpuMs = ms;
          resolve();
        }, reject);
      });
      void child.then((result) => reject(new Error(`baseline exited: ${String(result.stderr ?? '')}`)));
    });
    await sleep(idleMs);
    return { importMs, cpuMs, rssMiB: (await memoryOf(child.pid!)).rssMiB, icuMiB: await icuResidentMiB(child.pid!) };
  } finally {
    child.kill();
    await child;
  }
}

try {
  // The first start creates and migrates the database; the others find it up to date.
  const fresh = await daemonRun();
  const recorded = path.join(tmp, 'imports.json');
  const first = await daemonRun({ env: { BP_RECORD_IMPORTS: recorded }, nodeArgs: ['--import', path.join(repoRoot, 'scripts/bench/lib/record-imports.ts')] });
  const packages = JSON.parse(await readFile(recorded, 'utf8')) as string[];
  process.stdout.write(`plugins ready: ${first.plugins.join(', ')}\nnpm packages the daemon loads (${packages.length}): ${packages.join(' ')}\n`);

  const ready: number[] = [];
  const rss: number[] = [];
  const imports: number[] = [];
  const baseRss: number[] = [];
  const icu: (number | null)[] = [];
  const cpu: number[] = [];
  const baseCpu: number[] = [];
  const baseIcu: (number | null)[] = [];
  for (let i = 0; i < runs; i++) {
    const d = await daemonRun();
    ready.push(d.readyMs);
    rss.push(d.rssMiB);
    icu.push(d.icuMiB);
    cpu.push(d.cpuMs);
    const b = await baselineRun(packages);
    imports.push(b.importMs);
    baseRss.push(b.rssMiB);
    baseIcu.push(b.icuMiB);
    baseCpu.push(b.cpuMs);
  }
  const range = (values: number[]) => `${Math.round(Math.min(...values))}–${Math.round(Math.max(...values))}`;
  report('daemon: first start (new data dir, migrations)', { ready_ms: Math.round(fresh.readyMs), rss_MiB: fresh.rssMiB.toFixed(1) });
  report(`daemon: spawn to /readyz (median of ${runs})`, { median_ms: Math.round(median(ready)), range_ms: range(ready) });
  report('baseline: spawn to packages imported', { median_ms: Math.round(median(imports)), range_ms: range(imports) });
  report('CPU to ready, own process (daemon / baseline)', { daemon_ms: Math.round(median(cpu)), baseline_ms: Math.round(median(baseCpu)), ratio: median(cpu) / median(baseCpu) });
  report('daemon: idle RSS 1 s after ready', { median_MiB: median(rss).toFixed(1) });
  report('baseline: idle RSS 1 s after imports', { median_MiB: median(baseRss).toFixed(1) });
  // The ICU data is linked into the Node binary: its resident pages, from /proc/<pid>/pagemap.
  const icuText = (values: (number | null)[]) => (values.includes(null) ? 'n/a' : median(values as number[]).toFixed(1));
  report('ICU data resident at idle (daemon / baseline)', { daemon_MiB: icuText(icu), baseline_MiB: icuText(baseIcu) });
  report('ready time / import time (aim <= 1.5)', { ratio: median(ready) / median(imports) });
  report('RSS - baseline RSS (aim <= 25 MiB)', { delta_MiB: (median(rss) - median(baseRss)).toFixed(1) });
} finally {
  await nvidiaSmi.remove();
  await ilab.cleanup();
  await rm(tmp, { recursive: true, force: true });
}
