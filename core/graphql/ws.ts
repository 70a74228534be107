import type { Server } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Authenticator } from '../http/auth.ts';
import type { Logger } from '../services/logger-service.ts';
import type { AuthInfo, GraphQLContext } from './context.ts';
import type { ServerContext } from './yoga.ts';

/**
 * graphql-ws on the same `/graphql` path. Operations run through yoga's enveloped pipeline, so
 * scopes, masking and validation match HTTP. The API key comes from the upgrade request's
 * headers or from `connection_init` (`{ "authorization": "Bearer …" }` or `{ "apiKey": "…" }`).
 * A message larger than `maxPayloadBytes` (`server.bodyLimitBytes`, as for HTTP bodies) closes
 * the socket with 1009 (Message Too Big) before it is buffered whole.
 */
export function attachGraphQLWs({ server, yoga, authenticator, maxPayloadBytes, logger }: { server: Server; yoga: YogaServerInstance<ServerContext, GraphQLContext>; authenticator: Authenticator; maxPayloadBytes: number; logger: Logger }) {
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: maxPayloadBytes });
  const sockets = new Set<WebSocket>();
  wss.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let counter = 0;

  const disposable = useServer<Record<string, unknown> | undefined, { auth?: AuthInfo }>(
    {
      onConnect(ctx) {
        const fromHeaders = authenticator.authenticate(ctx.extra.request.headers);
        const params = ctx.connectionParams ?? {};
        const given = typeof params.authorization === 'string' ? params.authorization.replace(/^Bearer\s+/i, '') : typeof params.apiKey === 'string' ? params.apiKey : undefined;
        const auth = given !== undefined ? authenticator.authenticateKey(given) : fromHeaders;
        if (!auth) return false;
        ctx.extra.auth = auth;
        return true;
      },
      execute: (args: ExecutionArgs) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args: ExecutionArgs) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      async onSubscribe(ctx, _id, payload) {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          auth: ctx.extra.auth!,
          requestId: `ws-${++counter}`,
        } as never);
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error as import('graphql').GraphQLError];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        return {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        } as ExecutionArgs;
      },
    },
    wss,
  );
  // graphql-ws reports a socket's protocol errors (an oversize message among them) on stderr with
  // console.error. ws has already started closing such a socket with its code (1009, 1007, …),
  // so they go to the daemon's log instead. This listener runs after graphql-ws's own.
  wss.on('connection', (socket) => {
    for (const listener of socket.listeners('error')) socket.off('error', listener as (error: Error) => void);
    socket.on('error', (error) => {
      logger.debug('WebSocket protocol error', { error: error.message });
      if (socket.readyState === socket.OPEN) socket.close(1011, 'Internal server error');
    });
  });

  return {
    /** Ends every socket (preClose) so the HTTP server can close. */
    async close(): Promise<void> {
      for (const socket of sockets) socket.close(1001, 'Going away');
      await disposable.dispose();
      for (const socket of sockets) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}
