import type { ProcessService } from '../../core/plugin-api.ts';

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
  /** The plugin's process service: the process never outlives the plugin. */
  processes: ProcessService;
  bin: string;
  args: readonly string[];
  /** Each complete stdout line, without its newline. */
  onLine(line: string): void;
}

/**
 * Starts one `nvidia-smi … --loop-ms=N` through the process service and streams its stdout line
 * by line. stderr is dropped: nvidia-smi prints its own errors on stdout.
 */
export function startLoopProcess({ processes, bin, args, onLine }: StartLoopProcessOptions): LoopProcess {
  const child = processes.spawn(bin, args, {
    killGraceMs: 2_000,
    onLine: (line, stream) => {
      if (stream === 'stdout') onLine(line);
    },
  });
  const ended: Promise<LoopExit> = child.done.then(
    ({ exitCode, signal, spawnError }) => ({ exitCode, signal, spawnError }),
    // The service settles normally even for failures; this is only a last guard.
    (error: unknown) => ({ spawnError: String(error) }),
  );
  return {
    pid: child.pid,
    ended,
    async stop() {
      void child.stop().catch(() => undefined);
      await ended;
    },
  };
}
