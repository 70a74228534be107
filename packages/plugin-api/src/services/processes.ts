import type { ProcessError } from '../process-error.ts';

/** Options of {@link ProcessService.run}. */
export interface RunOptions {
  /** Working directory. @default the daemon's */
  cwd?: string;
  /** Added to the daemon's environment. */
  env?: Record<string, string | undefined>;
  /** Kill the command (SIGTERM, then SIGKILL) after this long. @default 60000 */
  timeoutMs?: number;
  /** Aborts the command; the plugin's stop signal is always included. */
  signal?: AbortSignal;
  /** Written to the command's stdin. */
  input?: string;
  /** Cap for captured stdout/stderr, in bytes. @default 16 MiB */
  maxBuffer?: number;
  /**
   * How stdout and stderr become text. `utf8`: invalid sequences become U+FFFD. `surrogateescape`:
   * each byte that is not UTF-8 becomes a lone surrogate U+DC80–U+DCFF (Python's
   * `surrogateescape`), so it stays apart from a real U+FFFD; `encodeGoJson` writes each as
   * `\ufffd`, as Go's encoder writes an invalid byte. @default utf8
   */
  decode?: 'utf8' | 'surrogateescape';
  /** How error messages name the command when argv wraps it (`['ilab', 'model', 'list']`). */
  displayArgv?: readonly string[];
  /**
   * Log a failure (command, exit code, signal, stderr tail) at `warn` in the plugin's log. Turn
   * off where a failure is an answer (`podman inspect` of a container that is gone). @default true
   */
  logFailure?: boolean;
}

/** The outcome of a finished command. Non-zero exits are results, not exceptions. */
export interface RunResult {
  /** The command line, for logs (`file arg1 arg2`). */
  command: string;
  /** Undefined when the command did not exit by itself (signal, spawn failure). */
  exitCode: number | undefined;
  /** The signal that ended it (`SIGTERM`), if any. */
  signal: string | undefined;
  stdout: string;
  /** For logs; never put it in a client-facing message. */
  stderr: string;
  /** True for a non-zero exit, a signal, a timeout, a spawn failure or cancellation. */
  failed: boolean;
  /** Killed after `timeoutMs`. */
  timedOut: boolean;
  /** Ended by the signal (or the plugin stopping). */
  canceled: boolean;
  /** The executable could not be found or started (ENOENT, EACCES). */
  spawnError: string | undefined;
  durationMs: number;
  /** Set exactly when `failed`: the structured error to throw (its message holds no output). */
  error: ProcessError | undefined;
}

/** Options of {@link ProcessService.spawn}. */
export interface SpawnOptions {
  /** Working directory. @default the daemon's */
  cwd?: string;
  /** Added to the daemon's environment. */
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
  /**
   * SIGTERM, then SIGKILL after the grace period; resolves when it has ended and its output has
   * closed. Only the process started is signalled: a wrapper script should `exec` its long-lived
   * command, or the children it leaves keep the output open and this waits for them.
   */
  stop(): Promise<RunResult>;
}

/**
 * Runs external commands: always an argv array through execa, never a shell; every command is
 * cancelled when its plugin stops.
 */
export interface ProcessService {
  /** Runs a command to its end and captures its output; a non-zero exit is a result, not a throw. */
  run(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a long-lived command and streams its output lines. */
  spawn(file: string, args: readonly string[], options?: SpawnOptions): SpawnedProcess;
  /** The absolute path of an executable found on PATH (or the path itself if it has a slash). */
  which(file: string): Promise<string | undefined>;
}
