import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tritonPlugin } from '../plugins/triton/index.ts';
import { FakeTriton, writeFakeModel } from './helpers/fake-triton.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';

let d: TestDaemon;
let tmp: string;
let roots: string;
const fakes: FakeTriton[] = [];
let keptDataDir: string | undefined;

async function fake(options: Partial<ConstructorParameters<typeof FakeTriton>[0]> = {}): Promise<FakeTriton> {
  const repository = options.repository ?? (await mkdtemp(path.join(roots, 'repo-')));
  const f = await new FakeTriton({ repository, ...options }).start();
  fakes.push(f);
  return f;
}

const SERVER = 'id host httpPort metricsPort gpus repositoryPath baseUrl health { state live ready lastError latencyMs checkedAt }';

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'bp-triton-'));
  roots = path.join(tmp, 'roots');
  await mkdir(roots);
  d = await startTestDaemon({ plugins: [tritonPlugin], config: { plugins: { triton: { repositoryRoots: [roots], probeIntervalMs: 3_600_000, requestTimeoutMs: 1_000 } } } });
});
afterAll(async () => {
  await d?.stop();
  for (const f of fakes) await f.stop();
  if (keptDataDir) await rm(keptDataDir, { recursive: true, force: true });
  await rm(tmp, { recursive: true, force: true });
});

describe('Triton servers', () => {
  it('registers a server, probes it and reads metadata and metrics', async () => {
    const f = await fake();
    await writeFakeModel(f.options.repository, 'resnet');
    const reg = await d.gql(`mutation($i: RegisterTritonServerInput!) { registerTritonServer(input: $i) { ${SERVER} } }`, {
      i: { host: '127.0.0.1', httpPort: f.port, metricsPort: f.metricsPort, gpus: 1, repositoryPath: f.options.repository },
    });
    expect(reg.errors).toBeUndefined();
    const server = reg.data.registerTritonServer;
    expect(server).toMatchObject({ id: 't1', host: '127.0.0.1', httpPort: f.port, gpus: 1, baseUrl: `http://127.0.0.1:${f.port}`, health: { state: 'READY', live: true, ready: true, lastError: null } });
    expect(server.health.latencyMs).toBeTypeOf('number');
    expect(f.requests).toEqual(expect.arrayContaining(['GET /v2/health/live', 'GET /v2/health/ready', 'POST /v2/repository/index']));

    const read = await d.gql(`{ tritonServer(id: "t1") { metadata { name version extensions } metrics { gpus { uuid utilization memoryTotalBytes memoryUsedBytes powerWatts } models { model } } } }`);
    expect(read.errors).toBeUndefined();
    expect(read.data.tritonServer.metadata).toMatchObject({ name: 'triton', version: '2.42.0' });
    expect(read.data.tritonServer.metadata.extensions).toContain('model_repository(unload_dependents)');
    expect(read.data.tritonServer.metrics.gpus).toEqual([{ uuid: 'GPU-0e9fdafb-5adb-91cd-26a8-308d34357efc', utilization: 0.5, memoryTotalBytes: 16945512448, memoryUsedBytes: 974913536, powerWatts: 55.137 }]);

    const list = await d.gql(`{ tritonServers { id } }`);
    expect(list.data.tritonServers).toEqual([{ id: 't1' }]);
  });

  it('refuses a duplicate registration (same id or same address) with CONFLICT', async () => {
    const f = fakes[0]!;
    const again = await d.gql(`mutation($i: RegisterTritonServerInput!) { registerTritonServer(input: $i) { id } }`, { i: { host: '127.0.0.1', httpPort: f.port } });
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(again.errors?.[0]?.message).toContain("already registered as 't1'");
    const other = await fake();
    const sameId = await d.gql(`mutation($i: RegisterTritonServerInput!) { registerTritonServer(input: $i) { id } }`, { i: { id: 't1', host: '127.0.0.1', httpPort: other.port } });
    expect(sameId.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('validates registration input: ports, hosts, repository confinement (escape, symlink out, missing roots)', async () => {
    const bad = async (i: Record<string, unknown>) => (await d.gql(`mutation($i: RegisterTritonServerInput!) { registerTritonServer(input: $i) { id } }`, { i })).errors?.[0];
    expect((await bad({ host: '127.0.0.1', httpPort: 0 }))?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await bad({ host: 'bad host;rm', httpPort: 8000 }))?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await bad({ id: '../x', host: '127.0.0.1', httpPort: 8000 }))?.extensions?.code).toBe('BAD_USER_INPUT');
    const outside = await bad({ host: '127.0.0.1', httpPort: 8001, repositoryPath: `${roots}/../outside` });
    expect(outside?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(outside?.message).toContain('outside the repository roots');
    await mkdir(path.join(tmp, 'elsewhere'));
    await symlink(path.join(tmp, 'elsewhere'), path.join(roots, 'link-out'));
    expect((await bad({ host: '127.0.0.1', httpPort: 8002, repositoryPath: path.join(roots, 'link-out') }))?.message).toContain('outside the repository roots');
    expect((await bad({ host: '127.0.0.1', httpPort: 8003, repositoryPath: 'relative/path' }))?.message).toContain('must be absolute');
  });

  it('updates and removes servers; unknown ids are NOT_FOUND / false', async () => {
    const f = await fake();
    const reg = await d.gql(`mutation($i: RegisterTritonServerInput!) { registerTritonServer(input: $i) { id } }`, { i: { id: 'edge', host: '127.0.0.1', httpPort: 1 } });
    expect(reg.data.registerTritonServer.id).toBe('edge');
    const down = await d.gql(`{ tritonServer(id: "edge") { health { state lastError } } }`);
    expect(down.data.tritonServer.health.state).toBe('DOWN');
    expect(down.data.tritonServer.health.lastError).toMatch(/Triton server 'edge' \(127\.0\.0\.1:1\) is unreachable/);
    const upd = await d.gql(`mutation($p: Int) { updateTritonServer(id: "edge", input: { httpPort: $p, gpus: 2 }) { httpPort gpus health { state } } }`, { p: f.port });
    expect(upd.data.updateTritonServer).toEqual({ httpPort: f.port, gpus: 2, health: { state: 'READY' } });
    expect((await d.gql(`mutation { updateTritonServer(id: "nope", input: { gpus: 1 }) { id } }`)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await d.gql(`mutation { removeTritonServer(id: "edge") }`)).data.removeTritonServer).toBe(true);
    expect((await d.gql(`mutation { removeTritonServer(id: "edge") }`)).data.removeTritonServer).toBe(false);
    expect((await d.gql(`{ tritonServer(id: "edge") { id } }`)).data.tritonServer).toBeNull();
  });

  it('names a server that hangs within the bounded timeout, and one that drops the connection mid-request', async () => {
    const f = await fake();
    await d.gql(`mutation($i: RegisterTritonServerInput!) { registerTritonServer(input: $i) { id } }`, { i: { id: 'hangs', host: '127.0.0.1', httpPort: f.port } });
    f.hang = true;
    const probe = await d.gql(`mutation { probeTritonServer(id: "hangs") { health { state lastError } } }`);
    expect(probe.data.probeTritonServer.health).toEqual({ state: 'DOWN', lastError: "Triton server 'hangs' (127.0.0.1:" + f.port + ') did not answer within 1000 ms' });
    const meta = await d.gql(`{ tritonServer(id: "hangs") { metadata { version } } }`);
    expect(meta.errors?.[0]?.extensions?.code).toBe('TIMEOUT');
    f.hang = false;
    f.dropNext = /^\/v2$/;
    const dropped = await d.gql(`{ tritonServer(id: "hangs") { metadata { version } } }`);
    expect(dropped.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
    expect(dropped.errors?.[0]?.message).toMatch(/^Triton server 'hangs' \(127\.0\.0\.1:\d+\) is unreachable/);
    expect((await d.gql(`mutation { removeTritonServer(id: "hangs") }`)).data.removeTritonServer).toBe(true);
  });

  it('publishes health changes on the subscription (current state first, then DOWN)', async () => {
    const f = await fake();
    await d.gql(`mutation($i: RegisterTritonServerInput!) { registerTritonServer(input: $i) { id } }`, { i: { id: 'watched', host: '127.0.0.1', httpPort: f.port } });
    const client = d.ws();
    const events: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const stop = client.subscribe(
        { query: `subscription { tritonServerHealthChanged(id: "watched") { id health { state } } }` },
        {
          next: (msg) => {
            events.push(msg.data?.tritonServerHealthChanged);
            if (events.length === 2) {
              stop();
              resolve();
            }
          },
          error: reject,
          complete: () => resolve(),
        },
      );
    });
    // The first event is the current state; then the server goes down and a probe sees it.
    while (events.length === 0) await new Promise((r) => setTimeout(r, 20));
    await f.stop();
    await d.gql(`mutation { probeTritonServer(id: "watched") { id } }`);
    await done;
    expect(events).toEqual([
      { id: 'watched', health: { state: 'READY' } },
      { id: 'watched', health: { state: 'DOWN' } },
    ]);
  });

  it('keeps servers across a daemon restart (rows in triton_servers)', async () => {
    const { dataDir } = d;
    await d.stop({ keepData: true });
    d = await startTestDaemon({ plugins: [tritonPlugin], dataDir, config: { plugins: { triton: { repositoryRoots: [roots], probeIntervalMs: 3_600_000, requestTimeoutMs: 1_000 } } } });
    const list = await d.gql(`{ tritonServers { id repositoryPath } }`);
    expect(list.data.tritonServers.map((s: { id: string }) => s.id)).toEqual(['t1', 'watched']);
    keptDataDir = dataDir;
  });
});
