import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * Headers that prove a request is not a browser's "simple" cross-site request: a page on
 * another origin can only send them after a CORS preflight, which `server.cors` decides. Any
 * value counts. `Authorization` counts only as a Bearer token: browsers add Basic, Digest or
 * Negotiate credentials by themselves, never a Bearer one.
 */
export const CSRF_HEADERS = ['x-graphql-yoga-csrf', 'apollo-require-preflight', 'x-apollo-operation-name', 'x-api-key'] as const;

// What an HTML form or a no-cors fetch can send without a preflight.
const simpleContentTypes = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * CSRF prevention for GraphQL over HTTP, the rule of yoga's `useCSRFPrevention` and Apollo's
 * `csrfPrevention`: a GET, or a POST whose content type a form could send, must carry one of
 * {@link CSRF_HEADERS}. Otherwise any web page could make a browser on the daemon's host run
 * queries (an `<img src>` GET) or open endless subscriptions there, since loopback without
 * API keys grants every scope. JSON POSTs are preflighted already and pass unchanged; the
 * GraphiQL page (answered before parsing) is not affected.
 */
export function useCsrfPrevention(): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method !== 'GET' && !isSimpleContentType(request.headers.get('content-type'))) return;
      if (CSRF_HEADERS.some((name) => request.headers.has(name))) return;
      if (/^bearer\s/i.test(request.headers.get('authorization') ?? '')) return;
      throw createGraphQLError(`This request needs a header a browser cannot send cross-site without asking first: one of ${CSRF_HEADERS.join(', ')}, or Authorization: Bearer <key> (CSRF prevention)`, {
        extensions: { code: 'CSRF_HEADER_REQUIRED', http: { status: 403 } },
      });
    },
  };
}

function isSimpleContentType(header: string | null): boolean {
  // No content type at all is as simple as it gets.
  const type = (header ?? '').split(';')[0].trim().toLowerCase();
  return type === '' || simpleContentTypes.includes(type);
}
