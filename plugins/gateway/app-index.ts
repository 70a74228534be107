import type { AppStore } from './app-store.ts';
import { publicPath } from './route-paths.ts';
import type { GatewayApp, GatewayRoute } from './types.ts';

/** One app as the request path needs it, with its strings built once. */
export interface IndexedApp {
  app: GatewayApp;
  /** The metrics route label, `<prefix>/*`. */
  routeLabel: string;
  /** `<prefix>/`, what a path under the app starts with. */
  under: string;
  routesOf: readonly GatewayRoute[];
  routes: { route: GatewayRoute; base: string; under: string }[];
  consumersOf: GatewayApp['consumers'];
  /** Consumer name → its rate-limit bucket key. */
  consumers: Map<string, string>;
}

/**
 * The store's apps indexed for the request path: rebuilt after every store change, and an app's
 * routes or consumers again whenever its arrays are replaced (the store replaces them on every
 * change, including pruning consumers of deleted users, which emits no event), so a request
 * never sees a stale route or ACL and never pays for building strings or sets.
 */
export class AppIndex {
  readonly #store: Pick<AppStore, 'list' | 'onChange'>;
  #apps: IndexedApp[] | undefined;

  constructor(store: Pick<AppStore, 'list' | 'onChange'>) {
    this.#store = store;
    store.onChange(() => {
      this.#apps = undefined;
    });
  }

  /** The app whose prefix `path` is or lies under, longest prefix first. */
  find(path: string): IndexedApp | undefined {
    this.#apps ??= this.#store.list().map(indexApp);
    let best: IndexedApp | undefined;
    for (const entry of this.#apps) {
      if (path !== entry.app.prefix && !path.startsWith(entry.under)) continue;
      if (!best || entry.app.prefix.length > best.app.prefix.length) best = entry;
    }
    return best;
  }

  /** The route whose public path `path` is or lies under, and the rest of the path after it. */
  matchRoute(entry: IndexedApp, path: string): { route: GatewayRoute; rest: string } | undefined {
    if (entry.routesOf !== entry.app.routes) indexRoutes(entry);
    let best: { route: GatewayRoute; base: string } | undefined;
    for (const candidate of entry.routes) {
      if (path !== candidate.base && !path.startsWith(candidate.under)) continue;
      if (!best || candidate.base.length > best.base.length) best = candidate;
    }
    return best && { route: best.route, rest: path.slice(best.base.length) };
  }

  /** The rate-limit key of `user` as a consumer of the app, or undefined when it is none. */
  consumerKey(entry: IndexedApp, user: string): string | undefined {
    if (entry.consumersOf !== entry.app.consumers) indexConsumers(entry);
    return entry.consumers.get(user);
  }
}

function indexApp(app: GatewayApp): IndexedApp {
  const entry: IndexedApp = { app, routeLabel: `${app.prefix}/*`, under: `${app.prefix}/`, routesOf: [], routes: [], consumersOf: [], consumers: new Map() };
  indexRoutes(entry);
  indexConsumers(entry);
  return entry;
}

function indexRoutes(entry: IndexedApp): void {
  const { app } = entry;
  entry.routesOf = app.routes;
  entry.routes = app.routes.map((route) => {
    const base = publicPath(app, route);
    return { route, base, under: `${base}/` };
  });
}

function indexConsumers(entry: IndexedApp): void {
  const { app } = entry;
  entry.consumersOf = app.consumers;
  entry.consumers = new Map(app.consumers.map((c) => [c.user, `${app.name}\0${c.user}`]));
}
