import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Logger } from '../services/logger-service.ts';
import type { AuthInfo, GraphQLContext } from './context.ts';
import type { RestExchange } from '../../packages/plugin-api/src/graphql.ts';
import { createGraphiQLAssets } from './graphiql-assets.ts';
import { createMaskError } from './mask-error.ts';
import { createDocumentCache } from './document-cache.ts';
import { useParseLimits } from './parse-limits.ts';
import { useCsrfPrevention } from './use-csrf-prevention.ts';
import { useSubscriptionAccept } from './use-subscription-accept.ts';
import { useSubscriptionCleanup } from './use-subscription-cleanup.ts';
import { useDetachedErrorStacks } from './use-detached-error-stacks.ts';
import { useErrorMessageCap } from './use-error-message-cap.ts';
import { useRequestErrorStatus } from './use-request-error-status.ts';
import { useScopes } from './use-scopes.ts';
import { useCompiledExecution } from './use-jit.ts';

/** What the HTTP layer passes along with each request. */
export interface ServerContext {
  auth: AuthInfo;
  requestId: string;
  /** A REST route's exchange (see RestExchange); absent on /graphql. */
  rest?: RestExchange;
}

export interface CreateGraphQLServerOptions {
  schema: GraphQLSchema;
  logger: Logger;
  graphiql: boolean;
  bodyLimitBytes: number;
  /** Builds the per-operation context from the caller's identity. */
  createContext(server: ServerContext): GraphQLContext;
}

/**
 * graphql-yoga on `/graphql`: GraphiQL in a browser (offline), SSE subscriptions, CSRF
 * prevention, GraphQL-over-HTTP status codes, masked errors, scopes.
 */
export function createGraphQLServer({ schema, logger, graphiql, bodyLimitBytes, createContext }: CreateGraphQLServerOptions): YogaServerInstance<ServerContext, GraphQLContext> {
  // GraphiQL's files come from the daemon, never a CDN (air-gapped hosts).
  const graphiqlAssets = graphiql ? createGraphiQLAssets() : undefined;
  return createYoga<ServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Subscriptions over SSE (a POST) carry the headers editor's API key; graphql-ws would not.
    graphiql: graphiql ? { title: 'backplane', subscriptionsProtocol: 'SSE' } : false,
    renderGraphiQL: graphiqlAssets?.render,
    maskedErrors: { maskError: createMaskError(logger) },
    maxRequestBodySize: bodyLimitBytes,
    // Bounded by the size of what is kept, not only the count (see document-cache.ts).
    parserAndValidationCache: { documentCache: createDocumentCache(), errorCache: createDocumentCache() },
    multipart: false,
    // CORS is handled once for every route by the HTTP layer.
    cors: false,
    logging: {
      debug: (...args) => logger.debug(String(args[0]), { args: args.slice(1) }),
      info: (...args) => logger.info(String(args[0]), { args: args.slice(1) }),
      warn: (...args) => logger.warn(String(args[0]), { args: args.slice(1) }),
      // yoga logs each error maskError replaced; String() of a GraphQLError quotes the document,
      // inline arguments (passwords, tokens) included. Unexpected ones are logged by maskError.
      error: (...args) =>
        args[0] instanceof GraphQLError ? logger.debug('GraphQL error', { message: args[0].message, path: args[0].path?.join('.') }) : logger.error(String(args[0]), { args: args.slice(1) }),
    },
    context: (initial) => createContext({ auth: initial.auth, requestId: initial.requestId, rest: initial.rest }),
    plugins: [...(graphiqlAssets ? [graphiqlAssets.plugin()] : []), useCsrfPrevention(), useSubscriptionAccept(), useSubscriptionCleanup(), useRequestErrorStatus(), useParseLimits(), useDetachedErrorStacks(), useErrorMessageCap(), useScopes(), useCompiledExecution({ logger })],
  });
}
