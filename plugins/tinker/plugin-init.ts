import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PluginServices } from '../../core/plugin-api.ts';
import type { TinkerConfig } from './config.ts';
import { TinkerService } from './service.ts';

/**
 * The plugin's init: loads stored sessions, models, checkpoints and futures (failing the
 * futures whose work a previous daemon lost), then schedules session expiry and future and
 * checkpoint cleanup. Worker processes start on demand (create_model, a sampler).
 */
export async function initTinker(services: PluginServices<TinkerConfig>): Promise<TinkerService> {
  const service = new TinkerService({
    config: services.config,
    logger: services.logger,
    db: services.db,
    pubsub: services.pubsub,
    gpus: services.gpus,
    dataDir: services.dataDir,
    // Unix socket paths allow ~100 bytes: the data dir may be deep, the tmp dir is short.
    // Made with the first worker, so a daemon that never trains leaves nothing in /tmp.
    socketDir: () => mkdtemp(path.join(os.tmpdir(), 'bp-tinker-')),
  });
  await service.start();
  // The pubsub closes first when the daemon stops, before HTTP drains: end the long polls then.
  const stopping = services.pubsub.subscribe('daemon-stopping');
  void (async () => {
    for await (const _ of stopping);
    service.futures.releaseWaiters();
  })();
  services.lifecycle.onShutdown(() => service.stop());
  const everyMs = Math.min(30_000, services.config.sessionExpirySeconds * 250);
  services.scheduler.schedule({ id: 'expire-sessions', everyMs, timeoutMs: 60_000, run: async () => void (await service.expireSessions()) });
  services.scheduler.schedule({
    id: 'cleanup',
    everyMs: 60_000,
    timeoutMs: 60_000,
    run: async () => {
      await service.cleanupFutures();
      await service.expireCheckpoints();
    },
  });
  return service;
}
