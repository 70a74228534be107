import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EndpointProtocol, EndpointRegistry, HttpMountHandler, HttpMountService, Logger, UserDirectoryService } from '../../core/plugin-api.ts';
import type { AppStore } from './app-store.ts';
import { matchRoute, upstreamBase } from './route-paths.ts';
import type { Traffic } from './traffic.ts';
import type { GatewayApp } from './types.ts';

/** Methods a retry may send again even after the backend saw them (RFC 9110 §9.2.2). */
const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

export interface GatewayHandlerOptions {
  store: AppStore;
  endpoints: EndpointRegistry;
  users: UserDirectoryService;
  mounts: Pick<HttpMountService, 'forward' | 'rateLimit'>;
  traffic: Traffic;
  maxBodyBytes: number;
  logger: Logger;
}

/**
 * Serves `<app prefix>/…`: the consumer's key (`Authorization: Bearer`, `X-API-Key` or Kong's
 * `apikey` header) → the app's ACL → its route → the consumer's rate limit → the endpoint, with
 * retries on connect errors (any method) and on 502/503 or a broken exchange (idempotent methods
 * only: a POST that reached the backend is never sent twice), the answer streamed through.
 */
export function createGatewayHandler(options: GatewayHandlerOptions): HttpMountHandler {
  const { store, endpoints, users, mounts, traffic, maxBodyBytes, logger } = options;

  return async function serveGateway(req, res, ctx) {
    const started = performance.now();
    const path = ctx.url.pathname;
    const app = findApp(store.list(), path);
    const seen = { app: app?.name ?? '-', route: '-', consumer: '-' };
    res.once('close', () => traffic.observe({ ...seen, status: res.statusCode, seconds: (performance.now() - started) / 1000 }));
    ctx.setRoute(app ? `${app.prefix}/*` : '/gateway/*');
    if (!app) return refuse(res, 404, 'not_found', `No application serves ${path.slice(0, 200)}`);
    // Matched first only to answer in the route's own error format; unknown routes wait for the key.
    const matched = matchRoute(app, path);
    const protocol = matched?.route.protocol;
    if (matched) seen.route = matched.route.modelName;

    const auth = users.authenticate(credentialOf(req), ctx.remoteAddress);
    if (!auth.ok) {
      if (auth.reason === 'limited') return refuse(res, 429, 'too_many_failures', `Too many failed credentials from this address; retry in ${auth.retryAfter} s`, protocol, { 'retry-after': String(auth.retryAfter) });
      return refuse(res, 401, 'unauthenticated', auth.reason === 'missing' ? `Unauthorized: application '${app.name}' needs a consumer's API key (Authorization: Bearer <key>)` : 'Unauthorized: the API key or token is not valid (unknown, revoked or expired)', protocol, { 'www-authenticate': 'Bearer' });
    }
    const user = auth.user.name;
    seen.consumer = user;
    if (!app.consumers.some((c) => c.user === user)) return refuse(res, 403, 'forbidden', `Forbidden: user '${user}' is not a consumer of application '${app.name}'`, protocol);

    if (!matched) return refuse(res, 404, 'not_found', `Application '${app.name}' has no route for ${path.slice(0, 200)}`);
    const { route, rest } = matched;

    const limit = mounts.rateLimit(`${app.name}\0${user}`, { limit: app.rateLimit, windowSeconds: app.rateWindowSeconds });
    for (const [name, value] of Object.entries(limit.headers)) res.setHeader(name, value);
    if (!limit.allowed) return refuse(res, 429, 'rate_limited', `Too many requests: at most ${app.rateLimit} per ${app.rateWindowSeconds} s for each consumer of '${app.name}'; retry in ${limit.retryAfter} s`, route.protocol);

    const endpoint = endpoints.get(route.endpointId);
    if (!endpoint) return refuse(res, 503, 'unavailable', `Model endpoint '${route.endpointId}' (route '${route.modelName}') is not served now`, route.protocol);
    if (!endpoint.ready) return refuse(res, 503, 'unavailable', `Model endpoint '${route.endpointId}' (route '${route.modelName}') is not ready`, route.protocol);

    const body = await readBody(req, maxBodyBytes);
    if (body === 'too-large') return refuse(res, 413, 'payload_too_large', `The request body exceeds ${maxBodyBytes} bytes`, route.protocol);
    if (body === 'aborted') return;

    const url = `${upstreamBase(endpoint)}${rest}${ctx.url.search}`;
    const method = req.method ?? 'GET';
    let last: { status: 502 | 504; message: string } | undefined;
    let tried = 0;
    for (let attempt = 0; attempt <= app.retries; attempt++) {
      if (attempt > 0) {
        traffic.retried(app.name, route.modelName);
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** (attempt - 1))));
        if (res.destroyed) return;
      }
      const final = attempt === app.retries;
      tried++;
      const outcome = await mounts.forward({ req, res, url, body, headers: { apikey: null }, timeoutMs: app.timeoutMs, discardStatuses: !final && idempotent.has(method) ? [502, 503] : undefined });
      if (outcome.ok || res.headersSent || res.destroyed) return;
      last = { status: outcome.status, message: outcome.message };
      // Sent again only when the backend cannot have acted on it, or the method allows it.
      if (outcome.reached && !idempotent.has(method)) break;
    }
    logger.debug('gateway backend failed', { app: app.name, route: route.modelName, endpoint: endpoint.id, message: last?.message });
    refuse(res, last?.status ?? 502, 'backend_unavailable', `${last?.status === 504 ? 'Gateway timeout' : 'Bad gateway'}: model endpoint '${endpoint.id}' of application '${app.name}' did not answer after ${tried} attempt${tried === 1 ? '' : 's'} (${last?.message ?? 'no answer'})`, route.protocol);
  };
}

/** The app whose prefix `path` is or lies under, longest prefix first. */
export function findApp(apps: readonly GatewayApp[], path: string): GatewayApp | undefined {
  let best: GatewayApp | undefined;
  for (const app of apps) {
    if (path !== app.prefix && !path.startsWith(`${app.prefix}/`)) continue;
    if (!best || app.prefix.length > best.prefix.length) best = app;
  }
  return best;
}

function credentialOf(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  if (typeof authorization === 'string' && /^Bearer\s+/i.test(authorization)) return authorization.replace(/^Bearer\s+/i, '').trim();
  for (const name of ['x-api-key', 'apikey']) {
    const value = req.headers[name];
    if (typeof value === 'string' && value.trim()) return value.trim();
  }
  return undefined;
}

/** The gateway's own answers: OpenAI's error shape on OpenAI routes, KServe's `{"error"}` otherwise. */
function refuse(res: ServerResponse, status: number, code: string, message: string, protocol?: EndpointProtocol, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  const type = status === 401 ? 'authentication_error' : status === 403 ? 'permission_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  const payload = JSON.stringify(protocol === 'openai' ? { error: { message, type, param: null, code } } : { error: message, code });
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** The whole body (a retry must be able to send it again), or why there is none. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined | 'too-large' | 'aborted'> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.resolve('too-large');
  if (req.method === 'GET' || req.method === 'HEAD') {
    if (!declared && req.headers['transfer-encoding'] === undefined) return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.resume();
        return resolve('too-large');
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (!done) resolve(size === 0 ? undefined : Buffer.concat(chunks, size));
      done = true;
    });
    req.once('error', () => {
      if (!done) resolve('aborted');
      done = true;
    });
    req.once('close', () => {
      if (!done && !req.complete) resolve('aborted');
      done = true;
    });
  });
}
