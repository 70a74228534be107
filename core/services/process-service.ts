import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { execa, type ExecaError } from 'execa';
import { ProcessError } from '../../packages/plugin-api/src/process-error.ts';
import { decodeSurrogateEscape } from '../util/surrogate-escape.ts';
import type { Logger } from '../../packages/plugin-api/src/services/logger.ts';
import type { ProcessService, RunResult } from '../../packages/plugin-api/src/services/processes.ts';

export type { RunOptions, RunResult, SpawnOptions, SpawnedProcess, ProcessService } from '../../packages/plugin-api/src/services/processes.ts';

export interface ProcessServiceOptions {
  /** The plugin's stop signal: every command ends with it. */
  signal: AbortSignal;
  /** Where failures of `run` are logged (with their stderr tail), unless a call opts out. */
  logger?: Logger;
}

export function createProcessService({ signal: pluginSignal, logger }: ProcessServiceOptions): ProcessService {
  return {
    async run(file, args, options = {}) {
      const started = performance.now();
      const signals = [pluginSignal, options.signal].filter((s): s is AbortSignal => s !== undefined);
      const timeoutMs = options.timeoutMs ?? 60_000;
      const result = await execa(file, [...args], {
        cwd: options.cwd,
        env: options.env,
        input: options.input,
        timeout: timeoutMs,
        cancelSignal: AbortSignal.any(signals),
        forceKillAfterDelay: 2_000,
        maxBuffer: options.maxBuffer ?? 16 * 1024 * 1024,
        reject: false,
        stripFinalNewline: false,
        shell: false,
        cleanup: true,
        ...(options.decode === 'surrogateescape' ? { encoding: 'buffer' as const } : {}),
      });
      if (options.decode === 'surrogateescape') {
        for (const stream of ['stdout', 'stderr'] as const) {
          const bytes = result[stream] as unknown;
          if (bytes instanceof Uint8Array) Object.assign(result, { [stream]: decodeSurrogateEscape(bytes) });
        }
      }
      const outcome = toRunResult(file, args, result, started, { timeoutMs, displayArgv: options.displayArgv });
      // The output stays out of error messages; this is where it is kept.
      if (outcome.error && options.logFailure !== false) logger?.warn(outcome.error.message, outcome.error.logFields());
      return outcome;
    },
    which: (file) => which(file),
    spawn(file, args, options = {}) {
      const started = performance.now();
      const stopper = new AbortController();
      const signals = [pluginSignal, options.signal, stopper.signal].filter((s): s is AbortSignal => s !== undefined);
      const child = execa(file, [...args], {
        cwd: options.cwd,
        env: options.env,
        cancelSignal: AbortSignal.any(signals),
        forceKillAfterDelay: options.killGraceMs ?? 5_000,
        buffer: false,
        reject: false,
        stdin: 'ignore',
        shell: false,
        cleanup: true,
      });
      for (const stream of ['stdout', 'stderr'] as const) {
        const decoder = new StringDecoder('utf8');
        let carry = '';
        child[stream]?.on('data', (chunk: Buffer) => {
          const lines = (carry + decoder.write(chunk)).split('\n');
          carry = lines.pop() ?? '';
          for (const line of lines) options.onLine?.(line.endsWith('\r') ? line.slice(0, -1) : line, stream);
        });
        child[stream]?.on('end', () => {
          if (carry !== '') options.onLine?.(carry, stream);
          carry = '';
        });
      }
      const done = child.then((result) => toRunResult(file, args, result, started));
      return {
        pid: child.pid,
        done,
        stop() {
          stopper.abort(new Error('stopped'));
          return done;
        },
      };
    },
  };
}

type ExecaOutcome = { exitCode?: number; signal?: string; failed: boolean; timedOut: boolean; isCanceled: boolean; stdout?: unknown; stderr?: unknown };

function toRunResult(file: string, args: readonly string[], result: ExecaOutcome, started: number, context: { timeoutMs?: number; displayArgv?: readonly string[] } = {}): RunResult {
  const execaError = result.failed ? (result as unknown as ExecaError) : undefined;
  const spawnCode = (execaError?.cause as NodeJS.ErrnoException | undefined)?.code;
  const spawnFailed = spawnCode === 'ENOENT' || spawnCode === 'EACCES';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  const durationMs = performance.now() - started;
  const error = result.failed
    ? new ProcessError({
        argv: [file, ...args],
        displayArgv: context.displayArgv,
        exitCode: result.exitCode,
        signal: result.signal,
        stderr,
        timedOut: result.timedOut,
        timeoutMs: context.timeoutMs,
        isCanceled: result.isCanceled,
        spawnError: spawnFailed ? spawnCode : undefined,
        durationMs,
      })
    : undefined;
  return {
    command: [file, ...args].join(' '),
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: typeof result.stdout === 'string' ? result.stdout : '',
    stderr,
    failed: result.failed,
    timedOut: result.timedOut,
    canceled: result.isCanceled,
    spawnError: spawnFailed ? `${spawnCode}: cannot run ${file}` : undefined,
    durationMs,
    error,
  };
}

/** Finds an executable the way execve(3p) would through PATH. */
export async function which(file: string, envPath = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = file.includes('/') ? [path.resolve(file)] : envPath.split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, file));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}
