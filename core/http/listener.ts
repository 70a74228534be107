import { createServer, METHODS, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { parseGoRequestHead } from './go-request-head.ts';
import { answerAsHttp10, goRefusal, goRequestRefusal, requestFacts } from './go-wire.ts';
import { serveParsedHere } from './serve-parsed-head.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface ListenerOptions {
  /**
   * A profile served by Go's net/http is mounted here: answer at the connection level as Go's
   * server does (see go-wire.ts), so its legacy clients see the bytes they always saw.
   */
  goNetHttp: boolean;
}

/** The HTTP server of one listener. */
export function createListener(handler: Handler, { goNetHttp }: ListenerOptions): Server {
  if (!goNetHttp) return createServer((req, res) => void handler(req, res));

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const refusal = goRequestRefusal(requestFacts(req));
    if (refusal) {
      // A pipelined request waits for its socket until the replies before it are out.
      if (res.socket) refuse(res.socket as Socket, refusal);
      else res.once('socket', (socket: Socket) => refuse(socket, refusal));
      return;
    }
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) answerAsHttp10(res);
    if (req.method === 'OPTIONS' && req.url === '*') {
      // Go's globalOptionsHandler answers `OPTIONS *` before any router sees it.
      res.writeHead(200, { 'content-length': '0' }).end();
      return;
    }
    void handler(req, res);
  };
  // Go answers a missing Host itself (with its reason), so Node must let such requests through.
  const server = createServer({ requireHostHeader: false }, onRequest);
  // Go routes CONNECT like any method (`CONNECT /models` is a 405); Node hands it over as a tunnel.
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    if (!req.readableEnded) req.push(null);
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once('finish', () => socket.end());
    onRequest(req, res);
  });
  const answered = new WeakSet<Socket>();
  server.on('clientError', (error: ClientError, socket: Socket) => {
    // Node's parser stays failed and reports every later chunk of the same connection again;
    // a connection that is ending already carries its refusal.
    if (answered.has(socket) || socket.writableEnded) return;
    answered.add(socket);
    answerClientError(error, socket, onRequest);
  });
  return server;
}

type ClientError = NodeJS.ErrnoException & { rawPacket?: Buffer; bytesParsed?: number };

/** Answers what Node's parser refused as Go's server would: a refusal, or the request served. */
function answerClientError(error: ClientError, socket: Socket, onRequest: (req: IncomingMessage, res: ServerResponse) => void): void {
  if (socket.writableEnded) return;
  // Go sends nothing on read errors and timeouts.
  if (error.code === 'ECONNRESET' || error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || !socket.writable) {
    socket.destroy();
    return;
  }
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight && !inFlight.req.complete) {
    // The framing broke inside the body of the request being answered: Go's server, too, can
    // only hang up then.
    socket.destroy();
    return;
  }
  if (inFlight) {
    // A pipelined request before this one is still being answered: answer in order.
    inFlight.once('finish', () => setImmediate(() => answerClientError(error, socket, onRequest)));
    return;
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    refuse(socket, goRefusal(431));
    return;
  }
  const packet = error.rawPacket;
  const head = packet ? parseGoRequestHead(packet.subarray(headStart(packet, error.bytesParsed ?? 0))) : undefined;
  const refusal = head ? goRequestRefusal(head) : undefined;
  // Only the head Node failed on is served here: a method it does not know, or HTTP/1.2+.
  const nodeRefused = head && (error.code === 'HPE_INVALID_METHOD' ? !METHODS.includes(head.method) : error.code === 'HPE_INVALID_VERSION' && head.minor > 1);
  if (head && refusal) refuse(socket, refusal);
  else if (head?.body && nodeRefused) serveParsedHere(head, head.body, socket, onRequest);
  else refuse(socket, goRefusal(400));
}

/** Where the request head holding byte `at` begins: after the last head (or blank line) before it. */
function headStart(packet: Buffer, at: number): number {
  const before = packet.subarray(0, at).toString('latin1');
  const crlf = before.lastIndexOf('\r\n\r\n');
  const lf = before.lastIndexOf('\n\n');
  return Math.max(crlf === -1 ? 0 : crlf + 4, lf === -1 ? 0 : lf + 2);
}

/** Writes a refusal as Go does, then closes the connection. */
function refuse(socket: Socket, bytes: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(bytes, () => socket.destroy());
}
