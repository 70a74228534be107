import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, parse, validate, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { BodyTooLargeError, readBody } from '../http/read-body.ts';
import type { GraphQLContext } from './context.ts';
import type { ServerContext } from './yoga.ts';

interface CachedDocument {
  document: DocumentNode;
  operation: 'query' | 'mutation' | 'subscription' | undefined;
}

const allowedKeys = new Set(['query', 'variables', 'operationName', 'extensions']);

/**
 * A fast path for the common request: a JSON POST of one query or mutation, answered as
 * `application/json`. It runs the same enveloped pipeline as yoga (scopes, masking, context)
 * with parse and validation cached per query text, and skips yoga's Fetch-API request and
 * response objects, which cost most of a trivial query's time (see docs/performance.md).
 * Anything else (GraphiQL, SSE, graphql-response+json, subscriptions, invalid documents,
 * unusual bodies) goes to yoga itself, with the body already read.
 */
export function createGraphQLFastPath({ yoga, schema, bodyLimitBytes, cacheSize = 1000 }: { yoga: YogaServerInstance<ServerContext, GraphQLContext>; schema: GraphQLSchema; bodyLimitBytes: number; cacheSize?: number }) {
  const cache = new Map<string, CachedDocument | null>();

  const lookup = (query: string): CachedDocument | null => {
    const hit = cache.get(query);
    if (hit !== undefined) return hit;
    let entry: CachedDocument | null = null;
    try {
      const document = parse(query);
      // Invalid documents are cached as null and left to yoga, which reports them in its format.
      if (validate(schema, document).length === 0) entry = { document, operation: getOperationAST(document)?.operation as CachedDocument['operation'] };
    } catch {
      entry = null;
    }
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
    cache.set(query, entry);
    return entry;
  };

  /** Whether the request is a candidate; decided from headers alone, before the body is read. */
  const eligible = (req: IncomingMessage) => {
    if (req.method !== 'POST') return false;
    if (!String(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return false;
    const accept = String(req.headers.accept ?? '').toLowerCase();
    return accept === '' || accept === '*/*' || (accept.includes('application/json') && !accept.includes('event-stream') && !accept.includes('graphql-response'));
  };

  return async function handle(req: IncomingMessage, res: ServerResponse, server: ServerContext): Promise<boolean> {
    if (!eligible(req)) return false;
    let body: Buffer;
    try {
      body = await readBody(req, bodyLimitBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      writeJson(res, 413, { errors: [{ message: `Request body is larger than ${bodyLimitBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
      return true;
    }
    const params = parseParams(body);
    const cached = params ? lookup(params.query) : null;
    if (!params || !cached || cached.operation === undefined || cached.operation === 'subscription') {
      await forwardToYoga(yoga, req, res, body, server);
      return true;
    }
    const enveloped = yoga.getEnveloped(server as never);
    const result = (await enveloped.execute({
      schema: enveloped.schema,
      document: cached.document,
      variableValues: params.variables ?? undefined,
      operationName: params.operationName ?? undefined,
      contextValue: await enveloped.contextFactory(),
    })) as ExecutionResult;
    writeJson(res, 200, result);
    return true;
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
  return params as never;
}

function writeJson(res: ServerResponse, status: number, value: unknown): void {
  const payload = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

/** Lets yoga answer a request whose body has already been read. */
async function forwardToYoga(yoga: YogaServerInstance<ServerContext, GraphQLContext>, req: IncomingMessage, res: ServerResponse, body: Buffer, server: ServerContext): Promise<void> {
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
