import type { CliFollowOptions, CliOutput } from '../packages/plugin-api/src/cli.ts';
import type { CliJobLogFollowSubscription, CliJobLogQuery, CliJobQuery, CliJobUpdatedSubscription } from '../schema/generated/graphql.ts';
import { CliError } from './cli-error.ts';
import type { ConnectionOptions } from './connection-options.ts';
import type { GraphQLClient } from './graphql-client.ts';
import { cliOperation } from './operations.ts';
import type { OutputMode } from './output.ts';
import { createProgressDisplay, type ProgressDisplay } from './progress-display.ts';
import { ConnectionLostError, openSubscriptions } from './subscriptions.ts';

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);
/** Lines asked for again after a reconnect, to find where the log left off. */
const RESYNC_LINES = 200;
/** How long a dropped connection is retried (at most; --timeout when shorter). */
const RECONNECT_WINDOW_MS = 15_000;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]/g;

export interface FollowDeps {
  client: GraphQLClient;
  connection: ConnectionOptions;
  output: CliOutput;
  mode: OutputMode;
}

/**
 * Follows a job until it ends: its log from the `jobLog` subscription, its progress from
 * `jobUpdated`, over one graphql-ws connection. A dropped connection is reopened for up to
 * {@link RECONNECT_WINDOW_MS} (backing off), and the log resumes after the last line shown.
 * Resolves with 0 when the job succeeded, 1 when it failed or was cancelled.
 */
export async function followJob(deps: FollowDeps, id: string, options: CliFollowOptions = {}): Promise<number> {
  const { client, output, mode } = deps;
  const first = await client.request<CliJobQuery>(await cliOperation('CliJob'), { id });
  if (!first.job) throw new CliError(`job '${id}' not found`);
  let job: { status: string; progress: number | null; progressMessage: string | null; exitCode: number | null; failureReason: string | null } = first.job;
  const showLogs = options.logs ?? true;
  let display: ProgressDisplay | undefined;
  const recent: string[] = [];
  const printLines = (lines: readonly string[]) => {
    // One write a batch: a job may print hundreds of thousands of lines a second.
    let out = '';
    for (const line of lines) {
      recent.push(line);
      display?.observe(line.replace(ANSI, ''));
      if (!showLogs) continue;
      if (mode.jsonl) out += `${JSON.stringify({ jobId: id, line })}\n`;
      else if (!mode.json) {
        const text = humanLine(line, mode.color);
        if (display && process.stdout.isTTY) display.log(text);
        else out += `${text}\n`;
      }
    }
    if (out !== '') process.stdout.write(out);
    if (recent.length > RESYNC_LINES * 2) recent.splice(0, recent.length - RESYNC_LINES);
  };
  const onSigint = () => {
    display?.stop();
    process.stderr.write(`\nstopped following ${id}; the job keeps running (backplane jobs cancel ${id} stops it)\n`);
    process.exit(130);
  };
  if (options.follow === false) {
    const { job: now } = await client.request<CliJobLogQuery>(await cliOperation('CliJobLog'), { id, tail: options.tail ?? null });
    const lines = splitLog(now?.log ?? '');
    if (mode.jsonl) for (const line of lines) process.stdout.write(`${JSON.stringify({ jobId: id, line })}\n`);
    else if (mode.json) process.stdout.write(`${JSON.stringify({ jobId: id, status: now?.status, lines }, null, 2)}\n`);
    else if (lines.length > 0) process.stdout.write(`${lines.map((line) => humanLine(line, mode.color)).join('\n')}\n`);
    return 0;
  }
  if (mode.live && !ENDED.has(job.status)) display = await createProgressDisplay(id, job.progress !== null);
  process.once('SIGINT', onSigint);
  display?.update(job);
  if (ENDED.has(job.status) && showLogs && options.tail !== 0) {
    const { job: ended } = await client.request<CliJobLogQuery>(await cliOperation('CliJobLog'), { id, tail: options.tail ?? null });
    printLines(splitLog(ended?.log ?? ''));
  }
  try {
    let attempt = 0;
    let lostAt: number | undefined;
    // A restarting daemon gets this long to come back (the job survives restarts).
    const reconnectWindowMs = Math.min(deps.connection.timeoutMs, RECONNECT_WINDOW_MS);
    let resync = false;
    while (!ENDED.has(job.status)) {
      let subs;
      try {
        subs = await openSubscriptions(deps.connection);
        const tail = resync ? Math.min(recent.length, RESYNC_LINES) : (options.tail ?? 0);
        const resumer = resync ? createResumer(recent.slice(-tail), tail) : undefined;
        let pushed = 0;
        const updates = subs
          .subscribe<CliJobUpdatedSubscription>(await cliOperation('CliJobUpdated'), { id }, (data) => {
            pushed++;
            job = data.jobUpdated;
            display?.update(job);
          })
          .catch(() => undefined);
        // jobUpdated sends changes only: a change between the first read and the subscription
        // would leave the display on a stale status, so read once more (unless a push came first).
        void client
          .request<CliJobQuery>(await cliOperation('CliJob'), { id })
          .then((now) => {
            if (pushed === 0 && now.job && !ENDED.has(job.status)) {
              job = now.job;
              display?.update(job);
            }
          })
          .catch(() => undefined);
        await subs.subscribe<CliJobLogFollowSubscription>(await cliOperation('CliJobLogFollow'), { id, tail }, (data) => {
          attempt = 0;
          lostAt = undefined;
          printLines(resumer ? resumer.feed(data.jobLog.lines) : data.jobLog.lines);
        });
        if (resumer) printLines(resumer.flush());
        // jobLog completes when the job ends; the final status comes from the query below.
        void updates;
        const last = await client.request<CliJobQuery>(await cliOperation('CliJob'), { id });
        if (!last.job) throw new CliError(`job '${id}' is gone`);
        job = last.job;
        display?.update(job);
        if (!ENDED.has(job.status)) resync = true;
      } catch (error) {
        if (!(error instanceof ConnectionLostError)) throw error;
        lostAt ??= Date.now();
        if (Date.now() - lostAt > reconnectWindowMs) throw new CliError(`lost the connection to the daemon at ${deps.connection.url} while following ${id}, and it did not come back within ${Math.round(reconnectWindowMs / 1000)} s (${error.message})`);
        attempt++;
        resync = true;
        display?.note(`connection lost, reconnecting (attempt ${attempt})…`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 1000)));
      } finally {
        await subs?.dispose().catch(() => undefined);
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    display?.stop();
  }
  const code = job.status === 'succeeded' ? 0 : 1;
  if (mode.json) process.stdout.write(`${JSON.stringify({ jobId: id, status: job.status, exitCode: job.exitCode, failureReason: job.failureReason })}\n`);
  else process.stderr.write(`${output.colors.bold(id)} ${job.status === 'succeeded' ? output.colors.green(job.status) : output.colors.red(job.status)}${job.exitCode !== null ? ` (exit ${job.exitCode})` : ''}${job.failureReason ? `: ${job.failureReason}` : ''}\n`);
  return code;
}

/**
 * After a reconnect the subscription starts with the last `expected` lines of the log again;
 * the resumer drops those already printed (the longest overlap with `printed`) and passes the
 * rest, so a drop neither repeats nor, while the log stays under {@link RESYNC_LINES} lines
 * behind, loses lines.
 */
export function createResumer(printed: readonly string[], expected: number) {
  let buffered: string[] | undefined = [];
  const resolve = (): string[] => {
    const block = buffered ?? [];
    buffered = undefined;
    // The largest k such that the first k block lines are the last k printed lines.
    for (let k = Math.min(block.length, printed.length); k > 0; k--) {
      let same = true;
      for (let i = 0; i < k && same; i++) same = block[i] === printed[printed.length - k + i];
      if (same) return block.slice(k);
    }
    return block;
  };
  return {
    feed(lines: readonly string[]): string[] {
      if (!buffered) return [...lines];
      buffered.push(...lines);
      return buffered.length >= expected ? resolve() : [];
    },
    flush: (): string[] => (buffered ? resolve() : []),
  };
}

/** A log's text as lines, without the empty string after a final newline. */
export function splitLog(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * A log line for people: as written on a terminal with colour; else without escape sequences
 * and with only the last frame of a `\r`-redrawn progress bar, as a terminal would have shown it.
 */
export function humanLine(line: string, color: boolean): string {
  if (color) return line;
  const plain = line.replace(ANSI, '');
  const frames = plain.split('\r').filter((frame) => frame !== '');
  return frames.at(-1) ?? '';
}
