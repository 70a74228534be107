import { expect, test } from 'vitest';
import { KeyedMutex } from '../core/plugin-api.ts';

test('runs of one key are serialised; other keys are not blocked', async () => {
  const mutex = new KeyedMutex();
  const events: string[] = [];
  let releaseFirst!: () => void;
  const first = mutex.run('a', async () => {
    events.push('a1 start');
    await new Promise<void>((resolve) => (releaseFirst = resolve));
    events.push('a1 end');
  });
  const second = mutex.run('a', async () => {
    events.push('a2');
  });
  await mutex.run('b', async () => {
    events.push('b');
  });
  releaseFirst();
  await Promise.all([first, second]);
  expect(events).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
});

test('a failed run releases the key', async () => {
  const mutex = new KeyedMutex();
  await expect(mutex.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  expect(await mutex.run('a', async () => 42)).toBe(42);
});
