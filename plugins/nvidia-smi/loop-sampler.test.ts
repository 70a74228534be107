import { afterEach, expect, test } from 'vitest';
import { createLogger } from '../../core/services/logger-service.ts';
import { createProcessService } from '../../core/services/process-service.ts';
import type { GpuInfo } from '../../core/plugin-api.ts';
import { createFakeNvidiaSmi, loadScenario, type FakeNvidiaSmi } from '../../test/fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { waitFor } from '../../test/helpers/wait-for.ts';
import { LoopSampler } from './loop-sampler.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startSampler(scenario: string, { intervalMs = 100, staleMs = 5_000, seed = [] as GpuInfo[], bin = undefined as string | undefined } = {}) {
  const fake: FakeNvidiaSmi = await createFakeNvidiaSmi(scenario);
  const controller = new AbortController();
  const samples: GpuInfo[][] = [];
  const failures: string[] = [];
  const sampler = new LoopSampler({
    bin: bin ?? fake.bin,
    intervalMs,
    staleMs,
    processes: createProcessService({ signal: controller.signal }),
    logger: createLogger({ level: 'silent' }),
    onSample: (gpus) => samples.push(gpus),
    onFailure: (reason) => failures.push(reason),
  });
  sampler.start(seed);
  cleanups.push(async () => {
    await sampler.stop();
    controller.abort();
    expect(await fake.running()).toEqual([]);
    await fake.remove();
  });
  return { fake, sampler, samples, failures };
}

test('two long-lived processes; each tick is one whole sample with the processes attached', async () => {
  const { sampler, samples } = await startSampler('four-mixed');
  await waitFor(() => (samples.length >= 3 ? true : undefined));
  expect(sampler.pids).toHaveLength(2);
  for (const sample of samples) expect(sample.map((g) => g.index)).toEqual([0, 1, 2, 3]);
  const last = samples.at(-1)!;
  expect(last[1].processes.map((p) => p.pid)).toEqual([10042]);
  expect(last[3].processes.map((p) => p.pid)).toEqual([20077]);
});

test('a GPU count change is one sample of the new size, not two halves', async () => {
  const { fake, samples } = await startSampler('four-mixed');
  await waitFor(() => (samples.length >= 1 ? true : undefined));
  await fake.use('eight-h100');
  await waitFor(() => (samples.at(-1)?.length === 8 ? true : undefined));
  const after = samples.slice(samples.findIndex((s) => s.length === 8));
  expect(after.every((s) => s.length === 8)).toBe(true);
});

test('seeded processes count until the compute-apps loop has been silent for a tick and a half', async () => {
  const seedGpu = { uuid: 'GPU-2f68f999-7b41-e64a-3709-0c8c4fa756c0', processes: [{ pid: 99, usedMemoryMiB: 300, processName: 'seed' }] } as GpuInfo;
  const { samples } = await startSampler('one-idle', { seed: [seedGpu] });
  await waitFor(() => (samples.length >= 1 ? true : undefined));
  expect(samples[0][0].processes.map((p) => p.pid)).toEqual([99]);
  await waitFor(() => (samples.at(-1)![0].processes.length === 0 ? true : undefined));
});

test('a process that ends is forgotten; a new one appears', async () => {
  const { fake, samples } = await startSampler('four-mixed');
  await waitFor(() => (samples.length >= 1 ? true : undefined));
  await fake.use({ ...(await loadScenario('four-mixed')), computeApps: [] });
  await waitFor(() => (samples.at(-1)!.every((g) => g.processes.length === 0) ? true : undefined));
  await fake.use('four-mixed');
  await waitFor(() => (samples.at(-1)![1].processes.length === 1 ? true : undefined));
});

test('nvidia-smi failing mid-loop is reported with its message, and the loop comes back', async () => {
  const { fake, samples, failures } = await startSampler('one-idle');
  await waitFor(() => (samples.length >= 1 ? true : undefined));
  await fake.use('no-driver');
  const reason = await waitFor(() => failures[0]);
  expect(reason).toBe("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running. (nvidia-smi exit code 9)");
  await fake.use('one-idle');
  const count = samples.length;
  await waitFor(() => (samples.length > count ? true : undefined));
});

test('a loop that hangs is stopped as stale and started again', async () => {
  const { fake, sampler, samples, failures } = await startSampler('one-idle', { staleMs: 300 });
  await waitFor(() => (samples.length >= 1 ? true : undefined));
  const before = sampler.pids;
  await fake.use({ ...(await loadScenario('one-idle')), hang: true });
  expect(await waitFor(() => failures[0])).toBe('nvidia-smi sent no sample for 300 ms');
  await fake.use('one-idle');
  const count = samples.length;
  await waitFor(() => (samples.length > count ? true : undefined));
  expect(sampler.pids).not.toEqual(before);
});

test('a missing binary is a failure, retried without crashing', async () => {
  const { failures } = await startSampler('one-idle', { bin: '/nonexistent/nvidia-smi' });
  expect(await waitFor(() => failures[0])).toMatch(/^cannot run \/nonexistent\/nvidia-smi \(ENOENT\)/);
});
