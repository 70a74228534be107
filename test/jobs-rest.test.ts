import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { jobsTestPlugin } from './helpers/jobs-test-plugin.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

let bp: TestDaemon;
beforeAll(async () => {
  bp = await startTestDaemon({ plugins: [jobsTestPlugin] });
});
afterAll(() => bp.stop());

const start = async (fixture: string, args: string[]) => (await bp.gql('mutation($f: String!, $a: [String!]!) { testStartJob(fixture: $f, args: $a) }', { f: fixture, a: args })).data.testStartJob as string;
const status = async (id: string) => (await bp.gql('query($id: ID!) { job(id: $id) { status command logPath } }', { id })).data.job;

test('GET /jobs with no jobs is null, as Go encodes an empty slice', async () => {
  const response = await bp.request('/jobs');
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/json');
  expect(await response.text()).toBe('null\n');
});

test('GET /jobs, /jobs/{id}/status and /jobs/{id}/logs speak the legacy wire format', async () => {
  const done = await start('job-print', ['2']);
  const live = await start('job-sleep', ['30']);
  await waitFor(async () => ((await status(done)).status === 'succeeded' && (await status(live)).status === 'running' ? true : undefined));

  const list = await bp.request('/jobs');
  const text = await list.text();
  expect(text.endsWith('\n')).toBe(true);
  const jobs = JSON.parse(text) as Record<string, unknown>[];
  const finished = jobs.find((j) => j.job_id === done)!;
  expect(Object.keys(finished)).toEqual(['job_id', 'cmd', 'args', 'status', 'pid', 'log_file', 'start_time', 'end_time', 'branch', 'served_model_name']);
  expect(finished).toMatchObject({ status: 'finished', args: ['2'], branch: '', served_model_name: '' });
  expect(finished.start_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
  const running = jobs.find((j) => j.job_id === live)!;
  expect(running.status).toBe('running');
  expect('end_time' in running).toBe(false);
  expect(jobs.map((j) => j.job_id)).toEqual([done, live]);

  const { command } = await status(done);
  const statusResponse = await bp.request(`/jobs/${done}/status`);
  expect(statusResponse.headers.get('content-type')).toBe('application/json');
  expect(await statusResponse.text()).toBe(`{"branch":"","command":${JSON.stringify(command)},"job_id":"${done}","status":"finished"}\n`);

  const logs = await bp.request(`/jobs/${done}/logs`);
  expect(logs.headers.get('content-type')).toBe('text/plain');
  expect(await logs.text()).toBe('line 1\nline 2 (stderr)\n');
  expect(await (await bp.request(`/jobs/${done}/logs?lines=1`)).text()).toBe('line 2 (stderr)\n');

  await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id: live });
});

test('unknown jobs, missing logs and bad lines answer with Go text errors', async () => {
  const expectText = async (path: string, code: number, body: string) => {
    const response = await bp.request(path);
    expect(response.status).toBe(code);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toBe(body);
  };
  await expectText('/jobs/g-123/status', 404, 'Job not found\n');
  await expectText('/jobs/g-123/logs', 404, 'Job not found\n');
  // gorilla/mux cleans the decoded path, so `..%2F` never reaches a handler: a 301 out of /jobs.
  const traversal = await bp.request('/jobs/..%2F..%2Fetc/logs', { redirect: 'manual' });
  expect([traversal.status, traversal.headers.get('location')]).toEqual([301, '/etc/logs']);

  const id = await start('job-print', ['1']);
  await waitFor(async () => ((await status(id)).status === 'succeeded' ? true : undefined));
  await expectText(`/jobs/${id}/logs?lines=-1`, 400, 'Invalid lines parameter: expected an integer from 0 to 100000\n');
  await expectText(`/jobs/${id}/logs?lines=abc`, 400, 'Invalid lines parameter: expected an integer from 0 to 100000\n');
  await expectText(`/jobs/${id}/logs?lines=9999999`, 400, 'Invalid lines parameter: expected an integer from 0 to 100000\n');
  await rm((await status(id)).logPath);
  await expectText(`/jobs/${id}/logs`, 404, 'Log file not found\n');
});
