import type { ProcessService } from '../../core/plugin-api.ts';
import { splitTimestamp } from './podman-json.ts';

export interface FollowLogsOptions {
  /** The plugin's process service: the stream never outlives the plugin. */
  processes: ProcessService;
  podmanPath: string;
  container: string;
  /** Only lines after this `podman logs -t` timestamp (exclusive), after a daemon restart. */
  since: string | null;
  /** Stops following early (the plugin's stop signal always does, through the process service). */
  signal?: AbortSignal;
  /** A batch of lines in time order, with the timestamp of the last one. */
  onLines(lines: string[], cursor: string | undefined): Promise<void> | void;
  /** Each line as soon as it arrives, before batching (for hints that should not wait). */
  onLine?(text: string): void;
}

/** How long lines are gathered before a batch is handed on: fewer log writes, and order across stdout and stderr. */
const batchMs = 50;

/**
 * Follows a container's output with `podman logs --follow --timestamps`. It ends when the
 * container stops (podman closes the stream), when the container is removed, or on abort;
 * `done` resolves then, after the last batch was handed on.
 */
export function followLogs({ processes, podmanPath, container, since, signal, onLines, onLine }: FollowLogsOptions): { done: Promise<void> } {
  const args = ['logs', '--follow', '--timestamps', ...(since ? ['--since', since] : []), '--', container];
  let pending: { at: string | undefined; text: string }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  const flush = () => {
    timer = undefined;
    if (pending.length === 0) return;
    // stdout and stderr arrive on two pipes; fixed-width timestamps restore the order podman wrote.
    const batch = pending.sort((a, b) => (a.at ?? '').localeCompare(b.at ?? ''));
    pending = [];
    const cursor = batch.findLast((l) => l.at !== undefined)?.at;
    chain = chain.then(() => onLines(batch.map((l) => l.text), cursor)).catch(() => undefined);
  };

  const child = processes.spawn(podmanPath, args, {
    signal,
    killGraceMs: 2_000,
    // Both streams alike: the batch's sort merges them.
    onLine: (line) => {
      const entry = splitTimestamp(line);
      pending.push(entry);
      onLine?.(entry.text);
      timer ??= setTimeout(flush, batchMs);
    },
  });

  const done = (async () => {
    // Every line, a last one without newline included, was handed to onLine before this settles.
    await child.done.catch(() => undefined);
    if (timer) clearTimeout(timer);
    flush();
    await chain;
  })();
  return { done };
}
