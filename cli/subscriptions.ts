import { CliError } from './cli-error.ts';
import type { ConnectionOptions } from './connection-options.ts';
import { describeGraphQLErrors, type WireGraphQLError } from './graphql-errors.ts';
import { connectionError } from './graphql-client.ts';

/** One graphql-ws connection to the daemon; dispose it to close the socket. */
export interface SubscriptionConnection {
  /**
   * Subscribes; `next` gets each result's data. Resolves when the server completes it, rejects
   * with a {@link CliError} when the socket drops (`lost: true`) or the daemon refuses it.
   */
  subscribe<TData>(query: string, variables: Record<string, unknown>, next: (data: TData) => void): Promise<void>;
  dispose(): Promise<void>;
}

/** A dropped connection, which a follower may retry, as opposed to a refusal. */
export class ConnectionLostError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionLostError';
  }
}

/**
 * Opens a graphql-ws connection (ws and graphql-ws are loaded here, on the first
 * subscription, not at start-up). It does not retry by itself: the follower decides, so that it
 * can resume a log without repeating lines.
 */
export async function openSubscriptions(connection: ConnectionOptions): Promise<SubscriptionConnection> {
  const [{ createClient }, { default: WebSocket }] = await Promise.all([import('graphql-ws'), import('ws')]);
  const client = createClient({
    url: `${connection.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: connection.apiKey ? { authorization: `Bearer ${connection.apiKey}` } : undefined,
    retryAttempts: 0,
    // Pings find a half-open socket (a host gone away) that would otherwise wait forever.
    keepAlive: 5_000,
    connectionAckWaitTimeout: connection.timeoutMs,
  });
  return {
    subscribe<TData>(query: string, variables: Record<string, unknown>, next: (data: TData) => void) {
      return new Promise<void>((resolve, reject) => {
        client.subscribe<TData>(
          { query, variables },
          {
            next: (result) => {
              if (result.errors && result.errors.length > 0) reject(describeGraphQLErrors(result.errors as WireGraphQLError[], connection.apiKey !== undefined));
              else if (result.data) next(result.data as TData);
            },
            error: (error) => reject(subscriptionError(error, connection)),
            complete: () => resolve(),
          },
        );
      });
    },
    dispose: async () => {
      await client.dispose();
    },
  };
}

function subscriptionError(error: unknown, connection: ConnectionOptions): CliError {
  if (Array.isArray(error)) return describeGraphQLErrors(error as WireGraphQLError[], connection.apiKey !== undefined);
  const event = error as { code?: number; reason?: string; type?: string } | Error;
  if ('code' in event && typeof event.code === 'number') {
    if (event.code === 4403 || event.code === 4401) {
      return new CliError(connection.apiKey ? `the daemon refused the API key on its WebSocket (${event.reason || event.code}); check --api-key, BACKPLANE_API_KEY or --api-key-file` : `the daemon needs an API key: pass --api-key, set BACKPLANE_API_KEY or use --api-key-file`);
    }
    if (event.code >= 4400 && event.code < 4500) return new CliError(`the daemon closed the subscription: ${event.reason || event.code}`);
    return new ConnectionLostError(`lost the connection to the daemon at ${connection.url} (WebSocket closed${event.reason ? `: ${event.reason}` : `, code ${event.code}`})`);
  }
  if (error instanceof Error) {
    const mapped = connectionError(error, connection);
    return new ConnectionLostError(mapped.message);
  }
  // An `error` event of the socket (ECONNREFUSED while reconnecting, say).
  const inner = (error as { error?: Error; message?: string }).error;
  const mapped = inner ? connectionError(inner, connection) : undefined;
  return new ConnectionLostError(mapped?.message ?? `lost the connection to the daemon at ${connection.url}`);
}
