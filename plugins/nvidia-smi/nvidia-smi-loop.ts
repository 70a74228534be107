import { execa, type ExecaError } from 'execa';

/** How a long-lived nvidia-smi ended. */
export interface LoopExit {
  exitCode?: number;
  signal?: string;
  /** ENOENT/EACCES when it could not start at all. */
  spawnError?: string;
}

export interface LoopProcess {
  readonly pid: number | undefined;
  /** Settles (never rejects) once the process has ended and been reaped. */
  readonly ended: Promise<LoopExit>;
  /** SIGTERM (SIGKILL after 2 s), then waits for the exit. Idempotent. */
  stop(): Promise<void>;
}

export interface StartLoopProcessOptions {
  bin: string;
  args: readonly string[];
  /** The plugin's stop signal: the process never outlives the plugin. */
  signal: AbortSignal;
  /** Each complete stdout line, without its newline. */
  onLine(line: string): void;
}

/**
 * Starts one `nvidia-smi … --loop-ms=N` and streams its stdout line by line. The process
 * service only runs commands to completion, so this one uses execa directly, with the same
 * guarantees: argv only, the plugin's signal cancels it, a forced kill after a grace period,
 * and `cleanup` so a crashing daemon takes it along.
 */
export function startLoopProcess({ bin, args, signal, onLine }: StartLoopProcessOptions): LoopProcess {
  const stopper = new AbortController();
  const child = execa(bin, [...args], {
    cancelSignal: AbortSignal.any([signal, stopper.signal]),
    forceKillAfterDelay: 2_000,
    cleanup: true,
    reject: false,
    buffer: false,
    shell: false,
    stdin: 'ignore',
    stderr: 'ignore',
  });
  let partial = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line.replace(/\r$/, ''));
  });
  const ended: Promise<LoopExit> = child.then(
    (result) => {
      if (partial !== '') onLine(partial);
      const code = ((result as unknown as ExecaError).cause as NodeJS.ErrnoException | undefined)?.code;
      return {
        exitCode: result.exitCode,
        signal: result.signal,
        spawnError: code === 'ENOENT' || code === 'EACCES' ? `${code}: cannot run ${bin}` : undefined,
      };
    },
    // With reject: false execa settles normally; this is only a last guard.
    (error: unknown) => ({ spawnError: String(error) }),
  );
  return {
    pid: child.pid,
    ended,
    async stop() {
      stopper.abort(new Error('nvidia-smi loop stopped'));
      await ended;
    },
  };
}
