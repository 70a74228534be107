import { execa } from 'execa';
import { splitTimestamp } from './podman-json.js';

export interface FollowLogsOptions {
  podmanPath: string;
  container: string;
  /** Only lines after this `podman logs -t` timestamp (exclusive), after a daemon restart. */
  since: string | null;
  /** Stops following (the plugin's stop signal). */
  signal: AbortSignal;
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
 *
 * A long-lived stream is outside what the process service offers (it returns output when a
 * command ends), so this is the one place the plugin starts a process through execa itself,
 * with the same guarantees: argv only, cancelled by the plugin's signal, killed on daemon exit.
 */
export function followLogs({ podmanPath, container, since, signal, onLines, onLine }: FollowLogsOptions): { done: Promise<void> } {
  const args = ['logs', '--follow', '--timestamps', ...(since ? ['--since', since] : []), '--', container];
  const child = execa(podmanPath, args, { buffer: false, all: true, stdin: 'ignore', reject: false, cancelSignal: signal, forceKillAfterDelay: 2_000, cleanup: true });
  let pending: { at: string | undefined; text: string }[] = [];
  let carry = '';
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

  child.all?.setEncoding('utf8');
  child.all?.on('data', (chunk: string) => {
    const text = carry + chunk;
    const cut = text.lastIndexOf('\n');
    if (cut === -1) {
      carry = text;
      return;
    }
    carry = text.slice(cut + 1);
    for (const line of text.slice(0, cut).split('\n')) {
      const entry = splitTimestamp(line.replace(/\r$/, ''));
      pending.push(entry);
      onLine?.(entry.text);
    }
    timer ??= setTimeout(flush, batchMs);
  });

  const done = (async () => {
    await child;
    if (carry !== '') pending.push(splitTimestamp(carry));
    if (timer) clearTimeout(timer);
    flush();
    await chain;
  })();
  return { done };
}
