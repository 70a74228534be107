import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DocumentNode, ExecutionResult } from 'graphql';
import { httpStatusByCode, InputError, isBackplaneError, type ErrorCode } from '../errors.ts';
import type { AuthInfo } from '../graphql/context.ts';
import type { RestExchange } from '../../packages/plugin-api/src/graphql.ts';
import { goCleanRedirect } from '../http/go-path.ts';
import { BodyTooLargeError, readBody } from '../http/read-body.ts';
import type { RequestTarget } from '../http/request-target.ts';
import type { Logger } from '../services/logger-service.ts';
import type { UploadStore } from '../uploads/upload-store.ts';
import type { RestProfile } from './profiles.ts';
import { proxyRequest } from './proxy.ts';
import { RateLimiter, rateLimitHeaders } from './rate-limit.ts';
import type { HttpMethod, RestMultipartBody, RestReply, RestRequest, RestRoute } from './route.ts';
import type { CompiledRoute, RestListenerPlan } from './route-table.ts';

/** Runs a validated operation through the GraphQL pipeline (auth scopes, masking). */
export type OperationExecutor = (args: { document: DocumentNode; variables: Record<string, unknown>; auth: AuthInfo; requestId: string; rest?: RestExchange }) => Promise<ExecutionResult>;

/** Runs a validated subscription through the same pipeline: its events, or the errors that kept it from starting. */
export type SubscriptionExecutor = (args: Omit<Parameters<OperationExecutor>[0], 'rest'>) => Promise<AsyncIterable<ExecutionResult> | ExecutionResult>;

export interface RestRequestContext {
  requestId: string;
  /** The request target as sent, for routers that answer unclean paths themselves. */
  target: RequestTarget;
  /** The caller, or undefined when API keys are required and none (or a wrong one) was sent. */
  auth: AuthInfo | undefined;
  /** Tells metrics which route answered. */
  setRoute(label: string): void;
}

export interface CreateRestHandlerOptions {
  plan: RestListenerPlan;
  execute: OperationExecutor;
  /** Runs the subscriptions of streaming routes (`RestRoute.stream`). */
  subscribe?: SubscriptionExecutor;
  bodyLimitBytes: number;
  /** Stages `body: 'multipart'` requests; such routes answer 500 without it. */
  uploads?: UploadStore;
  /** The default file-byte limit of `body: 'multipart'` routes. */
  uploadLimitBytes?: number;
  logger: Logger;
  /** Rate-limit buckets. @default a new one for this listener (each profile is served on one) */
  rateLimiter?: RateLimiter;
}

/** The caller of a public route (`login`) who sent no valid key: no scopes at all. */
const anonymous: AuthInfo = { principal: 'anonymous', scopes: new Set() };

/**
 * Serves the legacy routes of one listener. Resolves to false when no mounted profile claims the
 * path, so the caller can answer with its own 404.
 */
export function createRestHandler({ plan, execute, subscribe, bodyLimitBytes, uploads, uploadLimitBytes = 1024 ** 3, logger, rateLimiter = new RateLimiter() }: CreateRestHandlerOptions) {
  const mounts = [...plan.mounts].sort((a, b) => b.prefix.length - a.prefix.length);

  return async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL, ctx: RestRequestContext): Promise<boolean> {
    const rawPath = url.pathname;
    // Several profiles may share a prefix (all at `/` on the main listener): the longest prefix
    // that matches, then profile order, decides who answers paths that no route claims.
    const candidates = mounts.filter((m) => m.prefix === '' || rawPath === m.prefix || rawPath.startsWith(`${m.prefix}/`));
    if (candidates.length === 0) return false;
    const primary = candidates[0].profile;

    if (primary.redirectUncleanPaths) {
      // On the path as sent: `url` has its dot segments resolved already.
      const location = goCleanRedirect(ctx.target);
      if (location !== undefined) {
        ctx.setRoute('redirect');
        send(res, primary, { status: 301, empty: true, headers: { location } });
        return true;
      }
    }

    let matches: { compiled: CompiledRoute; match: RegExpExecArray }[] = [];
    for (const mount of candidates) {
      matches = mount.routes.flatMap((compiled) => {
        const match = compiled.pattern.exec(rawPath);
        return match ? [{ compiled, match }] : [];
      });
      if (matches.length > 0) break;
    }
    if (matches.length === 0) {
      ctx.setRoute('unmatched');
      send(res, primary, primary.notFound(rawPath));
      return true;
    }
    const profile = matches[0].compiled.profile;
    const chosen = matches.find((c) => c.compiled.route.method === req.method);
    if (!chosen) {
      ctx.setRoute('unmatched');
      send(res, profile, profile.methodNotAllowed([...new Set(matches.map((c) => c.compiled.route.method))]));
      return true;
    }
    const compiled = chosen.compiled;
    ctx.setRoute(`${profile.id} ${compiled.route.method} ${compiled.template}`);

    if (compiled.rateLimit) {
      // Callers with a key or token count by name, everyone else by address.
      const caller = ctx.auth && ctx.auth.principal !== 'anonymous' ? `id:${ctx.auth.principal}` : `ip:${req.socket.remoteAddress ?? ''}`;
      const decision = rateLimiter.take(`${profile.id}\0${compiled.rateLimit.class}\0${caller}`, compiled.rateLimit.bucket);
      for (const [name, value] of Object.entries(rateLimitHeaders(decision))) res.setHeader(name, value);
      if (!decision.allowed) {
        const { limit, windowSeconds } = compiled.rateLimit.bucket;
        send(res, profile, profile.error(profile.statusFor('RATE_LIMITED'), `Too many requests: at most ${limit} per ${windowSeconds} s for this route class (${compiled.rateLimit.class}); retry in ${decision.retryAfter} s`, 'RATE_LIMITED'));
        return true;
      }
    }

    if (!ctx.auth && !compiled.public) {
      send(res, profile, profile.error(profile.statusFor('UNAUTHENTICATED'), 'Unauthorized: send an API key or access token as Authorization: Bearer <token> (or the key as X-API-Key)', 'UNAUTHENTICATED'));
      return true;
    }
    const auth = ctx.auth ?? anonymous;

    const params: Record<string, string> = {};
    try {
      compiled.paramNames.forEach((name, i) => {
        params[name] = name === compiled.tailParam ? chosen.match[i + 1] : decodeURIComponent(chosen.match[i + 1]);
      });
    } catch {
      send(res, profile, profile.notFound(rawPath));
      return true;
    }

    const bodyMode = compiled.route.body ?? (req.method === 'GET' ? 'ignore' : 'json');
    let body: unknown;
    let raw: Buffer | undefined;
    if (bodyMode === 'ignore') {
      req.resume();
    } else if (bodyMode === 'multipart') {
      const limit = compiled.route.maxBodyBytes ?? uploadLimitBytes;
      try {
        if (!uploads) throw new Error('no upload store');
        const staged = await uploads.stage(req, limit);
        const multipart: RestMultipartBody = { uploadId: staged.id, fields: staged.fields, files: staged.files.map(({ field, filename, bytes, mimeType }) => ({ field, filename, bytes, mimeType })) };
        body = multipart;
        // Whatever the operation did, an upload it did not claim is gone when the reply is.
        res.once('close', () => void uploads.discardUnclaimed(multipart.uploadId));
      } catch (error) {
        if (error instanceof BodyTooLargeError) send(res, profile, profile.error(413, `Request body is larger than ${limit} bytes`, 'PAYLOAD_TOO_LARGE'));
        else if (isBackplaneError(error)) send(res, profile, profile.invalidBody(error.message));
        else {
          logger.error('REST upload failed', { route: compiled.template, error });
          send(res, profile, profile.error(500, 'Internal Server Error', 'INTERNAL_SERVER_ERROR'));
        }
        return true;
      }
    } else if (bodyMode !== 'stream') {
      try {
        raw = await readBody(req, compiled.route.maxBodyBytes ?? bodyLimitBytes);
        const text = bodyMode === 'raw' ? '' : raw.toString('utf8').trim();
        if (text === '' && bodyMode === 'json') {
          send(res, profile, profile.invalidBody('empty body'));
          return true;
        }
        // `raw`: the route decodes the bytes itself, as its original server did.
        body = bodyMode === 'raw' ? raw : text === '' ? undefined : JSON.parse(text);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          send(res, profile, profile.error(413, `Request body is larger than ${compiled.route.maxBodyBytes ?? bodyLimitBytes} bytes`, 'PAYLOAD_TOO_LARGE'));
        } else {
          send(res, profile, profile.invalidBody((error as Error).message));
        }
        return true;
      }
    }

    const request: RestRequest = { method: req.method as HttpMethod, params, query: url.searchParams, body, headers: toHeaders(req) };
    try {
      const stream = compiled.route.stream;
      if (stream && compiled.streamDocument && subscribe && !compiled.route.websocket && (stream.when?.(request) ?? true)) {
        if (bodyMode === 'stream') req.resume();
        const started = await subscribe({ document: compiled.streamDocument, variables: buildVariables(stream, request), auth, requestId: ctx.requestId });
        if (isAsyncIterable(started)) await streamEvents(res, started, (data) => stream.event(data, request), stream.contentType ?? 'application/x-ndjson', logger);
        else send(res, profile, resultErrorReply(compiled, started, request));
        return true;
      }
      const variables = buildVariables(compiled.route, request);
      const result = await execute({ document: compiled.document, variables, auth, requestId: ctx.requestId, rest: exchangeOf(res) });
      if (result.errors && result.errors.length > 0) {
        send(res, profile, resultErrorReply(compiled, result, request));
        return true;
      }
      const reply = compiled.route.reply(result.data, request);
      if (reply.proxy) {
        await proxyRequest({
          req,
          res,
          target: reply.proxy,
          body: bodyMode === 'stream' ? 'stream' : raw,
          onError: ({ status, message, cause }) => {
            logger.warn('REST proxy failed', { route: compiled.template, upstream: reply.proxy!.url, error: cause });
            send(res, profile, profile.error(status, message, status === 504 ? 'TIMEOUT' : 'BACKEND_ERROR'));
          },
        });
        return true;
      }
      if (bodyMode === 'stream') req.resume();
      send(res, profile, reply);
    } catch (error) {
      // Branded, so errors from a plugin's own copy of the contract keep their code and message.
      if (isBackplaneError(error) && error.code in httpStatusByCode) {
        send(res, profile, errorReply(compiled, error.code, error.message, request));
      } else {
        logger.error('REST route failed', { route: compiled.template, error });
        send(res, profile, profile.error(500, 'Internal Server Error', 'INTERNAL_SERVER_ERROR'));
      }
    }
    return true;
  };
}

/** The exchange a route's resolvers see: the client's disconnect, and the end of the reply. */
function exchangeOf(res: ServerResponse): RestExchange {
  const controller = new AbortController();
  let over = false;
  const ends: (() => void)[] = [];
  // 'close' follows the last byte written, a destroy, or the client going away: the end either way.
  res.once('close', () => {
    over = true;
    if (!res.writableFinished) controller.abort(new Error('the client closed the connection'));
    for (const fn of ends.splice(0)) fn();
  });
  return { signal: controller.signal, onEnd: (fn) => (over ? fn() : void ends.push(fn)) };
}

/** The legacy reply for an operation's first error. */
export function resultErrorReply(compiled: CompiledRoute, result: ExecutionResult, request: RestRequest): RestReply {
  const first = result.errors?.[0];
  const given = first?.extensions?.code as string | undefined;
  const code: ErrorCode = given !== undefined && given in httpStatusByCode ? (given as ErrorCode) : 'INTERNAL_SERVER_ERROR';
  const message = code === 'INTERNAL_SERVER_ERROR' || !first ? 'Internal Server Error' : first.message;
  return errorReply(compiled, code, message, request);
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * Writes a subscription's events as one chunked 200 response, with backpressure, until it
 * completes or fails (then the body just ends: the status is out already); a client that goes
 * away cancels it.
 */
async function streamEvents(res: ServerResponse, events: AsyncIterable<ExecutionResult>, toChunk: (data: unknown) => string | undefined, contentType: string, logger: Logger): Promise<void> {
  const iterator = events[Symbol.asyncIterator]();
  let closed = false;
  const onClose = () => {
    closed = true;
    void iterator.return?.();
  };
  res.once('close', onClose);
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  try {
    while (!closed) {
      const next = await iterator.next();
      if (next.done || closed) break;
      if (next.value.errors && next.value.errors.length > 0) {
        logger.debug('REST stream ended by an error', { error: next.value.errors[0].message });
        break;
      }
      const chunk = toChunk(next.value.data);
      if (chunk !== undefined && chunk !== '' && !res.write(chunk)) {
        await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
    }
  } catch (error) {
    logger.warn('REST stream failed', { error });
  } finally {
    res.off('close', onClose);
    if (!closed) {
      void iterator.return?.();
      res.end();
    }
  }
}

function errorReply(compiled: CompiledRoute, code: ErrorCode, message: string, request: RestRequest): RestReply {
  const override = compiled.route.errors?.[code];
  if (typeof override === 'function') return override({ code, message }, request);
  const status = override?.status ?? compiled.profile.statusFor(code);
  return compiled.profile.error(status, override?.message ?? message, code);
}

export function buildVariables(route: Pick<RestRoute, 'variables'>, request: RestRequest): Record<string, unknown> {
  if (!route.variables) return {};
  if (typeof route.variables === 'function') return route.variables(request);
  const out: Record<string, unknown> = {};
  for (const [name, source] of Object.entries(route.variables)) {
    if (source === 'body') {
      out[name] = request.body;
      continue;
    }
    const [where, key] = [source.slice(0, source.indexOf('.')), source.slice(source.indexOf('.') + 1)];
    if (where === 'params') out[name] = request.params[key];
    else if (where === 'query') out[name] = request.query.get(key) ?? undefined;
    else {
      if (request.body !== undefined && (typeof request.body !== 'object' || request.body === null || Array.isArray(request.body))) {
        throw new InputError('Invalid request body: expected a JSON object');
      }
      out[name] = (request.body as Record<string, unknown> | undefined)?.[key];
    }
  }
  return out;
}

/** Writes a reply with the profile's encoding and headers. */
export function send(res: ServerResponse, profile: RestProfile, reply: RestReply): void {
  if (reply.file !== undefined) {
    sendFile(res, profile, reply.file, reply);
    return;
  }
  const headers: Record<string, string> = {};
  let payload: string | undefined;
  if (reply.json !== undefined) {
    payload = profile.encodeJson(reply.json);
    headers['content-type'] = profile.jsonContentType;
  } else if (reply.text !== undefined) {
    payload = reply.text;
    headers['content-type'] = 'text/plain; charset=utf-8';
  }
  for (const [name, value] of Object.entries(reply.headers ?? {})) {
    if (value === null) delete headers[name.toLowerCase()];
    else headers[name.toLowerCase()] = value;
  }
  headers['content-length'] = String(payload === undefined ? 0 : Buffer.byteLength(payload));
  res.writeHead(reply.status ?? 200, headers);
  res.end(payload);
}

function sendFile(res: ServerResponse, profile: RestProfile, file: string, reply: RestReply): void {
  const stream = createReadStream(file);
  stream.once('open', () => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(reply.headers ?? {})) if (value !== null) headers[name.toLowerCase()] = value;
    res.writeHead(reply.status ?? 200, headers);
    stream.pipe(res);
  });
  stream.once('error', () => {
    if (!res.headersSent) send(res, profile, profile.error(500, 'Failed to read log file', 'INTERNAL_SERVER_ERROR'));
    else res.destroy();
  });
}

function toHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  return headers;
}
