import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createFakeIlab, type FakeIlab } from './fixtures/ilab/fake-ilab-env.ts';
import { spawnDaemon, type DaemonProcess } from './helpers/daemon-process.ts';
import { waitFor } from './helpers/wait-for.ts';

// What a failing ilab prints on stderr: it must reach the log, never a GraphQL error message.
const traceback = 'Traceback (most recent call last): token=sk-do-not-show';

let fake: FakeIlab;
let dataDir: string;
let bp: DaemonProcess;

beforeAll(async () => {
  fake = await createFakeIlab({ fail: { 'model list': { exitCode: 2, stderr: `${traceback}\n` }, 'data list': { exitCode: 1, stderr: `${traceback}\n` } } });
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-ilab-err-'));
  bp = await spawnDaemon(dataDir, { log: { level: 'info' }, plugins: { ilab: await fake.config(), 'vllm-podman': { enabled: false }, 'nvidia-smi': { enabled: false } } });
});
afterAll(async () => {
  bp?.process.kill('SIGKILL');
  await bp?.process;
  await fake?.cleanup();
  await rm(dataDir, { recursive: true, force: true });
});

test.each([
  ['ilabModels', '{ ilabModels { name } }', 'ilab model list failed with exit code 2', 'BACKEND_ERROR'],
  ['refreshIlabModels', 'mutation { refreshIlabModels { name } }', 'ilab model list failed with exit code 2', 'BACKEND_ERROR'],
  ['ilabDatasets', '{ ilabDatasets { dataset } }', 'ilab data list failed with exit code 1', 'BACKEND_ERROR'],
])('%s: the error names the command and its exit code; ilab’s stderr is only in the log', async (_name, query, message, code) => {
  const result = await bp.gql(query);
  expect(result.errors?.[0]).toMatchObject({ message, extensions: { code, details: { exitCode: Number(message.at(-1)), signal: null, timedOut: false } } });
  expect(JSON.stringify(result)).not.toContain('Traceback');
  const logged = await waitFor(() => bp.output().split('\n').find((line) => line.includes(`"msg":"${message}"`) && line.includes(traceback)));
  expect(JSON.parse(logged)).toMatchObject({ level: 'warn', plugin: 'ilab', exitCode: Number(message.at(-1)), stderr: `${traceback}\n` });
});
