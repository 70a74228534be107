import type { GpuInfo, GpuProcess } from '../../core/plugin-api.ts';

/**
 * The `--query-gpu` fields, in the order the parser reads them. `name` comes last so a product
 * name with a `, ` in it cannot shift the other columns.
 */
export const gpuQueryFields = [
  'index',
  'uuid',
  'pci.bus_id',
  'memory.total',
  'memory.used',
  'memory.free',
  'utilization.gpu',
  'temperature.gpu',
  'power.draw',
  'power.limit',
  'mig.mode.current',
  'name',
] as const;

/** The `--query-compute-apps` fields; `process_name` last for the same reason as `name`. */
export const computeAppFields = ['pid', 'gpu_uuid', 'gpu_bus_id', 'used_memory', 'process_name'] as const;

/** A GPU row as nvidia-smi reports it, before compute processes are attached. */
export interface GpuRow extends Omit<GpuInfo, 'processes' | 'sampledAt'> {
  /** PCI bus id (`00000000:01:00.0`); MIG devices share their parent's. */
  busId: string;
}

/** One `--query-compute-apps` row: a process on one GPU (a process on two GPUs gives two rows). */
export interface ComputeAppRow extends GpuProcess {
  gpuUuid: string;
  gpuBusId: string;
}

/** Output that does not have the shape of the query that produced it. */
export class NvidiaSmiFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NvidiaSmiFormatError';
  }
}

/** Splits `csv,noheader,nounits` output into rows of `count` fields; the last field keeps any `, `. */
export function splitCsvRows(text: string, count: number): string[][] {
  const rows: string[][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    rows.push(splitCsvLine(line, count));
  }
  return rows;
}

/** One line of nvidia-smi CSV: fields separated by `, ` (comma and space). */
export function splitCsvLine(line: string, count: number): string[] {
  const parts = line.split(', ');
  if (parts.length < count) throw new NvidiaSmiFormatError(`expected ${count} fields, got ${parts.length}: ${line.slice(0, 200)}`);
  return [...parts.slice(0, count - 1), parts.slice(count - 1).join(', ')].map((p) => p.trim());
}

/**
 * Reads a CSV value. Bracketed sentinels (`[N/A]`, `[Not Supported]`, `[Unknown Error]`, …) are
 * unknown, so null: never 0 and never NaN. A unit suffix is tolerated in case `nounits` is lost.
 */
export function parseNumber(raw: string): number | null {
  if (isSentinel(raw)) return null;
  const match = /^(-?\d+(?:\.\d+)?)(?: ?(?:MiB|%|W|MHz|C))?$/.exec(raw.trim());
  if (!match) throw new NvidiaSmiFormatError(`not a number: ${raw.slice(0, 100)}`);
  return Number(match[1]);
}

/** A text value, or null for a sentinel or an empty field. */
export function parseText(raw: string): string | null {
  return isSentinel(raw) || raw.trim() === '' ? null : raw.trim();
}

export function isSentinel(raw: string): boolean {
  return /^\[[^\]]*\]$/.test(raw.trim());
}

/** Parses `--query-gpu=<gpuQueryFields> --format=csv,noheader,nounits` output. */
export function parseGpuRows(text: string): GpuRow[] {
  return splitCsvRows(text, gpuQueryFields.length).map(parseGpuRow);
}

/** One GPU row; see {@link gpuQueryFields} for the column order. */
export function parseGpuRow(fields: string[]): GpuRow {
  const [index, uuid, busId, total, used, free, utilization, temperature, powerDraw, powerLimit, mig, name] = fields;
  const parsedIndex = parseNumber(index);
  if (parsedIndex === null || !Number.isInteger(parsedIndex)) throw new NvidiaSmiFormatError(`GPU row without an index: ${fields.join(', ').slice(0, 200)}`);
  return {
    index: parsedIndex,
    uuid: parseText(uuid) ?? '',
    busId: parseText(busId) ?? '',
    name: parseText(name) ?? '',
    memoryTotalMiB: parseNumber(total),
    memoryUsedMiB: parseNumber(used),
    memoryFreeMiB: parseNumber(free),
    utilizationPercent: parseNumber(utilization),
    temperatureC: parseNumber(temperature),
    powerDrawW: parseNumber(powerDraw),
    powerLimitW: parseNumber(powerLimit),
    migMode: parseText(mig),
  };
}

/** Parses `--query-compute-apps=<computeAppFields> --format=csv,noheader,nounits` (empty output: none). */
export function parseComputeApps(text: string): ComputeAppRow[] {
  return splitCsvRows(text, computeAppFields.length).map(parseComputeAppRow);
}

export function parseComputeAppRow(fields: string[]): ComputeAppRow {
  const [pid, gpuUuid, gpuBusId, usedMemory, processName] = fields;
  const parsedPid = parseNumber(pid);
  if (parsedPid === null) throw new NvidiaSmiFormatError(`compute process without a pid: ${fields.join(', ').slice(0, 200)}`);
  return {
    pid: parsedPid,
    gpuUuid: parseText(gpuUuid) ?? '',
    gpuBusId: parseText(gpuBusId) ?? '',
    usedMemoryMiB: parseNumber(usedMemory),
    processName: parseText(processName),
  };
}

/**
 * Puts each compute process on its GPU: by UUID, else by PCI bus id, which is how a process on a
 * MIG device (whose UUID is `MIG-…`) finds its parent GPU.
 */
export function attachProcesses(rows: readonly GpuRow[], apps: readonly ComputeAppRow[], sampledAt: Date): GpuInfo[] {
  return rows.map(({ busId, ...row }) => ({
    ...row,
    processes: apps
      .filter((app) => app.gpuUuid === row.uuid || (busId !== '' && app.gpuBusId.toLowerCase() === busId.toLowerCase()))
      .map(({ pid, usedMemoryMiB, processName }) => ({ pid, usedMemoryMiB, processName })),
    sampledAt,
  }));
}
