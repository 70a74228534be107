import { followLines, readTail, splitLines, type GraphQLContext } from '../../core/plugin-api.ts';
import type { LlamaInstanceView } from './instance-registry.ts';
import type { LlamaCppService } from './service.ts';

/** The seed document's log levels, least severe first; a filter keeps its level and the worse ones. */
export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];

/** One line of an instance's log as the seed's `GET …/logs` shows it. */
export interface LogEntry {
  /** When it was written: the run's start plus llama-server's elapsed-time prefix; null when the line has none. */
  timestamp: Date | null;
  level: LogLevel;
  message: string;
}

const letterLevels: Record<string, LogLevel> = { D: 'debug', T: 'debug', I: 'info', W: 'warn', E: 'error' };

/**
 * Parses a llama-server log line, `0.02.013.565 I slot print_timing: …` (minutes, seconds,
 * milliseconds, microseconds since the process started, then the level letter). Lines without
 * that prefix (core's `[backplane]` lines, plain stderr) are `info`, or `error`/`warn` when they
 * say so.
 */
export function parseLogLine(line: string, runStartedAt: Date | null): LogEntry {
  const m = /^(\d+)\.(\d{2})\.(\d{3})\.(\d{3}) ([DTIWE]) (.*)$/.exec(line);
  if (m) {
    const elapsedMs = Number(m[1]) * 60_000 + Number(m[2]) * 1000 + Number(m[3]) + Number(m[4]) / 1000;
    return { timestamp: runStartedAt ? new Date(runStartedAt.getTime() + Math.round(elapsedMs)) : null, level: letterLevels[m[5]], message: m[6] };
  }
  const level: LogLevel = /\b(error|fatal|failed)\b/i.test(line) ? 'error' : /\bwarn(ing)?\b/i.test(line) ? 'warn' : 'info';
  return { timestamp: null, level, message: line };
}

/** Whether an entry passes a minimum-level filter. */
export function atLeast(entry: LogEntry, min: LogLevel | null | undefined): boolean {
  return min == null || logLevels.indexOf(entry.level) >= logLevels.indexOf(min);
}

/** How many raw lines to read for `lines` entries of at least `level` (filters read further back). */
function rawLinesFor(lines: number, level: LogLevel | null | undefined): number {
  return level == null || level === 'debug' ? lines : Math.min(Math.max(lines * 20, 2000), 10_000);
}

async function runOf(ctx: GraphQLContext, jobId: string | null): Promise<{ logPath: string; startedAt: Date | null; finished: boolean } | undefined> {
  if (!jobId) return undefined;
  const job = await ctx.core.jobs.get(jobId);
  if (!job) return undefined;
  return { logPath: job.logPath, startedAt: job.startedAt, finished: !['running', 'queued'].includes(job.status) };
}

/** The last `lines` entries of at least `level` of the instance's current (or last) run. */
export async function recentLogEntries(ctx: GraphQLContext, service: LlamaCppService, name: string, lines: number, level: LogLevel | null | undefined): Promise<LogEntry[]> {
  const run = await runOf(ctx, service.require(name).jobId);
  if (!run || lines === 0) return [];
  const { text } = await readTail(run.logPath, rawLinesFor(lines, level));
  return splitLines(text)
    .map((line) => parseLogLine(line, run.startedAt))
    .filter((e) => atLeast(e, level))
    .slice(-lines);
}

/**
 * The last `lines` entries, then every new one as it is written, in batches — across runs: when
 * the run ends, it waits for the instance's next run and follows that. Ends only when `signal`
 * aborts (the client left) or the instance is deleted.
 */
export async function* followLogEntries(
  ctx: GraphQLContext,
  service: LlamaCppService,
  name: string,
  lines: number,
  level: LogLevel | null | undefined,
  signal: AbortSignal,
): AsyncGenerator<LogEntry[]> {
  let jobId = service.require(name).jobId;
  let run = await runOf(ctx, jobId);
  let from = 0;
  if (run) {
    const { text, end } = await readTail(run.logPath, rawLinesFor(lines, level));
    from = end;
    const entries = splitLines(text)
      .map((line) => parseLogLine(line, run!.startedAt))
      .filter((e) => atLeast(e, level))
      .slice(-lines);
    if (entries.length > 0 && lines > 0) yield entries;
  }
  while (!signal.aborted) {
    if (run) {
      const current = run;
      const isFinished = async () => (await runOf(ctx, jobId))?.finished ?? true;
      for await (const batch of followLines(current.logPath, { from, isFinished, signal })) {
        const entries = batch.map((line) => ({ ...parseLogLine(line, current.startedAt), timestamp: parseLogLine(line, current.startedAt).timestamp ?? new Date() })).filter((e) => atLeast(e, level));
        if (entries.length > 0) yield entries;
      }
    }
    if (signal.aborted) return;
    const next = await nextRun(ctx, service, name, jobId, signal);
    if (!next) return;
    jobId = next;
    run = await runOf(ctx, jobId);
    from = 0;
  }
}

/** Resolves with the instance's next run's job id (or undefined when it is deleted or `signal` aborts). */
async function nextRun(ctx: GraphQLContext, service: LlamaCppService, name: string, previous: string | null, signal: AbortSignal): Promise<string | undefined> {
  const updates = ctx.subscribe<LlamaInstanceView>(service.topic);
  const stop = () => void updates.return?.();
  signal.addEventListener('abort', stop, { once: true });
  try {
    const now = service.get(name);
    if (!now) return undefined;
    if (now.jobId && now.jobId !== previous) return now.jobId;
    for await (const view of updates) {
      if (signal.aborted) return undefined;
      if (view.name !== name) continue;
      if (!service.get(name)) return undefined;
      if (view.jobId && view.jobId !== previous) return view.jobId;
    }
    return undefined;
  } finally {
    signal.removeEventListener('abort', stop);
    stop();
  }
}

/**
 * An async iterator over `make(signal)` whose `return()` (a client that leaves) aborts `signal`
 * at once, so a generator waiting for a file change or an event ends without waiting for one.
 */
export function abortable<T>(make: (signal: AbortSignal) => AsyncGenerator<T>): AsyncIterableIterator<T> {
  const controller = new AbortController();
  const inner = make(controller.signal);
  return {
    next: () => inner.next(),
    return: async () => {
      controller.abort();
      return inner.return(undefined as never);
    },
    throw: (error: unknown) => {
      controller.abort();
      return inner.throw(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
