import { copyFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { createFakeIlab } from './fixtures/ilab/fake-ilab-env.ts';
import { get, goJson, goText, post, startIlabTestDaemon } from './fixtures/ilab/ilab-test-kit.ts';
import { waitFor } from './helpers/wait-for.ts';

test('ilab missing: degraded, routes answer 500 with a clear message, and it recovers when ilab appears', async () => {
  const fake = await createFakeIlab();
  const missing = `${fake.bin}-not-yet`;
  const bp = await startIlabTestDaemon({ plugins: [ilabPlugin], config: { plugins: { ilab: await fake.config({ bin: missing }) } } });
  try {
    const message = `ilab is not available: '${missing}' was not found; install InstructLab, set plugins.ilab.bin, or set plugins.ilab.mode: mock`;
    expect((await bp.gql('{ plugins { id status message } }')).data.plugins).toEqual([{ id: 'ilab', status: 'degraded', message }]);
    expect(await get(bp, '/models')).toEqual(goText(500, message));
    expect(await get(bp, '/data')).toEqual(goText(500, message));
    expect(await post(bp, '/data/generate')).toEqual(goText(500, message));
    expect(await post(bp, '/model/train', { modelName: 'models/granite-8b-starter-v1', branchName: 'main' })).toEqual(goText(500, message));
    expect(await post(bp, '/pipeline/generate-train', { modelName: 'models/granite-8b-starter-v1', branchName: 'main' })).toEqual(goText(500, message));
    expect(await post(bp, '/model/serve-base')).toEqual(goText(500, message));
    expect((await bp.gql('{ ilabModels { name } }')).errors?.[0]).toMatchObject({ message, extensions: { code: 'UNAVAILABLE' } });
    // What does not need ilab keeps working.
    expect(await get(bp, '/checkpoints')).toEqual(goText(404, 'Checkpoints directory does not exist'));
    expect((await bp.gql('{ jobs { edges { node { id } } } }')).data.jobs.edges).toEqual([]);

    await copyFile(fake.bin, missing);
    expect((await bp.gql('mutation { refreshIlabModels { name } }')).data.refreshIlabModels).toHaveLength(3);
    await waitFor(async () => ((await bp.gql('{ plugins { status } }')).data.plugins[0].status === 'ready' ? true : undefined));
    expect((await get(bp, '/models')).status).toBe(200);
  } finally {
    await bp.stop();
    await fake.cleanup();
  }
});

test('a cold cache whose ilab model list fails: 500 Failed to retrieve models; the next request retries', async () => {
  const fake = await createFakeIlab({ fail: { 'model list': { exitCode: 1, stderr: 'Traceback: something broke\n' } } });
  const bp = await startIlabTestDaemon({ plugins: [ilabPlugin], config: { plugins: { ilab: await fake.config() } } });
  try {
    expect(await get(bp, '/models')).toEqual(goText(500, 'Failed to retrieve models'));
    expect((await bp.gql('{ plugins { status } }')).data.plugins[0].status).toBe('ready');
    await fake.scenario({ version: '0.23' });
    expect(await get(bp, '/models')).toMatchObject({ status: 200, type: goJson('').type });
  } finally {
    await bp.stop();
    await fake.cleanup();
  }
});

test('bad config is reported with the path of each problem', async () => {
  const error = await startIlabTestDaemon({
    plugins: [ilabPlugin],
    config: { plugins: { ilab: { mode: 'fake', train: { gpus: 0 }, ports: { base: 8000, latest: 8000 }, qnaEval: { timeoutMs: -1 }, devices: ['gpu'], nope: 1 } } },
  }).catch((e: Error) => e);
  const lines = String((error as Error).message).split('\n').map((line) => line.trim());
  expect(lines).toEqual(
    expect.arrayContaining([
      'plugins.ilab.nope: unknown key',
      'plugins.ilab.mode: expected one of: real, mock',
      'plugins.ilab.devices[0]: expected one of: cuda, mps, cpu, hpu',
      'plugins.ilab.train.gpus: expected positive integer',
      'plugins.ilab.ports: expected different ports for base and latest',
      'plugins.ilab.qnaEval.timeoutMs: expected positive integer',
    ]),
  );
});
