import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse, type GraphQLSchema } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { GraphQLContext } from '../graphql/context.ts';
import { forwardToYoga } from '../graphql/fast-path.ts';
import { checkDocumentDepth, parseOptions } from '../graphql/parse-limits.ts';
import { requiredScope } from '../graphql/required-scope.ts';
import type { ServerContext } from '../graphql/yoga.ts';
import { readBody } from '../http/read-body.ts';
import { RateLimiter, rateLimitHeaders, type RateLimitBucket } from '../rest/rate-limit.ts';

/**
 * Serves a `/graphql` request that carries no valid key or token when, and only when, it is a
 * JSON POST of an operation made of public fields (`login`, `refreshToken`), at most
 * `rateLimit` of them per client address (`auth.loginRateLimit`; 429 beyond). Anything else
 * resolves to false for a 401, having learnt nothing from the schema: no validation errors or
 * field suggestions reach a caller who has not authenticated.
 */
export function createPublicOperationHandler({ yoga, schema, bodyLimitBytes, rateLimit, rateLimiter = new RateLimiter() }: { yoga: YogaServerInstance<ServerContext, GraphQLContext>; schema: GraphQLSchema; bodyLimitBytes: number; rateLimit: RateLimitBucket; rateLimiter?: RateLimiter }) {
  return async function servePublic(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<boolean> {
    if (req.method !== 'POST' || !String(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return false;
    let body: Buffer;
    try {
      body = await readBody(req, bodyLimitBytes);
    } catch {
      return false;
    }
    if (!isPublicOperation(schema, body)) return false;
    // Each login costs a scrypt: per-address buckets bound guessing and CPU alike.
    const decision = rateLimiter.take(`graphql-login\0${req.socket.remoteAddress ?? ''}`, rateLimit);
    for (const [name, value] of Object.entries(rateLimitHeaders(decision))) res.setHeader(name, value);
    if (!decision.allowed) {
      const payload = JSON.stringify({ errors: [{ message: `Too many requests: at most ${rateLimit.limit} logins per ${rateLimit.windowSeconds} s from one address; retry in ${decision.retryAfter} s`, extensions: { code: 'RATE_LIMITED' } }] });
      res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
      return true;
    }
    await forwardToYoga(yoga, req, res, body, { auth: { principal: 'anonymous', scopes: new Set() }, requestId });
    return true;
  };
}

/** Whether a GraphQL-over-HTTP JSON body asks only for public root fields. */
export function isPublicOperation(schema: GraphQLSchema, body: Buffer): boolean {
  try {
    const params: unknown = JSON.parse(body.toString('utf8'));
    if (typeof params !== 'object' || params === null || Array.isArray(params)) return false;
    const { query, operationName } = params as { query?: unknown; operationName?: unknown };
    if (typeof query !== 'string' || (operationName != null && typeof operationName !== 'string')) return false;
    if (checkDocumentDepth(query)) return false;
    return requiredScope(schema, parse(query, parseOptions), operationName as string | undefined) === 'public';
  } catch {
    return false;
  }
}
