import { describeError } from '../errors.ts';
import type { Logger } from '../services/logger-service.ts';
import type { JobRow } from './job-entity.ts';
import { terminalJobStatuses, type JobRecord, type ProgressParser, type ProgressParserFactory } from './job-service.ts';
import { toRecord, type JobPatch, type JobStore } from './job-store.ts';
import { followLines } from './log-file.ts';
import { progressLines } from './progress-lines.ts';

/** The least time between two reads of a running job's log. */
const readPauseMs = 250;

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

export interface ProgressTrackerOptions {
  store: JobStore;
  logger: Logger;
  publish(record: JobRecord): void;
}

/**
 * Progress from log lines: each job's log is followed and fed to its parser (the one the job was
 * started with, else the one registered for its kind). Writes progress at most once a second,
 * and the last reading at most a second after it arrived, even when the log goes quiet.
 */
export class ProgressTracker {
  readonly #o: ProgressTrackerOptions;
  /** By `<plugin>/<kind>`. */
  readonly #byKind = new Map<string, ProgressParserFactory>();
  /** By job id, for jobs started with their own parser. */
  readonly #byJob = new Map<string, ProgressParserFactory>();
  readonly #trackers = new Set<Promise<void>>();

  constructor(options: ProgressTrackerOptions) {
    this.#o = options;
  }

  registerKind(plugin: string, kind: string, create: ProgressParserFactory): void {
    this.#byKind.set(`${plugin}/${kind}`, create);
  }

  registerJob(id: string, create: ProgressParserFactory): void {
    this.#byJob.set(id, create);
  }

  /** Forgets a settled job's own parser. */
  forget(id: string): void {
    this.#byJob.delete(id);
  }

  /** Follows the job's log until `ended` settles (then reads to the end) or `signal` aborts. */
  track(row: JobRow, ended: Promise<void>, signal: AbortSignal): void {
    const tracker = this.#follow(row, ended, signal);
    this.#trackers.add(tracker);
    void tracker.finally(() => this.#trackers.delete(tracker));
  }

  /** Resolves once every tracker has finished (their writes must land before the database closes). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#trackers]);
  }

  async #follow(row: JobRow, ended: Promise<void>, signal: AbortSignal): Promise<void> {
    let finished = false;
    void ended.then(() => (finished = true));
    let parser: ProgressParser | undefined;
    let pending: { fraction?: number | null; message?: string | null } | undefined;
    let lastWrite = 0;
    let timer: NodeJS.Timeout | undefined;
    let writing: Promise<void> = Promise.resolve();
    const flush = () => {
      clearTimeout(timer);
      timer = undefined;
      if (!pending) return writing;
      const patch: JobPatch = {};
      if (pending.fraction !== undefined) patch.progress = pending.fraction === null ? null : Math.min(1, Math.max(0, pending.fraction));
      if (pending.message !== undefined) patch.progressMessage = pending.message?.slice(0, 200) ?? null;
      pending = undefined;
      lastWrite = Date.now();
      writing = writing.then(async () => {
        await this.#o.store.update(row.id, patch);
        const current = await this.#o.store.get(row.id);
        if (current && !terminalJobStatuses.has(current.status)) this.#o.publish(current);
      });
      return writing;
    };
    try {
      for await (const batch of followLines(row.logPath, { from: 0, isFinished: () => finished, signal })) {
        try {
          const create = this.#byJob.get(row.id) ?? this.#byKind.get(`${row.plugin}/${row.kind}`);
          if (!create) continue;
          parser ??= create(toRecord(row));
          for (const line of progressLines(batch)) {
            const parsed = parser(line);
            if (parsed) pending = { ...pending, ...parsed };
          }
          if (!pending) continue;
          const wait = 1000 - (Date.now() - lastWrite);
          if (wait <= 0) await flush();
          else timer ??= setTimeout(() => void flush().catch(() => undefined), wait);
        } finally {
          // Progress is written at most once a second: a chatty log (llama-server logs every
          // request) is read in a few large batches a second, not once per write.
          if (!finished) await pause(readPauseMs, signal);
        }
      }
      await flush();
    } catch (error) {
      clearTimeout(timer);
      this.#o.logger.warn('progress tracking stopped', { job: row.id, error: describeError(error) });
    }
  }
}
