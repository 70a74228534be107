import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { execa, type ExecaError } from 'execa';

export interface RunOptions {
  cwd?: string;
  /** Added to the daemon's environment. */
  env?: Record<string, string | undefined>;
  /** Kill the command (SIGTERM, then SIGKILL) after this long. @default 60000 */
  timeoutMs?: number;
  /** Aborts the command; the plugin's stop signal is always included. */
  signal?: AbortSignal;
  input?: string;
  /** Cap for captured stdout/stderr, in bytes. @default 16 MiB */
  maxBuffer?: number;
}

/** The outcome of a finished command. Non-zero exits are results, not exceptions. */
export interface RunResult {
  command: string;
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** True for a non-zero exit, a signal, a timeout, a spawn failure or cancellation. */
  failed: boolean;
  timedOut: boolean;
  canceled: boolean;
  /** The executable could not be found or started (ENOENT, EACCES). */
  spawnError: string | undefined;
  durationMs: number;
}

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Ends the process; the plugin's stop signal is always included. */
  signal?: AbortSignal;
  /** Each complete output line (without its newline) as it arrives. */
  onLine?(line: string, stream: 'stdout' | 'stderr'): void;
  /** SIGKILL this long after SIGTERM when stopping. @default 5000 */
  killGraceMs?: number;
}

/** A long-lived process whose output is consumed line by line (`nvidia-smi --loop-ms`, `podman logs -f`). */
export interface SpawnedProcess {
  readonly pid: number | undefined;
  /** Settles when the process ends (stdout/stderr are not buffered: they went to onLine). */
  readonly done: Promise<RunResult>;
  /** SIGTERM, then SIGKILL after the grace period; resolves when it has ended. */
  stop(): Promise<RunResult>;
}

/**
 * Runs external commands: always an argv array through execa, never a shell; every command is
 * cancelled when its plugin stops.
 */
export interface ProcessService {
  run(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a long-lived command and streams its output lines. */
  spawn(file: string, args: readonly string[], options?: SpawnOptions): SpawnedProcess;
  /** The absolute path of an executable found on PATH (or the path itself if it has a slash). */
  which(file: string): Promise<string | undefined>;
}

export function createProcessService({ signal: pluginSignal }: { signal: AbortSignal }): ProcessService {
  return {
    async run(file, args, options = {}) {
      const started = performance.now();
      const signals = [pluginSignal, options.signal].filter((s): s is AbortSignal => s !== undefined);
      const result = await execa(file, [...args], {
        cwd: options.cwd,
        env: options.env,
        input: options.input,
        timeout: options.timeoutMs ?? 60_000,
        cancelSignal: AbortSignal.any(signals),
        forceKillAfterDelay: 2_000,
        maxBuffer: options.maxBuffer ?? 16 * 1024 * 1024,
        reject: false,
        stripFinalNewline: false,
        shell: false,
        cleanup: true,
      });
      return toRunResult(file, args, result, started);
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

function toRunResult(file: string, args: readonly string[], result: { exitCode?: number; signal?: string; failed: boolean; timedOut: boolean; isCanceled: boolean; stdout?: unknown; stderr?: unknown }, started: number): RunResult {
  const error = result.failed ? (result as unknown as ExecaError) : undefined;
  const spawnCode = (error?.cause as NodeJS.ErrnoException | undefined)?.code;
  return {
    command: [file, ...args].join(' '),
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: typeof result.stdout === 'string' ? result.stdout : '',
    stderr: typeof result.stderr === 'string' ? result.stderr : '',
    failed: result.failed,
    timedOut: result.timedOut,
    canceled: result.isCanceled,
    spawnError: spawnCode === 'ENOENT' || spawnCode === 'EACCES' ? `${spawnCode}: cannot run ${file}` : undefined,
    durationMs: performance.now() - started,
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
