import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Authenticator } from '../http/auth.ts';
import type { Logger } from '../services/logger-service.ts';
import type { AuthInfo, GraphQLContext } from './context.ts';
import type { ServerContext } from './yoga.ts';

export interface GraphQLWsOptions {
  yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  authenticator: Authenticator;
  /** `server.bodyLimitBytes`: a larger message closes the socket with 1009 before it is buffered whole. */
  maxPayloadBytes: number;
  logger: Logger;
}

/**
 * The graphql-ws server that `attachGraphQLWs` (ws.ts, which says what it serves) loads on the
 * first upgrade request. It takes upgrades through `wss.handleUpgrade`; one for another path
 * than `/graphql` is refused with 400, as ws does when it listens on the server itself.
 */
export function createGraphQLWsServer({ yoga, authenticator, maxPayloadBytes, logger }: GraphQLWsOptions) {
  const wss = new WebSocketServer({ noServer: true, path: '/graphql', maxPayload: maxPayloadBytes });
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
        // A socket opened with an access token ends when the token does (4401: graphql-ws's Unauthorized).
        const expiresAt = authenticator.expiresAt(auth);
        if (expiresAt !== undefined) {
          const { socket } = ctx.extra;
          const timer = setTimeout(() => socket.close(4401, 'Unauthorized: access token expired'), Math.min(Math.max(0, expiresAt - Date.now()), 2 ** 31 - 1));
          socket.once('close', () => clearTimeout(timer));
        }
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
    wss,
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
