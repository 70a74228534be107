import { describe, expect, test } from 'vitest';
import { attachProcesses, isSentinel, NvidiaSmiFormatError, parseComputeApps, parseGpuRows, parseNumber, parseText, splitCsvLine } from './csv.ts';

// Rows in the column order of gpuQueryFields:
// index, uuid, pci.bus_id, memory.total, memory.used, memory.free, utilization.gpu, temperature.gpu, power.draw, power.limit, mig.mode.current, name
const h100 = '0, GPU-78aaaccb-3af1-11b3-b1f8-3828c251d9f2, 00000000:18:00.0, 81559, 412, 80622, 0, 34, 68.21, 700.00, Disabled, NVIDIA H100 80GB HBM3';
const busy = '1, GPU-7bdd753d-3af1-11b3-a839-80f10ebdf224, 00000000:2A:00.0, 81559, 61440, 19594, 97, 61, 512.40, 700.00, Disabled, NVIDIA H100 80GB HBM3';
const p100 = '0, GPU-1e2f3a4b-5c6d-7e8f-9a0b-1c2d3e4f5a6b, 00000000:04:00.0, 16280, 0, 16280, 0, 25, [N/A], [Not Supported], [N/A], Tesla P100-PCIE-16GB';
const mig = '0, GPU-513536b6-7d19-9063-b049-1e69664bb298, 00000000:01:00.0, 81920, 50, 80999, [N/A], 27, 67.03, 500.00, Enabled, NVIDIA A100-SXM4-80GB';
const sampledAt = new Date('2025-02-18T12:00:00.000Z');

describe('parseNumber', () => {
  test.each([
    ['81559', 81559],
    ['0', 0],
    ['68.21', 68.21],
    ['700.00', 700],
    ['-5', -5],
    ['[N/A]', null],
    ['[Not Supported]', null],
    ['[Unknown Error]', null],
    ['[Insufficient Permissions]', null],
    [' [N/A] ', null],
    // Tolerated if `nounits` is ever lost.
    ['81559 MiB', 81559],
    ['97 %', 97],
    ['512.40 W', 512.4],
    ['1980 MHz', 1980],
  ])('%j → %j', (raw, expected) => {
    expect(parseNumber(raw)).toBe(expected);
  });

  test.each(['', 'N/A', 'abc', '12 GiB', '1,5', 'NaN', '0x10'])('%j is not a number', (raw) => {
    expect(() => parseNumber(raw)).toThrow(NvidiaSmiFormatError);
  });
});

test.each([
  ['[N/A]', true],
  ['[Not Supported]', true],
  ['N/A', false],
  ['Enabled', false],
  ['[', false],
])('isSentinel(%j) is %j', (raw, expected) => {
  expect(isSentinel(raw)).toBe(expected);
});

test.each([
  ['Enabled', 'Enabled'],
  ['[N/A]', null],
  ['', null],
  ['  /usr/bin/python3 ', '/usr/bin/python3'],
])('parseText(%j) is %j', (raw, expected) => {
  expect(parseText(raw)).toBe(expected);
});

describe('splitCsvLine', () => {
  test('splits on comma-space and keeps commas inside the last field', () => {
    expect(splitCsvLine('1, a,b, c, d, e', 4)).toEqual(['1', 'a,b', 'c', 'd, e']);
  });
  test('an empty last field (a process without a name) is kept', () => {
    expect(splitCsvLine('3121, GPU-x, 00000000:02:00.0, [N/A], ', 5)).toEqual(['3121', 'GPU-x', '00000000:02:00.0', '[N/A]', '']);
  });
  test('too few fields is a format error naming the line', () => {
    expect(() => splitCsvLine('0, 412', 12)).toThrow(/expected 12 fields, got 2: 0, 412/);
  });
});

describe('parseGpuRows', () => {
  test('an idle and a busy H100, trailing newline', () => {
    expect(parseGpuRows(`${h100}\n${busy}\n`)).toEqual([
      {
        index: 0,
        uuid: 'GPU-78aaaccb-3af1-11b3-b1f8-3828c251d9f2',
        busId: '00000000:18:00.0',
        name: 'NVIDIA H100 80GB HBM3',
        memoryTotalMiB: 81559,
        memoryUsedMiB: 412,
        memoryFreeMiB: 80622,
        utilizationPercent: 0,
        temperatureC: 34,
        powerDrawW: 68.21,
        powerLimitW: 700,
        migMode: 'Disabled',
      },
      expect.objectContaining({ index: 1, memoryUsedMiB: 61440, utilizationPercent: 97, powerDrawW: 512.4 }),
    ]);
  });

  test('[N/A] and [Not Supported] become null, never 0 or NaN', () => {
    const [gpu] = parseGpuRows(`${p100}\n`);
    expect(gpu).toMatchObject({ powerDrawW: null, powerLimitW: null, migMode: null, memoryUsedMiB: 0, utilizationPercent: 0 });
  });

  test('a MIG-enabled GPU reports no utilization but its whole memory', () => {
    const [gpu] = parseGpuRows(mig);
    expect(gpu).toMatchObject({ migMode: 'Enabled', utilizationPercent: null, memoryTotalMiB: 81920, memoryUsedMiB: 50 });
  });

  test('every value unknown (a vGPU) still parses', () => {
    const [gpu] = parseGpuRows('1, GPU-9f8e, 00000000:02:00.0, 40960, [N/A], [N/A], [N/A], [N/A], [N/A], [N/A], [N/A], GRID A100D-40C');
    expect(gpu).toMatchObject({ memoryTotalMiB: 40960, memoryUsedMiB: null, memoryFreeMiB: null, temperatureC: null, powerDrawW: null });
  });

  test('a name containing ", " stays whole', () => {
    const [gpu] = parseGpuRows('0, GPU-1, 00000000:01:00.0, 1, 1, 0, 0, 30, 1.00, 2.00, [N/A], Odd, Name, Inc.');
    expect(gpu.name).toBe('Odd, Name, Inc.');
  });

  test('CRLF, blank lines and no output at all', () => {
    expect(parseGpuRows(`${h100}\r\n\r\n${busy}\r\n`)).toHaveLength(2);
    expect(parseGpuRows('')).toEqual([]);
    expect(parseGpuRows('\n')).toEqual([]);
  });

  test('any number of GPUs, in the order printed', () => {
    const lines = Array.from({ length: 8 }, (_, i) => h100.replace(/^0, GPU-78aaaccb/, `${i}, GPU-${i}8aaaccb`));
    expect(parseGpuRows(lines.join('\n')).map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test.each([
    ['an error line instead of rows', 'No devices were found'],
    ['a row without an index', h100.replace(/^0,/, '[N/A],')],
    ['a fractional index', h100.replace(/^0,/, '0.5,')],
    ['a word where a number belongs', h100.replace(', 412,', ', lots,')],
  ])('%s is a format error', (_name, text) => {
    expect(() => parseGpuRows(text)).toThrow(NvidiaSmiFormatError);
  });
});

describe('parseComputeApps', () => {
  test('no processes: empty output (csv,noheader)', () => {
    expect(parseComputeApps('')).toEqual([]);
  });

  test('rows with pid, GPU, memory and name; [N/A] memory and an empty name are null', () => {
    const text = '10042, GPU-7bdd753d-3af1-11b3-a839-80f10ebdf224, 00000000:2A:00.0, 61000, /usr/bin/python3\n3121, GPU-9f8e, 00000000:02:00.0, [N/A], \n';
    expect(parseComputeApps(text)).toEqual([
      { pid: 10042, gpuUuid: 'GPU-7bdd753d-3af1-11b3-a839-80f10ebdf224', gpuBusId: '00000000:2A:00.0', usedMemoryMiB: 61000, processName: '/usr/bin/python3' },
      { pid: 3121, gpuUuid: 'GPU-9f8e', gpuBusId: '00000000:02:00.0', usedMemoryMiB: null, processName: null },
    ]);
  });

  test('a process name with ", " in it', () => {
    expect(parseComputeApps('7, GPU-1, 00000000:01:00.0, 12, python3 train.py --tags a, b')[0].processName).toBe('python3 train.py --tags a, b');
  });
});

describe('attachProcesses', () => {
  const rows = parseGpuRows(`${h100}\n${busy}\n`);

  test('by GPU UUID; a process on two GPUs appears on both', () => {
    const apps = parseComputeApps(
      '10042, GPU-7bdd753d-3af1-11b3-a839-80f10ebdf224, 00000000:2A:00.0, 61000, python3\n' +
        '555, GPU-78aaaccb-3af1-11b3-b1f8-3828c251d9f2, 00000000:18:00.0, 300, torchrun\n555, GPU-7bdd753d-3af1-11b3-a839-80f10ebdf224, 00000000:2A:00.0, 300, torchrun\n',
    );
    const gpus = attachProcesses(rows, apps, sampledAt);
    expect(gpus[0].processes).toEqual([{ pid: 555, usedMemoryMiB: 300, processName: 'torchrun' }]);
    expect(gpus[1].processes.map((p) => p.pid)).toEqual([10042, 555]);
    expect(gpus[1].sampledAt).toBe(sampledAt);
    expect(gpus[0]).not.toHaveProperty('busId');
  });

  test('a process on a MIG device finds its parent by PCI bus id (any case)', () => {
    const gpus = attachProcesses(parseGpuRows(mig), parseComputeApps('4242, MIG-a686709d-6dc2-542a-8851-0d2508448c10, 00000000:01:00.0, 12, python3'), sampledAt);
    expect(gpus[0].processes).toEqual([{ pid: 4242, usedMemoryMiB: 12, processName: 'python3' }]);
    const lower = attachProcesses(parseGpuRows(busy), parseComputeApps('9, MIG-x, 00000000:2a:00.0, 1, p'), sampledAt);
    expect(lower[0].processes).toHaveLength(1);
  });

  test('a process on a GPU not in the list is on none', () => {
    const gpus = attachProcesses(rows, parseComputeApps('1, GPU-other, 00000000:99:00.0, 5, x'), sampledAt);
    expect(gpus.flatMap((g) => g.processes)).toEqual([]);
  });
});
