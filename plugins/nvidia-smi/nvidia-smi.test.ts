import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createProcessService } from '../../core/services/process-service.ts';
import { createFakeNvidiaSmi, loadScenario, type FakeNvidiaSmi } from '../../test/fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { buildQueryArgs, createNvidiaSmiRunner, describeFailure } from './nvidia-smi.ts';

const noDriver = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.";

test('query argv: csv without header or units, --loop-ms only when looping', () => {
  expect(buildQueryArgs('gpus')).toEqual([
    '--query-gpu=index,uuid,pci.bus_id,memory.total,memory.used,memory.free,utilization.gpu,temperature.gpu,power.draw,power.limit,mig.mode.current,name',
    '--format=csv,noheader,nounits',
  ]);
  expect(buildQueryArgs('compute-apps', 1000)).toEqual(['--query-compute-apps=pid,gpu_uuid,gpu_bus_id,used_memory,process_name', '--format=csv,noheader,nounits', '--loop-ms=1000']);
});

describe('describeFailure', () => {
  test.each([
    [{ exitCode: 9, output: `${noDriver}\n\n` }, `${noDriver} (nvidia-smi exit code 9)`],
    [{ exitCode: 6, output: 'No devices were found\n' }, 'No devices were found (nvidia-smi exit code 6)'],
    [
      { exitCode: 12, output: "NVIDIA-SMI couldn't find libnvidia-ml.so library in your system.\nPlease also try adding directory that contains libnvidia-ml.so to your system PATH.\n" },
      "NVIDIA-SMI couldn't find libnvidia-ml.so library in your system. Please also try adding directory that contains libnvidia-ml.so to your system PATH. (nvidia-smi exit code 12)",
    ],
    [{ exitCode: 15, output: '' }, 'nvidia-smi ended with exit code 15: GPU has fallen off the bus'],
    [{ exitCode: 77, output: '' }, 'nvidia-smi ended with exit code 77'],
    [{ signal: 'SIGKILL', output: '' }, 'nvidia-smi ended with signal SIGKILL'],
    [{ timedOut: true, timeoutMs: 500, output: '' }, 'nvidia-smi did not answer within 500 ms'],
    [{ spawnError: 'ENOENT: cannot run nvidia-smi', output: '' }, 'cannot run nvidia-smi (ENOENT): install the NVIDIA driver utilities or set plugins.nvidia-smi.bin'],
  ])('%j', (failure, expected) => {
    expect(describeFailure({ bin: 'nvidia-smi', ...failure })).toBe(expected);
  });

  test('a long message is cut at 500 characters', () => {
    expect(describeFailure({ bin: 'nvidia-smi', exitCode: 255, output: 'x'.repeat(2000) }).length).toBeLessThan(540);
  });
});

describe('one-shot runner against the fake', () => {
  const controller = new AbortController();
  const processes = createProcessService({ signal: controller.signal });
  let fake: FakeNvidiaSmi;
  beforeAll(async () => {
    fake = await createFakeNvidiaSmi('four-mixed');
  });
  afterAll(async () => {
    controller.abort();
    // The timed-out run was killed, not left behind.
    expect(await fake.running()).toEqual([]);
    await fake.remove();
  });
  const runner = (timeoutMs = 10_000) => createNvidiaSmiRunner({ bin: fake.bin, processes, timeoutMs });

  test.each([
    ['one-idle', 1, 0],
    ['four-mixed', 4, 2],
    ['eight-h100', 8, 0],
    ['na-fields', 2, 1],
    ['mig', 2, 1],
  ])('%s: %i GPUs, %i compute processes', async (scenario, gpus, processCount) => {
    await fake.use(scenario);
    const sample = await runner().sample();
    expect(sample.map((g) => g.index)).toEqual([...Array(gpus).keys()]);
    expect(sample.flatMap((g) => g.processes)).toHaveLength(processCount);
  });

  test('four-mixed: processes land on their GPUs, values as printed', async () => {
    await fake.use('four-mixed');
    const [g0, g1, , g3] = await runner().sample();
    expect(g0).toMatchObject({ uuid: 'GPU-78aaaccb-3af1-11b3-b1f8-3828c251d9f2', memoryUsedMiB: 412, powerLimitW: 700, migMode: 'Disabled', processes: [] });
    expect(g1.processes).toEqual([{ pid: 10042, usedMemoryMiB: 61000, processName: '/usr/bin/python3' }]);
    expect(g3.processes).toEqual([{ pid: 20077, usedMemoryMiB: 370, processName: '/opt/app/bin/llama-server' }]);
  });

  test('mig: the MIG process is on its parent; utilization unknown', async () => {
    await fake.use('mig');
    const [g0, g1] = await runner().sample();
    expect(g0).toMatchObject({ migMode: 'Enabled', utilizationPercent: null, processes: [{ pid: 4242, usedMemoryMiB: 12, processName: 'python3' }] });
    expect(g1).toMatchObject({ migMode: 'Disabled', utilizationPercent: 0, processes: [] });
  });

  test.each([
    ['no-driver', `${noDriver} (nvidia-smi exit code 9)`, 9],
    ['no-devices', 'No devices were found (nvidia-smi exit code 6)', 6],
    ['no-library', /^NVIDIA-SMI couldn't find libnvidia-ml\.so library .* \(nvidia-smi exit code 12\)$/, 12],
  ])('%s: UNAVAILABLE with the tool’s own message', async (scenario, message, exitCode) => {
    await fake.use(scenario);
    const error = await runner().sample().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', details: { exitCode } });
    expect((error as Error).message).toMatch(message);
  });

  test('a field the driver does not know: exit 2 and its message', async () => {
    await fake.use({ ...(await loadScenario('one-idle')), unsupportedFields: ['mig.mode.current'] });
    await expect(runner().sample()).rejects.toThrow('Field "mig.mode.current" is not a valid field to query. (nvidia-smi exit code 2)');
  });

  test('a hung nvidia-smi times out', async () => {
    await fake.use({ delayMs: 5_000, gpus: [] });
    await expect(runner(300).sample()).rejects.toThrow(`${fake.bin} did not answer within 300 ms`);
  });

  test('a missing binary', async () => {
    const missing = createNvidiaSmiRunner({ bin: `${fake.dir}/nope`, processes, timeoutMs: 1000 });
    await expect(missing.sample()).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/^cannot run .*nope \(ENOENT\)/) });
  });

  test('output that is not the query’s shape', async () => {
    await fake.use({ gpus: [{ index: '0', uuid: 'GPU-1', 'memory.used': 'lots' }] });
    await expect(runner().sample()).rejects.toMatchObject({ code: 'UNAVAILABLE', message: 'unexpected nvidia-smi output: not a number: lots' });
  });
});
