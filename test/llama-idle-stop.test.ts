import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { llamaCppPlugin } from '../plugins/llama-cpp/index.ts';
import { locateLlamaServer } from './fixtures/llama/llama-server-bin.ts';
import { createLlamaModelRoot, freePort, holdRequest, llamaClient } from './fixtures/llama/llama-test-kit.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

const llamaServer = await locateLlamaServer();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(llamaServer.skip !== undefined)(`idle stop against the real llama-server${llamaServer.skip ? ` (skipped: ${llamaServer.skip})` : ''}`, () => {
  let bp: TestDaemon;
  let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;
  let llama: ReturnType<typeof llamaClient>;

  beforeAll(async () => {
    models = await createLlamaModelRoot();
    bp = await startTestDaemon({
      plugins: [llamaCppPlugin],
      config: { plugins: { 'llama-cpp': { llamaServerPath: llamaServer.path, modelRoots: [models.root], healthIntervalMs: 500, idleCheckIntervalMs: 200, stopTimeoutSeconds: 5, defaults: { ctxSize: 256, threads: 1 } } } },
    });
    llama = llamaClient((q, v) => bp.gql(q, v));
  }, 60_000);
  afterAll(async () => {
    await bp?.gql('mutation { stopAllLlamaInstances(force: true) { name } }').catch(() => undefined);
    await bp?.stop();
    await models?.cleanup();
  });

  test('an instance stops after its idle timeout without requests; a request in flight keeps it running', async () => {
    // 0.03 minutes: 1.8 s.
    const created = await llama.create({ name: 'idle', modelPath: models.model, port: await freePort(), options: { idleTimeoutMinutes: 0.03 } });
    expect(created.errors).toBeUndefined();
    expect(created.data.createLlamaInstance.options.idleTimeoutMinutes).toBe(0.03);
    await llama.mutate('startLlamaInstance', 'idle');
    await llama.untilStatus('idle', 'running');

    // In flight for well over the timeout (and many idle checks): still running.
    const held = holdRequest(`${bp.url}/llama-cpp/idle/completion`);
    await llama.until('idle', (i) => i.inFlight === 1, 10_000);
    await sleep(3_000);
    expect(await llama.instance('idle')).toMatchObject({ status: 'running', inFlight: 1 });

    // Done: the timeout counts from the end of that request, then the instance stops.
    expect(await held.release()).toBe(200);
    const stopped = await llama.untilStatus('idle', 'stopped', 15_000);
    expect(stopped).toMatchObject({ inFlight: 0, pid: null, message: 'stopped after 1.8 s without requests' });
    expect(stopped.desired).toBe('stopped');
  }, 60_000);
});
