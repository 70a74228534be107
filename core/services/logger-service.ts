import type { LogLevel } from '../config/schema.ts';
import type { LogFields, Logger } from '../../packages/plugin-api/src/services/logger.ts';

export type { LogFields, Logger } from '../../packages/plugin-api/src/services/logger.ts';

const levelRank: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 100 };

/** Words whose keys' values never reach a log line: as the last word (`apiKey`, `refresh_token`) or, for the first two, anywhere (`passwordHash`). */
const secretAnywhere = new Set(['password', 'secret', 'passwd']);
const secretLast = new Set(['key', 'token', 'authorization', 'apikey', 'cookie', 'credentials']);

/** camelCase, snake_case and kebab-case all split into words: `accessToken`, `x-api-key`, `JWT_SECRET`. */
function isSecretKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.some((word) => secretAnywhere.has(word)) || secretLast.has(words.at(-1) ?? '');
}

export interface CreateLoggerOptions {
  level: LogLevel;
  write?: (line: string) => void;
  bindings?: LogFields;
}

export function createLogger({ level, write = (line) => process.stdout.write(line), bindings = {} }: CreateLoggerOptions): Logger {
  const threshold = levelRank[level];
  const emit = (lineLevel: Exclude<LogLevel, 'silent' | 'fatal'>, msg: string, fields?: LogFields) => {
    if (levelRank[lineLevel] < threshold) return;
    const record = { time: new Date().toISOString(), level: lineLevel, ...bindings, msg, ...redact(fields) };
    write(`${JSON.stringify(record, errorReplacer)}\n`);
  };
  return {
    trace: (msg, fields) => emit('trace', msg, fields),
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (more) => createLogger({ level, write, bindings: { ...bindings, ...redact(more) } }),
  };
}

function redact(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields;
  let out: LogFields | undefined;
  for (const key of Object.keys(fields)) {
    if (isSecretKey(key)) {
      out ??= { ...fields };
      out[key] = '[redacted]';
    }
  }
  return out ?? fields;
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    if ('code' in value) out.code = (value as { code: unknown }).code;
    if (value.stack) out.stack = value.stack.split('\n').slice(0, 8).join('\n');
    if (value.cause !== undefined) out.cause = value.cause;
    return out;
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}
