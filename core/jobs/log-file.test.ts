import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { afterAll, expect, test } from 'vitest';
import { appendCapped, readTail, splitLines } from './log-file.ts';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function logFile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bp-log-'));
  dirs.push(dir);
  const file = path.join(dir, 'x.log');
  await writeFile(file, text);
  return file;
}

test('readTail returns the last lines, with or without a final newline', async () => {
  const file = await logFile('a\nb\nc\n');
  expect((await readTail(file, 2)).text).toBe('b\nc\n');
  expect((await readTail(file, 10)).text).toBe('a\nb\nc\n');
  expect((await readTail(file, 0)).text).toBe('');
  expect((await readTail(await logFile('a\nb\nc'), 1)).text).toBe('c');
  expect((await readTail(await logFile(''), 5)).text).toBe('');
});

test('readTail crosses 64 KiB block boundaries', async () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`);
  const file = await logFile(`${lines.join('\n')}\n`);
  const { text } = await readTail(file, 5000);
  expect(splitLines(text)).toEqual(lines.slice(-5000));
});

test('appendCapped keeps the newest output under the cap and says what was dropped', async () => {
  const file = await logFile('');
  for (let i = 0; i < 200; i++) await appendCapped(file, `entry ${i}\n`, 512);
  const text = await readFile(file, 'utf8');
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(512);
  expect(text).toMatch(/^\[backplane\] \d+ bytes of older output were dropped \(jobs\.maxLogBytes = 512\)\n/);
  expect(text.endsWith('entry 199\n')).toBe(true);
});
