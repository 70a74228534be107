import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EndpointProtocol, EndpointRegistry, HttpMountHandler, HttpMountService, Logger, ModelEndpoint, UserDirectoryService } from '../../core/plugin-api.ts';
import { AppIndex } from './app-index.ts';
import type { AppStore } from './app-store.ts';
import { upstreamBase } from './route-paths.ts';
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
  const index = new AppIndex(store);

  return async function serveGateway(req, res, ctx) {
    const started = performance.now();
    const path = ctx.url.pathname;
    const entry = index.find(path);
    const app = entry?.app;
    const seen = { app: app?.name ?? '-', route: '-', consumer: '-', status: 0, seconds: 0 };
    res.once('close', () => {
      seen.status = res.statusCode;
      seen.seconds = (performance.now() - started) / 1000;
      traffic.observe(seen);
    });
    ctx.setRoute(entry ? entry.routeLabel : '/gateway/*');
    if (!entry || !app) return refuse(res, 404, 'not_found', `No application serves ${path.slice(0, 200)}`);
    // Matched first only to answer in the route's own error format; unknown routes wait for the key.
    const matched = index.matchRoute(entry, path);
    const protocol = matched?.route.protocol;
    if (matched) seen.route = matched.route.modelName;

    const auth = users.authenticate(credentialOf(req), ctx.remoteAddress);
    if (!auth.ok) {
      if (auth.reason === 'limited') return refuse(res, 429, 'too_many_failures', `Too many failed credentials from this address; retry in ${auth.retryAfter} s`, protocol, { 'retry-after': String(auth.retryAfter) });
      return refuse(res, 401, 'unauthenticated', auth.reason === 'missing' ? `Unauthorized: application '${app.name}' needs a consumer's API key (Authorization: Bearer <key>)` : 'Unauthorized: the API key or token is not valid (unknown, revoked or expired)', protocol, { 'www-authenticate': 'Bearer' });
    }
    const user = auth.user.name;
    seen.consumer = user;
    const rateKey = index.consumerKey(entry, user);
    if (rateKey === undefined) return refuse(res, 403, 'forbidden', `Forbidden: user '${user}' is not a consumer of application '${app.name}'`, protocol);

    if (!matched) return refuse(res, 404, 'not_found', `Application '${app.name}' has no route for ${path.slice(0, 200)}`);
    const { route, rest } = matched;

    const limit = mounts.rateLimit(rateKey, { limit: app.rateLimit, windowSeconds: app.rateWindowSeconds });
    const limitHeaders = limit.headers;
    for (const name in limitHeaders) res.setHeader(name, limitHeaders[name]);
    if (!limit.allowed) return refuse(res, 429, 'rate_limited', `Too many requests: at most ${app.rateLimit} per ${app.rateWindowSeconds} s for each consumer of '${app.name}'; retry in ${limit.retryAfter} s`, route.protocol);

    const endpoint = endpoints.get(route.endpointId);
    if (!endpoint) return refuse(res, 503, 'unavailable', `Model endpoint '${route.endpointId}' (route '${route.modelName}') is not served now`, route.protocol);
    if (!endpoint.ready) return refuse(res, 503, 'unavailable', `Model endpoint '${route.endpointId}' (route '${route.modelName}') is not ready`, route.protocol);

    const body = await readBody(req, maxBodyBytes);
    if (body === 'too-large') return refuse(res, 413, 'payload_too_large', `The request body exceeds ${maxBodyBytes} bytes`, route.protocol);
    if (body === 'aborted') return;

    const url = `${upstreamBaseOf(endpoint)}${rest}${ctx.url.search}`;
    const method = req.method ?? 'GET';
    const retryable = idempotent.has(method);
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
      const outcome = await mounts.forward({ req, res, url, body, headers: dropKongKey, timeoutMs: app.timeoutMs, discardStatuses: !final && retryable ? retryStatuses : undefined });
      if (outcome.ok || res.headersSent || res.destroyed) return;
      last = { status: outcome.status, message: outcome.message };
      // Sent again only when the backend cannot have acted on it, or the method allows it.
      if (outcome.reached && !retryable) break;
    }
    logger.debug('gateway backend failed', { app: app.name, route: route.modelName, endpoint: endpoint.id, message: last?.message });
    refuse(res, last?.status ?? 502, 'backend_unavailable', `${last?.status === 504 ? 'Gateway timeout' : 'Bad gateway'}: model endpoint '${endpoint.id}' of application '${app.name}' did not answer after ${tried} attempt${tried === 1 ? '' : 's'} (${last?.message ?? 'no answer'})`, route.protocol);
  };
}

/** Kong's `apikey` header is the consumer's credential, never the backend's. */
const dropKongKey: Readonly<Record<string, null>> = Object.freeze({ apikey: null });
/** Upstream answers a retry may discard and try again (idempotent methods only). */
const retryStatuses: readonly number[] = Object.freeze([502, 503]);

/**
 * An endpoint's upstream base, computed once per endpoint id while its URL, protocol and model
 * stay the same (the registry hands out a copy per call, so the fields are what is compared).
 */
const upstreamBases = new Map<string, { baseUrl: string; protocol: EndpointProtocol; model: string; base: string }>();
function upstreamBaseOf(endpoint: ModelEndpoint): string {
  const cached = upstreamBases.get(endpoint.id);
  if (cached && cached.baseUrl === endpoint.baseUrl && cached.protocol === endpoint.protocol && cached.model === endpoint.model) return cached.base;
  const base = upstreamBase(endpoint);
  upstreamBases.set(endpoint.id, { baseUrl: endpoint.baseUrl, protocol: endpoint.protocol, model: endpoint.model, base });
  return base;
}

const bearer = /^Bearer\s+/i;
const keyHeaders = ['x-api-key', 'apikey'] as const;

function credentialOf(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  if (typeof authorization === 'string') {
    const scheme = bearer.exec(authorization);
    if (scheme) return authorization.slice(scheme[0].length).trim();
  }
  for (const name of keyHeaders) {
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
