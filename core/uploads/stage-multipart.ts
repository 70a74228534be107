import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { InputError } from '../errors.ts';
import { BodyTooLargeError } from '../http/read-body.ts';
import type { UploadedFile } from '../../packages/plugin-api/src/services/uploads.ts';

export interface StagedBody {
  fields: Record<string, string>;
  files: UploadedFile[];
  bytes: number;
}

/** Limits on the parts themselves; the byte limit is the caller's. */
const partLimits = { files: 10_000, fields: 1_000, fieldSize: 1024 * 1024, parts: 11_000 };

/**
 * Streams a `multipart/form-data` request body into `dir` (created; file `n` of the body becomes
 * `dir/n`), never holding a file in memory. More than `maxBytes` of files (by Content-Length up
 * front, or while streaming) rejects with {@link BodyTooLargeError}; a body that is not multipart
 * or is malformed rejects with an `InputError`. On any failure `dir` is removed and the rest of
 * the request is drained so the error reply still gets out.
 */
export async function stageMultipart(req: IncomingMessage, dir: string, maxBytes: number): Promise<StagedBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes + 1024 * 1024) {
    req.resume();
    throw new BodyTooLargeError(maxBytes);
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: partLimits, preservePath: true });
  } catch (error) {
    req.resume();
    throw new InputError(`expected a multipart/form-data body: ${(error as Error).message}`);
  }
  await mkdir(dir, { recursive: true });
  const fields: Record<string, string> = {};
  const files: UploadedFile[] = [];
  const writes: Promise<void>[] = [];
  let total = 0;
  let failure: Error | undefined;
  let abort!: (error: Error) => void;
  // A failure mid-stream stops feeding the parser, which then never closes: this ends the wait.
  const aborted = new Promise<never>((_, reject) => (abort = reject));
  aborted.catch(() => {});
  const fail = (error: Error) => {
    if (failure) return;
    failure = error;
    req.unpipe(parser);
    req.resume();
    abort(error);
  };

  const done = new Promise<void>((resolve, reject) => {
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(new InputError(`multipart field '${name}' is longer than ${partLimits.fieldSize} bytes`));
      else fields[name] = value;
    });
    parser.on('file', (field, stream, info) => {
      if (failure) {
        stream.resume();
        return;
      }
      const file: UploadedFile = { field, filename: info.filename ?? '', path: path.join(dir, String(files.length)), bytes: 0, mimeType: info.mimeType };
      files.push(file);
      const counter = new Transform({
        transform(chunk: Buffer, _enc, callback) {
          file.bytes += chunk.length;
          total += chunk.length;
          if (total > maxBytes) {
            const tooLarge = new BodyTooLargeError(maxBytes);
            fail(tooLarge);
            callback(tooLarge);
            return;
          }
          callback(null, chunk);
        },
      });
      writes.push(
        pipeline(stream, counter, createWriteStream(file.path)).catch((error: Error) => {
          stream.resume();
          fail(error);
        }),
      );
    });
    parser.on('partsLimit', () => fail(new InputError(`more than ${partLimits.parts} multipart parts`)));
    parser.on('filesLimit', () => fail(new InputError(`more than ${partLimits.files} files`)));
    parser.on('fieldsLimit', () => fail(new InputError(`more than ${partLimits.fields} fields`)));
    parser.on('error', (error: Error) => reject(new InputError(`malformed multipart body: ${error.message}`)));
    parser.on('close', () => resolve());
    req.on('aborted', () => reject(new InputError('the client aborted the upload')));
    req.on('error', reject);
  });
  done.catch(() => {});
  req.pipe(parser);
  try {
    await Promise.race([done, aborted]);
    await Promise.all(writes);
    if (failure) throw failure;
    return { fields, files, bytes: total };
  } catch (error) {
    await Promise.allSettled(writes);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
