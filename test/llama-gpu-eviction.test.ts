import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { llamaCppPlugin } from '../plugins/llama-cpp/index.ts';
import { nvidiaSmiPlugin } from '../plugins/nvidia-smi/index.ts';
import { createFakeNvidiaSmi, loadScenario, type FakeNvidiaSmi } from './fixtures/nvidia-smi/fake-nvidia-smi.ts';
import { locateLlamaServer } from './fixtures/llama/llama-server-bin.ts';
import { createLlamaModelRoot, freePort, holdRequest, llamaClient } from './fixtures/llama/llama-test-kit.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const llamaServer = await locateLlamaServer();

/** Two idle L4s: one-idle's GPU and a second one like it. */
async function twoIdleGpus() {
  const scenario = await loadScenario('one-idle');
  const [gpu] = scenario.gpus!;
  return { ...scenario, description: 'Two idle NVIDIA L4s.', gpus: [gpu, { ...gpu, index: '1', uuid: 'GPU-2f68f999-7b41-e64a-3709-0c8c4fa756c1', 'pci.bus_id': '00000000:02:00.0' }] };
}

describe.skipIf(llamaServer.skip !== undefined)(`GPU leases make room by stopping the least recently used idle instance${llamaServer.skip ? ` (skipped: ${llamaServer.skip})` : ''}`, () => {
  let bp: TestDaemon;
  let fake: FakeNvidiaSmi;
  let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;
  let llama: ReturnType<typeof llamaClient>;

  beforeAll(async () => {
    models = await createLlamaModelRoot();
    fake = await createFakeNvidiaSmi(await twoIdleGpus());
    bp = await startTestDaemon({
      plugins: [nvidiaSmiPlugin, llamaCppPlugin],
      config: {
        plugins: {
          'nvidia-smi': { bin: fake.bin, intervalMs: 200 },
          'llama-cpp': { llamaServerPath: llamaServer.path, modelRoots: [models.root], healthIntervalMs: 500, stopTimeoutSeconds: 5, defaults: { ctxSize: 256, threads: 1 } },
        },
      },
    });
    llama = llamaClient((q, v) => bp.gql(q, v));
    await waitFor(async () => ((await bp.gql('{ gpus { index } }')).data?.gpus?.length === 2 ? true : undefined), { timeoutMs: 10_000 });
    // Each asks for one GPU (the CPU build of llama-server ignores CUDA_VISIBLE_DEVICES).
    for (const name of ['a', 'b', 'c']) {
      const created = await llama.create({ name, modelPath: models.model, port: await freePort(), options: { gpuCount: 1 } });
      expect(created.errors).toBeUndefined();
    }
  }, 60_000);
  afterAll(async () => {
    await bp?.gql('mutation { stopAllLlamaInstances(force: true) { name } }').catch(() => undefined);
    await bp?.stop();
    await fake?.remove();
    await models?.cleanup();
  });

  const start = (name: string) => bp.gql('mutation($n: String!) { startLlamaInstance(name: $n) { status gpus } }', { n: name });
  const holders = async () => (await bp.gql('{ gpuLeases { indices holder { id } } }')).data.gpuLeases.map((l: any) => `${l.holder.id}:${l.indices.join(',')}`).sort();

  test('an instance that needs a GPU stops the least recently used idle holder, never a busy one', async () => {
    for (const name of ['a', 'b']) {
      expect((await start(name)).errors).toBeUndefined();
      await llama.untilStatus(name, 'running');
    }
    const a = await llama.instance('a');
    const b = await llama.instance('b');
    expect([...a.gpus, ...b.gpus].sort()).toEqual([0, 1]);
    // A request to `a` makes `b` the least recently used.
    const answer = await bp.request('/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'a', prompt: 'Hi', max_tokens: 2 }) });
    expect(answer.status).toBe(200);
    await answer.text();

    expect((await start('c')).errors).toBeUndefined();
    const c = await llama.untilStatus('c', 'running');
    expect(c.gpus).toEqual(b.gpus);
    expect(await llama.instance('b')).toMatchObject({ status: 'stopped', gpus: [], message: `stopped to free GPU ${b.gpus[0]} for 'c'` });
    expect((await llama.instance('a')).status).toBe('running');
    expect(await holders()).toEqual([`llama-cpp/a:${a.gpus[0]}`, `llama-cpp/c:${c.gpus[0]}`].sort());

    // `a` is now the least recently used, but a request is in flight on it: `c` makes room.
    const onA = holdRequest(`${bp.url}/llama-cpp/a/completion`);
    await llama.until('a', (i) => i.inFlight === 1, 10_000);
    expect((await start('b')).errors).toBeUndefined();
    await llama.untilStatus('b', 'running');
    expect(await llama.instance('c')).toMatchObject({ status: 'stopped', message: `stopped to free GPU ${c.gpus[0]} for 'b'` });
    expect(await llama.instance('a')).toMatchObject({ status: 'running', inFlight: 1 });

    // Both holders busy: no room, and nobody is stopped.
    const onB = holdRequest(`${bp.url}/llama-cpp/b/completion`);
    await llama.until('b', (i) => i.inFlight === 1, 10_000);
    const refused = await start('c');
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT' } });
    expect(refused.errors?.[0].message).toContain("Cannot start 'c'");
    expect((await llama.instance('c')).status).toBe('stopped');
    expect((await llama.instance('a')).status).toBe('running');
    expect((await llama.instance('b')).status).toBe('running');
    expect([await onA.release(), await onB.release()]).toEqual([200, 200]);
    expect(await holders()).toEqual([`llama-cpp/a:${a.gpus[0]}`, `llama-cpp/b:${c.gpus[0]}`].sort());
  }, 90_000);
});
