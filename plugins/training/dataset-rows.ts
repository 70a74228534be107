import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { InputError } from '../../core/plugin-api.ts';
import type { DatasetFileType } from './types.ts';

/** One data row and the line it starts on (1-based). */
export interface DatasetRow {
  row: Record<string, unknown>;
  line: number;
}

/** A problem in an uploaded file, naming the line. */
export class DatasetFormatError extends InputError {
  readonly line: number;
  constructor(line: number, problem: string) {
    super(`Invalid dataset file: line ${line}: ${problem}`, { details: { line } });
    this.line = line;
  }
}

/** The file type for a file name's extension, or undefined for an unsupported one. */
export function fileTypeOf(filename: string): DatasetFileType | undefined {
  const ext = /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase();
  return ext === 'csv' ? 'csv' : ext === 'json' ? 'json' : ext === 'jsonl' || ext === 'ndjson' ? 'jsonl' : undefined;
}

/**
 * The rows of a dataset file, streamed (never read whole): CSV with a header row, a JSON array
 * of objects, or JSON Lines of objects. Throws {@link DatasetFormatError} at the first problem.
 */
export function readRows(file: string, type: DatasetFileType): AsyncGenerator<DatasetRow> {
  return type === 'csv' ? csvRows(file) : type === 'jsonl' ? jsonlRows(file) : jsonArrayRows(file);
}

/** CSV records as rows keyed by the header (which comes first, as `{ __columns }`). */
async function* csvRows(file: string): AsyncGenerator<DatasetRow> {
  // `info: true` would cost a third of the parse; the parser's own line counter is read instead.
  const parser = createReadStream(file, { highWaterMark: 1 << 16 }).pipe(parse({ bom: true, skip_empty_lines: true }));
  let header: string[] | undefined;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!header) {
        // The parser has read the record's line break by now: its counter is one ahead.
        const line = Math.max(1, parser.info.lines - 1);
        header = record.map((c) => c.trim());
        const problem = headerProblem(header, line);
        if (problem) throw problem;
        yield { row: { __columns: header }, line };
        continue;
      }
      const row: Record<string, unknown> = {};
      for (let i = 0; i < header.length; i++) row[header[i]] = record[i];
      yield { row, line: Math.max(1, parser.info.lines - 1) };
    }
  } catch (error) {
    throw csvError(error, header);
  } finally {
    parser.destroy();
  }
}

async function* jsonlRows(file: string): AsyncGenerator<DatasetRow> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      const trimmed = line === 1 ? text.replace(/^\uFEFF/, '').trim() : text.trim();
      if (trimmed === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(trimmed);
      } catch (error) {
        throw new DatasetFormatError(line, `not valid JSON (${(error as Error).message})`);
      }
      if (!isPlainObject(value)) throw new DatasetFormatError(line, `expected a JSON object, got ${describe(value)}`);
      yield { row: value, line };
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

const OPEN_BRACE = 123, CLOSE_BRACE = 125, OPEN_BRACKET = 91, CLOSE_BRACKET = 93, QUOTE = 34, BACKSLASH = 92, COMMA = 44, NEWLINE = 10;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 0xfeff;
}

/**
 * A top-level JSON array of objects, split into its items as the bytes stream by (depth and
 * string state only); each item is then parsed on its own, so memory stays one item wide.
 */
async function* jsonArrayRows(file: string): AsyncGenerator<DatasetRow> {
  const input = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 });
  // before: no '[' yet; expect-item: after '[' or ','; item: inside an object; after-item: expect ',' or ']'; done: after ']'.
  let state: 'before' | 'expect-item' | 'first-item' | 'item' | 'after-item' | 'done' = 'before';
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: string[] = [];
  let itemLine = 0;
  let index = 0;
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      let start = state === 'item' ? 0 : -1;
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk.charCodeAt(i);
        if (state === 'item') {
          if (c === NEWLINE) line++;
          if (inString) {
            if (escaped) escaped = false;
            else if (c === BACKSLASH) escaped = true;
            else if (c === QUOTE) inString = false;
            continue;
          }
          if (c === QUOTE) inString = true;
          else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
          else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
            depth--;
            if (depth === 0) {
              parts.push(chunk.slice(start, i + 1));
              const text = parts.join('');
              parts = [];
              let value: unknown;
              try {
                value = JSON.parse(text);
              } catch (error) {
                throw new DatasetFormatError(itemLine, `item ${index + 1} is not valid JSON (${(error as Error).message})`);
              }
              index++;
              yield { row: value as Record<string, unknown>, line: itemLine };
              state = 'after-item';
            }
          }
          continue;
        }
        if (c === NEWLINE) line++;
        if (isSpace(c)) continue;
        if (state === 'before') {
          if (c !== OPEN_BRACKET) throw new DatasetFormatError(line, 'expected a JSON array of objects ([{…}, …])');
          state = 'first-item';
        } else if (state === 'expect-item' || state === 'first-item') {
          if (c === CLOSE_BRACKET && state === 'first-item') state = 'done';
          else if (c !== OPEN_BRACE) throw new DatasetFormatError(line, `item ${index + 1} is not an object`);
          else {
            state = 'item';
            depth = 1;
            start = i;
            itemLine = line;
          }
        } else if (state === 'after-item') {
          if (c === COMMA) state = 'expect-item';
          else if (c === CLOSE_BRACKET) state = 'done';
          else throw new DatasetFormatError(line, `expected ',' or ']' after item ${index}`);
        } else {
          throw new DatasetFormatError(line, 'unexpected content after the end of the array');
        }
      }
      if (state === 'item') parts.push(chunk.slice(start));
    }
    if ((state as string) === 'before') throw new DatasetFormatError(line, 'the file is empty');
    if ((state as string) !== 'done') throw new DatasetFormatError(line, 'the array is not closed (file ends early)');
  } finally {
    input.destroy();
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
}

export interface DatasetSummary {
  row_count: number;
  columns: string[];
}

/**
 * A CSV's header and record count, building no row objects and pushing nothing downstream: the
 * parser's `on_record` counts and drops each record, so a file of millions of short rows costs no
 * per-row stream or promise work (the upload path).
 */
async function inspectCsv(file: string): Promise<DatasetSummary> {
  let header: string[] | undefined;
  let headerError: DatasetFormatError | undefined;
  let count = 0;
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    on_record: (record: string[], context: { lines: number }) => {
      if (header === undefined) {
        header = record.map((c) => c.trim());
        headerError = headerProblem(header, context.lines);
        if (headerError) throw headerError;
      } else count++;
      return undefined;
    },
  });
  try {
    await pipeline(createReadStream(file, { highWaterMark: 1 << 16 }), parser, async function* (source) {
      for await (const _ of source) yield _;
    });
  } catch (error) {
    throw csvError(error, header);
  }
  if (headerError) throw headerError;
  if (header === undefined) throw new DatasetFormatError(1, 'the file is empty');
  if (count === 0) throw new DatasetFormatError(1, 'the file has no data rows');
  return { row_count: count, columns: header };
}

/** A header without names or with a name twice. */
function headerProblem(header: string[], line: number): DatasetFormatError | undefined {
  const blank = header.findIndex((c) => c === '');
  if (blank >= 0) return new DatasetFormatError(line, `column ${blank + 1} of the header has no name`);
  const dup = header.find((c, i) => header.indexOf(c) !== i);
  if (dup !== undefined) return new DatasetFormatError(line, `column '${dup}' appears twice in the header`);
  return undefined;
}

/** csv-parse's error as a DatasetFormatError naming its line. */
function csvError(error: unknown, header: string[] | undefined): Error {
  if (error instanceof DatasetFormatError) return error;
  const e = error as Error & { lines?: number; code?: string };
  if (e.lines === undefined && !e.code?.startsWith('CSV_')) return e;
  const reason = e.message.replace(/^[^:]*:\s*/, '').replace(/\s*(at|on) line \d+\.?$/, '');
  return new DatasetFormatError(e.lines ?? 0, e.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH' ? `expected ${header?.length} columns as in the header: ${reason}` : reason || e.message);
}

/** Row count and columns (the CSV header, else the first object's keys) of a file, or the first problem. */
export async function inspectDataset(file: string, type: DatasetFileType): Promise<DatasetSummary> {
  if (type === 'csv') return inspectCsv(file);
  let columns: string[] | undefined;
  let rows = 0;
  for await (const { row } of readRows(file, type)) {
    columns ??= Object.keys(row);
    rows++;
  }
  if (columns === undefined) throw new DatasetFormatError(1, 'the file is empty');
  if (rows === 0) throw new DatasetFormatError(1, 'the file has no data rows');
  return { row_count: rows, columns };
}

/** The text a trainer learns from, built as the real project did: `text`; `input`+`output`; Alpaca; else the values. */
export function rowText(row: Record<string, unknown>): string {
  const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
  if (row.text !== undefined && row.text !== null && str(row.text) !== '') return str(row.text);
  if (row.input !== undefined && row.output !== undefined) return `${str(row.input)}\n${str(row.output)}`;
  if (row.instruction !== undefined) {
    const input = str(row.input);
    return `### Instruction:\n${str(row.instruction)}\n\n${input ? `### Input:\n${input}\n\n` : ''}### Response:\n${str(row.response ?? row.output)}`;
  }
  return Object.values(row).map(str).join(' ');
}

/** The data rows of a dataset (skipping a CSV header). */
export async function* dataRows(file: string, type: DatasetFileType): AsyncGenerator<Record<string, unknown>> {
  let first = type === 'csv';
  for await (const { row } of readRows(file, type)) {
    if (first) {
      first = false;
      continue;
    }
    yield row;
  }
}
