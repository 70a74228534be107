import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ilabPlugin } from '../plugins/ilab/index.ts';
import { vllmPodmanPlugin } from '../plugins/vllm-podman/index.ts';
import { createModelRoot, freePort, podmanTestsAvailable, startPodmanEnv, waitFor, type PodmanEnv } from './helpers/podman-env.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

// Real podman, real containers: the fake vLLM server runs inside an image built by podman-env.
const serverFields = 'name status message port modelPath jobId containerId gpus args exitCode';

describe.skipIf(!podmanTestsAvailable())('vllm-podman with real podman', () => {
  let env: PodmanEnv;
  let models: Awaited<ReturnType<typeof createModelRoot>>;
  let bp: TestDaemon;

  const server = async (name: string) => (await bp.gql(`query($n: String!) { vllmServer(name: $n) { ${serverFields} } }`, { n: name })).data?.vllmServer;
  const start = (input: Record<string, unknown>) => bp.gql(`mutation($i: StartVllmServerInput!) { startVllmServer(input: $i) { ${serverFields} } }`, { i: input });
  const stop = (name: string) => bp.gql(`mutation($n: String!) { stopVllmServer(name: $n) { name status } }`, { n: name });
  const untilStatus = (name: string, status: string) => waitFor(`${name} ${status}`, async () => ((await server(name))?.status === status ? server(name) : undefined));

  beforeAll(async () => {
    env = await startPodmanEnv();
    models = await createModelRoot({
      granite: { loadMs: 300 },
      slow: { loadMs: 1500 },
      legacy: { loadMs: 200, style: 'old' },
      broken: { crash: 'ValueError: To serve at least one request with the models max seq len (40960), 4.38 GiB KV cache is needed', crashAfterMs: 300 },
      dead: { loadMs: 100, healthStatus: 503 },
    });
    bp = await startTestDaemon({
      // The UI's served-name routes (/vllm-status, /vllm-unload, /served-model-jobids) are the ilab plugin's.
      plugins: [vllmPodmanPlugin, ilabPlugin],
      config: { plugins: { ilab: { bin: '/nonexistent/ilab', servingBackend: 'vllm' as const }, 'vllm-podman': { modelRoots: [models.root], deviceMode: 'none', probeIntervalMs: 100, reconcileIntervalMs: 600_000, stopTimeoutSeconds: 5 } } },
    });
  });

  afterAll(async () => {
    await bp?.stop();
    const left = await env?.containers();
    await env?.cleanup();
    await models?.cleanup();
    expect(left).toEqual([]);
  });

  test('a server starts, loads, runs, and its container is sandboxed as documented', async () => {
    const port = await freePort();
    const started = await start({ name: 'pre-train', modelPath: models.path('granite'), port, args: ['--max-model-len', '4096'] });
    expect(started.errors).toBeUndefined();
    expect(started.data.startVllmServer).toMatchObject({ name: 'pre-train', status: 'loading', port, modelPath: models.path('granite'), gpus: [] });
    expect(started.data.startVllmServer.jobId).toMatch(/^v-\d+$/);
    const running = await untilStatus('pre-train', 'running');
    expect(running.message).toBeNull();

    const listed = await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json();
    expect(listed.data[0]).toMatchObject({ id: 'pre-train', root: models.path('granite'), max_model_len: 4096 });

    const [inspect] = JSON.parse((await env.podman(['container', 'inspect', 'backplane-vllm-pre-train'])).stdout);
    expect(inspect.HostConfig.NetworkMode).toBe('host');
    expect(inspect.Mounts).toEqual([expect.objectContaining({ Source: models.path('granite'), Destination: models.path('granite'), RW: false })]);
    expect(inspect.Config.Labels).toMatchObject({ 'backplane.managed': 'true', 'backplane.plugin': 'vllm-podman', 'backplane.served-name': 'pre-train', 'backplane.port': String(port) });
    expect(inspect.Args).toEqual(['serve', models.path('granite'), '--served-model-name', 'pre-train', '--host', '127.0.0.1', '--port', String(port), '--max-model-len', '4096']);

    const job = (await bp.gql('query($id: ID!) { job(id: $id) { command args status servedModelName: label(key: "served_model_name") } }', { id: running.jobId })).data.job;
    expect(job).toMatchObject({ command: 'podman', status: 'running', servedModelName: 'pre-train' });
    expect(job.args.slice(0, 5)).toEqual(['run', '--detach', '--name', 'backplane-vllm-pre-train', '--pull=never']);
  });

  test('container logs stream through the jobLog subscription and /jobs/{id}/logs', async () => {
    const { jobId, port } = await server('pre-train');
    const log = await waitFor('startup line in the job log', async () => {
      const text = await (await bp.request(`/jobs/${jobId}/logs`)).text();
      return text.includes('Application startup complete.') ? text : undefined;
    });
    expect(log).toContain('Starting vLLM API server 0 on http://127.0.0.1:');
    const client = bp.ws();
    const lines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const stopListening = client.subscribe<{ jobLog: { lines: string[] } }>(
        { query: 'subscription($id: ID!) { jobLog(id: $id, tail: 50) { lines } }', variables: { id: jobId } },
        {
          next: ({ data }) => {
            lines.push(...(data?.jobLog.lines ?? []));
            // A request made after subscribing shows up live.
            if (lines.some((l) => l.includes('"GET /version HTTP/1.1" 200 OK'))) {
              stopListening();
              resolve();
            }
          },
          error: reject,
          complete: () => resolve(),
        },
      );
      setTimeout(() => void fetch(`http://127.0.0.1:${port}/version`), 300);
    });
    expect(lines).toContain('(APIServer pid=1) INFO:     Application startup complete.');
  });

  test('legacy ilab-ui routes: vllm-status, vllm-containers, served-model-jobids', async () => {
    const { jobId, port } = await server('pre-train');
    const status = await bp.request('/vllm-status?model_name=%20PRE-TRAIN%20');
    expect(status.headers.get('content-type')).toBe('application/json');
    expect(await status.text()).toBe('{"status":"running"}\n');
    expect(await (await bp.request('/vllm-status?model_name=post-train')).text()).toBe('{"status":"stopped"}\n');

    const bad = await bp.request('/vllm-status?model_name=granite');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await bad.text()).toBe("Invalid model_name (must be 'pre-train' or 'post-train')\n");

    const containers = await bp.request('/vllm-containers');
    const body = await containers.json();
    expect(body.containers).toHaveLength(1);
    const item = body.containers[0];
    expect(Object.keys(item)).toEqual(['container_id', 'image', 'command', 'created_at', 'status', 'ports', 'names', 'served_model_name', 'model_path']);
    expect(item).toMatchObject({ image: 'docker.io/vllm/vllm-openai:latest', names: 'backplane-vllm-pre-train', served_model_name: 'pre-train', model_path: models.path('granite'), ports: '' });
    expect(item.container_id).toMatch(/^[0-9a-f]{12}$/);
    expect(item.status).toMatch(/^Up /);
    expect(item.created_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+ [+-]\d{4} \S+$/);
    expect(item.command.length).toBeLessThanOrEqual(20);

    const ids = await bp.request('/served-model-jobids');
    expect(ids.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await ids.text()).toBe(`{"pre-train":"${jobId}"}\n`);
    expect(port).toBeGreaterThan(0);
  });

  test('a double start of one name cannot race: one container, one CONFLICT carrying the job', async () => {
    const port = await freePort();
    const [a, b] = await Promise.all([start({ name: 'post-train', modelPath: models.path('slow'), port }), start({ name: 'post-train', modelPath: models.path('slow'), port })]);
    const ok = [a, b].filter((r) => !r.errors);
    const conflict = [a, b].find((r) => r.errors);
    expect(ok).toHaveLength(1);
    expect(conflict?.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect((conflict?.errors?.[0].extensions as { details?: { jobId?: string } }).details?.jobId).toBe(ok[0].data.startVllmServer.jobId);
    expect(await (await bp.request('/vllm-status?model_name=post-train')).text()).toBe('{"status":"loading"}\n');
    expect((await env.containers()).filter((n) => n === 'backplane-vllm-post-train')).toHaveLength(1);
    await untilStatus('post-train', 'running');
  });

  test('/vllm-unload stops by served name, exactly as the legacy API answers', async () => {
    const invalid = await bp.request('/vllm-unload', { method: 'POST', body: JSON.stringify({ model_name: 'granite' }) });
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toBe("Invalid model_name. Must be 'pre-train' or 'post-train'\n");
    // Trimmed, not lowercased.
    expect((await bp.request('/vllm-unload', { method: 'POST', body: JSON.stringify({ model_name: 'POST-TRAIN' }) })).status).toBe(400);

    const ok = await bp.request('/vllm-unload', { method: 'POST', body: JSON.stringify({ model_name: ' post-train ' }) });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe(`{"message":"Model 'post-train' unloaded successfully","modelName":"post-train","status":"success"}\n`);
    const again = await bp.request('/vllm-unload', { method: 'POST', body: JSON.stringify({ model_name: 'post-train' }) });
    expect(again.status).toBe(500);
    expect(await again.text()).toBe("Failed to unload model 'post-train': no vllm container found with served-model-name 'post-train'\n");
    expect(await (await bp.request('/vllm-status?model_name=post-train')).text()).toBe('{"status":"stopped"}\n');
    expect(await env.containers()).not.toContain('backplane-vllm-post-train');
    expect((await server('post-train')).status).toBe('stopped');
  });

  test('bad input is refused before podman runs', async () => {
    const before = await env.containers();
    const outside = await start({ name: 'x', modelPath: path.join(models.root, '../../etc'), port: await freePort() });
    expect(outside.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(outside.errors?.[0].message).toMatch(/outside the allowed model roots/);
    const args = await start({ name: 'x', modelPath: models.path('granite'), port: await freePort(), args: ['--api-key', 'secret'] });
    expect(args.errors?.[0].message).toMatch(/set by backplane/);
    const unknown = await start({ name: 'x', modelPath: models.path('granite'), port: await freePort(), args: ['--bogus'] });
    expect(unknown.errors?.[0].message).toMatch(/'--bogus' is not allowed/);
    const name = await start({ name: '../x', modelPath: models.path('granite'), port: await freePort() });
    expect(name.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

    const busy = net.createServer();
    const port = await new Promise<number>((resolve) => busy.listen(0, '127.0.0.1', () => resolve((busy.address() as net.AddressInfo).port)));
    const inUse = await start({ name: 'x', modelPath: models.path('granite'), port });
    busy.close();
    expect(inUse.errors?.[0]).toMatchObject({ message: `Port ${port} is already in use on 127.0.0.1`, extensions: { code: 'CONFLICT' } });
    expect(await env.containers()).toEqual(before);
    expect(await server('x')).toBeNull();
  });

  test('a container that exits while loading is failed with the tail of its log', async () => {
    const started = await start({ name: 'broken', modelPath: models.path('broken'), port: await freePort() });
    expect(started.errors).toBeUndefined();
    const failed = await untilStatus('broken', 'failed');
    expect(failed.exitCode).toBe(1);
    expect(failed.message).toMatch(/^The container exited with code 1 while loading; last log lines:\n/);
    expect(failed.message).toContain('ValueError: To serve at least one request');
    const job = (await bp.gql('query($id: ID!) { job(id: $id) { status failureReason log } }', { id: failed.jobId })).data.job;
    expect(job.status).toBe('failed');
    expect(job.log).toContain('ValueError: To serve at least one request');
    expect(await env.containers()).not.toContain('backplane-vllm-broken');
  });

  test('old vLLM logs (Uvicorn running on) and the status subscription', async () => {
    const client = bp.ws();
    const seen: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<{ vllmServerStatusChanged: { status: string } }>(
        { query: 'subscription { vllmServerStatusChanged(name: "old") { status } }' },
        {
          next: ({ data }) => {
            seen.push(data!.vllmServerStatusChanged.status);
            if (data!.vllmServerStatusChanged.status === 'stopped') resolve();
          },
          error: reject,
          complete: () => resolve(),
        },
      );
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await start({ name: 'old', modelPath: models.path('legacy'), port: await freePort() })).errors).toBeUndefined();
    const running = await untilStatus('old', 'running');
    // The probes decide; the log line may reach the job log a moment later.
    const log = await waitFor('the Uvicorn line', async () => {
      const text = await (await bp.request(`/jobs/${running.jobId}/logs`)).text();
      return text.includes('Uvicorn running on') ? text : undefined;
    });
    expect(log).toMatch(/INFO: {5}Uvicorn running on http:\/\/127\.0\.0\.1:\d+ \(Press CTRL\+C to quit\)/);
    expect((await stop('old')).data.stopVllmServer).toEqual({ name: 'old', status: 'stopped' });
    await done;
    expect(seen).toEqual(['starting', 'loading', 'running', 'stopped']);
    const job = (await bp.gql('query($id: ID!) { job(id: $id) { status } }', { id: running.jobId })).data.job;
    expect(job.status).toBe('succeeded');
  });

  test('restart starts a new run with the same settings; remove forgets a server', async () => {
    const before = await server('old');
    const restarted = await bp.gql('mutation { restartVllmServer(name: "old") { status jobId port modelPath } }');
    expect(restarted.data.restartVllmServer).toMatchObject({ status: 'loading', port: before.port, modelPath: before.modelPath });
    expect(restarted.data.restartVllmServer.jobId).not.toBe(before.jobId);
    await untilStatus('old', 'running');
    expect((await bp.gql('mutation { removeVllmServer(name: "old") }')).data.removeVllmServer).toBe(true);
    expect((await bp.gql('mutation { removeVllmServer(name: "old") }')).data.removeVllmServer).toBe(false);
    expect(await server('old')).toBeNull();
    expect(await env.containers()).not.toContain('backplane-vllm-old');
  });

  test('a crash after serving, and a dead engine, are failures with the log tail', async () => {
    await start({ name: 'crashy', modelPath: models.path('granite'), port: await freePort() });
    await untilStatus('crashy', 'running');
    expect((await env.podman(['kill', '--signal', 'KILL', 'backplane-vllm-crashy'])).exitCode).toBe(0);
    const crashed = await untilStatus('crashy', 'failed');
    expect(crashed.exitCode).toBe(137);
    expect(crashed.message).toMatch(/^The container exited with code 137 after serving; last log lines:\n/);

    await start({ name: 'dead', modelPath: models.path('dead'), port: await freePort() });
    const dead = await untilStatus('dead', 'failed');
    expect(dead.message).toMatch(/^vLLM reports its engine dead \(GET \/health answered 503\); last log lines:\n/);
    expect(await env.containers()).not.toContain('backplane-vllm-dead');
  });

  test('a reconcile pass leaves tracked containers alone', async () => {
    const report = (await bp.gql('mutation { reconcileVllmServers { containers adopted settled removed leasesReleased } }')).data.reconcileVllmServers;
    expect(report).toEqual({ containers: 1, adopted: 0, settled: 0, removed: 0, leasesReleased: 0 });
    expect((await server('pre-train')).status).toBe('running');
  });

  test('stopVllmServer of the last server leaves no container', async () => {
    expect((await stop('pre-train')).data.stopVllmServer).toEqual({ name: 'pre-train', status: 'stopped' });
    expect((await stop('pre-train')).data.stopVllmServer).toBeNull();
    expect(await env.containers()).toEqual([]);
  });
});
