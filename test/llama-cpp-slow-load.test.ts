import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { llamaCppPlugin } from '../plugins/llama-cpp/index.ts';
import { createLlamaModelRoot, llamaClient } from './fixtures/llama/llama-test-kit.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

// The real llama-server loads the tiny model in ~50 ms; only a fake can load for 30 s.
const fake = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'llama', 'fake-llama-server.mjs');

let bp: TestDaemon;
let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;

beforeAll(async () => {
  models = await createLlamaModelRoot();
  bp = await startTestDaemon({
    plugins: [llamaCppPlugin],
    config: { plugins: { 'llama-cpp': { llamaServerPath: fake, modelRoots: [models.root], healthIntervalMs: 200, startTimeoutMs: 120_000 } } },
  });
});
afterAll(async () => {
  await bp?.stop();
  await models?.cleanup();
});

test('a model that loads for 30 s stays starting while /health answers 503, and can be stopped meanwhile', async () => {
  const llama = llamaClient(bp.gql);
  const created = await llama.create({ name: 'slow', modelPath: models.model });
  expect(created.errors).toBeUndefined();
  const started = await llama.mutate('startLlamaInstance', 'slow');
  expect(started.data.startLlamaInstance.status).toBe('starting');
  // Probe after probe answers 503: still starting, the message says so, and no probe counts as
  // a failure (only a serving instance can fail its health checks).
  const loading = await llama.until('slow', (i) => i.health.state === 'loading' && i.health.httpStatus === 503);
  const later = await llama.until('slow', (i) => i.health.lastCheckAt > loading.health.lastCheckAt);
  const evenLater = await llama.until('slow', (i) => i.health.lastCheckAt > later.health.lastCheckAt);
  expect(evenLater).toMatchObject({ status: 'starting', message: 'loading the model', health: { state: 'loading', failureCount: 0, httpStatus: 503 } });
  expect(evenLater.pid).toBeGreaterThan(0);
  const stopped = await llama.mutate('stopLlamaInstance', 'slow', ', timeout: 5');
  expect(stopped.errors).toBeUndefined();
  expect(stopped.data.stopLlamaInstance).toMatchObject({ status: 'stopped', pid: null, exitCode: 0 });
});
