import type { EntityManager } from '@mikro-orm/core';

/** What a scheduled run receives. */
export interface ScheduledRunContext {
  /** Aborted when the run times out or the plugin stops. */
  signal: AbortSignal;
  /** Why this run happens. */
  reason: 'schedule' | 'start' | 'manual';
  /** This run's own EntityManager fork, created on first use. */
  em(): EntityManager;
}

export interface ScheduleOptions {
  /** Unique within the plugin; shows up in logs. */
  id: string;
  /** A node-cron expression (`*\/20 * * * *`, seconds optional). Exactly one of `cron`, `everyMs`. */
  cron?: string;
  /** A fixed delay between the end of one run and the start of the next. */
  everyMs?: number;
  /** Also run once at start: once the daemon has started every plugin (so not during inits), or right away when scheduled later. @default false */
  runOnStart?: boolean;
  /** A run still going after this is aborted. @default 60000 */
  timeoutMs?: number;
  run(context: ScheduledRunContext): Promise<void> | void;
}

export interface ScheduledTask {
  readonly id: string;
  /**
   * Runs now unless a run is already going, in which case it waits for that one.
   * Resolves when the run ends; a failure is logged, not thrown.
   */
  trigger(): Promise<void>;
  stop(): void;
  readonly lastRun: { at: Date; ok: boolean; error?: string } | undefined;
}

/**
 * Periodic work with no overlapping runs, a timeout and an AbortSignal per run, and a manual
 * trigger. Plugin-scoped: stopping a plugin stops exactly its tasks.
 */
export interface SchedulerService {
  schedule(options: ScheduleOptions): ScheduledTask;
}
