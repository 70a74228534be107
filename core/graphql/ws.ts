import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { createGraphQLWsServer, GraphQLWsOptions } from './ws-server.ts';

/**
 * graphql-ws on the same `/graphql` path (upgrades for other paths go to `otherUpgrade` first). Operations run through yoga's enveloped pipeline, so
 * scopes, masking and validation match HTTP. The API key comes from the upgrade request's
 * headers or from `connection_init` (`{ "authorization": "Bearer …" }` or `{ "apiKey": "…" }`).
 * A message larger than `maxPayloadBytes` (`server.bodyLimitBytes`, as for HTTP bodies) closes
 * the socket with 1009 (Message Too Big) before it is buffered whole.
 *
 * graphql-ws and ws are imported on the first upgrade request, not at start: a daemon that is
 * never asked for a WebSocket does not load them.
 */
export function attachGraphQLWs({ server, otherUpgrade, ...options }: GraphQLWsOptions & { server: Server; otherUpgrade?: (request: IncomingMessage, socket: Duplex, head: Buffer) => boolean }) {
  let loading: Promise<ReturnType<typeof createGraphQLWsServer>> | undefined;
  let closed = false;

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Another path may belong to a plugin's WebSocket route (core/rest/rest-websocket.ts).
    if (!(request.url ?? '').startsWith('/graphql') && otherUpgrade?.(request, socket, head)) return;
    // Node leaves an upgraded socket without an error listener; ws adds its own in handleUpgrade.
    const onError = () => socket.destroy();
    socket.on('error', onError);
    loading ??= import('./ws-server.ts').then(({ createGraphQLWsServer }) => createGraphQLWsServer(options));
    loading.then(
      ({ wss }) => {
        socket.off('error', onError);
        if (closed) return void socket.destroy();
        wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
      },
      (error: unknown) => {
        loading = undefined;
        options.logger.error('loading graphql-ws failed', { error });
        socket.destroy();
      },
    );
  };
  server.on('upgrade', onUpgrade);

  return {
    /** Ends every socket (preClose) so the HTTP server can close. */
    async close(): Promise<void> {
      closed = true;
      server.off('upgrade', onUpgrade);
      const ws = await loading?.catch(() => undefined);
      await ws?.close();
    },
  };
}
