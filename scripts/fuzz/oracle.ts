import type { FuzzCase } from './fuzz-case.ts';
import type { RawResponse } from './raw-http.ts';
import type { WsCase, WsResult } from './ws-cases.ts';

/**
 * What the daemon may answer with a 5xx, from docs/rest.md and docs/errors.md:
 *
 * - `INTERNAL_SERVER_ERROR` (500: the generic `Internal Server Error` / `Unexpected error.`
 *   reply of an unexpected failure) is never legitimate, on any profile or on `/graphql`.
 * - On llamactl, mlserve, training-manager and tinker, the coded backend errors are:
 *   `BACKEND_ERROR` 502, `UNAVAILABLE` 503 (a degraded plugin), `TIMEOUT` 504, in the profile's
 *   own error body. Any 500 is a failure.
 * - On ilab-ui, the Go server answered every backend failure with a 500 in `http.Error` format:
 *   `UNAVAILABLE`, `TIMEOUT` and `BACKEND_ERROR` become 500 (docs/rest.md), and the routes
 *   document their own 500 texts (docs/ilab.md, docs/vllm-podman.md, docs/gpus.md). Such a 500 is
 *   legitimate only as text/plain with a specific message (JSON `{"error": …}` on `/qna-eval`),
 *   never the generic one, and only when the daemon logged no unexpected error for it (checked
 *   separately, from the log). Any other 5xx status is a failure there.
 * - `/graphql` answers coded errors inside a 200/400 body; any 5xx, and any error whose
 *   `extensions.code` is `INTERNAL_SERVER_ERROR`, is a failure. Requests malformed at the HTTP
 *   layer (`http` family) may only get 501 for a transfer coding other than chunked (RFC 9112),
 *   or a closed connection when the framing breaks after the head; no other 5xx.
 */
export interface Verdict {
  failure?: string;
  /** Worth a look, not a failure. */
  warning?: string;
  /** A documented legacy 500, counted apart so it can be audited. */
  legacy500?: string;
}

const genericMessages = /^(Internal Server Error|Unexpected error\.|internal server error|Failed to read log file)\s*$/;

export function judge(c: FuzzCase, response: RawResponse): Verdict {
  if (response.outcome === 'timeout') return { failure: 'hang: no complete answer within 5 s' };
  // A request whose framing breaks after its head was dispatched (a bad chunk size, say) gets
  // the connection closed, as Go's net/http does; any other request must get an answer.
  if (response.outcome === 'no-response' && c.profile === 'http') return {};
  // A request head over Node's 16 KiB limit is refused with 431 and the connection closed,
  // possibly before the client has written it all (EPIPE); Go does the same.
  if (response.outcome === 'no-response' && headBytes(c) > 16 * 1024) return {};
  // Node hands CONNECT to a 'connect' listener, which backplane does not have: it closes the connection.
  if (response.outcome === 'no-response' && c.request.method === 'CONNECT') return { warning: 'CONNECT requests get the connection closed without an answer (Go answers 405)' };
  if (response.outcome === 'no-response') return { failure: `the connection ended without an answer${response.error ? ` (${response.error})` : ''}` };
  // RFC 9112 §6.1: a transfer coding the server does not implement is a 501 (Node and Go alike).
  if (response.status === 501 && c.profile === 'http' && c.request.headers.some(([n, v]) => n.toLowerCase() === 'transfer-encoding' && String(v).trim().toLowerCase() !== 'chunked')) return {};
  const text = response.body.toString('utf8');
  const type = response.headers['content-type'] ?? '';
  if (c.profile === 'graphql' || type.includes('json') || type.includes('event-stream') || type.includes('multipart')) {
    if (/"code"\s*:\s*"INTERNAL_SERVER_ERROR"/.test(text) || text.includes('Unexpected error.')) return { failure: `INTERNAL_SERVER_ERROR in the answer (HTTP ${response.status})` };
  }
  if (response.status < 500) return {};
  if (c.profile === 'graphql') return { failure: `HTTP ${response.status} on ${c.family}` };
  const message = messageOf(text, type);
  if (genericMessages.test(message)) return { failure: `HTTP ${response.status}: the generic unexpected-error reply (${JSON.stringify(message.trim())})` };
  // A reshaped request (`/x#frag`, absolute-form, HTTP/1.0, …) may still reach an ilab-ui route,
  // which answers as that route does; only the ilab-ui format makes such a 500 documented.
  const ilabUiShaped = type === 'text/plain; charset=utf-8' && response.headers['x-content-type-options'] === 'nosniff';
  if ((c.profile === 'http' || c.route === undefined) && !(c.profile === 'ilab-ui' || (c.profile === 'http' && ilabUiShaped))) return { failure: `HTTP ${response.status} on ${c.family}` };
  if (c.profile === 'ilab-ui' || c.profile === 'http') {
    if (response.status !== 500) return { failure: `HTTP ${response.status} on ilab-ui, which answers backend failures with 500 only` };
    const goText = type === 'text/plain; charset=utf-8' && response.headers['x-content-type-options'] === 'nosniff' && text.endsWith('\n');
    const qnaJson = c.route === 'POST /qna-eval' && type.startsWith('application/json') && /^\{"error":/.test(text);
    if (!goText && !qnaJson) return { failure: `HTTP 500 on ilab-ui not in Go's http.Error format (content-type ${type || 'none'})` };
    return { legacy500: message.trim().replace(/\d+/g, 'N').slice(0, 120) };
  }
  if (![502, 503, 504].includes(response.status)) return { failure: `HTTP ${response.status} on ${c.profile}: only 502/503/504 are documented` };
  return {};
}

function headBytes(c: FuzzCase): number {
  return c.request.target.length + c.request.headers.reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0);
}

function messageOf(text: string, type: string): string {
  if (!type.includes('json')) return text;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const value = body.details ?? body.message ?? body.detail ?? body.error;
    return typeof value === 'string' ? value : text;
  } catch {
    return text;
  }
}

/**
 * graphql-ws: a refused upgrade may be 4xx only; an internal-error close (1011) or an
 * `INTERNAL_SERVER_ERROR` in any message is a failure; so is a connection that neither closes nor
 * stays usable within 5 s.
 */
export function judgeWs(c: WsCase, result: WsResult): Verdict & { warning?: string } {
  if (result.outcome === 'timeout') return { failure: 'hang: the upgrade got no answer within 5 s' };
  if (result.outcome === 'refused' && result.status !== undefined && result.status >= 500) return { failure: `upgrade answered HTTP ${result.status}` };
  if (result.closeCode === 1011) return { failure: `closed with 1011 (internal error): ${result.closeReason}` };
  const internal = result.messages.find((m) => m.includes('INTERNAL_SERVER_ERROR') || m.includes('Unexpected error.'));
  if (internal) return { failure: `INTERNAL_SERVER_ERROR in a message: ${internal.slice(0, 300)}` };
  if (c.kind === 'oversize' && result.closeCode !== 1009 && result.outcome === 'ok') {
    return { warning: `a ${c.largest}-byte message was not refused (close code ${result.closeCode ?? 'none'}); docs/security.md promises server.bodyLimitBytes for graphql-ws too` };
  }
  return {};
}

/** Log lines that mean an unexpected error reached a handler (a masked 500 on the wire). */
export const unexpectedLogMessages = /^(REST route failed|request failed|unexpected error in GraphQL operation|uncaught exception|unhandled rejection)/i;
