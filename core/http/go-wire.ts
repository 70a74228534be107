import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { goUnescapePath } from './go-path.ts';
import { parseRequestTarget } from './request-target.ts';

// Go's net/http (server.go, `conn.serve`) answers a request it refuses before any handler runs
// with these exact bytes, always as HTTP/1.1, and closes the connection.
const errorHeaders = '\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n';

/** The bytes Go's server writes for a request it refuses: `400 Bad Request`, optionally with its reason. */
export function goRefusal(status: 400 | 505, reason?: string): string;
export function goRefusal(status: 431 | 501): string;
export function goRefusal(status: 400 | 431 | 501 | 505, reason?: string): string {
  if (status === 501) return `HTTP/1.1 501 Not Implemented${errorHeaders}Unsupported transfer encoding`;
  const text = `${status} ${STATUS_CODES[status]}${reason ? `: ${reason}` : ''}`;
  return `HTTP/1.1 ${text}${errorHeaders}${text}`;
}

/** The request facts Go's server checks after parsing and before routing. */
export interface GoRequestFacts {
  major: number;
  minor: number;
  method: string;
  target: string;
  /** Raw header name/value pairs, as in `IncomingMessage.rawHeaders`. */
  rawHeaders: readonly string[];
}

/**
 * What Go's server would answer instead of running the handler, for a request Node's parser
 * accepted: a target that is not a path (or has a malformed escape), a transfer coding other
 * than `chunked`, a major version other than 1, an HTTP/1.1 request without `Host`. Undefined
 * when Go would serve it.
 */
export function goRequestRefusal({ major, minor, method, target, rawHeaders }: GoRequestFacts): string | undefined {
  const parsed = parseRequestTarget(target);
  if (!parsed || /[\x00-\x1f\x7f]/.test(target) || (parsed.path !== '*' && goUnescapePath(parsed.path) === undefined)) return goRefusal(400);
  const headerValues = (name: string) => {
    const out: string[] = [];
    for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === name) out.push(rawHeaders[i + 1]);
    return out;
  };
  const atLeast11 = major > 1 || (major === 1 && minor >= 1);
  const codings = headerValues('transfer-encoding');
  if (atLeast11 && codings.length > 0 && (codings.length > 1 || codings[0].trim().toLowerCase() !== 'chunked')) return goRefusal(501);
  if (major !== 1) return goRefusal(505, 'unsupported protocol version');
  if (atLeast11 && method !== 'CONNECT' && headerValues('host').length === 0) return goRefusal(400, 'missing required Host header');
  return undefined;
}

/** The facts of a request Node parsed. */
export function requestFacts(req: IncomingMessage): GoRequestFacts {
  return { major: req.httpVersionMajor, minor: req.httpVersionMinor, method: req.method ?? '', target: req.url ?? '', rawHeaders: req.rawHeaders };
}

/**
 * Answers an HTTP/1.0 request as Go does: `HTTP/1.0` status line (Node always writes 1.1), no
 * `Connection: close` (closing is 1.0's default) and no `Keep-Alive` timeout header. Node has no
 * API for the status line's version, so the stored header block is rewritten right after
 * `writeHead`, which every reply goes through (`end` without it calls `writeHead` too).
 */
export function answerAsHttp10(res: ServerResponse): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    const result = writeHead.apply(this, args);
    const stored = this as unknown as { _header: string | null };
    if (typeof stored._header === 'string') {
      stored._header = stored._header
        .replace(/^HTTP\/1\.1 /, 'HTTP/1.0 ')
        .replace(/\r\nConnection: close(?=\r\n)/i, '')
        .replace(/\r\nKeep-Alive: [^\r\n]*(?=\r\n)/i, '');
    }
    return result;
  } as ServerResponse['writeHead'];
}
