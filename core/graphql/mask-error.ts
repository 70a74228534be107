import { GraphQLError } from 'graphql';
import { isBackplaneError } from '../errors.ts';
import type { Logger } from '../services/logger-service.ts';

/**
 * Expected errors reach the client with `extensions.code`; everything else becomes
 * "Unexpected error." and is logged with its cause. Expected means branded (`isBackplaneError`),
 * so a plugin's own copy of the contract's errors counts too.
 */
export function createMaskError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    const graphqlError = error instanceof GraphQLError ? error : undefined;
    const original = graphqlError?.originalError ?? error;
    const location = { nodes: graphqlError?.nodes, path: graphqlError?.path };
    if (isBackplaneError(original)) {
      return new GraphQLError(original.message, {
        ...location,
        extensions: { code: original.code, ...(original.details ? { details: original.details } : {}) },
      });
    }
    if (original instanceof GraphQLError) {
      // graphql-js's own errors (variable coercion, validation) and GraphQLErrors thrown on purpose
      // are the caller's to fix.
      const code = original.extensions?.code ?? 'BAD_USER_INPUT';
      // The outer message names the variable or field ("…at \"input.size\"; Int cannot …").
      return new GraphQLError(graphqlError?.message ?? original.message, { ...location, extensions: { ...original.extensions, code } });
    }
    logger.error('unexpected error in GraphQL operation', { error: original, path: graphqlError?.path?.join('.') });
    return new GraphQLError(message, { ...location, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}
