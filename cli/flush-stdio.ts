import type { Writable } from 'node:stream';

/**
 * Resolves once everything written to stdout and stderr so far is out. On Linux a pipe is
 * written asynchronously: what a slow reader has not taken yet waits in Node's queue, and
 * `process.exit()` drops it (a `logs --follow | …` lost the end of a 20,000-line log that way).
 */
export function flushStdio(streams: readonly Writable[] = [process.stdout, process.stderr]): Promise<void> {
  return Promise.all(
    streams.map(
      (stream) =>
        new Promise<void>((resolve) => {
          if (stream.destroyed || stream.writableEnded || stream.writableLength === 0) return resolve();
          // Writes complete in order: the callback of an empty write runs after all before it.
          stream.write('', () => resolve());
        }),
    ),
  ).then(() => undefined);
}
