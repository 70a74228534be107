/** Structured fields attached to a log line. Values are JSON-serialised. */
export type LogFields = Record<string, unknown>;

/** A structured logger; every line is one JSON object on stdout. */
export interface Logger {
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines all carry `bindings` (e.g. `{ plugin: 'ilab' }`). */
  child(bindings: LogFields): Logger;
}
