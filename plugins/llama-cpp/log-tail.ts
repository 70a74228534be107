import { open } from 'node:fs/promises';

/**
 * The last `lines` lines of a log file, read backwards from its end in 64 KiB blocks (the cost
 * grows with `lines`, not with the log). Empty when the file is missing.
 */
export async function tailLines(file: string, lines: number): Promise<string[]> {
  if (lines <= 0) return [];
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return [];
  try {
    const { size } = await handle.stat();
    const block = 64 * 1024;
    let position = size;
    let text = '';
    while (position > 0) {
      const length = Math.min(block, position);
      position -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, position);
      text = buffer.toString('utf8') + text;
      // One more newline than lines wanted: the first partial line is cut below.
      if (text.split('\n').length > lines + 1) break;
    }
    const all = text.replace(/\n$/, '').split('\n');
    return (position > 0 ? all.slice(1) : all).slice(-lines).filter((line, i, arr) => line !== '' || i < arr.length - 1);
  } finally {
    await handle.close();
  }
}
