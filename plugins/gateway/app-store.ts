import { ConflictError, InputError, NotFoundError, type DatabaseService, type EndpointRegistry, type UserDirectoryService } from '../../core/plugin-api.ts';
import type { GatewayConfig } from './config.ts';
import { GatewayAppEntity, GatewayConsumerEntity, GatewayRouteEntity } from './entities.ts';
import { resolveEndpoint } from './resolve-endpoint.ts';
import type { GatewayApp, GatewayAppInput, GatewayConsumer, GatewayRoute } from './types.ts';

const appName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const prefixPattern = /^(\/[A-Za-z0-9._~-]+)+$/;

/** Where an app's prefix lives unless it names its own. */
export const defaultBasePath = '/gateway';

/**
 * Apps with their routes and consumers: the plugin's tables, held in memory so that every
 * gateway request is resolved without a query. Every change is written first, then applied.
 */
export class AppStore {
  readonly #apps = new Map<string, GatewayApp>();
  readonly #db: DatabaseService;
  readonly #endpoints: EndpointRegistry;
  readonly #users: UserDirectoryService;
  readonly #defaults: GatewayConfig['defaults'];
  /** Whether a custom prefix collides with the daemon's own paths (httpMounts.isClaimed). */
  readonly #isClaimed: (prefix: string) => boolean;
  readonly #listeners = new Set<(change: { app: string; kind: 'created' | 'updated' | 'deleted'; previous?: GatewayApp }) => void>();

  constructor(options: { db: DatabaseService; endpoints: EndpointRegistry; users: UserDirectoryService; defaults: GatewayConfig['defaults']; isClaimed: (prefix: string) => boolean }) {
    this.#db = options.db;
    this.#endpoints = options.endpoints;
    this.#users = options.users;
    this.#defaults = options.defaults;
    this.#isClaimed = options.isClaimed;
  }

  async load(): Promise<void> {
    const em = this.#db.em();
    const routes = await em.find(GatewayRouteEntity, {}, { orderBy: { createdAt: 'asc' } });
    const consumers = await em.find(GatewayConsumerEntity, {}, { orderBy: { createdAt: 'asc' } });
    for (const row of await em.find(GatewayAppEntity, {}, { orderBy: { createdAt: 'asc' } })) {
      this.#apps.set(row.name, {
        name: row.name,
        prefix: row.prefix,
        host: row.host,
        retries: row.retries,
        timeoutMs: row.timeoutMs,
        rateLimit: row.rateLimit,
        rateWindowSeconds: row.rateWindowSeconds,
        routes: routes.filter((r) => r.app === row.name).map((r) => ({ app: r.app, modelName: r.modelName, endpointId: r.endpointId, protocol: r.protocol as GatewayRoute['protocol'], createdAt: r.createdAt })),
        consumers: consumers.filter((c) => c.app === row.name).map((c) => ({ app: c.app, user: c.userName, createdAt: c.createdAt })),
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
      });
    }
  }

  list(): GatewayApp[] {
    return [...this.#apps.values()];
  }

  find(name: string): GatewayApp | undefined {
    return this.#apps.get(name);
  }

  get(name: string): GatewayApp {
    const app = this.#apps.get(name);
    if (!app) throw new NotFoundError(`No application named '${name}'`, { details: { app: name } });
    return app;
  }

  /** The apps a user is a consumer of. */
  appsOf(user: string): string[] {
    return this.list()
      .filter((app) => app.consumers.some((c) => c.user === user))
      .map((app) => app.name);
  }

  onChange(listener: (change: { app: string; kind: 'created' | 'updated' | 'deleted'; previous?: GatewayApp }) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async create(input: GatewayAppInput): Promise<GatewayApp> {
    const name = input.name ?? '';
    if (!appName.test(name)) throw new InputError('An application name is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit', { details: { field: 'name' } });
    if (this.#apps.has(name)) throw new ConflictError(`An application named '${name}' already exists`, { details: { app: name } });
    const prefix = this.#checkPrefix(input.prefix ?? `${defaultBasePath}/${name}`, name);
    const now = new Date();
    const app: GatewayApp = {
      name,
      prefix,
      host: input.host ?? '',
      retries: input.retries ?? this.#defaults.retries,
      timeoutMs: input.timeoutMs ?? this.#defaults.timeoutMs,
      rateLimit: input.rateLimit ?? this.#defaults.rateLimit.limit,
      rateWindowSeconds: input.rateWindowSeconds ?? this.#defaults.rateLimit.windowSeconds,
      routes: [],
      consumers: [],
      createdAt: now,
      updatedAt: now,
    };
    await this.#db.em().insert(GatewayAppEntity, { name, prefix, host: app.host, retries: app.retries, timeoutMs: app.timeoutMs, rateLimit: app.rateLimit, rateWindowSeconds: app.rateWindowSeconds, createdAt: now, updatedAt: now });
    this.#apps.set(name, app);
    this.#emit({ app: name, kind: 'created' });
    return app;
  }

  /** Changes an app; a new `name` renames it (its default prefix follows, a custom one stays). */
  async update(name: string, input: GatewayAppInput): Promise<GatewayApp> {
    const app = this.get(name);
    const newName = input.name ?? name;
    if (newName !== name) {
      if (!appName.test(newName)) throw new InputError('An application name is 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit', { details: { field: 'name' } });
      if (this.#apps.has(newName)) throw new ConflictError(`An application named '${newName}' already exists`, { details: { app: newName } });
    }
    const defaultPrefix = app.prefix === `${defaultBasePath}/${name}`;
    const wantedPrefix = input.prefix ?? (defaultPrefix ? `${defaultBasePath}/${newName}` : app.prefix);
    const prefix = wantedPrefix === app.prefix ? app.prefix : this.#checkPrefix(wantedPrefix, newName);
    const updated: GatewayApp = {
      ...app,
      name: newName,
      prefix,
      host: input.host ?? app.host,
      retries: input.retries ?? app.retries,
      timeoutMs: input.timeoutMs ?? app.timeoutMs,
      rateLimit: input.rateLimit ?? app.rateLimit,
      rateWindowSeconds: input.rateWindowSeconds ?? app.rateWindowSeconds,
      updatedAt: new Date(),
    };
    updated.routes = app.routes.map((r) => ({ ...r, app: newName }));
    updated.consumers = app.consumers.map((c) => ({ ...c, app: newName }));
    const em = this.#db.em();
    await em.transactional(async (tx) => {
      const { routes: _r, consumers: _c, ...row } = updated;
      if (newName === name) {
        await tx.nativeUpdate(GatewayAppEntity, { name }, row);
        return;
      }
      await tx.insert(GatewayAppEntity, row);
      for (const r of updated.routes) await tx.nativeUpdate(GatewayRouteEntity, { id: routeId(name, r.modelName) }, { id: routeId(newName, r.modelName), app: newName });
      for (const c of updated.consumers) await tx.nativeUpdate(GatewayConsumerEntity, { id: consumerId(name, c.user) }, { id: consumerId(newName, c.user), app: newName });
      await tx.nativeDelete(GatewayAppEntity, { name });
    });
    this.#apps.delete(name);
    this.#apps.set(newName, updated);
    this.#emit({ app: newName, kind: 'updated', previous: app });
    return updated;
  }

  async delete(name: string): Promise<void> {
    const app = this.get(name);
    await this.#db.em().transactional(async (tx) => {
      await tx.nativeDelete(GatewayRouteEntity, { app: name });
      await tx.nativeDelete(GatewayConsumerEntity, { app: name });
      await tx.nativeDelete(GatewayAppEntity, { name });
    });
    this.#apps.delete(name);
    this.#emit({ app: name, kind: 'deleted', previous: app });
  }

  /**
   * Publishes a model endpoint as a route. `model` is an endpoint id or a model name that exactly
   * one published endpoint serves; anything else is a 400 naming it.
   */
  async addRoute(appName: string, model: string, { endpoint }: { endpoint?: string | null } = {}): Promise<GatewayRoute> {
    const app = this.get(appName);
    const found = resolveEndpoint(this.#endpoints.list(), endpoint ?? model);
    const modelName = routeName(endpoint ? model : found.model);
    if (app.routes.some((r) => r.modelName === modelName)) throw new ConflictError(`Application '${appName}' already has a route named '${modelName}'`, { details: { app: appName, route: modelName } });
    const route: GatewayRoute = { app: appName, modelName, endpointId: found.id, protocol: found.protocol, createdAt: new Date() };
    await this.#db.em().insert(GatewayRouteEntity, { id: routeId(appName, modelName), app: appName, modelName, endpointId: found.id, protocol: found.protocol, createdAt: route.createdAt });
    app.routes = [...app.routes, route];
    this.#emit({ app: appName, kind: 'updated' });
    return route;
  }

  /** Removes a route, named by its `model_name` or its endpoint id. */
  async removeRoute(appName: string, model: string): Promise<void> {
    const app = this.get(appName);
    const route = app.routes.find((r) => r.modelName === model) ?? app.routes.find((r) => r.endpointId === model);
    if (!route) throw new NotFoundError(`Application '${appName}' has no route '${model}'`, { details: { app: appName, route: model } });
    await this.#db.em().nativeDelete(GatewayRouteEntity, { id: routeId(appName, route.modelName) });
    app.routes = app.routes.filter((r) => r !== route);
    this.#emit({ app: appName, kind: 'updated' });
  }

  async addConsumer(appName: string, user: string): Promise<GatewayConsumer> {
    const app = this.get(appName);
    if (!this.#users.get(user)) throw new NotFoundError(`No user named '${user}'`, { details: { user } });
    if (app.consumers.some((c) => c.user === user)) throw new ConflictError(`User '${user}' is already a consumer of '${appName}'`, { details: { app: appName, user } });
    const consumer: GatewayConsumer = { app: appName, user, createdAt: new Date() };
    await this.#db.em().insert(GatewayConsumerEntity, { id: consumerId(appName, user), app: appName, userName: user, createdAt: consumer.createdAt });
    app.consumers = [...app.consumers, consumer];
    this.#emit({ app: appName, kind: 'updated' });
    return consumer;
  }

  async removeConsumer(appName: string, user: string): Promise<void> {
    const app = this.get(appName);
    if (!app.consumers.some((c) => c.user === user)) {
      if (!this.#users.get(user)) throw new NotFoundError(`No user named '${user}'`, { details: { user } });
      throw new NotFoundError(`User '${user}' is not a consumer of '${appName}'`, { details: { app: appName, consumer: user } });
    }
    await this.#db.em().nativeDelete(GatewayConsumerEntity, { id: consumerId(appName, user) });
    app.consumers = app.consumers.filter((c) => c.user !== user);
    this.#emit({ app: appName, kind: 'updated' });
  }

  /** Drops the consumers whose user is gone (called when the users change). */
  async pruneConsumers(): Promise<void> {
    for (const app of this.#apps.values()) {
      const gone = app.consumers.filter((c) => !this.#users.get(c.user));
      if (gone.length === 0) continue;
      for (const c of gone) await this.#db.em().nativeDelete(GatewayConsumerEntity, { id: consumerId(app.name, c.user) });
      app.consumers = app.consumers.filter((c) => !gone.includes(c));
    }
  }

  #checkPrefix(prefix: string, name: string): string {
    if (!prefixPattern.test(prefix) || prefix.length > 200) throw new InputError(`A path prefix is an absolute path of plain segments, such as /gateway/${name}`, { details: { field: 'prefix' } });
    const clean = prefix.replace(/\/+$/, '');
    const taken = [...this.#apps.values()].find((a) => a.name !== name && segmentOverlap(a.prefix, clean));
    if (taken) throw new InputError(`The path prefix '${clean}' collides with application '${taken.name}' (${taken.prefix})`, { details: { field: 'prefix', app: taken.name } });
    const underBase = clean === `${defaultBasePath}/${name}`;
    if (!underBase && (segmentOverlap(defaultBasePath, clean) || this.#isClaimed(clean))) {
      throw new InputError(`The path prefix '${clean}' collides with backplane's own routes; use ${defaultBasePath}/${name} or a path nothing else serves`, { details: { field: 'prefix', prefix: clean } });
    }
    return clean;
  }

  #emit(change: { app: string; kind: 'created' | 'updated' | 'deleted'; previous?: GatewayApp }): void {
    for (const listener of this.#listeners) listener(change);
  }
}

function routeId(app: string, model: string): string {
  return `${app}/${model}`;
}

function consumerId(app: string, user: string): string {
  return `${app}/${user}`;
}

/** A route name that is one path segment: the model name with anything else replaced. */
function routeName(model: string): string {
  const name = model.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '').slice(0, 128);
  if (!name) throw new InputError(`'${model.slice(0, 64)}' makes no route name`);
  return name;
}

function segmentOverlap(a: string, b: string): boolean {
  const x = a.split('/').filter(Boolean);
  const y = b.split('/').filter(Boolean);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return false;
  return true;
}
