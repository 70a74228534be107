import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tinkerPlugin } from '../plugins/tinker/index.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { RequestFailedError, textDatum, TinkerSdk } from './helpers/tinker-sdk.ts';
import { waitFor } from './helpers/wait-for.ts';

/**
 * Futures, sessions and checkpoints outlive the daemon; work it lost fails with category
 * `server` instead of hanging. And the training-metrics subscription a dashboard plots.
 */
describe('tinker across a daemon restart, and the metrics subscription', () => {
  let dataDir: string;
  let bp: TestDaemon | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'bp-tinker-restart-'));
  });
  afterAll(async () => {
    await bp?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('the loss of each step arrives on tinkerTrainingMetrics(modelId)', async () => {
    bp = await startTestDaemon({ plugins: [tinkerPlugin], dataDir });
    const sdk = new TinkerSdk(bp.url);
    await sdk.createSession();
    const model = await sdk.createModel({ rank: 8, seed: 2, train_mlp: true, train_attn: true, train_unembed: true });
    const events: any[] = [];
    const client = bp.ws();
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: `subscription { tinkerTrainingMetrics(modelId: "${model}") { modelId kind step seqId loss meanLoss metrics } }` },
        {
          next: (value) => {
            events.push((value.data as any).tinkerTrainingMetrics);
            if (events.length === 8) resolve();
          },
          error: reject,
          complete: () => resolve(),
        },
      );
    });
    // The subscription is live once the server acknowledged it; a probe query on the same socket orders after it.
    await new Promise<void>((resolve, reject) => client.subscribe({ query: '{ tinkerModels { id } }' }, { next: () => undefined, error: reject, complete: resolve }));
    const data = ['hello world', 'hello there', 'the world'].map((t) => textDatum(t));
    for (let i = 0; i < 8; i++) {
      await sdk.forwardBackward(model, data, 'cross_entropy');
      await sdk.optimStep(model, { learning_rate: 0.05 });
    }
    await done;
    expect(events.map((e) => [e.modelId, e.kind, e.step])).toEqual(Array.from({ length: 8 }, (_, i) => [model, 'optim_step', i + 1]));
    expect(events.every((e) => e.loss > 0 && e.meanLoss > 0)).toBe(true);
    expect(events.at(-1).meanLoss).toBeLessThan(events[0].meanLoss);

    // cleanup_futures never drops a result delivered less than 300 s ago; an undelivered one it does.
    const delivered = await sdk.post('forward', { model_id: model, forward_input: { data, loss_fn: 'cross_entropy' } });
    await sdk.retrieve(delivered.request_id);
    const undelivered = await sdk.post('forward', { model_id: model, forward_input: { data, loss_fn: 'cross_entropy' } });
    await waitFor(async () => (await bp!.gql(`{ tinkerFuture(id: "${undelivered.request_id}") { state } }`)).data.tinkerFuture.state === 'complete' || undefined);
    expect(await sdk.post('cleanup_futures', { max_age_hours: 0 })).toMatchObject({ cleaned_count: 1 });
    expect((await sdk.retrieve(delivered.request_id)).loss_fn_outputs).toHaveLength(3);
    await expect(sdk.retrieve(undelivered.request_id)).rejects.toMatchObject({ status: 404 });
  });

  test('after a restart: settled futures still answer, lost work fails with category server, checkpoints load', async () => {
    let sdk = new TinkerSdk(bp!.url);
    const session = await sdk.createSession();
    const model = await sdk.createModel({ rank: 4, seed: 9, train_mlp: true, train_attn: true, train_unembed: true });
    const data = [textDatum('persist me')];
    await sdk.forwardBackward(model, data, 'cross_entropy');
    await sdk.optimStep(model, { learning_rate: 0.05 });
    const ckpt = await sdk.saveState(model, 'keep');
    const expected = (await sdk.forward(model, data, 'cross_entropy')).loss_fn_outputs[0].logprobs.data;
    const settled = await sdk.post('forward', { model_id: model, seq_id: 5, forward_input: { data, loss_fn: 'cross_entropy' } });
    await sdk.retrieve(settled.request_id);
    // seq_id 7 waits for 6, which never comes: pending when the daemon stops.
    const pending = await sdk.post('optim_step', { model_id: model, seq_id: 7, adam_params: { learning_rate: 0.01 } });

    // A long poll held when the daemon stops is answered (408: the SDK re-polls), not cut off.
    const held = fetch(`${bp!.url}/api/v1/retrieve_future`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request_id: pending.request_id }) });
    // Give the poll time to reach the daemon's wait (a settle, not an assertion on time).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await bp!.stop({ keepData: true });
    expect((await held).status).toBe(408);
    bp = await startTestDaemon({ plugins: [tinkerPlugin], dataDir });
    sdk = new TinkerSdk(bp.url);

    expect((await sdk.retrieve(settled.request_id)).loss_fn_outputs[0].logprobs.data).toEqual(expected);
    const lost = await sdk.retrieve(pending.request_id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(lost).toBeInstanceOf(RequestFailedError);
    expect(lost).toMatchObject({ category: 'server', message: expect.stringMatching(/daemon restarted/) });
    expect(await (await fetch(`${bp.url}/api/v1/retrieve_future/${pending.request_id}`, { method: 'POST' })).json()).toMatchObject({ status: 'failed', category: 'server' });

    expect((await sdk.get(`sessions/${session}`)).training_run_ids).toEqual([model]);
    expect((await bp.gql(`{ tinkerModel(id: "${model}") { status message } }`)).data.tinkerModel).toMatchObject({ status: 'lost', message: expect.stringMatching(/checkpoint/) });
    const r = await fetch(`${bp.url}/api/v1/forward`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model_id: model, forward_input: { data, loss_fn: 'cross_entropy' } }) });
    expect(r.status).toBe(404);

    sdk.sessionId = session;
    const future = await sdk.post('create_model', { session_id: session, model_seq_id: 1, base_model: 'tiny-lm', checkpoint_path: ckpt });
    const restored = (await sdk.retrieve(future.request_id)).model_id;
    const got = (await sdk.forward(restored, data, 'cross_entropy')).loss_fn_outputs[0].logprobs.data;
    got.forEach((v: number, i: number) => expect(v).toBeCloseTo(expected[i], 6));
  });
});
