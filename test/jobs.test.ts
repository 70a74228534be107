import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { groupAlive } from '../core/jobs/proc-stat.ts';
import { jobsTestPlugin } from './helpers/jobs-test-plugin.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const jobFields = 'id status exitCode signal failureReason pid progress progressMessage logPath startedAt finishedAt';

async function startJob(bp: TestDaemon, fixture: string, args: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const result = await bp.gql(
    'mutation($fixture: String!, $args: [String!]!, $kind: String, $command: String, $parentId: String) { testStartJob(fixture: $fixture, args: $args, kind: $kind, command: $command, parentId: $parentId) }',
    { fixture, args, ...extra },
  );
  expect(result.errors).toBeUndefined();
  return result.data.testStartJob;
}

async function job(bp: TestDaemon, id: string) {
  const result = await bp.gql(`query($id: ID!) { job(id: $id) { ${jobFields} } }`, { id });
  return result.data.job;
}

async function settled(bp: TestDaemon, id: string) {
  return waitFor(async () => {
    const j = await job(bp, id);
    return ['succeeded', 'failed', 'cancelled'].includes(j.status) ? j : undefined;
  });
}

function groupGone(pid: number): boolean {
  return !groupAlive(pid);
}

describe('job runner', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [jobsTestPlugin], config: { jobs: { maxConcurrent: 2, killGraceSeconds: 1, maxLogBytes: 64 * 1024 } } });
  });
  afterAll(() => bp.stop());

  test('success: exit 0, output of stdout and stderr in arrival order', async () => {
    const id = await startJob(bp, 'job-print', ['6', '0']);
    expect(id).toMatch(/^t-\d{19}$/);
    const done = await settled(bp, id);
    expect(done).toMatchObject({ status: 'succeeded', exitCode: 0, failureReason: null });
    expect(await readFile(done.logPath, 'utf8')).toBe(['line 1', 'line 2 (stderr)', 'line 3', 'line 4 (stderr)', 'line 5', 'line 6 (stderr)', ''].join('\n'));
    expect(done.startedAt).not.toBeNull();
    expect(done.finishedAt).not.toBeNull();
  });

  test('failure: a non-zero exit code is recorded with its reason', async () => {
    const done = await settled(bp, await startJob(bp, 'job-print', ['1', '7']));
    expect(done).toMatchObject({ status: 'failed', exitCode: 7, failureReason: 'exited with code 7' });
  });

  test('a job killed by a signal is failed with that signal', async () => {
    const id = await startJob(bp, 'sh', ['-c', 'echo bye; kill -9 $$'], { command: '/bin/sh' });
    const done = await settled(bp, id);
    expect(done).toMatchObject({ status: 'failed', signal: 'SIGKILL', failureReason: 'killed by signal SIGKILL' });
  });

  test('a command that cannot be found fails with that reason in its status and log', async () => {
    const id = await startJob(bp, 'missing', [], { command: '/no/such/binary' });
    const done = await settled(bp, id);
    expect(done.status).toBe('failed');
    expect(done.failureReason).toBe('command not found: /no/such/binary');
    expect(await readFile(done.logPath, 'utf8')).toContain('command not found: /no/such/binary');
  });

  test('cancel ends a process group whose members ignore SIGTERM (SIGKILL after the grace period)', async () => {
    const id = await startJob(bp, 'job-stubborn', []);
    const running = await waitFor(async () => {
      const j = await job(bp, id);
      return j.status === 'running' && (await readFile(j.logPath, 'utf8')).includes('child') ? j : undefined;
    });
    const cancelled = await bp.gql(`mutation($id: ID!) { cancelJob(id: $id) { ${jobFields} } }`, { id });
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data.cancelJob.status).toBe('cancelled');
    expect(groupGone(running.pid)).toBe(true);

    const again = await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id });
    expect(again.errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  test('cancel of an unknown job is NOT_FOUND', async () => {
    const result = await bp.gql('mutation { cancelJob(id: "t-1") { id } }');
    expect(result.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  test('jobs beyond jobs.maxConcurrent wait in a FIFO queue', async () => {
    const first = await startJob(bp, 'job-sleep', ['30']);
    const second = await startJob(bp, 'job-sleep', ['30']);
    const third = await startJob(bp, 'job-print', ['1']);
    await waitFor(async () => ((await job(bp, second)).status === 'running' ? true : undefined));
    expect((await job(bp, third)).status).toBe('queued');
    await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id: first });
    expect((await settled(bp, third)).status).toBe('succeeded');
    await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id: second });
    expect((await job(bp, first)).status).toBe('cancelled');
  });

  test('long-running service jobs do not take jobs.maxConcurrent slots', async () => {
    const service = (await bp.gql('mutation { testStartJob(fixture: "job-sleep", args: ["30"], longRunning: true) }')).data.testStartJob;
    const other = (await bp.gql('mutation { testStartJob(fixture: "job-sleep", args: ["30"], longRunning: true) }')).data.testStartJob;
    // A job is `queued` until its supervisor reports that the command started: wait for that,
    // so the batch job below starts while both services hold whatever they hold.
    for (const id of [service, other]) await waitFor(async () => ((await job(bp, id)).status === 'running' ? true : undefined));
    const batch = await startJob(bp, 'job-print', ['1']);
    expect((await settled(bp, batch)).status).toBe('succeeded');
    for (const id of [service, other]) {
      expect((await job(bp, id)).status).toBe('running');
      await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id });
    }
  });

  test('cancelling a queued job never starts it', async () => {
    const blockers = [await startJob(bp, 'job-sleep', ['30']), await startJob(bp, 'job-sleep', ['30'])];
    const queued = await startJob(bp, 'job-print', ['1']);
    const result = await bp.gql(`mutation($id: ID!) { cancelJob(id: $id) { ${jobFields} } }`, { id: queued });
    expect(result.data.cancelJob).toMatchObject({ status: 'cancelled', pid: null, startedAt: null });
    for (const id of blockers) await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id });
  });

  test('the log cap keeps the newest output and says what was dropped', async () => {
    const id = await startJob(bp, 'job-lines', ['20000']);
    const done = await settled(bp, id);
    expect(done.status).toBe('succeeded');
    const size = (await stat(done.logPath)).size;
    expect(size).toBeLessThanOrEqual(64 * 1024);
    const text = await readFile(done.logPath, 'utf8');
    expect(text).toMatch(/^\[backplane\] \d+ bytes of older output were dropped \(jobs\.maxLogBytes = 65536\)$/m);
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/^0000019999 /);
  });

  test('progress is parsed from log lines (ANSI colours and \\r frames included)', async () => {
    const id = await startJob(bp, 'job-progress', ['4'], { kind: 'steps' });
    await settled(bp, id);
    const done = await waitFor(async () => {
      const j = await job(bp, id);
      return j.progress === 1 ? j : undefined;
    });
    expect(done.progressMessage).toBe('step 4 of 4');
  });

  test('Job.log(tail) returns the last lines; bad tails are rejected', async () => {
    const id = await startJob(bp, 'job-print', ['10']);
    await settled(bp, id);
    const tail = await bp.gql('query($id: ID!) { job(id: $id) { log(tail: 3) } }', { id });
    expect(tail.data.job.log).toBe('line 8 (stderr)\nline 9\nline 10 (stderr)\n');
    for (const bad of [-1, 100_001]) {
      const result = await bp.gql('query($id: ID!, $t: Int) { job(id: $id) { log(tail: $t) } }', { id, t: bad });
      expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  test('jobs(first, after) pages newest first', async () => {
    const ids = [await startJob(bp, 'job-print', ['1']), await startJob(bp, 'job-print', ['1']), await startJob(bp, 'job-print', ['1'])];
    for (const id of ids) await settled(bp, id);
    const page1 = await bp.gql('{ jobs(first: 2, plugin: "jobs-test") { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }');
    expect(page1.data.jobs.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([ids[2], ids[1]]);
    expect(page1.data.jobs.pageInfo.hasNextPage).toBe(true);
    const page2 = await bp.gql('query($after: String) { jobs(first: 1, after: $after) { edges { node { id } } } }', { after: page1.data.jobs.pageInfo.endCursor });
    expect(page2.data.jobs.edges[0].node.id).toBe(ids[0]);
    const absurd = await bp.gql('{ jobs(first: 0) { edges { cursor } } }');
    expect(absurd.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('jobUpdated over SSE follows one job to its end', async () => {
    const id = await startJob(bp, 'job-sleep', ['1']);
    const response = await bp.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription($id: ID) { jobUpdated(id: $id) { id status } }', variables: { id } }),
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await response.text(); // the stream completes when the job ends
    const statuses = [...text.matchAll(/"status":"(\w+)"/g)].map((m) => m[1]);
    expect(statuses.at(-1)).toBe('succeeded');
    expect(text).toContain('event: complete');
  });
});
