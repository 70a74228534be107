import { expect, test } from 'vitest';
import type { GpuInfo } from '../../core/plugin-api.ts';
import { GpuHistory } from './history.ts';

function gpu(uuid: string, at: number, used: number | null, processes = 0): GpuInfo {
  return {
    index: 0,
    uuid,
    name: 'NVIDIA L4',
    memoryTotalMiB: 23034,
    memoryUsedMiB: used,
    memoryFreeMiB: null,
    utilizationPercent: used === null ? null : 10,
    temperatureC: 40,
    powerDrawW: 20.5,
    powerLimitW: 72,
    migMode: null,
    processes: Array.from({ length: processes }, (_, i) => ({ pid: i + 1, usedMemoryMiB: 1, processName: null })),
    sampledAt: new Date(at),
  };
}

test('keeps the newest `size` samples per GPU, oldest first', () => {
  const history = new GpuHistory(3);
  for (let i = 1; i <= 10; i++) history.add([gpu('A', i, i * 100, i % 2), gpu('B', i, null)]);
  expect(history.get('A', 100).map((s) => s.memoryUsedMiB)).toEqual([800, 900, 1000]);
  expect(history.get('A', 2)).toEqual([
    { sampledAt: new Date(9), memoryUsedMiB: 900, utilizationPercent: 10, temperatureC: 40, powerDrawW: 20.5, processCount: 1 },
    { sampledAt: new Date(10), memoryUsedMiB: 1000, utilizationPercent: 10, temperatureC: 40, powerDrawW: 20.5, processCount: 0 },
  ]);
  expect(history.get('B', 1)[0]).toMatchObject({ memoryUsedMiB: null, utilizationPercent: null });
});

test('unknown GPUs and non-positive counts give nothing', () => {
  const history = new GpuHistory(5);
  history.add([gpu('A', 1, 1)]);
  expect(history.get('nope', 5)).toEqual([]);
  expect(history.get('A', 0)).toEqual([]);
});

test('a GPU that leaves the host loses its history', () => {
  const history = new GpuHistory(5);
  history.add([gpu('A', 1, 1), gpu('B', 1, 1)]);
  history.add([gpu('A', 2, 1)]);
  expect(history.get('B', 5)).toEqual([]);
  expect(history.get('A', 5)).toHaveLength(2);
});
