import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConfigError } from '../core/config/config-error.ts';
import { nvidiaSmiPlugin } from '../plugins/nvidia-smi/index.ts';
import { createFakeNvidiaSmi, type FakeNvidiaSmi } from './fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const noDriver = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.";
const gpuFields = 'index uuid name memoryTotalMiB memoryUsedMiB memoryFreeMiB utilizationPercent temperatureC powerDrawW powerLimitW migMode free processes { pid usedMemoryMiB processName } lease { id }';

async function boot(fake: FakeNvidiaSmi, extra: Record<string, unknown> = {}, config: Record<string, unknown> = {}): Promise<TestDaemon> {
  return startTestDaemon({ plugins: [nvidiaSmiPlugin], config: { ...config, plugins: { 'nvidia-smi': { bin: fake.bin, intervalMs: 200, ...extra } } } });
}

async function gpuFree(bp: TestDaemon): Promise<{ status: number; body: string; type: string | null }> {
  const response = await bp.request('/gpu-free');
  return { status: response.status, body: await response.text(), type: response.headers.get('content-type') };
}

async function pluginState(bp: TestDaemon) {
  return (await bp.gql('{ plugins { id status message } }')).data.plugins.find((p: { id: string }) => p.id === 'nvidia-smi');
}

describe.each(['loop', 'spawn'] as const)('mode %s', (mode) => {
  let fake: FakeNvidiaSmi;
  let bp: TestDaemon;
  beforeAll(async () => {
    fake = await createFakeNvidiaSmi('four-mixed');
    bp = await boot(fake, { mode });
  });
  afterAll(async () => {
    await bp.stop();
    // Every nvidia-smi the plugin started (the loop processes too) is gone with the daemon.
    expect(await fake.running()).toEqual([]);
    await fake.remove();
  });

  test('Query.gpus: every field, the free rule, compute processes', async () => {
    await fake.use('four-mixed');
    const { data, errors } = await bp.gql(`{ gpus { ${gpuFields} } }`);
    expect(errors).toBeUndefined();
    expect(data.gpus[0]).toEqual({
      index: 0,
      uuid: 'GPU-78aaaccb-3af1-11b3-b1f8-3828c251d9f2',
      name: 'NVIDIA H100 80GB HBM3',
      memoryTotalMiB: 81559,
      memoryUsedMiB: 412,
      memoryFreeMiB: 80622,
      utilizationPercent: 0,
      temperatureC: 34,
      powerDrawW: 68.21,
      powerLimitW: 700,
      migMode: 'Disabled',
      free: true,
      processes: [],
      lease: null,
    });
    // 1: busy (memory and a process); 2: 1 MiB used; 3: a 370 MiB process under the memory floor.
    expect(data.gpus.map((g: { free: boolean }) => g.free)).toEqual([true, false, true, false]);
    expect(data.gpus[1].processes).toEqual([{ pid: 10042, usedMemoryMiB: 61000, processName: '/usr/bin/python3' }]);
  });

  test('GET /gpu-free: Go map JSON with a trailing newline', async () => {
    await fake.use('four-mixed');
    const reply = await waitFor(async () => {
      const r = await gpuFree(bp);
      return r.body === '{"free_gpus":2,"total_gpus":4}\n' ? r : undefined;
    });
    expect(reply).toEqual({ status: 200, body: '{"free_gpus":2,"total_gpus":4}\n', type: 'application/json' });
  });

  test.each([
    ['one-idle', '{"free_gpus":1,"total_gpus":1}\n'],
    ['eight-h100', '{"free_gpus":8,"total_gpus":8}\n'],
    // A MIG-enabled GPU is not free as a whole.
    ['mig', '{"free_gpus":1,"total_gpus":2}\n'],
    // A GPU whose memory.used is [N/A] is unknown, so not free.
    ['na-fields', '{"free_gpus":1,"total_gpus":2}\n'],
  ])('%s: the host changes under a running daemon; /gpu-free follows', async (scenario, body) => {
    await fake.use(scenario);
    await waitFor(async () => ((await gpuFree(bp)).body === body ? true : undefined));
  });

  test('[N/A] values are null over GraphQL', async () => {
    await fake.use('na-fields');
    const gpus = await waitFor(async () => {
      const { data } = await bp.gql(`{ gpus { ${gpuFields} } }`);
      // In loop mode the compute-apps loop may print its tick after the GPU loop's.
      return data?.gpus?.[0]?.name === 'Tesla P100-PCIE-16GB' && data.gpus[1].processes.length === 1 ? data.gpus : undefined;
    });
    expect(gpus[0]).toMatchObject({ powerDrawW: null, powerLimitW: null, migMode: null, free: true });
    expect(gpus[1]).toMatchObject({ memoryUsedMiB: null, utilizationPercent: null, temperatureC: null, free: false, processes: [{ pid: 3121, usedMemoryMiB: null, processName: null }] });
  });

  test('nvidia-smi failing (exit 9): degraded with its message, UNAVAILABLE, a 500; then back', async () => {
    await fake.use('no-driver');
    const state = await waitFor(async () => {
      const s = await pluginState(bp);
      return s.status === 'degraded' ? s : undefined;
    });
    expect(state.message).toBe(`${noDriver} (nvidia-smi exit code 9)`);
    const { errors } = await bp.gql('{ gpus { index } }');
    expect(errors?.[0]).toMatchObject({ message: `${noDriver} (nvidia-smi exit code 9)`, extensions: { code: 'UNAVAILABLE' } });
    const reply = await bp.request('/gpu-free');
    expect(reply.status).toBe(500);
    expect(reply.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await reply.text()).toBe('Failed to execute nvidia-smi\n');
    expect((await bp.request('/healthz')).status).toBe(200);

    await fake.use('one-idle');
    await waitFor(async () => ((await pluginState(bp)).status === 'ready' ? true : undefined));
    expect((await bp.gql('{ gpus { index free } }')).data.gpus).toEqual([{ index: 0, free: true }]);
  });

  test('Subscription.gpuStats: the latest sample, then one per interval', async () => {
    await fake.use('four-mixed');
    await waitFor(async () => ((await bp.gql('{ gpus { index } }')).data?.gpus?.length === 4 ? true : undefined));
    const client = bp.ws();
    const stats: { sampledAt: string; gpus: { index: number; free: boolean }[] }[] = [];
    for await (const event of client.iterate({ query: 'subscription { gpuStats { sampledAt gpus { index free } } }' })) {
      expect(event.errors).toBeUndefined();
      stats.push(event.data!.gpuStats as never);
      if (stats.length === 3) break;
    }
    expect(stats.map((s) => s.gpus.length)).toEqual([4, 4, 4]);
    const times = stats.map((s) => Date.parse(s.sampledAt));
    expect(times[1]).toBeGreaterThan(times[0]);
    expect(times[2]).toBeGreaterThan(times[1]);
  });

  test('Gpu.history: newest samples, oldest first; `last` is validated', async () => {
    await fake.use('one-idle');
    const history = await waitFor(async () => {
      const { data } = await bp.gql('{ gpus { history(last: 3) { sampledAt memoryUsedMiB utilizationPercent temperatureC powerDrawW processCount } } }');
      const h = data?.gpus?.length === 1 ? data.gpus[0].history : undefined;
      return h?.length === 3 ? h : undefined;
    });
    expect(history[2]).toMatchObject({ memoryUsedMiB: 0, utilizationPercent: 0, temperatureC: 34, powerDrawW: 16.18, processCount: 0 });
    expect(Date.parse(history[0].sampledAt)).toBeLessThan(Date.parse(history[2].sampledAt));
    for (const last of [0, -1, 100_001]) {
      const { errors } = await bp.gql(`{ gpus { history(last: ${last}) { sampledAt } } }`);
      expect(errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
      expect(errors?.[0].message).toMatch(/last/);
    }
  });

  test('gpuLeases and releaseGpuLease: empty list, unknown and malformed ids', async () => {
    expect((await bp.gql('{ gpuLeases { id } }')).data).toEqual({ gpuLeases: [] });
    const unknown = await bp.gql('mutation { releaseGpuLease(id: "5f0c7bde-0000-4000-8000-000000000000") { id } }');
    expect(unknown.errors?.[0]).toMatchObject({ message: 'No GPU lease with id 5f0c7bde-0000-4000-8000-000000000000', extensions: { code: 'NOT_FOUND' } });
    const malformed = await bp.gql('mutation { releaseGpuLease(id: "../x y") { id } }');
    expect(malformed.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  });
});

describe.each([
  ['no-driver', `${noDriver} (nvidia-smi exit code 9)`],
  ['no-devices', 'No devices were found (nvidia-smi exit code 6)'],
  ['no-library', "NVIDIA-SMI couldn't find libnvidia-ml.so library in your system. Please make sure that the NVIDIA Display Driver is properly installed and present in your system. Please also try adding directory that contains libnvidia-ml.so to your system PATH. (nvidia-smi exit code 12)"],
])('booting on a host where nvidia-smi fails: %s', (scenario, message) => {
  test('the daemon runs, the plugin is degraded with the tool’s message, /gpu-free is a 500', async () => {
    const fake = await createFakeNvidiaSmi(scenario);
    const bp = await boot(fake);
    try {
      expect(await pluginState(bp)).toEqual({ id: 'nvidia-smi', status: 'degraded', message });
      expect((await bp.gql('{ gpus { index } }')).errors?.[0].extensions?.code).toBe('UNAVAILABLE');
      expect((await bp.request('/gpu-free')).status).toBe(500);
      expect((await bp.gql('{ daemon { version } }')).data.daemon.version).toBe('0.1.0');
    } finally {
      await bp.stop();
      expect(await fake.running()).toEqual([]);
      await fake.remove();
    }
  });
});

test('a missing nvidia-smi binary degrades the plugin, not the daemon', async () => {
  const fake = await createFakeNvidiaSmi('one-idle');
  const bp = await startTestDaemon({ plugins: [nvidiaSmiPlugin], config: { plugins: { 'nvidia-smi': { bin: `${fake.dir}/missing-nvidia-smi` } } } });
  try {
    const state = await pluginState(bp);
    expect(state.status).toBe('degraded');
    expect(state.message).toMatch(/^cannot run .*missing-nvidia-smi \(ENOENT\): install the NVIDIA driver utilities or set plugins\.nvidia-smi\.bin$/);
  } finally {
    await bp.stop();
    expect(await fake.running()).toEqual([]);
    await fake.remove();
  }
});

test('releaseGpuLease needs the admin scope', async () => {
  const fake = await createFakeNvidiaSmi('one-idle');
  const keys = [
    { name: 'ops', key: 'operate-key-0123456789', scopes: ['operate'] },
    { name: 'root', key: 'admin-key-0123456789ab', scopes: ['admin'] },
  ];
  const bp = await boot(fake, {}, { auth: { keys } });
  try {
    const mutation = 'mutation { releaseGpuLease(id: "nope") { id } }';
    expect((await bp.gql(mutation, {}, { apiKey: keys[0].key })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await bp.gql(mutation, {}, { apiKey: keys[1].key })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  } finally {
    await bp.stop();
    expect(await fake.running()).toEqual([]);
    await fake.remove();
  }
});

test('config errors name each bad key', async () => {
  const error = await startTestDaemon({
    plugins: [nvidiaSmiPlugin],
    config: { plugins: { 'nvidia-smi': { intervalMs: 5, mode: 'sometimes', freeMemoryMiB: -1, colour: 'green' } } },
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).problems).toEqual([
    'plugins.nvidia-smi.intervalMs: expected an integer from 100 to 3600000',
    'plugins.nvidia-smi.freeMemoryMiB: expected an integer from 1 to 1048576',
    'plugins.nvidia-smi.mode: expected one of "loop"|"spawn"',
    'plugins.nvidia-smi.colour: unknown key',
  ]);
});
