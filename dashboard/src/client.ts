import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';

/** GraphQL is always at the daemon's `/graphql`, whatever path the page is served under. */
const httpUrl = new URL('/graphql', location.href).href;
const wsUrl = httpUrl.replace(/^http/, 'ws');

/**
 * One urql client per key: queries and mutations over HTTP with `Authorization`, subscriptions
 * over graphql-ws with the key in `connection_init` (core's ws server reads `authorization`).
 */
export function createDashboardClient(key: string | undefined): { client: Client; dispose(): void } {
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  const ws = createWsClient({
    url: wsUrl,
    connectionParams: () => (key ? { authorization: `Bearer ${key}` } : {}),
    lazy: true,
    retryAttempts: Number.POSITIVE_INFINITY,
    // Back off up to 10 s: the daemon may be restarting.
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** retries))),
    shouldRetry: () => true,
  });
  const client = new Client({
    url: httpUrl,
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({ headers }),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
  return { client, dispose: () => void ws.dispose() };
}

/** A raw GraphQL request with the dashboard's key, for plugin pages (`context.graphql`). */
export async function rawGraphql(key: string | undefined, query: string, variables?: Record<string, unknown>): Promise<{ data?: unknown; errors?: unknown[] }> {
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: unknown; errors?: unknown[] };
}
