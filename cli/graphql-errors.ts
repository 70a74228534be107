import { CliError } from './cli-error.ts';

/** A GraphQL error as the daemon sends it: a message and a code in `extensions`. */
export interface WireGraphQLError {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { code?: string; scope?: string; details?: unknown; [key: string]: unknown };
}

/**
 * One message for the errors of a response: the daemon's own text, with what to do for the
 * codes a person can act on (no key, a refused key, a missing scope).
 */
export function describeGraphQLErrors(errors: readonly WireGraphQLError[], hadKey: boolean): CliError {
  const first = errors[0];
  const code = first?.extensions?.code;
  if (code === 'UNAUTHENTICATED') {
    return new CliError(hadKey ? `the daemon refused the API key (${first.message}); check --api-key, BACKPLANE_API_KEY or --api-key-file` : `the daemon needs an API key: pass --api-key, set BACKPLANE_API_KEY or use --api-key-file (${first.message})`);
  }
  if (code === 'FORBIDDEN') {
    // The scope is named in extensions when the daemon sends it, else in its message.
    const scope = typeof first.extensions?.scope === 'string' ? first.extensions.scope : /'([a-z]+)' scope/.exec(first.message)?.[1];
    return new CliError(scope ? `the API key lacks the '${scope}' scope this command needs (${first.message})` : `not allowed: ${first.message}`);
  }
  const lines = errors.slice(0, 5).map((e) => (e.path && e.path.length > 0 && !e.message.includes(String(e.path[0])) ? `${e.path.join('.')}: ${e.message}` : e.message));
  if (errors.length > 5) lines.push(`… and ${errors.length - 5} more errors`);
  return new CliError(lines.join('\n'));
}
