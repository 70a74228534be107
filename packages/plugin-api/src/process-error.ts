/**
 * One structured error for a failed external command, the way execa reports one: the command
 * (argv), exit code, signal, whether it timed out or was cancelled, and the tail of its stderr.
 * `processes.run` puts it on every failed result (`result.error`), so plugins throw it (or wrap
 * it as their `cause`) instead of building their own messages from stderr.
 *
 * The message names the command and how it ended, never its output: stderr can hold paths,
 * tracebacks and secrets, so it belongs in the log ({@link ProcessError.logFields}), not in a
 * GraphQL error.
 *
 * @module
 */
import { BackplaneError, type ErrorCode } from './errors.ts';

/** The brand a {@link ProcessError} carries (value `true`), the same in every copy of the contract. */
export const PROCESS_ERROR_BRAND: unique symbol = Symbol.for('backplane.process-error');

/** How many bytes of stderr a {@link ProcessError} keeps (the end, where the reason usually is). */
export const STDERR_TAIL_BYTES = 4096;

/** What is known about a command that failed. */
export interface ProcessFailure {
  /** The executable and its arguments, exactly as run. */
  argv: readonly string[];
  /**
   * The command as messages name it, when argv wraps it (`['ilab', 'model', 'list']` for the
   * simulator `node ilab-sim.mjs model list`). Defaults to argv.
   */
  displayArgv?: readonly string[];
  exitCode?: number;
  signal?: string;
  /** The whole stderr; only its tail is kept. */
  stderr?: string;
  /** Killed after `timeoutMs`. */
  timedOut?: boolean;
  timeoutMs?: number;
  /** Ended by an abort signal (the caller's, or the plugin stopping). */
  isCanceled?: boolean;
  /** The errno code when the command could not be started (`ENOENT`, `EACCES`). */
  spawnError?: string;
  durationMs?: number;
}

/**
 * A failed external command: `BACKEND_ERROR` for a non-zero exit or a signal, `TIMEOUT` when it
 * ran out of time, `UNAVAILABLE` when it could not be started or was cancelled. Client-safe
 * facts (`exitCode`, `signal`, `timedOut`) are its `details`; stderr is not.
 *
 * @example
 * ```ts
 * const result = await processes.run('ilab', ['model', 'list']);
 * if (result.error) throw result.error; // "ilab model list failed with exit code 1"
 * ```
 */
export class ProcessError extends BackplaneError {
  /** The brand {@link isProcessError} recognises the error by. */
  readonly [PROCESS_ERROR_BRAND] = true as const;
  /** The executable and its arguments, exactly as run. */
  readonly argv: readonly string[];
  /** `argv` as one line (for logs; arguments are not quoted). */
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly timedOut: boolean;
  readonly isCanceled: boolean;
  readonly spawnError: string | undefined;
  /** The last {@link STDERR_TAIL_BYTES} bytes of stderr (roughly: cut at a character boundary). */
  readonly stderrTail: string;
  readonly durationMs: number | undefined;

  constructor(failure: ProcessFailure) {
    super(codeOf(failure), messageOf(failure), {
      details: { exitCode: failure.exitCode ?? null, signal: failure.signal ?? null, timedOut: failure.timedOut === true },
    });
    this.argv = [...failure.argv];
    this.command = this.argv.join(' ');
    this.exitCode = failure.exitCode;
    this.signal = failure.signal;
    this.timedOut = failure.timedOut === true;
    this.isCanceled = failure.isCanceled === true;
    this.spawnError = failure.spawnError;
    this.stderrTail = tail(failure.stderr ?? '', STDERR_TAIL_BYTES);
    this.durationMs = failure.durationMs;
  }

  /** Everything about the failure for a log line, stderr tail included. */
  logFields(): Record<string, unknown> {
    return {
      command: this.command,
      exitCode: this.exitCode,
      signal: this.signal,
      timedOut: this.timedOut,
      canceled: this.isCanceled,
      spawnError: this.spawnError,
      stderr: this.stderrTail,
    };
  }
}

/** Whether `error` is a {@link ProcessError} from this copy of the contract or any other. */
export function isProcessError(error: unknown): error is ProcessError {
  return typeof error === 'object' && error !== null && (error as { [PROCESS_ERROR_BRAND]?: unknown })[PROCESS_ERROR_BRAND] === true;
}

function codeOf(failure: ProcessFailure): ErrorCode {
  if (failure.timedOut) return 'TIMEOUT';
  if (failure.spawnError || failure.isCanceled) return 'UNAVAILABLE';
  return 'BACKEND_ERROR';
}

function messageOf(failure: ProcessFailure): string {
  const label = labelOf(failure);
  if (failure.spawnError) return `${label} could not be started (${failure.spawnError})`;
  if (failure.timedOut) return `${label} did not finish within ${failure.timeoutMs ?? '?'} ms`;
  if (failure.isCanceled) return `${label} was cancelled`;
  if (failure.signal) return `${label} was killed by ${failure.signal}`;
  return `${label} failed with exit code ${failure.exitCode ?? 'unknown'}`;
}

/**
 * The executable's name and its leading subcommand words (`ilab model list`, `podman inspect`):
 * enough to say what failed, without paths or user values from later arguments.
 */
function labelOf({ argv, displayArgv = argv }: ProcessFailure): string {
  const file = displayArgv[0] ?? '';
  const words = [file.slice(file.lastIndexOf('/') + 1)];
  for (const arg of displayArgv.slice(1, 4)) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(arg)) break;
    words.push(arg);
  }
  return words.join(' ');
}

function tail(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  return Buffer.from(text).subarray(-bytes).toString('utf8').replace(/^\uFFFD+/, '');
}
