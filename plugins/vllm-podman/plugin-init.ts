import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PluginServices } from '../../core/plugin-api.ts';
import type { VllmPodmanConfig } from './config.ts';
import { errorText, serverJobKind, type VllmContext } from './context.ts';
import { KeyedMutex } from '../../core/plugin-api.ts';
import { createPodman } from './podman.ts';
import { ServerMonitor } from './server-monitor.ts';
import { syncEndpoint } from './endpoint-publisher.ts';
import { ServerRegistry } from './server-registry.ts';
import { createServingBackend } from './serving-backend.ts';
import { VllmService } from './service.ts';

/**
 * The plugin's init: loads the servers it tracks, checks podman (degraded without it), adopts or
 * settles containers left from before, then registers the `vllm` serving backend and the
 * reconcile and probe schedules.
 */
export async function initVllmPodman(services: PluginServices<VllmPodmanConfig>): Promise<VllmService> {
  const { config, logger } = services;
  const registry = new ServerRegistry({ db: services.db, pubsub: services.pubsub, onChange: (state) => syncEndpoint(services.endpoints, state) });
  await registry.load();
  const ctx: VllmContext = {
    config,
    logger,
    jobs: services.jobs,
    gpus: services.gpus,
    http: services.http,
    processes: services.processes,
    signal: services.lifecycle.signal,
    podman: createPodman({ processes: services.processes, podmanPath: config.podmanPath, timeoutMs: config.commandTimeoutMs }),
    registry,
    instanceId: await loadInstanceId(services.dataDir),
    mutex: new KeyedMutex(),
    modelRoots: () => [...new Set([...config.modelRoots, ...services.serving.modelRoots()])],
  };
  const monitor = new ServerMonitor(ctx);
  const service = new VllmService(ctx, monitor, services.status);

  if (await service.checkPodman()) {
    // Before the API is handed out, so the first answers already reflect the containers.
    const report = await service.reconcile().catch((error) => logger.error('initial reconcile failed', { error: errorText(error) }));
    if (report) logger.info('vLLM containers reconciled', { ...report });
  }
  services.jobs.registerGroupResumer(serverJobKind, (job) => service.resumeJob(job));
  services.serving.register(createServingBackend(service));
  services.scheduler.schedule({
    id: 'reconcile',
    everyMs: config.reconcileIntervalMs,
    timeoutMs: Math.max(config.commandTimeoutMs * 2, 60_000),
    run: async () => {
      // While degraded, each run only rechecks podman: no warning every interval.
      if (service.available || (await service.checkPodman())) await service.reconcile();
    },
  });
  services.scheduler.schedule({ id: 'probe-loading', everyMs: config.probeIntervalMs, timeoutMs: 30_000, run: () => service.probeLoading() });
  // Containers keep serving across a daemon stop (conmon owns them); the next start adopts them.
  services.lifecycle.onShutdown(() => monitor.logs.close());
  return service;
}

/** This daemon's id on its containers, kept in the plugin's data dir. */
async function loadInstanceId(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'instance-id');
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (/^[0-9a-f-]{36}$/.test(existing)) return existing;
  const id = randomUUID();
  await writeFile(file, `${id}\n`);
  return id;
}
