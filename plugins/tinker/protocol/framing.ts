/**
 * NDJSON framing for bwp/1: one UTF-8 JSON object per `\n`-terminated line, with a bounded
 * line length so a broken or hostile peer cannot make the other end buffer without limit.
 *
 * @module
 */

/** The default line limit: 64 MiB of payload plus 1 MiB of envelope margin. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024 + 1024 * 1024;

/** Why a line could not be read. `oversize` and `garbage` are fatal: the reader closes. */
export class FramingError extends Error {
  /** `oversize` (a line over the limit) or `garbage` (not JSON, or JSON that is not an object). */
  readonly reason: 'oversize' | 'garbage';

  constructor(reason: 'oversize' | 'garbage', message: string) {
    super(message);
    this.name = 'FramingError';
    this.reason = reason;
  }
}

/**
 * Splits a byte stream into JSON values, one per line. Feed it chunks with {@link push}; it
 * calls `onMessage` per line and `onError` once on the first oversize or unparsable line, and
 * ignores everything after that. Blank lines (and a `\r` before `\n`) are tolerated.
 */
export class NdjsonDecoder {
  readonly #maxLineBytes: number;
  readonly #onMessage: (message: Record<string, unknown>) => void;
  readonly #onError: (error: FramingError) => void;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #failed = false;

  constructor(options: {
    maxLineBytes?: number;
    onMessage: (message: Record<string, unknown>) => void;
    onError: (error: FramingError) => void;
  }) {
    this.#maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.#onMessage = options.onMessage;
    this.#onError = options.onError;
  }

  /** Feeds bytes read from the socket. */
  push(chunk: Buffer): void {
    let rest = chunk;
    while (!this.#failed) {
      const nl = rest.indexOf(10);
      if (nl === -1) {
        if (this.#buffered + rest.length > this.#maxLineBytes) return this.#fail('oversize', `line exceeds ${this.#maxLineBytes} bytes`);
        if (rest.length > 0) {
          this.#chunks.push(rest);
          this.#buffered += rest.length;
        }
        return;
      }
      if (this.#buffered + nl > this.#maxLineBytes) return this.#fail('oversize', `line exceeds ${this.#maxLineBytes} bytes`);
      const head = rest.subarray(0, nl);
      const line = this.#chunks.length === 0 ? head : Buffer.concat([...this.#chunks, head]);
      this.#chunks = [];
      this.#buffered = 0;
      rest = rest.subarray(nl + 1);
      this.#line(line);
    }
  }

  #line(line: Buffer): void {
    const text = line.toString('utf8').trim();
    if (text === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return this.#fail('garbage', `line is not JSON (${(error as Error).message}): ${JSON.stringify(text.slice(0, 80))}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return this.#fail('garbage', `line is not a JSON object: ${JSON.stringify(text.slice(0, 80))}`);
    }
    this.#onMessage(value as Record<string, unknown>);
  }

  #fail(reason: 'oversize' | 'garbage', message: string): void {
    this.#failed = true;
    this.#chunks = [];
    this.#buffered = 0;
    this.#onError(new FramingError(reason, message));
  }
}

/**
 * Serialises one message as an NDJSON line. Throws a {@link FramingError} (`oversize`) when it
 * would exceed `maxLineBytes`, so the caller can answer with an error instead.
 */
export function encodeLine(message: unknown, maxLineBytes = DEFAULT_MAX_LINE_BYTES): string {
  const text = JSON.stringify(message);
  // Cheap check first: UTF-8 needs at most 3 bytes per UTF-16 unit.
  if (text.length * 3 > maxLineBytes && Buffer.byteLength(text) > maxLineBytes) {
    throw new FramingError('oversize', `message of ${Buffer.byteLength(text)} bytes exceeds the ${maxLineBytes}-byte line limit`);
  }
  return `${text}\n`;
}
