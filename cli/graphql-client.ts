import { CliError } from './cli-error.ts';
import type { ConnectionOptions } from './connection-options.ts';
import { describeGraphQLErrors, type WireGraphQLError } from './graphql-errors.ts';
import { postJson } from './http-post.ts';

/** GraphQL over HTTP POST to the daemon's `/graphql`, with the connection's key and timeout. */
export interface GraphQLClient {
  readonly connection: ConnectionOptions;
  /** Returns `data`; any error becomes a {@link CliError} with the daemon's message. */
  request<TData>(query: string, variables?: Record<string, unknown>): Promise<TData>;
  /** The whole response (for `backplane graphql`, which prints errors beside data). */
  raw(query: string, variables?: Record<string, unknown>): Promise<{ data?: unknown; errors?: WireGraphQLError[] }>;
}

export function createGraphQLClient(connection: ConnectionOptions): GraphQLClient {
  const raw = async (query: string, variables?: Record<string, unknown>) => {
    const endpoint = `${connection.url}/graphql`;
    let response: { status: number; body: string };
    try {
      response = await postJson(endpoint, JSON.stringify({ query, variables }), { 'content-type': 'application/json', accept: 'application/json', ...(connection.apiKey ? { authorization: `Bearer ${connection.apiKey}` } : {}) }, connection.timeoutMs);
    } catch (error) {
      throw connectionError(error, connection);
    }
    let body: { data?: unknown; errors?: WireGraphQLError[] };
    try {
      body = JSON.parse(response.body) as typeof body;
    } catch {
      throw new CliError(`${endpoint} answered HTTP ${response.status} without GraphQL JSON: is --url a backplane daemon?`);
    }
    if (!body || (body.data === undefined && !Array.isArray(body.errors))) throw new CliError(`${endpoint} answered HTTP ${response.status} without GraphQL JSON: is --url a backplane daemon?`);
    return body;
  };
  return {
    connection,
    raw,
    async request<TData>(query: string, variables?: Record<string, unknown>) {
      const body = await raw(query, variables);
      if (body.errors && body.errors.length > 0) throw describeGraphQLErrors(body.errors, connection.apiKey !== undefined);
      return body.data as TData;
    },
  };
}

/** Daemon down, wrong host, or too slow: said in words, with what to try. */
export function connectionError(error: unknown, connection: ConnectionOptions): CliError {
  const err = error as Error & { cause?: { code?: string; message?: string } };
  // node:http reports the socket's error itself; fetch (used by nothing here now) wraps it in `cause`.
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return new CliError(`the daemon at ${connection.url} did not answer within ${connection.timeoutMs / 1000} s (--timeout)`);
  const code = err.cause?.code ?? (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return new CliError(`cannot connect to the daemon at ${connection.url} (connection refused): is it running? Start it with \`backplane serve\`, or point --url / BACKPLANE_URL at it`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new CliError(`cannot resolve the host of ${connection.url} (--url / BACKPLANE_URL)`);
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return new CliError(`the connection to the daemon at ${connection.url} was closed (did it stop?)`);
  return new CliError(`cannot reach the daemon at ${connection.url}: ${err.cause?.message ?? err.message}`);
}
