import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DocumentNode, ExecutionResult } from 'graphql';
import { httpStatusByCode, InputError, isBackplaneError, type ErrorCode } from '../errors.ts';
import type { AuthInfo } from '../graphql/context.ts';
import { goCleanRedirect } from '../http/go-path.ts';
import { BodyTooLargeError, readBody } from '../http/read-body.ts';
import type { RequestTarget } from '../http/request-target.ts';
import type { Logger } from '../services/logger-service.ts';
import type { RestProfile } from './profiles.ts';
import { proxyRequest } from './proxy.ts';
import { RateLimiter, rateLimitHeaders } from './rate-limit.ts';
import type { HttpMethod, RestReply, RestRequest, RestRoute } from './route.ts';
import type { CompiledRoute, RestListenerPlan } from './route-table.ts';

/** Runs a validated operation through the GraphQL pipeline (auth scopes, masking). */
export type OperationExecutor = (args: { document: DocumentNode; variables: Record<string, unknown>; auth: AuthInfo; requestId: string }) => Promise<ExecutionResult>;

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
  bodyLimitBytes: number;
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
export function createRestHandler({ plan, execute, bodyLimitBytes, logger, rateLimiter = new RateLimiter() }: CreateRestHandlerOptions) {
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
    } else if (bodyMode !== 'stream') {
      try {
        raw = await readBody(req, bodyLimitBytes);
        const text = bodyMode === 'raw' ? '' : raw.toString('utf8').trim();
        if (text === '' && bodyMode === 'json') {
          send(res, profile, profile.invalidBody('empty body'));
          return true;
        }
        // `raw`: the route decodes the bytes itself, as its original server did.
        body = bodyMode === 'raw' ? raw : text === '' ? undefined : JSON.parse(text);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          send(res, profile, profile.error(413, `Request body is larger than ${bodyLimitBytes} bytes`, 'PAYLOAD_TOO_LARGE'));
        } else {
          send(res, profile, profile.invalidBody((error as Error).message));
        }
        return true;
      }
    }

    const request: RestRequest = { method: req.method as HttpMethod, params, query: url.searchParams, body, headers: toHeaders(req) };
    try {
      const variables = buildVariables(compiled.route, request);
      const result = await execute({ document: compiled.document, variables, auth, requestId: ctx.requestId });
      if (result.errors && result.errors.length > 0) {
        const first = result.errors[0];
        const given = first.extensions?.code as string | undefined;
        const code: ErrorCode = given !== undefined && given in httpStatusByCode ? (given as ErrorCode) : 'INTERNAL_SERVER_ERROR';
        const message = code === 'INTERNAL_SERVER_ERROR' ? 'Internal Server Error' : first.message;
        send(res, profile, errorReply(compiled, code, message, request));
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

function errorReply(compiled: CompiledRoute, code: ErrorCode, message: string, request: RestRequest): RestReply {
  const override = compiled.route.errors?.[code];
  if (typeof override === 'function') return override({ code, message }, request);
  const status = override?.status ?? compiled.profile.statusFor(code);
  return compiled.profile.error(status, override?.message ?? message, code);
}

function buildVariables(route: RestRoute, request: RestRequest): Record<string, unknown> {
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
