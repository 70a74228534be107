import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { JobService } from './services/jobs.ts';

/**
 * Reading job logs: a job's `logPath` (from {@link JobService.get}) is a plain file the daemon
 * appends to and compacts under `jobs.maxLogBytes`. These helpers read its end and follow it
 * as it grows, the way core's `Job.log` and `jobLog` do.
 *
 * @module
 */

const block = 64 * 1024;
// Followers read bigger chunks: fewer, larger events when a job writes fast.
const followBlock = 512 * 1024;

/**
 * The last `lines` lines of a file before byte `end` (default: its size), reading backwards in
 * blocks: the cost grows with the lines asked for, not with the file. A final line without a
 * newline counts as a line.
 */
export async function readTail(path: string, lines: number, end?: number): Promise<{ text: string; end: number }> {
  const handle = await open(path, 'r');
  try {
    const size = end ?? (await handle.stat()).size;
    if (lines <= 0 || size === 0) return { text: '', end: size };
    const chunks: Buffer[] = [];
    let position = size;
    let newlines = 0;
    let start = 0;
    // A trailing newline ends the last line; it does not start another.
    let skipTrailing = true;
    outer: while (position > 0) {
      const length = Math.min(block, position);
      position -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, position);
      chunks.unshift(buffer);
      for (let i = length - 1; i >= 0; i--) {
        if (buffer[i] !== 0x0a) {
          skipTrailing = false;
          continue;
        }
        if (skipTrailing) {
          skipTrailing = false;
          continue;
        }
        newlines++;
        if (newlines === lines) {
          start = position + i + 1;
          break outer;
        }
      }
    }
    const all = Buffer.concat(chunks);
    return { text: all.subarray(start - position).toString('utf8'), end: size };
  } finally {
    await handle.close();
  }
}

/** Splits text into lines, dropping the newline (and a `\r` before it). */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

/** How {@link followLines} follows a file. */
export interface FollowOptions {
  /** Byte offset to start from. */
  from: number;
  /** Resolves true once the writer is done: the follower then drains the file and ends. */
  isFinished(): Promise<boolean> | boolean;
  signal?: AbortSignal;
  /** Re-check interval when no file event arrives. @default 500 */
  pollMs?: number;
}

/**
 * Follows a growing log file, yielding batches of complete lines as they are written (one batch
 * per read of up to 512 KiB, so a fast writer costs one event per read, not one per line). Copes with the file being
 * replaced by the supervisor's size-cap compaction.
 */
export async function* followLines(path: string, { from, isFinished, signal, pollMs = 500 }: FollowOptions): AsyncGenerator<string[]> {
  let offset = from;
  let inode = (await stat(path)).ino;
  let handle = await open(path, 'r');
  let carry = '';
  let decoder = new StringDecoder('utf8');
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path, { persistent: false }, poke);
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // fall back to polling
  }
  signal?.addEventListener('abort', poke, { once: true });
  const buffer = Buffer.alloc(followBlock);
  try {
    while (!signal?.aborted) {
      const { bytesRead } = await handle.read(buffer, 0, followBlock, offset);
      if (bytesRead > 0) {
        offset += bytesRead;
        const text = carry + decoder.write(buffer.subarray(0, bytesRead));
        const cut = text.lastIndexOf('\n');
        if (cut === -1) {
          carry = text;
          continue;
        }
        carry = text.slice(cut + 1);
        yield splitLines(text.slice(0, cut + 1));
        continue;
      }
      const current = await stat(path).catch(() => undefined);
      if (current && (current.ino !== inode || current.size < offset)) {
        // Compacted under the size cap: continue with the new file, from its end.
        await handle.close();
        handle = await open(path, 'r');
        inode = current.ino;
        offset = current.size;
        carry = '';
        decoder = new StringDecoder('utf8');
        yield ['[backplane] the log was compacted (jobs.maxLogBytes) while streaming; some output is not shown'];
        continue;
      }
      if (await isFinished()) {
        // One more read: the writer may have appended between our read and its exit.
        const { bytesRead: last } = await handle.read(buffer, 0, followBlock, offset);
        if (last > 0) continue;
        if (carry !== '') yield [carry];
        return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(poke, pollMs).unref();
      });
    }
  } finally {
    watcher?.close();
    await handle.close();
  }
}

