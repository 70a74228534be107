import { BackendError, BackplaneError, type PubSubService, type ScheduledTask, type SchedulerService } from '../../core/plugin-api.ts';
import type { IlabCli } from './ilab-cli.ts';
import { parseModelList, type IlabModel } from './tables.ts';

/** What the cache holds and how old it is. */
export interface ModelCacheState {
  models: IlabModel[];
  /** When the last successful refresh finished; null before the first. */
  refreshedAt: Date | null;
  /** Why the last refresh failed; null when it succeeded. */
  lastError: string | null;
  refreshing: boolean;
}

export interface ModelsCache {
  /**
   * The cached models. A cold (never filled) cache waits for a refresh; a stale one (older than
   * `maxAgeMs`) is returned at once while a refresh runs in the background.
   */
  get(): Promise<IlabModel[]>;
  /** Refreshes now (joining a refresh already running); throws when it fails. */
  refresh(): Promise<IlabModel[]>;
  /** The models ilab last listed, after waiting for the first refresh (an empty list if it fails). */
  listed(): Promise<IlabModel[]>;
  state(): ModelCacheState;
}

/** Topic (in the plugin's namespace) published after each successful refresh. */
export const modelsRefreshedTopic = 'models-refreshed';

/**
 * `ilab model list` behind an in-memory cache, refreshed by the scheduler (`schedule`: an
 * interval in milliseconds or a cron expression, plus once at start), on demand, and when stale. The scheduler's task is the single flight: every refresh
 * goes through `trigger()`, so at most one `ilab model list` runs at a time.
 */
export function createModelsCache({ cli, scheduler, pubsub, schedule, maxAgeMs, timeoutMs }: {
  cli: IlabCli;
  scheduler: SchedulerService;
  pubsub: PubSubService;
  schedule: number | string;
  maxAgeMs: number;
  timeoutMs: number;
}): ModelsCache {
  let models: IlabModel[] = [];
  let refreshedAt: Date | null = null;
  let lastError: BackplaneError | null = null;
  let refreshing = false;

  const task: ScheduledTask = scheduler.schedule({
    id: 'model-cache-refresh',
    ...(typeof schedule === 'number' ? { everyMs: schedule } : { cron: schedule }),
    runOnStart: true,
    // A little longer than the command's own timeout, so the command's error is the one reported.
    timeoutMs: timeoutMs + 5_000,
    run: async () => {
      refreshing = true;
      try {
        models = await listModels(cli, timeoutMs);
        refreshedAt = new Date();
        lastError = null;
        pubsub.publish(modelsRefreshedTopic, models);
      } catch (error) {
        lastError = error instanceof BackplaneError ? error : new BackendError(`ilab model list failed: ${String(error)}`);
        throw error;
      } finally {
        refreshing = false;
      }
    },
  });

  async function refresh(): Promise<IlabModel[]> {
    await task.trigger();
    if (lastError) throw lastError;
    return models;
  }

  return {
    async get() {
      if (refreshedAt === null) return refresh();
      if (Date.now() - refreshedAt.getTime() > maxAgeMs) void task.trigger();
      return models;
    },
    refresh,
    listed: async () => (refreshedAt === null ? refresh().catch(() => models) : models),
    state: () => ({ models, refreshedAt, lastError: lastError?.message ?? null, refreshing }),
  };
}

async function listModels(cli: IlabCli, timeoutMs: number): Promise<IlabModel[]> {
  const result = await cli.run(['model', 'list'], { timeoutMs, decode: 'surrogateescape' });
  // The process service logged the output; the error names only the command and its exit.
  if (result.error) throw result.error;
  return parseModelList(result.stdout);
}
