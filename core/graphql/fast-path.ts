import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, GraphQLError, parse, validate, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { BodyTooLargeError, readBody } from '../http/read-body.ts';
import type { GraphQLContext } from './context.ts';
import { createDocumentCache } from './document-cache.ts';
import { checkDocumentDepth, parseOptions, validationRules } from './parse-limits.ts';
import { withRequestErrorStatus } from './use-request-error-status.ts';
import type { ServerContext } from './yoga.ts';

const allowedKeys = new Set(['query', 'variables', 'operationName', 'extensions']);

type ResponseMediaType = 'application/json' | 'application/graphql-response+json';

/**
 * A fast path for the common request: a JSON POST of one query or mutation, answered as
 * `application/json` or `application/graphql-response+json` (GraphQL over HTTP), whichever the
 * `Accept` header picks by yoga's own rule, with yoga's status codes and body. It runs the same
 * enveloped pipeline as yoga (scopes, masking, context) with parse and validation cached per
 * query text, and skips yoga's Fetch-API request and response objects, which cost most of a
 * trivial query's time (see docs/performance.md). Anything else (GraphiQL, SSE, multipart,
 * subscriptions, invalid documents, unresolvable operations, unusual bodies) goes to yoga
 * itself, with the body already read.
 */
export function createGraphQLFastPath({ yoga, schema, bodyLimitBytes, cacheSize = 1000 }: { yoga: YogaServerInstance<ServerContext, GraphQLContext>; schema: GraphQLSchema; bodyLimitBytes: number; cacheSize?: number }) {
  const cache = createDocumentCache<DocumentNode | null>({ maxEntries: cacheSize });

  const lookup = (query: string): DocumentNode | null => {
    const hit = cache.get(query);
    if (hit !== undefined) return hit;
    let entry: DocumentNode | null = null;
    try {
      // Too deep: yoga's own parse refuses it with the error in its format.
      if (checkDocumentDepth(query)) throw new Error('too deep');
      const document = parse(query, parseOptions);
      // Invalid documents are cached as null and left to yoga, which reports them in its format.
      if (validate(schema, document, validationRules).length === 0) entry = document;
    } catch {
      entry = null;
    }
    cache.set(query, entry);
    return entry;
  };

  return async function handle(req: IncomingMessage, res: ServerResponse, server: ServerContext): Promise<boolean> {
    // Decided from headers alone, before the body is read.
    if (req.method !== 'POST') return false;
    if (!String(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return false;
    const mediaType = negotiate(req.headers.accept);
    if (!mediaType) return false;
    let body: Buffer;
    try {
      body = await readBody(req, bodyLimitBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      const payload = JSON.stringify({ errors: [{ message: `Request body is larger than ${bodyLimitBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
      res.writeHead(413, { 'content-type': `${mediaType}; charset=utf-8`, 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
      return true;
    }
    const params = parseParams(body);
    const document = params ? lookup(params.query) : null;
    const operation = document ? getOperationAST(document, params!.operationName) : null;
    if (!params || !document || !operation || operation.operation === 'subscription') {
      await forwardToYoga(yoga, req, res, body, server);
      return true;
    }
    const enveloped = yoga.getEnveloped(server as never);
    const executed = (await enveloped.execute({
      schema: enveloped.schema,
      document,
      variableValues: params.variables ?? undefined,
      operationName: params.operationName ?? undefined,
      contextValue: await enveloped.contextFactory(),
    })) as ExecutionResult;
    const result = withRequestErrorStatus(executed);
    const headers: Record<string, string | number> = { 'content-type': `${mediaType}; charset=utf-8` };
    const status = responseStatus(result, mediaType, headers);
    const payload = JSON.stringify(withoutInternals(result));
    headers['content-length'] = Buffer.byteLength(payload);
    res.writeHead(status, headers);
    res.end(payload);
    return true;
  };
}

/**
 * The media type yoga would answer a query's single result with, or undefined when it would
 * stream it (only `text/event-stream` or `multipart/mixed` acceptable) or refuse it (406). yoga
 * reads `Accept` without q-values, prefers its regular processor whenever one listed type
 * matches it, and lets the first such type win, `application/json` for a wildcard.
 */
function negotiate(accept: string | string[] | undefined): ResponseMediaType | undefined {
  const header = (Array.isArray(accept) ? accept.join(',') : accept ?? '').replace(/\s/g, '').toLowerCase() || '*/*';
  let chosen: ResponseMediaType | undefined;
  const entries = header.split(',');
  for (let i = entries.length - 1; i >= 0; i--) {
    const [type, ...params] = entries[i].split(';');
    const charset = params.find((p) => p.includes('charset='));
    if (charset !== undefined && charset !== 'charset=utf-8') continue;
    const [main, sub] = type.split('/');
    if (main !== '*' && main !== 'application') continue;
    if (sub === 'graphql-response+json') chosen = 'application/graphql-response+json';
    else if (sub === 'json' || sub === '*') chosen = 'application/json';
  }
  return chosen;
}

type HttpExtension = { status?: number; headers?: Record<string, string>; spec?: boolean };

/**
 * yoga's status rule (graphql-yoga `getResponseInitByRespectingErrors`): the highest
 * `extensions.http.status` of the errors (under `application/json`, statuses marked `spec` are
 * the GraphQL-over-HTTP ones and are skipped), else 500 for an unexpected error without data,
 * else 200. Error-supplied headers are merged into `headers`.
 */
function responseStatus(result: ExecutionResult, mediaType: ResponseMediaType, headers: Record<string, string | number>): number {
  const errors = result.errors ?? [];
  const json = mediaType === 'application/json' && errors.some((e) => e instanceof GraphQLError) && errors.some((e) => !e.extensions?.originalError || e.extensions.originalError instanceof GraphQLError);
  const top = result.extensions?.http as HttpExtension | undefined;
  if (top?.headers) Object.assign(headers, top.headers);
  let status = top?.status;
  if (errors.length === 0) return status ?? 200;
  let unexpected = false;
  for (const error of errors) {
    const http = error.extensions?.http as HttpExtension | undefined;
    if (http) {
      if (http.headers) Object.assign(headers, http.headers);
      if (json && http.spec) continue;
      if (http.status && (!status || http.status > status)) status = http.status;
    } else if (!isOriginalGraphQLError(error) || error.extensions?.unexpected) {
      unexpected = true;
    }
  }
  return status ?? (unexpected && !('data' in result) ? 500 : 200);
}

function isOriginalGraphQLError(error: unknown): boolean {
  if (!(error instanceof GraphQLError)) return false;
  return error.originalError == null || isOriginalGraphQLError(error.originalError);
}

/** Drops yoga's internal `http` and `unexpected` extensions, as yoga's own serialiser does. */
function withoutInternals(result: ExecutionResult): ExecutionResult {
  const internal = (extensions: Record<string, unknown> | undefined) => extensions !== undefined && ('http' in extensions || 'unexpected' in extensions);
  if (!result.errors?.some((e) => internal(e.extensions)) && !internal(result.extensions)) return result;
  const strip = <T extends Record<string, unknown> | undefined>(extensions: T) => {
    if (!extensions) return undefined;
    const { http: _http, unexpected: _unexpected, ...rest } = extensions;
    return Object.keys(rest).length > 0 ? rest : undefined;
  };
  return {
    ...result,
    errors: result.errors?.map((e) => {
      if (!internal(e.extensions)) return e;
      const { extensions, ...json } = e.toJSON();
      const kept = strip(extensions);
      return kept ? { ...json, extensions: kept } : json;
    }) as ExecutionResult['errors'],
    ...(result.extensions ? { extensions: strip(result.extensions) } : {}),
  };
}

function parseParams(body: Buffer): { query: string; variables?: Record<string, unknown> | null; operationName?: string | null } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const params = value as Record<string, unknown>;
  for (const key of Object.keys(params)) if (!allowedKeys.has(key)) return undefined;
  if (typeof params.query !== 'string') return undefined;
  if (params.variables != null && (typeof params.variables !== 'object' || Array.isArray(params.variables))) return undefined;
  if (params.operationName != null && typeof params.operationName !== 'string') return undefined;
  if (params.extensions != null && (typeof params.extensions !== 'object' || Array.isArray(params.extensions))) return undefined;
  return params as never;
}

/** Lets yoga answer a request whose body has already been read. */
export async function forwardToYoga(yoga: YogaServerInstance<ServerContext, GraphQLContext>, req: IncomingMessage, res: ServerResponse, body: Buffer, server: ServerContext): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'content-length') continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const response = await yoga.fetch(`http://backplane.invalid${req.url ?? '/graphql'}`, { method: 'POST', headers, body: new Uint8Array(body) }, server);
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    out[name] = value;
  });
  res.writeHead(response.status, out);
  res.end(Buffer.from(await response.arrayBuffer()));
}
