import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream';
import type { RestProxyTarget } from './route.ts';

/** Headers that describe one connection, never forwarded (RFC 9110 §7.6.1), plus those a `Connection` header names. */
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** The caller's credentials for backplane are not the backend's business. */
const credentials = ['authorization', 'x-api-key', 'cookie'];
/** Never forwarded: the credentials, and what describes this hop's request rather than the next. */
const notForwarded = new Set([...credentials, 'host', 'expect']);

/**
 * Upstream connections are kept alive and reused (a new TCP connection per request costs both
 * ends more than the exchange itself on a fast backend), in the proxy's own pool: few idle ones
 * per origin, reused most recent first, closed after 2 s idle (sooner when the server's
 * `Keep-Alive` hint says so), because servers such as llama-server's cpp-httplib hold a worker
 * thread for every open connection.
 */
export const agentOptions = { keepAlive: true, maxFreeSockets: 8, timeout: 2000, scheduling: 'lifo' } as const;
let agents: { http: HttpAgent; https: HttpsAgent } | undefined;
function agentFor(protocol: string): HttpAgent {
  agents ??= { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };
  return protocol === 'https:' ? agents.https : agents.http;
}

export interface ProxyRequestOptions {
  req: IncomingMessage;
  res: ServerResponse;
  target: RestProxyTarget;
  /** What goes upstream: the bytes already read, `stream` to pipe `req` as it arrives, or nothing. */
  body: Buffer | 'stream' | undefined;
  /** Answers in the caller's format when upstream fails before its status line (never after). */
  onError(failure: ProxyFailure): void;
  /**
   * Upstream statuses not passed through (a gateway's retryable 502/503): such an answer is
   * discarded and reported through `onError` with `upstreamStatus`, so the caller may try again.
   */
  discardStatuses?: readonly number[];
  /** Upstream connections from this pool instead of the proxy's own (a gateway keeps more idle ones). */
  agents?: { http: HttpAgent; https: HttpsAgent };
}

/** Why a proxied exchange produced no answer for the client. */
export interface ProxyFailure {
  status: 502 | 504;
  message: string;
  cause?: unknown;
  /** Whether the request was sent over a connected socket (so the backend may have acted on it). */
  reached?: boolean;
  /** The upstream's own status when it answered one of `discardStatuses`. */
  upstreamStatus?: number;
}

/**
 * Forwards one request and streams the answer back without buffering: each upstream chunk is
 * written as it arrives, with backpressure, so server-sent events reach the client one by one.
 * A client that disconnects destroys the upstream request; an upstream that breaks off midway
 * ends the client's response abruptly (a clean error is impossible once headers are sent).
 * Resolves when the exchange is over either way.
 */
export function proxyRequest({ req, res, target, body, onError, discardStatuses, agents: pool }: ProxyRequestOptions): Promise<void> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(target.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`);
    } catch (cause) {
      onError({ status: 502, message: 'Bad gateway: the route names no valid upstream URL', cause });
      return resolve();
    }
    // Aborting means destroying the upstream request (its socket leaves the pool with it).
    let aborted = false;
    const abort = () => {
      aborted = true;
      upstream.destroy();
    };
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve();
    };
    let reached = false;
    const fail = (status: 502 | 504, message: string, cause?: unknown, upstreamStatus?: number) => {
      if (res.headersSent) res.destroy();
      else onError({ status, message, cause, reached, ...(upstreamStatus === undefined ? {} : { upstreamStatus }) });
      abort();
      finish();
    };
    const timer = target.timeoutMs === undefined ? undefined : setTimeout(() => fail(504, `Gateway timeout: the upstream server did not answer within ${target.timeoutMs} ms`), target.timeoutMs);

    const upstream = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: req.method, headers: requestHeaders(req, target, body), agent: pool ? (url.protocol === 'https:' ? pool.https : pool.http) : agentFor(url.protocol) });
    upstream.once('socket', (socket) => {
      if (!socket.connecting) reached = true; // a kept-alive socket
      else socket.once('connect', () => (reached = true));
    });
    // Client gone before the exchange ended: stop the upstream work (a generation, a stream).
    res.once('close', () => {
      if (!res.writableFinished) abort();
      finish();
    });
    upstream.on('error', (error) => {
      if (!settled && !aborted) fail(502, `Bad gateway: the upstream server could not be reached (${(error as NodeJS.ErrnoException).code ?? error.message})`, error);
    });
    upstream.once('response', (answer) => {
      clearTimeout(timer);
      if (answer.statusCode !== undefined && discardStatuses?.includes(answer.statusCode)) {
        answer.resume();
        return fail(502, `Bad gateway: the upstream server answered ${answer.statusCode}`, undefined, answer.statusCode);
      }
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, responseHeaders(answer.headers));
      // A body of unknown length (SSE, chunked) may take a while: its headers go out now, so the
      // client sees its stream open at once. A sized one goes out with its first bytes.
      if (answer.headers['content-length'] === undefined) res.flushHeaders();
      // pipe(), not pipeline(): pipeline makes an AbortController per exchange and aborts it when
      // done (a DOMException with its stack), a cost on every proxied request. The client's
      // 'close' (above) ends the exchange either way; an answer broken off ends the client's.
      answer.once('error', () => res.destroy());
      answer.once('close', () => {
        if (!answer.readableEnded) res.destroy();
      });
      answer.pipe(res);
    });

    if (body === 'stream') {
      pipeline(req, upstream, (error) => {
        if (error && !settled) fail(502, 'Bad gateway: the request body could not be forwarded', error);
      });
    } else {
      upstream.end(body);
    }
  });
}

function requestHeaders(req: IncomingMessage, target: RestProxyTarget, body: Buffer | 'stream' | undefined): OutgoingHttpHeaders {
  const source = req.headers;
  const named = source.connection === undefined ? undefined : connectionTokens(source.connection);
  const sized = body !== 'stream';
  // One copy, dropping as it goes (hop-by-hop, credentials, Host, Expect, a length we set).
  const headers: OutgoingHttpHeaders = {};
  for (const name in source) {
    const value = source[name];
    if (value === undefined || hopByHop.has(name) || notForwarded.has(name) || named?.has(name) || (sized && name === 'content-length')) continue;
    headers[name] = value;
  }
  if (sized && body !== undefined) headers['content-length'] = String(body.length);
  const forwardedFor = source['x-forwarded-for'];
  const address = req.socket.remoteAddress ?? '';
  headers['x-forwarded-for'] = forwardedFor ? `${String(forwardedFor)}, ${address}` : address;
  headers['x-forwarded-proto'] = 'http';
  if (source.host) headers['x-forwarded-host'] = source.host;
  const extra = target.headers;
  if (extra) {
    for (const name in extra) {
      const value = extra[name];
      if (value === null) delete headers[name.toLowerCase()];
      else headers[name.toLowerCase()] = value;
    }
  }
  return headers;
}

function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = headers.connection === undefined ? undefined : connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || hopByHop.has(name) || named?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** The header names a `Connection` header lists (each one hop-by-hop too). */
function connectionTokens(connection: string | string[]): Set<string> {
  const named = new Set<string>();
  for (const token of String(connection).split(',')) {
    const name = token.trim().toLowerCase();
    if (name) named.add(name);
  }
  return named;
}
