import { expect, test } from 'vitest';
import type { GpuInfo } from '../../core/plugin-api.ts';
import { GpuMonitor, type GpuStats } from './service.ts';

const idle: GpuInfo = {
  index: 0,
  uuid: 'GPU-1',
  name: 'NVIDIA L4',
  memoryTotalMiB: 23034,
  memoryUsedMiB: 0,
  memoryFreeMiB: 22563,
  utilizationPercent: 0,
  temperatureC: 34,
  powerDrawW: 16.18,
  powerLimitW: 72,
  migMode: null,
  processes: [],
  sampledAt: new Date('2025-02-18T12:00:00.000Z'),
};

function monitor(sample: () => Promise<GpuInfo[]> = async () => [idle]) {
  const health: (string | undefined)[] = [];
  const published: GpuStats[] = [];
  const m = new GpuMonitor({ freeMemoryMiB: 512, historySize: 10, sample, onSample: (s) => published.push(s), onHealthChange: (r) => health.push(r) });
  return { m, health, published };
}

test('an inventory source: id, freeMemoryMiB, nothing before the first sample', () => {
  const { m } = monitor();
  expect(m.id).toBe('nvidia-smi');
  expect(m.freeMemoryMiB).toBe(512);
  expect(m.current()).toBeUndefined();
  expect(() => m.gpus()).toThrow('no GPU sample yet');
});

test('refresh records, publishes and keeps history', async () => {
  const { m, published, health } = monitor();
  expect(await m.refresh()).toEqual([idle]);
  expect(m.current()).toEqual([idle]);
  expect(m.gpus()).toEqual([idle]);
  expect(published).toEqual([{ sampledAt: idle.sampledAt, gpus: [idle] }]);
  expect(m.history('GPU-1', 5)).toHaveLength(1);
  expect(health).toEqual([]);
});

test('a failure forgets the sample and reports once per reason; a sample reports recovery', async () => {
  const { m, health } = monitor();
  m.record([idle]);
  m.fail('No devices were found (nvidia-smi exit code 6)');
  m.fail('No devices were found (nvidia-smi exit code 6)');
  expect(m.current()).toBeUndefined();
  expect(m.failure).toBe('No devices were found (nvidia-smi exit code 6)');
  expect(() => m.gpus()).toThrow(expect.objectContaining({ code: 'UNAVAILABLE', message: 'No devices were found (nvidia-smi exit code 6)' }));
  m.fail('other');
  m.record([idle]);
  expect(health).toEqual(['No devices were found (nvidia-smi exit code 6)', 'other', undefined]);
  expect(m.failure).toBeUndefined();
});

test('a failing refresh records the failure and rethrows', async () => {
  const { m, health } = monitor(async () => {
    throw new Error('boom');
  });
  await expect(m.refresh()).rejects.toThrow('boom');
  expect(health).toEqual(['boom']);
});

test('an empty host is a valid sample', () => {
  const { m, published } = monitor();
  m.record([]);
  expect(m.gpus()).toEqual([]);
  expect(published[0].gpus).toEqual([]);
});
