import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { jobsTestPlugin } from './helpers/jobs-test-plugin.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const apiKey = 'bp-test-key-0123456789';
const jobFields = 'id status logPath';

async function startJob(bp: TestDaemon, args: string[], env?: Record<string, string>): Promise<{ id: string; logPath: string }> {
  const result = await bp.gql('mutation($a: [String!]!, $env: JSON) { testStartJob(fixture: "sh", command: "/bin/sh", args: $a, env: $env) }', { a: args, env }, { apiKey });
  expect(result.errors).toBeUndefined();
  const id = result.data.testStartJob;
  return (await bp.gql(`query($id: ID!) { job(id: $id) { ${jobFields} } }`, { id }, { apiKey })).data.job;
}

async function settled(bp: TestDaemon, id: string) {
  return waitFor(async () => {
    const j = (await bp.gql(`query($id: ID!) { job(id: $id) { ${jobFields} } }`, { id }, { apiKey })).data.job;
    return ['succeeded', 'failed', 'cancelled'].includes(j.status) ? j : undefined;
  });
}

describe('a job’s environment and run files', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    // The daemon's own environment: an API key, its settings, and things no job needs.
    Object.assign(process.env, { BP_TEST_API_KEY: apiKey, BACKPLANE_TEST_SETTING: 'daemon-only', BP_TEST_ALLOWED: 'allowed', BP_TEST_UNLISTED: 'unlisted', LC_TEST_PREFIX: 'lc' });
    bp = await startTestDaemon({
      plugins: [jobsTestPlugin],
      config: {
        auth: { keys: [{ name: 'tests', keyEnv: 'BP_TEST_API_KEY', scopes: ['admin'] }] },
        // Even when allowed, API keys and BACKPLANE_* stay out.
        jobs: { envAllowList: ['PATH', 'HOME', 'LC_*', 'BP_TEST_ALLOWED', 'BP_TEST_API_KEY', 'BACKPLANE_*'] },
      },
    });
  });
  afterAll(() => bp?.stop());

  test('only allowed variables and what the job asked for; never API keys or the daemon’s settings', async () => {
    const job = await startJob(bp, ['-c', 'env | sort'], { JOB_ASKED: 'asked' });
    expect((await settled(bp, job.id)).status).toBe('succeeded');
    const env = Object.fromEntries((await readFile(job.logPath, 'utf8')).trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    expect(env).toMatchObject({ PATH: process.env.PATH, BP_TEST_ALLOWED: 'allowed', LC_TEST_PREFIX: 'lc', JOB_ASKED: 'asked' });
    for (const name of ['BP_TEST_API_KEY', 'BACKPLANE_TEST_SETTING', 'BP_TEST_UNLISTED']) expect(env).not.toHaveProperty(name);
    expect(JSON.stringify(env)).not.toContain(apiKey);
  });

  test('run files are 0600 in a 0700 directory and hold no environment values', async () => {
    const job = await startJob(bp, ['-c', 'echo started; sleep 30'], { JOB_SECRET: 'job-asked-secret' });
    const runDir = path.join(bp.dataDir, 'run', job.id);
    await waitFor(async () => ((await readdir(runDir).catch((): string[] => [])).includes('state.json') ? true : undefined));
    expect((await stat(runDir)).mode & 0o777).toBe(0o700);
    expect((await stat(job.logPath)).mode & 0o777).toBe(0o600);
    const names = await readdir(runDir);
    expect(names).toEqual(expect.arrayContaining(['state.json', 'supervisor.err', expect.stringMatching(/^spec-[0-9a-f]+\.json$/), expect.stringMatching(/^claim-[0-9a-f]+$/)]));
    for (const name of names) {
      const file = path.join(runDir, name);
      expect({ name, mode: (await stat(file)).mode & 0o777 }).toEqual({ name, mode: 0o600 });
      const text = await readFile(file, 'utf8');
      for (const value of ['job-asked-secret', apiKey, 'allowed']) expect(text).not.toContain(value);
    }
    const spec = JSON.parse(await readFile(path.join(runDir, names.find((n) => n.startsWith('spec-'))!), 'utf8'));
    expect(spec.envKeys).toEqual(expect.arrayContaining(['JOB_SECRET', 'PATH']));
    expect(spec).not.toHaveProperty('env');
    await bp.gql('mutation($id: ID!) { cancelJob(id: $id) { id } }', { id: job.id }, { apiKey });
  });
});

test('at start, run directories of jobs that have ended (or are unknown) are removed', async () => {
  const bp = await startTestDaemon({ plugins: [jobsTestPlugin] });
  const dataDir = bp.dataDir;
  try {
    const started = await bp.gql('mutation { testStartJob(fixture: "job-print", args: ["1"]) }');
    const id = started.data.testStartJob;
    await waitFor(async () => ((await bp.gql('query($id: ID!) { job(id: $id) { status } }', { id })).data.job.status === 'succeeded' ? true : undefined));
    await bp.stop({ keepData: true });
    // As if the daemon had died between settling the job and removing its files.
    for (const leftover of [id, 't-1']) {
      await mkdir(path.join(dataDir, 'run', leftover), { recursive: true });
      await writeFile(path.join(dataDir, 'run', leftover, 'exit.json'), '{"exitCode":0,"signal":null,"finishedAt":"2025-01-01T00:00:00.000Z"}');
    }
    const again = await startTestDaemon({ plugins: [jobsTestPlugin], dataDir });
    expect(await readdir(path.join(dataDir, 'run'))).toEqual([]);
    expect((await again.gql('query($id: ID!) { job(id: $id) { status } }', { id })).data.job.status).toBe('succeeded');
    await again.stop({ keepData: true });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
