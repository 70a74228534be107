import { readdir, readFile, rm } from 'node:fs/promises';
import { execa } from 'execa';
import { createFakeNvidiaSmi } from '../../test/fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { report } from './lib/load.ts';
import { spawnBenchDaemon } from './lib/spawn-daemon.ts';

/**
 * CPU per minute of GPU sampling at 1 s intervals: `mode: spawn` (nvidia-smi run twice a tick)
 * against `mode: loop` (two long-lived `nvidia-smi --loop-ms`), with an idle daemon as the floor,
 * all in this run, against the fake nvidia-smi (four GPUs, two compute processes). CPU is the
 * daemon's own plus every child's, live or reaped, read from /proc. BENCH_GPU_SECONDS sets the
 * measured window (default 20).
 */
const seconds = Number(process.env.BENCH_GPU_SECONDS ?? 20);
const ticksPerSecond = Number((await execa('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
const fake = await createFakeNvidiaSmi('four-mixed');
const others = { ilab: { enabled: false }, 'vllm-podman': { enabled: false } };
const sampling = (mode: string) => ({ ...others, 'nvidia-smi': { bin: fake.bin, intervalMs: 1000, mode } });

interface Cpu {
  /** The daemon's own user + system seconds. */
  own: number;
  /** Its children's: reaped (cutime + cstime) and still running (their whole tree). */
  children: number;
}

async function statFields(pid: number): Promise<string[] | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

async function cpuOf(pid: number): Promise<Cpu> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = await statFields(Number(entry));
    if (!fields) continue;
    const ppid = Number(fields[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const self = (await statFields(pid))!;
  const seconds = (fields: string[], from: number, to: number) => fields.slice(from, to).reduce((sum, v) => sum + Number(v), 0) / ticksPerSecond;
  let children = seconds(self, 13, 15);
  const queue = [...(parents.get(pid) ?? [])];
  while (queue.length > 0) {
    const child = queue.shift()!;
    const fields = await statFields(child);
    if (fields) children += seconds(fields, 11, 15);
    queue.push(...(parents.get(child) ?? []));
  }
  return { own: seconds(self, 11, 13), children };
}

async function measure(name: string, plugins: Record<string, unknown>): Promise<{ own: number; children: number; samples: number }> {
  const daemon = await spawnBenchDaemon({ plugins });
  try {
    const historyQuery = JSON.stringify({ query: '{ gpus { history(last: 100000) { sampledAt } } }' });
    const countSamples = async () => {
      const body = (await (await fetch(`${daemon.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: historyQuery })).json()) as { data?: { gpus: { history: unknown[] }[] } };
      return body.data?.gpus[0]?.history.length ?? 0;
    };
    // Past start-up (tsx compiling, first queries) before measuring.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const before = await cpuOf(daemon.pid);
    const samplesBefore = await countSamples();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const after = await cpuOf(daemon.pid);
    const samples = (await countSamples()) - samplesBefore;
    const perMinute = 60 / seconds;
    const result = { own: (after.own - before.own) * perMinute * 1000, children: (after.children - before.children) * perMinute * 1000, samples: samples * perMinute };
    report(name, { cpu_ms_per_min: result.own + result.children, daemon_ms: result.own, children_ms: result.children, samples_per_min: result.samples });
    return result;
  } finally {
    await daemon.stop();
    await rm(daemon.dataDir, { recursive: true, force: true });
  }
}

/** CPU of one fake nvidia-smi run, to tell the fake's own cost from the daemon's. */
async function fakeRunCpuMs(): Promise<number> {
  const before = await cpuOf(process.pid);
  const runs = 10;
  for (let i = 0; i < runs; i++) await execa(fake.bin, ['--query-gpu=index,memory.used', '--format=csv,noheader,nounits']);
  const after = await cpuOf(process.pid);
  return ((after.children - before.children) / runs) * 1000;
}

try {
  report('one fake nvidia-smi run (node start-up)', { cpu_ms: await fakeRunCpuMs() });
  const idle = await measure('idle daemon (nvidia-smi plugin off)', { ...others, 'nvidia-smi': { enabled: false } });
  const spawn = await measure('mode spawn: 2 runs per 1 s tick (baseline)', sampling('spawn'));
  const loop = await measure('mode loop: 2 x nvidia-smi --loop-ms=1000', sampling('loop'));
  const total = (r: typeof idle) => r.own + r.children;
  report('  loop / spawn, whole tree', { ratio: total(loop) / total(spawn) });
  report('  loop / spawn, above the idle daemon', { ratio: (total(loop) - total(idle)) / (total(spawn) - total(idle)) });
  report('  loop / spawn, daemon process only', { ratio: (loop.own - idle.own) / (spawn.own - idle.own) });
} finally {
  await fake.remove();
}
