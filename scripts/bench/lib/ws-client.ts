import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export function wsClient(url: string): Client {
  return createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
}

export async function gql<T = any>(url: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** Polls until the job has ended. */
export async function waitForJob(url: string, id: string): Promise<string> {
  for (;;) {
    const { job } = await gql<{ job: { status: string } }>(url, 'query($id: ID!) { job(id: $id) { status } }', { id });
    if (!['queued', 'running'].includes(job.status)) return job.status;
    await new Promise((r) => setTimeout(r, 10));
  }
}
