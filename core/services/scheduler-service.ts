import { createRequire } from 'node:module';
import type { EntityManager } from '@mikro-orm/core';
import type NodeCron from 'node-cron';
import type { ScheduledTask as CronTask } from 'node-cron';
import { describeError } from '../errors.ts';
import type { Logger } from './logger-service.ts';
import type { ScheduledRunContext, ScheduledTask, ScheduleOptions, SchedulerService } from '../../packages/plugin-api/src/services/scheduler.ts';

export type { ScheduledRunContext, ScheduleOptions, ScheduledTask, SchedulerService } from '../../packages/plugin-api/src/services/scheduler.ts';

export interface RootScheduler {
  forPlugin(pluginId: string, logger: Logger): SchedulerService & { stopAll(): void };
}

/**
 * `fork` gives each run its own EntityManager (the database opens after the scheduler exists).
 * `runOnStart` runs wait for `booted` (the daemon resolves it once every plugin's init settled),
 * so start-up work a plugin schedules does not compete with the other plugins' inits.
 */
export function createScheduler(fork: () => EntityManager, { booted = Promise.resolve() }: { booted?: Promise<void> } = {}): RootScheduler {
  return {
    forPlugin(_pluginId, logger) {
      const tasks = new Map<string, ScheduledTask>();
      return {
        schedule(options) {
          if (tasks.has(options.id)) throw new Error(`scheduled task '${options.id}' already exists`);
          const task = createTask(options, logger.child({ task: options.id }), fork, booted);
          tasks.set(options.id, task);
          return task;
        },
        stopAll() {
          for (const task of tasks.values()) task.stop();
          tasks.clear();
        },
      };
    },
  };
}

let nodeCron: typeof NodeCron | undefined;

/**
 * node-cron, loaded on the first cron schedule. Its ticks format the date with
 * `Intl.DateTimeFormat`, which pages in ~5 MiB of ICU data: a daemon whose tasks are all
 * `everyMs` never pays for it. Required (its CommonJS build), not imported, so `schedule` stays
 * synchronous and still refuses a bad expression at once.
 */
function loadCron(): typeof NodeCron {
  return (nodeCron ??= createRequire(import.meta.url)('node-cron') as typeof NodeCron);
}

function createTask(options: ScheduleOptions, logger: Logger, fork: () => EntityManager, booted: Promise<void>): ScheduledTask {
  if ((options.cron === undefined) === (options.everyMs === undefined)) throw new Error(`task '${options.id}': give exactly one of cron, everyMs`);
  if (options.cron !== undefined && !loadCron().validate(options.cron)) throw new Error(`task '${options.id}': invalid cron expression '${options.cron}'`);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const stopController = new AbortController();
  let current: Promise<void> | undefined;
  let lastRun: ScheduledTask['lastRun'];
  let timer: NodeJS.Timeout | undefined;

  const runOnce = (reason: ScheduledRunContext['reason']): Promise<void> => {
    if (current) return current;
    const signal = AbortSignal.any([stopController.signal, AbortSignal.timeout(timeoutMs)]);
    current = (async () => {
      const at = new Date();
      let em: EntityManager | undefined;
      try {
        await Promise.race([
          options.run({ signal, reason, em: () => (em ??= fork()) }),
          new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
        ]);
        // A run that noticed the abort and returned quietly still ran out of time.
        if (signal.aborted) throw signal.reason;
        lastRun = { at, ok: true };
      } catch (error) {
        lastRun = { at, ok: false, error: describeError(error) };
        if (!stopController.signal.aborted) logger.warn('scheduled run failed', { error: describeError(error), reason });
      } finally {
        current = undefined;
      }
    })();
    return current;
  };

  let cronTask: CronTask | undefined;
  if (options.cron !== undefined) {
    cronTask = loadCron().createTask(options.cron, () => void runOnce('schedule'), { noOverlap: true });
    void cronTask.start();
  } else {
    const everyMs = options.everyMs!;
    const loop = () => {
      timer = setTimeout(() => {
        void runOnce('schedule').then(() => {
          if (!stopController.signal.aborted) loop();
        });
      }, everyMs);
      timer.unref();
    };
    loop();
  }
  if (options.runOnStart) void booted.then(() => (stopController.signal.aborted ? undefined : runOnce('start')));

  return {
    id: options.id,
    trigger: () => runOnce('manual'),
    stop() {
      if (stopController.signal.aborted) return;
      stopController.abort(new Error('scheduler stopped'));
      if (timer) clearTimeout(timer);
      if (cronTask) void cronTask.destroy();
    },
    get lastRun() {
      return lastRun;
    },
  };
}
