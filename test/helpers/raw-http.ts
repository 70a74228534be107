import net from 'node:net';

/** A reply read off the wire, for tests of exact bytes. */
export interface RawReply {
  /** Everything the server sent, as latin1 text. */
  raw: string;
  statusLine: string;
  /** Header names lowercased; values as sent. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `request` on a fresh TCP connection and reads until the server closes it (send
 * `Connection: close` in HTTP/1.1 requests the server would otherwise keep alive).
 */
export function rawExchange(url: string, request: string | Buffer): Promise<RawReply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
    const chunks: Buffer[] = [];
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection; got: ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
    }, 10_000);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset after the reply still ends in 'close'
    socket.on('close', () => {
      clearTimeout(guard);
      resolve(parseReply(Buffer.concat(chunks).toString('latin1')));
    });
    socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request);
  });
}

function parseReply(raw: string): RawReply {
  const end = raw.indexOf('\r\n\r\n');
  const head = end === -1 ? raw : raw.slice(0, end);
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { raw, statusLine, headers, body: end === -1 ? '' : raw.slice(end + 4) };
}
