/**
 * The MLServe admin API's JSON shapes (the seed document's field names). Its consumers' typo
 * `cteate_at` is kept because its clients read it (`create_at` is sent beside it); users never
 * carry the seed's `password` field: a password is never returned.
 */

export interface RouteFields {
  modelName: string;
  endpointId: string;
  protocols: string[];
  paths: string[];
  url: string;
  createdAt: string;
}

export interface ConsumerFields {
  user: string;
  tags: string;
  createdAt: string;
}

export interface AppFields {
  name: string;
  prefix: string;
  host: string;
  retries: number;
  timeoutMs: number;
  rateLimit: number;
  rateWindowSeconds: number;
  createdAt: string;
  updatedAt: string;
  routes: RouteFields[];
  consumers: ConsumerFields[];
}

export function wireRoute(r: RouteFields) {
  return { model_name: r.modelName, protocols: r.protocols, url: r.url, paths: r.paths, endpoint: r.endpointId, create_at: r.createdAt };
}

export function wireConsumer(c: ConsumerFields) {
  return { name: c.user, tags: c.tags, cteate_at: c.createdAt, create_at: c.createdAt };
}

export function wireApp(a: AppFields) {
  return {
    name: a.name,
    host: a.host,
    ip: a.host,
    // The seed's "Fix 1 now": GPUs belong to the servers behind the routes, not to the app.
    gpus: 1,
    prefix: a.prefix,
    retries: a.retries,
    timeout_ms: a.timeoutMs,
    rate_limit: a.rateLimit,
    rate_window_seconds: a.rateWindowSeconds,
    routes: a.routes.map(wireRoute),
    consumers: a.consumers.map(wireConsumer),
    update_at: a.updatedAt,
    create_at: a.createdAt,
  };
}

export function wireUser(u: { name: string; role: string; tags: string }, apps: string[]) {
  return { name: u.name, role: u.role, tags: u.tags, apps };
}

export const ok = { json: { status: 'ok' } } as const;
