import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tinkerPlugin } from '../plugins/tinker/index.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { HttpError, TinkerSdk } from './helpers/tinker-sdk.ts';
import { waitFor } from './helpers/wait-for.ts';

/** The tinker REST surface that needs no worker process: sessions, capabilities, auth, limits, bad input. */
const operatorKey = 'tinker-operator-key-0123456789';
const readerKey = 'tinker-reader-key-0123456789ab';

describe('tinker REST API (no worker needed)', () => {
  let bp: TestDaemon;
  let sdk: TinkerSdk;
  const post = (path: string, body: unknown, key: string | null = operatorKey) =>
    fetch(`${bp.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  beforeAll(async () => {
    bp = await startTestDaemon({
      plugins: [tinkerPlugin],
      config: { auth: { keys: [{ name: 'op', key: operatorKey, scopes: ['operate'] }, { name: 'reader', key: readerKey, scopes: ['read'] }] } },
    });
    sdk = new TinkerSdk(bp.url, { apiKey: operatorKey });
  });
  afterAll(() => bp?.stop());

  test('health routes: /health and /api/v1/healthz open for probes, /api/v1/health with a key', async () => {
    expect(await (await fetch(`${bp.url}/health`)).json()).toEqual({ status: 'healthy' });
    expect(await (await fetch(`${bp.url}/api/v1/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${bp.url}/api/v1/health`)).status).toBe(401);
    const detailed = await (await fetch(`${bp.url}/api/v1/health`, { headers: { 'x-api-key': operatorKey } })).json();
    expect(detailed).toMatchObject({ status: 'healthy', active_models: 0, active_sessions: 0 });
  });

  test('missing or wrong X-API-Key is 401 with {detail}; a read key cannot submit', async () => {
    const missing = await post('/api/v1/create_session', {}, null);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ detail: expect.stringContaining('Unauthorized') });
    const wrong = await post('/api/v1/create_session', {}, 'not-the-key-at-all-000000');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toHaveProperty('detail');
    const reader = await post('/api/v1/create_session', {}, readerKey);
    expect(reader.status).toBe(403);
    expect(await reader.json()).toHaveProperty('detail');
  });

  test('client/config for SDK 0.18–0.24 and capabilities as objects', async () => {
    expect(await sdk.clientConfig()).toMatchObject({ pjwt_auth_enabled: false, proto_write_fwdbwd: false, parallel_fwdbwd_chunks: true });
    const caps = await sdk.get('get_server_capabilities');
    expect(caps.supported_models).toEqual([{ model_name: 'tiny-lm', max_context_length: 4096 }]);
    expect(caps.features).toContain('ppo');
  });

  test('sessions: create, heartbeat, list with limit/offset, get; unknown ones 404', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await sdk.createSession([`t${i}`]));
    expect(await sdk.heartbeat()).toEqual({ type: 'session_heartbeat' });
    const all = await sdk.get('sessions?limit=10&offset=0');
    expect(all.sessions.slice(0, 3)).toEqual([...ids].reverse());
    expect((await sdk.get('sessions?limit=1&offset=1')).sessions).toEqual([ids[1]]);
    expect(await sdk.get(`sessions/${ids[0]}`)).toEqual({ session_id: ids[0], training_run_ids: [], sampler_ids: [] });
    const unknown = await fetch(`${bp.url}/api/v1/sessions/session-nope`, { headers: { 'x-api-key': operatorKey } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ detail: 'Session session-nope not found' });
    const badLimit = await fetch(`${bp.url}/api/v1/sessions?limit=abc`, { headers: { 'x-api-key': operatorKey } });
    expect(badLimit.status).toBe(400);
    await expect(sdk.post('session_heartbeat', { session_id: 'session-nope' })).rejects.toMatchObject({ status: 404 });
    const gql = await bp.gql('{ tinkerSessions(limit: 2) { id status tags } }', undefined, { apiKey: readerKey });
    expect(gql.data.tinkerSessions).toEqual([{ id: ids[2], status: 'active', tags: ['t2'] }, { id: ids[1], status: 'active', tags: ['t1'] }]);
  });

  test('bad input: unknown model 404, unknown base model and LoRA knobs 400, bad tinker:// paths 400', async () => {
    const session = await sdk.createSession();
    const fb = await post('/api/v1/forward_backward', { model_id: 'model-nope', seq_id: 1, forward_backward_input: { data: [], loss_fn: 'cross_entropy' } });
    expect(fb.status).toBe(404);
    expect(await fb.json()).toEqual({ detail: 'Model model-nope not found' });
    const base = await post('/api/v1/create_model', { session_id: session, model_seq_id: 0, base_model: 'Qwen/Qwen3-8B', lora_config: { rank: 8 } });
    expect(base.status).toBe(400);
    expect((await base.json()).detail).toMatch(/^base_model: 'Qwen\/Qwen3-8B' is not served here/);
    const knob = await post('/api/v1/create_model', { session_id: session, model_seq_id: 0, base_model: 'tiny-lm', lora_config: { rank: 8, dropout: 0.1 } });
    expect(knob.status).toBe(400);
    expect((await knob.json()).detail).toMatch(/^lora_config: .*dropout/);
    const none = await post('/api/v1/create_model', { session_id: session, model_seq_id: 0, base_model: 'tiny-lm', lora_config: { rank: 8, train_mlp: false, train_attn: false, train_unembed: false } });
    expect(none.status).toBe(400);
    for (const [path, pattern] of [
      ['tinker://model-1/weights', /exactly three parts/],
      ['tinker://model-1/optimizer/ckpt', /'weights' or 'sampler_weights'/],
      ['tinker://model-1/weights/../../etc', /exactly three parts|malformed/],
      ['s3://bucket/x', /expected tinker:\/\//],
    ] as const) {
      const r = await post('/api/v1/weights_info', { tinker_path: path });
      expect(r.status, path).toBe(400);
      expect((await r.json()).detail).toMatch(pattern);
    }
    const unknownCkpt = await post('/api/v1/weights_info', { tinker_path: 'tinker://model-1/weights/nope' });
    expect(unknownCkpt.status).toBe(404);
    const outside = await post('/api/v1/create_model', { session_id: session, model_seq_id: 0, base_model: 'tiny-lm', checkpoint_path: '/etc/passwd' });
    expect(outside.status).toBe(400);
    expect((await outside.json()).detail).toMatch(/outside the checkpoint directory/);
  });

  test('futures: unknown ids are 404 on both retrieve routes; cleanup_futures answers both key spellings', async () => {
    const body = await post('/api/v1/retrieve_future', { request_id: 'req-nope' });
    expect(body.status).toBe(404);
    expect(await body.json()).toEqual({ detail: 'Future req-nope not found' });
    expect((await post('/api/v1/retrieve_future/req-nope', {})).status).toBe(404);
    expect((await post('/api/v1/retrieve_future', {})).status).toBe(400);
    expect(await (await post('/api/v1/cleanup_futures', { max_age_hours: 24 })).json()).toMatchObject({ cleaned_count: 0, futures_cleaned: 0 });
  });

  test('bodies up to 64 MiB are read; above is 413 {detail}; malformed JSON is FastAPI 422', async () => {
    // Over the daemon's default 1 MiB limit, under tinker's: reaches the route (404: no such model).
    const big = JSON.stringify({ model_id: 'model-nope', padding: 'x'.repeat(2 * 1024 * 1024) });
    expect((await post('/api/v1/forward_backward', big)).status).toBe(404);
    const huge = new Uint8Array(64 * 1024 * 1024 + 16).fill(0x20);
    const r = await fetch(`${bp.url}/api/v1/forward_backward`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': operatorKey }, body: huge });
    expect(r.status).toBe(413);
    expect(await r.json()).toEqual({ detail: expect.stringContaining('larger than') });
    const bad = await post('/api/v1/create_model', '{"nope":');
    expect(bad.status).toBe(422);
  });

  test('hostile bodies on every POST route get a 4xx in the {detail} shape, never a 5xx', async () => {
    const routes = ['create_session', 'session_heartbeat', 'create_sampling_session', 'create_model', 'get_info', 'unload_model', 'delete_model', 'forward', 'forward_backward', 'optim_step', 'save_weights', 'save_weights_for_sampler', 'load_weights', 'weights_info', 'asample', 'sample', 'retrieve_future', 'retrieve_future/req-x', 'cleanup_futures'];
    const bodies = ['[]', '"text"', 'null', '{}', '{"model_id":123}', '{"model_id":"m","seq_id":-1}', '{"session_id":{"a":1}}', '{"model_id":"m","forward_backward_input":5}', '{"request_id":["x"]}', '{"max_age_hours":"x"}', '{"tinker_path":"tinker://a/weights/b/c"}'];
    for (const route of routes) {
      for (const body of bodies) {
        const r = await post(`/api/v1/${route}`, body);
        const json = await r.json();
        expect(r.status, `${route} ${body}`).toBeLessThan(500);
        if (r.status >= 400) expect(json, `${route} ${body}`).toHaveProperty('detail');
      }
    }
  });

  test('the SDK emulator surfaces a 4xx submit as fatal', async () => {
    await expect(sdk.post('optim_step', { model_id: 'model-nope', seq_id: 1, adam_params: {} })).rejects.toBeInstanceOf(HttpError);
  });
});

describe('tinker limits: the long poll, backpressure, session expiry (real tiny worker)', () => {
  let bp: TestDaemon;
  beforeAll(async () => {
    bp = await startTestDaemon({ plugins: [tinkerPlugin], config: { plugins: { tinker: { longPollSeconds: 1, maxQueuedPerModel: 2, sessionExpirySeconds: 2 } } } });
  });
  afterAll(() => bp?.stop());

  test('a pending future is held, then 408 with queue_state; a full queue is 429 with queue_state; a silent session expires and frees its model', async () => {
    const sdk = new TinkerSdk(bp.url);
    await sdk.createSession();
    const model = await sdk.createModel();
    const step = await sdk.post('optim_step', { model_id: model, seq_id: 2, adam_params: { learning_rate: 0.01 } });
    const poll = await fetch(`${bp.url}/api/v1/retrieve_future`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request_id: step.request_id }) });
    expect(poll.status).toBe(408);
    expect(await poll.json()).toMatchObject({ queue_state: 'active', queue_state_reason: `waiting for seq_id 1 of model ${model}` });

    await sdk.post('optim_step', { model_id: model, seq_id: 3, adam_params: { learning_rate: 0.01 } });
    const full = await fetch(`${bp.url}/api/v1/optim_step`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model_id: model, seq_id: 4, adam_params: {} }) });
    expect(full.status).toBe(429);
    expect(await full.json()).toMatchObject({ detail: expect.stringMatching(/queue is full/), queue_state: 'paused_capacity' });

    // No heartbeat: after 2 s the session expires, its model is released and what waited fails.
    await waitFor(async () => (await bp.gql(`{ tinkerModel(id: "${model}") { status } }`)).data.tinkerModel.status === 'deleted' || undefined, { timeoutMs: 15_000 });
    expect((await bp.gql(`{ tinkerSession(id: "${sdk.sessionId}") { status } }`)).data.tinkerSession.status).toBe('expired');
    expect((await bp.gql('{ tinkerWorkers { id } }')).data.tinkerWorkers).toEqual([]);
    await expect(sdk.retrieve(step.request_id)).rejects.toMatchObject({ category: 'user', message: expect.stringMatching(/released because its session expired/) });
    await expect(sdk.heartbeat()).rejects.toMatchObject({ status: 404 });
  });
});
