import { appendFile, open, rename, stat, writeFile } from 'node:fs/promises';

export { followLines, readTail, splitLines, type FollowOptions } from '../../packages/plugin-api/src/log-file.ts';

/**
 * Appends to a log the daemon writes itself (group jobs), under the same cap the supervisor
 * applies to process output: past `maxBytes`, the newest half is kept behind a line saying how
 * much was dropped.
 */
export async function appendCapped(path: string, text: string, maxBytes: number): Promise<void> {
  const size = (await stat(path).catch(() => undefined))?.size ?? 0;
  if (size + Buffer.byteLength(text) <= maxBytes) {
    await appendFile(path, text);
    return;
  }
  const keep = Math.floor(maxBytes / 2);
  const handle = await open(path, 'r');
  const tail = Buffer.alloc(Math.min(keep, size));
  try {
    await handle.read(tail, 0, tail.length, size - tail.length);
  } finally {
    await handle.close();
  }
  const cut = tail.indexOf(10);
  const kept = cut === -1 ? tail : tail.subarray(cut + 1);
  const marker = `[backplane] ${size - kept.length} bytes of older output were dropped (jobs.maxLogBytes = ${maxBytes})\n`;
  await writeFile(`${path}.compact`, Buffer.concat([Buffer.from(marker), kept, Buffer.from(text)]));
  await rename(`${path}.compact`, path);
}
