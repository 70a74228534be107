import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { EndpointRegistry, PluginServices, UserDirectoryService } from '../../core/plugin-api.ts';
import { AppStore, defaultBasePath } from './app-store.ts';
import type { GatewayConfig } from './config.ts';
import { createGatewayHandler } from './gateway-handler.ts';
import { Traffic } from './traffic.ts';

/** What the gateway's resolvers reach through `api(ctx)`. */
export interface GatewayApi {
  store: AppStore;
  traffic: Traffic;
  endpoints: EndpointRegistry;
  users: UserDirectoryService;
  /** The pubsub topic of per-app traffic, published every second. */
  trafficTopic: string;
  /** `http://host:port` of the gateway's own listener, when `listen` is configured. */
  listenUrl: string | undefined;
}

export async function initGateway(services: PluginServices<GatewayConfig>): Promise<GatewayApi> {
  const { config, httpMounts, endpoints, users, logger, lifecycle, pubsub } = services;
  const store = new AppStore({ db: services.db, endpoints, users, defaults: config.defaults, isClaimed: (prefix) => httpMounts.isClaimed(prefix) });
  await store.load();
  await store.pruneConsumers();
  const traffic = new Traffic();
  const handler = createGatewayHandler({ store, endpoints, users, mounts: httpMounts, traffic, maxBodyBytes: config.maxBodyBytes, logger });

  // `/gateway` serves every app with a default prefix; an app with its own prefix gets its own mount.
  httpMounts.mount(defaultBasePath, handler);
  const custom = new Map<string, () => void>();
  const syncMounts = () => {
    const wanted = new Set(store.list().map((a) => a.prefix).filter((p) => !p.startsWith(`${defaultBasePath}/`)));
    for (const [prefix, unmount] of custom) {
      if (wanted.has(prefix)) continue;
      unmount();
      custom.delete(prefix);
    }
    for (const prefix of wanted) {
      if (custom.has(prefix)) continue;
      try {
        custom.set(prefix, httpMounts.mount(prefix, handler));
      } catch (error) {
        logger.warn('an application prefix is not served: it collides with another path', { prefix, error });
      }
    }
  };
  syncMounts();
  store.onChange(({ app, kind }) => {
    syncMounts();
    if (kind === 'deleted') traffic.forget(app);
  });
  users.onChange(() => void store.pruneConsumers().catch((error) => logger.warn('pruning consumers of deleted users failed', { error })));
  httpMounts.addMetrics(() => traffic.render());

  const trafficTopic = 'traffic';
  const timer = setInterval(() => {
    for (const app of store.list()) pubsub.publish(trafficTopic, traffic.appTraffic(app.name, 1));
  }, 1000);
  timer.unref();
  lifecycle.signal.addEventListener('abort', () => clearInterval(timer), { once: true });

  const listenUrl = config.listen ? await listenOwn(config.listen, handler, lifecycle) : undefined;
  if (listenUrl) logger.info('gateway listening', { url: listenUrl });
  return { store, traffic, endpoints, users, trafficTopic: `${services.pluginId}:${trafficTopic}`, listenUrl };
}

/** The gateway on a listener of its own: the same handler, nothing else served there. */
async function listenOwn(listen: NonNullable<GatewayConfig['listen']>, handler: ReturnType<typeof createGatewayHandler>, lifecycle: PluginServices['lifecycle']): Promise<string> {
  const server: Server = createServer((req, res) => {
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    handler(req, res, { url: new URL(req.url ?? '/', 'http://gateway'), requestId, remoteAddress: req.socket.remoteAddress ?? '', setRoute: () => undefined }).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  lifecycle.onShutdown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const address = server.address() as import('node:net').AddressInfo;
  return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}
