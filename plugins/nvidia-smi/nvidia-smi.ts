import { UnavailableError, type GpuInfo, type ProcessService } from '../../core/plugin-api.ts';
import { attachProcesses, computeAppFields, gpuQueryFields, NvidiaSmiFormatError, parseComputeApps, parseGpuRows } from './csv.ts';

/** What nvidia-smi is asked: the GPUs, or the compute processes on them. */
export type NvidiaSmiQuery = 'gpus' | 'compute-apps';

/** The argv of a query; with `loopMs` nvidia-smi keeps running and prints a sample every `loopMs`. */
export function buildQueryArgs(query: NvidiaSmiQuery, loopMs?: number): string[] {
  const fields = query === 'gpus' ? `--query-gpu=${gpuQueryFields.join(',')}` : `--query-compute-apps=${computeAppFields.join(',')}`;
  return [fields, '--format=csv,noheader,nounits', ...(loopMs === undefined ? [] : [`--loop-ms=${loopMs}`])];
}

/** Return codes from the nvidia-smi man page, for failures that print nothing themselves. */
const exitMeanings: Record<number, string> = {
  2: 'invalid argument or flag',
  3: 'operation not available on the device',
  4: 'no permission',
  6: 'no devices were found',
  8: 'external power cables not attached',
  9: 'NVIDIA driver not loaded',
  10: 'kernel detected an interrupt issue with a GPU',
  12: 'NVML shared library not found',
  13: 'NVML does not implement a function',
  14: 'infoROM is corrupted',
  15: 'GPU has fallen off the bus',
  255: 'internal error',
};

/** How one nvidia-smi run ended badly. `output` is its stdout, where nvidia-smi prints its errors. */
export interface NvidiaSmiFailure {
  bin: string;
  exitCode?: number;
  signal?: string;
  output: string;
  timedOut?: boolean;
  timeoutMs?: number;
  spawnError?: string;
}

/**
 * The reason shown as the plugin's `degraded` message: nvidia-smi's own words (exit 9, 6, 12 …)
 * and its exit code. stderr is never included.
 */
export function describeFailure({ bin, exitCode, signal, output, timedOut, timeoutMs, spawnError }: NvidiaSmiFailure): string {
  if (spawnError) return `cannot run ${bin} (${spawnError.split(':')[0]}): install the NVIDIA driver utilities or set plugins.nvidia-smi.bin`;
  if (timedOut) return `${bin} did not answer within ${timeoutMs} ms`;
  const message = output
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ')
    .slice(0, 500);
  const how = exitCode !== undefined ? `exit code ${exitCode}` : `signal ${signal ?? 'unknown'}`;
  if (message) return `${message} (nvidia-smi ${how})`;
  const meaning = exitCode !== undefined ? exitMeanings[exitCode] : undefined;
  return `nvidia-smi ended with ${how}${meaning ? `: ${meaning}` : ''}`;
}

export interface NvidiaSmiRunnerOptions {
  bin: string;
  processes: ProcessService;
  timeoutMs: number;
}

/** One-shot nvidia-smi queries through the plugin's process service (argv only, no shell). */
export interface NvidiaSmiRunner {
  /** Stdout of a successful query; throws an `UNAVAILABLE` error describing a failed one. */
  query(query: NvidiaSmiQuery): Promise<string>;
  /** Both queries at once, parsed: every GPU with its compute processes. */
  sample(): Promise<GpuInfo[]>;
}

export function createNvidiaSmiRunner({ bin, processes, timeoutMs }: NvidiaSmiRunnerOptions): NvidiaSmiRunner {
  const query = async (what: NvidiaSmiQuery): Promise<string> => {
    // Failures are reported as the plugin's degraded reason (nvidia-smi prints its errors on
    // stdout), once per change, rather than logged on every sample.
    const result = await processes.run(bin, buildQueryArgs(what), { timeoutMs, maxBuffer: 4 * 1024 * 1024, logFailure: false });
    if (!result.error) return result.stdout;
    const reason = describeFailure({ bin, exitCode: result.exitCode, signal: result.signal, output: result.stdout, timedOut: result.timedOut, timeoutMs, spawnError: result.spawnError });
    throw new UnavailableError(reason, { cause: result.error, details: result.error.details });
  };
  return {
    query,
    async sample() {
      const [gpuText, appText] = await Promise.all([query('gpus'), query('compute-apps')]);
      try {
        return attachProcesses(parseGpuRows(gpuText), parseComputeApps(appText), new Date());
      } catch (error) {
        if (error instanceof NvidiaSmiFormatError) throw new UnavailableError(`unexpected nvidia-smi output: ${error.message}`, { cause: error });
        throw error;
      }
    },
  };
}
