import { GraphQLError, type ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

const statusByCode: Record<string, number> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, INTERNAL_SERVER_ERROR: 500 };

/**
 * GraphQL over HTTP: under `application/graphql-response+json` a response without `data` (a
 * request error: variables that do not coerce, an operation our scopes refuse) must not be a
 * 2xx, but yoga answers those 200 because the errors carry no HTTP status. This gives each such
 * error one (403 for FORBIDDEN, 401 for UNAUTHENTICATED, 500 for a masked INTERNAL_SERVER_ERROR,
 * else 400), marked `spec` so that
 * `application/json` keeps its 200. Results with `data`, and errors that already name a status
 * or were masked as unexpected, are returned as they are. The JSON fast path calls it too.
 */
export function withRequestErrorStatus(result: ExecutionResult): ExecutionResult {
  if ('data' in result || !result.errors?.some(needsStatus)) return result;
  return { ...result, errors: result.errors.map((error) => (needsStatus(error) ? withStatus(error) : error)) };
}

/** yoga's side of {@link withRequestErrorStatus}: applied after execution and masking. */
export function useRequestErrorStatus(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (isAsyncIterable(result)) return;
      setResult(Array.isArray(result) ? result.map(withRequestErrorStatus) : withRequestErrorStatus(result));
    },
  };
}

/** An expected GraphQL error (not masked as unexpected) that names no HTTP status. */
function needsStatus(error: GraphQLError): boolean {
  return error instanceof GraphQLError && error.extensions?.http === undefined && error.extensions?.unexpected === undefined;
}

function withStatus(error: GraphQLError): GraphQLError {
  const code = typeof error.extensions?.code === 'string' ? error.extensions.code : '';
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, http: { status: statusByCode[code] ?? 400, spec: true } },
  });
}
