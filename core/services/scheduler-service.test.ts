import { expect, test } from 'vitest';
import { createLogger } from './logger-service.ts';
import { createScheduler } from './scheduler-service.ts';

const logger = createLogger({ level: 'silent' });
const noDb = () => {
  throw new Error('no database in this test');
};

test('runs never overlap; trigger waits for the run in progress', async () => {
  const scheduler = createScheduler(noDb as never).forPlugin('t', logger);
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const task = scheduler.schedule({
    id: 'slow',
    everyMs: 10_000,
    run: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 50));
      running--;
      runs++;
    },
  });
  await Promise.all([task.trigger(), task.trigger(), task.trigger()]);
  expect(maxRunning).toBe(1);
  expect(runs).toBe(1);
  expect(task.lastRun?.ok).toBe(true);
  scheduler.stopAll();
});

test('a run that exceeds its timeout is aborted and recorded as failed', async () => {
  const scheduler = createScheduler(noDb as never).forPlugin('t', logger);
  let aborted = false;
  const task = scheduler.schedule({
    id: 'hang',
    everyMs: 10_000,
    timeoutMs: 50,
    run: ({ signal }) =>
      new Promise<void>((resolve) =>
        signal.addEventListener('abort', () => {
          aborted = true;
          resolve();
        }),
      ),
  });
  await task.trigger();
  expect(aborted).toBe(true);
  expect(task.lastRun?.ok).toBe(false);
  scheduler.stopAll();
});

test('bad schedules are refused at once', () => {
  const scheduler = createScheduler(noDb as never).forPlugin('t', logger);
  expect(() => scheduler.schedule({ id: 'a', cron: 'not a cron', run: () => undefined })).toThrow(/invalid cron expression/);
  expect(() => scheduler.schedule({ id: 'b', run: () => undefined })).toThrow(/exactly one of cron, everyMs/);
  scheduler.schedule({ id: 'c', cron: '*/20 * * * *', run: () => undefined });
  expect(() => scheduler.schedule({ id: 'c', everyMs: 5, run: () => undefined })).toThrow(/already exists/);
  scheduler.stopAll();
});
