import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { AuthInfo } from '../graphql/context.ts';
import type { Authenticator } from '../http/auth.ts';
import { parseRequestTarget, targetUrl } from '../http/request-target.ts';
import type { Logger } from '../services/logger-service.ts';
import type { RestProfile } from './profiles.ts';
import { rateLimitHeaders, type RateLimiter } from './rate-limit.ts';
import { buildVariables, isAsyncIterable, resultErrorReply, type SubscriptionExecutor } from './rest-handler.ts';
import type { RestReply, RestRequest } from './route.ts';
import type { CompiledRoute, RestListenerPlan } from './route-table.ts';

export interface RestWebSocketOptions {
  plan: RestListenerPlan;
  subscribe: SubscriptionExecutor;
  authenticator: Authenticator;
  /** The listener's REST rate limiter, so an upgrade takes from the same buckets as requests. */
  rateLimiter: RateLimiter;
  /** `server.bodyLimitBytes`: larger client messages close the socket with 1009. */
  maxPayloadBytes: number;
  logger: Logger;
}

const anonymous: AuthInfo = { principal: 'anonymous', scopes: new Set() };

/**
 * Serves the REST routes declared `websocket: true` (plugin-api `RestRoute.websocket`): an
 * upgrade is rate limited and authenticated like a request of the route, its `stream`
 * subscription is started through the GraphQL pipeline (errors before the first event are the
 * route's usual HTTP error replies), and each event becomes one text message. `ws` is imported
 * on the first such upgrade.
 */
export function createRestWebSocketHandler({ plan, subscribe, authenticator, rateLimiter, maxPayloadBytes, logger }: RestWebSocketOptions) {
  const routes = plan.mounts.flatMap((m) => m.routes).filter((r) => r.route.websocket);
  let loading: Promise<WebSocketServer> | undefined;
  const sockets = new Set<WebSocket>();
  let closed = false;

  const serve = async (req: IncomingMessage, socket: Duplex, head: Buffer, compiled: CompiledRoute, match: RegExpExecArray, url: URL) => {
    const profile = compiled.profile;
    const headers: Record<string, string> = {};
    if (compiled.rateLimit) {
      const auth = authenticator.authenticate(req.headers);
      const caller = auth && auth.principal !== 'anonymous' ? `id:${auth.principal}` : `ip:${req.socket.remoteAddress ?? ''}`;
      const decision = rateLimiter.take(`${profile.id}\0${compiled.rateLimit.class}\0${caller}`, compiled.rateLimit.bucket);
      Object.assign(headers, rateLimitHeaders(decision));
      if (!decision.allowed) {
        const { limit, windowSeconds } = compiled.rateLimit.bucket;
        return refuse(socket, profile, profile.error(profile.statusFor('RATE_LIMITED'), `Too many requests: at most ${limit} per ${windowSeconds} s for this route class (${compiled.rateLimit.class}); retry in ${decision.retryAfter} s`, 'RATE_LIMITED'), headers);
      }
    }
    const auth = authenticator.authenticate(req.headers);
    if (!auth && !compiled.public) {
      return refuse(socket, profile, profile.error(profile.statusFor('UNAUTHENTICATED'), 'Unauthorized: send an API key or access token as Authorization: Bearer <token> (or the key as X-API-Key)', 'UNAUTHENTICATED'), headers);
    }
    const params: Record<string, string> = {};
    compiled.paramNames.forEach((name, i) => (params[name] = name === compiled.tailParam ? match[i + 1] : decodeURIComponent(match[i + 1])));
    const request: RestRequest = { method: 'GET', params, query: url.searchParams, body: undefined, headers: new Headers(Object.entries(req.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v] as [string, string]] : []))) };
    const stream = compiled.route.stream!;
    const started = await subscribe({ document: compiled.streamDocument!, variables: buildVariables(stream, request), auth: auth ?? anonymous, requestId: `ws-rest-${Date.now().toString(36)}` });
    if (!isAsyncIterable(started)) return refuse(socket, profile, resultErrorReply(compiled, started, request), headers);
    const iterator = started[Symbol.asyncIterator]();

    loading ??= import('ws').then(({ WebSocketServer }) => new WebSocketServer({ noServer: true, maxPayload: maxPayloadBytes }));
    const wss = await loading;
    if (closed || socket.destroyed) {
      void iterator.return?.();
      return socket.destroy();
    }
    // The rate-limit headers go out with the 101.
    const addHeaders = (lines: string[]) => lines.push(...Object.entries(headers).map(([k, v]) => `${k}: ${v}`));
    wss.once('headers', addHeaders);
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      const expiresAt = auth ? authenticator.expiresAt(auth) : undefined;
      const timer = expiresAt === undefined ? undefined : setTimeout(() => ws.close(4401, 'Unauthorized: access token expired'), Math.min(Math.max(0, expiresAt - Date.now()), 2 ** 31 - 1));
      ws.on('error', (error) => logger.debug('REST WebSocket error', { route: compiled.template, error: error.message }));
      ws.once('close', () => {
        sockets.delete(ws);
        clearTimeout(timer);
        void iterator.return?.();
      });
      void (async () => {
        try {
          for (;;) {
            const next = await iterator.next();
            if (next.done || ws.readyState !== ws.OPEN) break;
            if (next.value.errors && next.value.errors.length > 0) {
              ws.close(1011, next.value.errors[0].message.slice(0, 120));
              return;
            }
            const message = stream.event(next.value.data, request);
            if (message !== undefined) ws.send(message);
          }
          if (ws.readyState === ws.OPEN) ws.close(1000, 'stream ended');
        } catch (error) {
          logger.warn('REST WebSocket stream failed', { route: compiled.template, error });
          if (ws.readyState === ws.OPEN) ws.close(1011, 'Internal server error');
        }
      })();
    });
    wss.off('headers', addHeaders);
  };

  return {
    /** Takes the upgrade when a WebSocket route claims its path (true), else leaves it (false). */
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
      if (routes.length === 0 || closed) return false;
      const target = parseRequestTarget(req.url ?? '/');
      const url = target && targetUrl(target);
      if (!url) return false;
      for (const compiled of routes) {
        const match = compiled.pattern.exec(url.pathname);
        if (!match) continue;
        const onError = () => socket.destroy();
        socket.on('error', onError);
        serve(req, socket, head, compiled, match, url).then(
          () => socket.off('error', onError),
          (error: unknown) => {
            logger.error('REST WebSocket upgrade failed', { route: compiled.template, error });
            refuse(socket, compiled.profile, compiled.profile.error(500, 'Internal Server Error', 'INTERNAL_SERVER_ERROR'), {});
          },
        );
        return true;
      }
      return false;
    },
    /** Ends every socket (1001) so the HTTP server can close. */
    async close(): Promise<void> {
      closed = true;
      for (const ws of sockets) ws.close(1001, 'Going away');
      const wss = await loading?.catch(() => undefined);
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
    },
  };
}

/** Answers an upgrade request with a plain HTTP reply in the profile's format and closes. */
function refuse(socket: Duplex, profile: RestProfile, reply: RestReply, extra: Record<string, string>): void {
  if (socket.destroyed) return;
  const status = reply.status ?? 500;
  const body = reply.json !== undefined ? profile.encodeJson(reply.json) : (reply.text ?? '');
  const headers: Record<string, string> = {
    'content-type': reply.json !== undefined ? profile.jsonContentType : 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    ...extra,
  };
  for (const [name, value] of Object.entries(reply.headers ?? {})) if (value !== null) headers[name.toLowerCase()] = value;
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head}\r\n${body}`);
}
