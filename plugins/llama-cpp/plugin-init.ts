import type { PluginServices } from '../../core/plugin-api.ts';
import { adoptInstances } from './adoption.ts';
import type { LlamaCppConfig } from './config.ts';
import { errorText, runJobKind, type LlamaContext } from './context.ts';
import { syncEndpoint } from './endpoint-publisher.ts';
import { InstanceRegistry } from './instance-registry.ts';
import { KeyedMutex } from '../../core/plugin-api.ts';
import { RuntimeSettings } from './runtime-settings.ts';
import { LlamaCppService } from './service.ts';
import { Supervisor } from './supervisor.ts';

/**
 * The plugin's init: loads its instances, re-adopts or settles the runs left from before (so
 * the first answers already reflect them), then schedules the health probes and the idle stop.
 * Without llama-server the plugin reports `degraded` but keeps serving its instances' records.
 * Runs outlive a daemon stop (the job supervisor owns them); the next start re-adopts them.
 */
export async function initLlamaCpp(services: PluginServices<LlamaCppConfig>): Promise<LlamaCppService> {
  const { config, logger } = services;
  // Overrides set at run time (PUT /api/config) apply before anything reads the config.
  const settings = new RuntimeSettings(config, services.dataDir, logger);
  await settings.load();
  const published = new Map<string, string>();
  const registry = new InstanceRegistry({ db: services.db, pubsub: services.pubsub, onChange: (instance) => syncEndpoint(services.endpoints, instance, published) });
  await registry.load();
  const ctx: LlamaContext = {
    config,
    logger,
    jobs: services.jobs,
    gpus: services.gpus,
    http: services.http,
    processes: services.processes,
    signal: services.lifecycle.signal,
    registry,
    mutex: new KeyedMutex(),
  };
  const supervisor = new Supervisor(ctx);
  const service = new LlamaCppService(ctx, supervisor, services.status);
  // llama-server writes plain lines; a parser keeps core from guessing progress from them.
  services.jobs.registerProgressParser(runJobKind, () => () => undefined);

  const binary = await services.processes.which(config.llamaServerPath);
  if (!binary) services.status.setDegraded(`llama-server not found (${config.llamaServerPath}); instances cannot start until it is installed`);

  const report = await adoptInstances(ctx, supervisor);
  if (report.adopted + report.settled + report.restarting > 0) logger.info('llama-server runs reconciled', { ...report });

  // Rescheduled when their settings change at run time; the scheduler keeps ids of stopped
  // tasks, so each generation gets its own.
  let generation = 0;
  let tasks: { stop(): void }[] = [];
  const scheduleTasks = () => {
    for (const task of tasks) task.stop();
    const suffix = generation++ === 0 ? '' : `-${generation - 1}`;
    tasks = [
      services.scheduler.schedule({ id: `health${suffix}`, everyMs: config.healthIntervalMs, timeoutMs: Math.max(config.healthTimeoutMs * 3, 10_000), run: () => supervisor.probeAll() }),
      services.scheduler.schedule({
        id: `idle-stop${suffix}`,
        everyMs: config.idleCheckIntervalMs,
        timeoutMs: (config.stopTimeoutSeconds + 30) * 1000,
        run: () => service.stopIdle().catch((error) => logger.warn('idle check failed', { error: errorText(error) })),
      }),
    ];
  };
  scheduleTasks();
  const scheduleKeys = new Set(['healthIntervalMs', 'healthTimeoutMs', 'idleCheckIntervalMs', 'stopTimeoutSeconds']);
  service.configure(async (input) => {
    const changed = await settings.update(input);
    if (changed.some((key) => scheduleKeys.has(key))) scheduleTasks();
    if (changed.length > 0) logger.info('llama-cpp settings changed at run time', { changed });
    return changed;
  });
  services.lifecycle.onShutdown(async () => {
    supervisor.close();
    await registry.flushLastRequests();
  });
  return service;
}
