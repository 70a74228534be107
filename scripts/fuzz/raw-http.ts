import net from 'node:net';

/** One HTTP/1.x request as bytes on the wire, so malformed ones can be sent too. */
export interface RawRequest {
  method: string;
  /** The request target exactly as sent (may hold raw non-UTF-8 bytes). */
  target: string | Buffer;
  headers: [name: string, value: string | Buffer][];
  body?: Buffer;
  /** Send the body with `Transfer-Encoding: chunked` instead of `Content-Length`. */
  chunked?: boolean;
  /** Leave out the automatic `Content-Length` (to declare a wrong one in `headers`). */
  noContentLength?: boolean;
  httpVersion?: '1.0' | '1.1';
}

export interface RawResponse {
  /** `ok`: complete; `stream`: an event stream, read briefly then closed; `timeout`: no complete answer in time; `no-response`: the connection ended first. */
  outcome: 'ok' | 'stream' | 'timeout' | 'no-response';
  status: number;
  headers: Record<string, string>;
  /** The body (at most `keepBytes`). */
  body: Buffer;
  ms: number;
  error?: string;
}

const crlf = Buffer.from('\r\n');

export function encodeRequest(request: RawRequest, host: string): Buffer {
  const parts: Buffer[] = [Buffer.from(`${request.method} `, 'latin1'), Buffer.isBuffer(request.target) ? request.target : Buffer.from(request.target, 'utf8'), Buffer.from(` HTTP/${request.httpVersion ?? '1.1'}\r\n`)];
  const names = new Set(request.headers.map(([n]) => n.toLowerCase()));
  const headers: [string, string | Buffer][] = [];
  if (!names.has('host')) headers.push(['Host', host]);
  headers.push(...request.headers);
  if (!names.has('connection')) headers.push(['Connection', 'close']);
  const body = request.body ?? Buffer.alloc(0);
  if (request.chunked) headers.push(['Transfer-Encoding', 'chunked']);
  else if (!request.noContentLength && !names.has('content-length') && (body.length > 0 || request.method !== 'GET')) headers.push(['Content-Length', String(body.length)]);
  for (const [name, value] of headers) parts.push(Buffer.from(`${name}: `, 'latin1'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'), crlf);
  parts.push(crlf);
  if (request.chunked) {
    for (let i = 0; i < body.length; i += 16_384) {
      const chunk = body.subarray(i, i + 16_384);
      parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, crlf);
    }
    parts.push(Buffer.from('0\r\n\r\n'));
  } else {
    parts.push(body);
  }
  return Buffer.concat(parts);
}

/**
 * Sends one request on a fresh loopback connection and reads the answer. A complete answer
 * (or, for `text/event-stream`, its headers) must arrive within `timeoutMs`.
 */
export function sendRaw(port: number, request: RawRequest, { timeoutMs = 5000, keepBytes = 65_536, streamReadMs = 500 } = {}): Promise<RawResponse> {
  const started = performance.now();
  const wire = encodeRequest(request, `127.0.0.1:${port}`);
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    let head: { status: number; headers: Record<string, string>; bodyStart: number } | undefined;
    let done = false;
    const finish = (outcome: RawResponse['outcome'], error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const body = head ? received.subarray(head.bodyStart) : Buffer.alloc(0);
      resolve({ outcome: head || outcome === 'timeout' ? outcome : 'no-response', status: head?.status ?? 0, headers: head?.headers ?? {}, body: decodeBody(body, head?.headers ?? {}).subarray(0, keepBytes), ms: performance.now() - started, error });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    // Not end(): Node's HTTP server aborts a request whose client half-closes before the answer.
    socket.on('connect', () => socket.write(wire));
    socket.on('error', (error: NodeJS.ErrnoException) => finish(head ? 'ok' : 'no-response', error.code ?? error.message));
    socket.on('close', () => finish(head ? 'ok' : 'no-response'));
    let total = 0;
    let last = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      total += chunk.length;
      last = Buffer.concat([last, chunk]).subarray(-5);
      if (received.length < keepBytes * 4) received = Buffer.concat([received, chunk]);
      while (!head) {
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = parseHead(received.subarray(0, end).toString('latin1'), end + 4);
        // 1xx (100 Continue): the real answer follows, maybe in the same chunk.
        if (head.status >= 100 && head.status < 200) {
          received = received.subarray(end + 4);
          total -= end + 4;
          head = undefined;
          continue;
        }
        if ((head.headers['content-type'] ?? '').includes('text/event-stream')) {
          setTimeout(() => finish('stream'), streamReadMs);
          return;
        }
      }
      if (complete(head, total, last, request.method)) finish('ok');
    });
  });
}

function parseHead(text: string, bodyStart: number) {
  const [statusLine, ...lines] = text.split('\r\n');
  const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, bodyStart };
}

/** Whether the bytes received so far (`total`, ending in `last`) hold the whole answer; else it ends when the server closes. */
function complete(head: { status: number; headers: Record<string, string>; bodyStart: number }, total: number, last: Buffer, method: string): boolean {
  if (method === 'HEAD' || head.status === 204 || head.status === 304) return true;
  const length = head.headers['content-length'];
  if (length !== undefined) return total - head.bodyStart >= Number(length);
  // The last chunk of a chunked body (no trailers are sent by these servers).
  if (/chunked/i.test(head.headers['transfer-encoding'] ?? '')) return last.equals(Buffer.from('0\r\n\r\n'));
  return false;
}

function decodeBody(body: Buffer, headers: Record<string, string>): Buffer {
  if (!/chunked/i.test(headers['transfer-encoding'] ?? '')) return body;
  const out: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}
