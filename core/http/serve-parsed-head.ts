import { IncomingMessage, ServerResponse, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { GoRequestHead } from './go-request-head.ts';

/**
 * Serves a request that Go accepts and Node's parser refused (an unknown method, HTTP/1.2)
 * through the listener's own handler, on a request and response built from the parsed head;
 * the connection closes after the reply, since Node's parser cannot read another request on it.
 */
export function serveParsedHere(head: GoRequestHead, body: Buffer, socket: Socket, onRequest: (req: IncomingMessage, res: ServerResponse) => void): void {
  const req = new IncomingMessage(socket);
  req.method = head.method;
  req.url = head.target;
  req.httpVersionMajor = head.major;
  req.httpVersionMinor = head.minor;
  req.httpVersion = `${head.major}.${head.minor}`;
  req.rawHeaders = [...head.rawHeaders];
  req.headers = nodeHeaders(head.rawHeaders);
  req.push(body);
  req.push(null);
  req.complete = true;
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', () => socket.end());
  onRequest(req, res);
}

// Node's documented merging of repeated request headers (`message.headers`).
const firstWins = new Set(['age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent']);

function nodeHeaders(raw: readonly string[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    const seen = headers[name];
    if (name === 'set-cookie') headers[name] = [...((seen as string[] | undefined) ?? []), value];
    else if (seen === undefined) headers[name] = value;
    else if (!firstWins.has(name)) headers[name] = `${seen as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return headers;
}
