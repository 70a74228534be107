import type { Plugin } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import type { GraphQLContext } from './context.ts';
import { hasScope, requiredScope } from './required-scope.ts';

/**
 * Envelop plugin: refuses an operation whose root fields need a scope the caller's API key does
 * not have. It runs for HTTP, SSE, WebSocket and REST alike, since all of them execute here.
 */
export function useScopes(): Plugin<GraphQLContext> {
  const check = (args: { schema: import('graphql').GraphQLSchema; document: import('graphql').DocumentNode; operationName?: string | null; contextValue: GraphQLContext }) => {
    const wanted = requiredScope(args.schema, args.document, args.operationName);
    if (hasScope(args.contextValue.auth.scopes, wanted)) return undefined;
    return new GraphQLError(`Forbidden: this operation needs the '${wanted}' scope`, { extensions: { code: 'FORBIDDEN' } });
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = check(args as never);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = check(args as never);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
