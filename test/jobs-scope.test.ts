import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { definePlugin, type JobService } from '../core/plugin-api.ts';
import { fixtureBin } from './helpers/fixtures.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

/** The code of the coded error a promise rejects with. */
const codeOf = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: { code?: string }) => error.code);

let owner: JobService;
let intruder: JobService;
let bp: TestDaemon;

beforeAll(async () => {
  const ownerPlugin = definePlugin({ id: 'job-owner', version: '1.0.0', init: ({ jobs }) => void (owner = jobs) });
  const intruderPlugin = definePlugin({ id: 'job-intruder', version: '1.0.0', init: ({ jobs }) => void (intruder = jobs) });
  bp = await startTestDaemon({ plugins: [ownerPlugin, intruderPlugin] });
});
afterAll(() => bp?.stop());

test("a plugin's job service acts only on its own jobs: another plugin's ids are NOT_FOUND", async () => {
  const job = await owner.start({ idPrefix: 't', kind: 'sleep', command: fixtureBin('job-sleep'), args: ['30'] });
  const group = await owner.createGroup({ idPrefix: 'p', kind: 'pipeline', command: 'pipeline', args: [] });

  expect(await intruder.get(job.id)).toBeUndefined();
  expect(await intruder.list()).toEqual([]);
  await expect(codeOf(intruder.cancel(job.id))).resolves.toBe('NOT_FOUND');
  await expect(codeOf(intruder.wait(job.id))).resolves.toBe('NOT_FOUND');
  await expect(codeOf(intruder.appendLog(group.id, 'intruded\n'))).resolves.toBe('NOT_FOUND');
  await expect(codeOf(intruder.settle(group.id, { status: 'failed', reason: 'intruded' }))).resolves.toBe('NOT_FOUND');

  // Nothing the intruder tried had an effect; the owner still reaches both jobs.
  expect((await owner.get(job.id))?.status).not.toBe('cancelled');
  await owner.appendLog(group.id, 'step one\n');
  expect(await readFile(group.logPath, 'utf8')).toBe('step one\n');
  expect(await owner.settle(group.id, { status: 'succeeded' })).toMatchObject({ status: 'succeeded' });
  expect(await owner.cancel(job.id)).toMatchObject({ status: 'cancelled' });
});

test('core keeps its daemon-wide powers: cancelJob over GraphQL reaches any plugin’s job', async () => {
  const job = await owner.start({ idPrefix: 't', kind: 'sleep', command: fixtureBin('job-sleep'), args: ['30'] });
  const cancelled = await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { status plugin } }', { id: job.id });
  expect(cancelled.data.cancelJob).toEqual({ status: 'cancelled', plugin: 'job-owner' });
  expect((await owner.wait(job.id)).status).toBe('cancelled');
});
