import type { GoRequestFacts } from './go-wire.ts';

/** A request head parsed by Go's rules, with its body when the packet holds all of it. */
export interface GoRequestHead extends GoRequestFacts {
  /** Undefined when the body's end is not in the packet (chunked, or still arriving). */
  body: Buffer | undefined;
}

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses a request head as Go's net/http does (`readRequest`, textproto): `METHOD SP target SP
 * HTTP/d.d`, where the method is any token and the version any single digits, then `Name: value`
 * lines ending in LF or CRLF. Node's parser knows a fixed list of methods and only HTTP/1.0 and
 * 1.1, so it refuses requests Go serves (`FOO /models`). Undefined when Go would refuse the head
 * too, or when the head is not complete in `packet`.
 */
export function parseGoRequestHead(packet: Buffer): GoRequestHead | undefined {
  const text = packet.toString('latin1');
  const end = /\r?\n\r?\n/.exec(text);
  if (!end) return undefined;
  const [line, ...fields] = text.slice(0, end.index).split(/\r?\n/);
  const request = /^([^ ]+) ([^ ]+) HTTP\/(\d)\.(\d)$/.exec(line);
  if (!request || !token.test(request[1])) return undefined;
  const rawHeaders: string[] = [];
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon <= 0) return undefined;
    const name = field.slice(0, colon);
    const value = field.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!token.test(name) || /[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return undefined;
    rawHeaders.push(name, value);
  }
  const lengths = new Set<string>();
  let chunked = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (name === 'content-length') lengths.add(rawHeaders[i + 1]);
    if (name === 'transfer-encoding') chunked = true;
  }
  if (lengths.size > 1 || [...lengths].some((l) => !/^\d{1,15}$/.test(l))) return undefined;
  const rest = packet.subarray(end.index + end[0].length);
  const length = lengths.size === 1 ? Number([...lengths][0]) : 0;
  const body = chunked || rest.length < length ? undefined : rest.subarray(0, length);
  return { method: request[1], target: request[2], major: Number(request[3]), minor: Number(request[4]), rawHeaders, body };
}
