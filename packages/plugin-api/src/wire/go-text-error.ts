import type { RestReply } from '../rest.ts';

/**
 * A reply as Go's `http.Error` writes it: `text/plain; charset=utf-8`, `nosniff`, and the message
 * followed by a newline. For legacy routes that answer with their own status inside `reply`.
 */
export function goTextError(status: number, message: string): RestReply {
  return { status, text: `${message}\n`, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' } };
}
