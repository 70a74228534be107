import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { llamaCppPlugin } from '../plugins/llama-cpp/index.ts';
import { locateLlamaServer } from './fixtures/llama/llama-server-bin.ts';
import { alive, createLlamaModelRoot, freePort, instanceFields, llamaClient } from './fixtures/llama/llama-test-kit.ts';
import { startTestDaemon, type TestDaemon } from './helpers/test-daemon.ts';
import { waitFor } from './helpers/wait-for.ts';

const llamaServer = await locateLlamaServer();

describe.skipIf(llamaServer.skip !== undefined)(`llama-cpp against the real llama-server${llamaServer.skip ? ` (skipped: ${llamaServer.skip})` : ''}`, () => {
  let bp: TestDaemon;
  let models: Awaited<ReturnType<typeof createLlamaModelRoot>>;
  let llama: ReturnType<typeof llamaClient>;
  let rangeFrom: number;

  const runningJobs = async () => (await bp.gql('{ jobs(plugin: "llama-cpp", status: running) { edges { node { id pid } } } }')).data.jobs.edges.length;
  const instanceCount = async () => (await bp.gql('{ llamaInstances { edges { node { name } } } }')).data.llamaInstances.edges.length;

  beforeAll(async () => {
    models = await createLlamaModelRoot();
    rangeFrom = Math.min(await freePort(), 65_000);
    bp = await startTestDaemon({
      plugins: [llamaCppPlugin],
      config: {
        plugins: {
          'llama-cpp': {
            llamaServerPath: llamaServer.path,
            modelRoots: [models.root],
            portRange: { from: rangeFrom, to: rangeFrom + 30 },
            healthIntervalMs: 200,
            healthTimeoutMs: 500,
            stopTimeoutSeconds: 5,
            restart: { initialDelayMs: 300, maxDelayMs: 2_000, maxRestarts: 2, resetAfterMs: 600_000 },
            groups: { small: { maxRunning: 2 } },
            defaults: { ctxSize: 512, threads: 1 },
          },
        },
      },
    });
    llama = llamaClient(bp.gql);
  }, 120_000);

  afterAll(async () => {
    await bp?.gql('mutation { stopAllLlamaInstances(force: true) { name } }').catch(() => undefined);
    await bp?.stop();
    await models?.cleanup();
  });

  test('create → start → starting → running (healthy); a prompt completes on its port; stats and logs', async () => {
    const created = await llama.create({ name: 'tiny', modelPath: models.model, options: { aliases: ['tiny-llama'], extraArgs: ['--batch-size', '64'] } });
    expect(created.errors).toBeUndefined();
    expect(created.data.createLlamaInstance).toMatchObject({ status: 'stopped', port: rangeFrom, pid: null, options: { ctxSize: 512, threads: 1, aliases: ['tiny-llama'], extraArgs: ['--batch-size', '64'] } });

    // The subscription sends the current state first, then every status or health change.
    const updates: string[] = [];
    const client = bp.ws();
    let first!: () => void;
    const subscribed = new Promise<void>((resolve) => (first = resolve));
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe<{ llamaInstanceUpdated: { status: string; health: { state: string } } }>(
        { query: 'subscription { llamaInstanceUpdated(name: "tiny") { status health { state } } }' },
        {
          next: ({ data }) => {
            updates.push(`${data!.llamaInstanceUpdated.status}/${data!.llamaInstanceUpdated.health.state}`);
            first();
            if (data!.llamaInstanceUpdated.status === 'running') resolve();
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    await subscribed;

    const started = (await llama.mutate('startLlamaInstance', 'tiny')).data.startLlamaInstance;
    expect(started.status).toBe('starting');
    await done;
    client.dispose();
    expect(updates[0]).toBe('stopped/unknown');
    expect(updates).toContain('starting/unknown');
    expect(updates.at(-1)).toBe('running/ok');

    const running = await llama.until('tiny', (i) => i.status === 'running' && i.pid !== null);
    expect(running.health).toMatchObject({ state: 'ok', failureCount: 0, httpStatus: 200 });
    expect(running.health.latencyMs).toBeGreaterThanOrEqual(0);
    expect(running.baseUrl).toBe(`http://127.0.0.1:${rangeFrom}`);

    const completion = await fetch(`${running.baseUrl}/completion`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Hello', n_predict: 8, temperature: 0 }) });
    expect(completion.status).toBe(200);
    const body = (await completion.json()) as { content: string; tokens_predicted: number; model: string };
    expect(body.tokens_predicted).toBe(8);
    expect(typeof body.content).toBe('string');
    const models_ = (await (await fetch(`${running.baseUrl}/v1/models`)).json()) as { data: { id: string; aliases: string[] }[] };
    expect(models_.data[0].id).toBe('tiny');

    const sampled = await llama.until('tiny', (i) => i.stats?.rssBytes > 0 && i.stats.uptimeSeconds !== null && i.stats.cpuPercent !== null && i.stats.tokensPredictedTotal >= 8);
    expect(sampled.stats.tokensPerSecond).toBeGreaterThan(0);
    const logs = (await bp.gql('{ llamaInstance(name: "tiny") { recentLogs(lines: 200) job { id status pid } } }')).data.llamaInstance;
    expect(logs.recentLogs.join('\n')).toMatch(/model loaded|listening on/);
    expect(logs.job).toMatchObject({ id: running.jobId, status: 'running', pid: running.pid });
  });

  test('SIGKILL: restarted with back-off, then failed after maxRestarts, nothing left running', async () => {
    const first = await llama.until('tiny', (i) => i.status === 'running' && i.pid !== null);
    process.kill(first.pid, 'SIGKILL');
    const restarting = await llama.untilStatus('tiny', 'restarting');
    expect(restarting.restartCount).toBe(1);
    expect(restarting.message).toMatch(/killed by signal SIGKILL; restart 1\/2 in 300 ms/);
    const second = await llama.until('tiny', (i) => i.status === 'running' && i.pid !== null && i.pid !== first.pid);
    expect(second.restartCount).toBe(1);

    process.kill(second.pid, 'SIGKILL');
    const again = await llama.untilStatus('tiny', 'restarting');
    expect(again.message).toMatch(/restart 2\/2 in 600 ms/);
    const third = await llama.until('tiny', (i) => i.status === 'running' && i.pid !== null && i.pid !== second.pid);

    process.kill(third.pid, 'SIGKILL');
    const failed = await llama.untilStatus('tiny', 'failed');
    expect(failed.message).toMatch(/killed by signal SIGKILL \(gave up after 2 restarts\)/);
    expect(failed.pid).toBeNull();
    expect([first.pid, second.pid, third.pid].some(alive)).toBe(false);
    expect(await runningJobs()).toBe(0);

    // A manual start clears the count.
    const restarted = (await llama.mutate('startLlamaInstance', 'tiny')).data.startLlamaInstance;
    expect(restarted.restartCount).toBe(0);
    await llama.untilStatus('tiny', 'running');
  });

  test('stop: SIGTERM and a clean exit; restart gives a new pid; stop of a stopped instance is a no-op', async () => {
    const before = await llama.until('tiny', (i) => i.status === 'running' && i.pid !== null);
    const restarted = (await llama.mutate('restartLlamaInstance', 'tiny')).data.restartLlamaInstance;
    expect(restarted.status).toBe('starting');
    const after = await llama.until('tiny', (i) => i.status === 'running' && i.pid !== null);
    expect(after.pid).not.toBe(before.pid);
    expect(alive(before.pid)).toBe(false);

    const stopped = (await llama.mutate('stopLlamaInstance', 'tiny', ', timeout: 10')).data.stopLlamaInstance;
    expect(stopped).toMatchObject({ status: 'stopped', pid: null, exitCode: 0, desired: 'stopped' });
    expect(alive(after.pid)).toBe(false);
    expect((await llama.mutate('stopLlamaInstance', 'tiny')).data.stopLlamaInstance.status).toBe('stopped');
  });

  test('a hang (SIGSTOP): failed health checks past the threshold kill the run and restart it', async () => {
    await llama.mutate('startLlamaInstance', 'tiny');
    const running = await llama.until('tiny', (i) => i.status === 'running' && i.pid !== null);
    process.kill(running.pid, 'SIGSTOP');
    const restarting = await llama.untilStatus('tiny', 'restarting', 60_000);
    expect(restarting.message).toMatch(/^unhealthy: 3 failed health checks \(GET \/health: .*\); restart 1\/2/);
    const back = await llama.until('tiny', (i) => i.status === 'running' && i.pid !== null && i.pid !== running.pid, 60_000);
    expect(back.health.failureCount).toBe(0);
    await waitFor(() => (alive(running.pid) ? undefined : true));
    await llama.mutate('stopLlamaInstance', 'tiny');
  });

  test('group budget: starting a third instance of a two-instance group stops the least recently used one', async () => {
    for (const name of ['g1', 'g2', 'g3']) {
      const created = await llama.create({ name, modelPath: models.model, options: { group: 'small' } });
      expect(created.errors).toBeUndefined();
    }
    await llama.mutate('startLlamaInstance', 'g1');
    const g1 = await llama.until('g1', (i) => i.status === 'running' && i.pid !== null);
    await llama.mutate('startLlamaInstance', 'g2');
    await llama.untilStatus('g2', 'running');
    await llama.mutate('startLlamaInstance', 'g3');
    const evicted = await llama.instance('g1');
    expect(evicted).toMatchObject({ status: 'stopped', message: "stopped to make room for 'g3' in group 'small'" });
    expect(alive(g1.pid)).toBe(false);
    await llama.untilStatus('g3', 'running');
    expect((await llama.instance('g2')).status).toBe('running');

    const all = (await bp.gql('mutation { stopAllLlamaInstances { name status } }')).data.stopAllLlamaInstances;
    expect(all.map((i: { status: string }) => i.status)).toEqual(all.map(() => 'stopped'));
    expect(await runningJobs()).toBe(0);
  });

  test('start-all starts every stopped instance; the connection pages by name', async () => {
    // The group allows two: start-all goes in name order, so g3 evicts g1… and ends failed or evicting; keep it simple: leave the group out.
    for (const name of ['g1', 'g2', 'g3']) expect((await bp.gql(`mutation { deleteLlamaInstance(name: "${name}") }`)).data.deleteLlamaInstance).toBe(true);
    await llama.create({ name: 'extra', modelPath: models.model });
    const started = (await bp.gql('mutation { startAllLlamaInstances { name status } }')).data.startAllLlamaInstances;
    expect(started).toEqual([
      { name: 'extra', status: 'starting' },
      { name: 'tiny', status: 'starting' },
    ]);
    await llama.untilStatus('extra', 'running');
    await llama.untilStatus('tiny', 'running');
    const page1 = (await bp.gql('{ llamaInstances(first: 1) { edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }')).data.llamaInstances;
    expect(page1).toEqual({ edges: [{ cursor: 'extra', node: { name: 'extra' } }], pageInfo: { hasNextPage: true, endCursor: 'extra' } });
    const page2 = (await bp.gql('{ llamaInstances(first: 5, after: "extra") { edges { node { name } } pageInfo { hasNextPage } } }')).data.llamaInstances;
    expect(page2).toEqual({ edges: [{ node: { name: 'tiny' } }], pageInfo: { hasNextPage: false } });
    await bp.gql('mutation { stopAllLlamaInstances(force: true) { name } }');
    expect(await runningJobs()).toBe(0);
  });

  describe('bad input leaves no process and no half-written row', () => {
    const code = (result: { errors?: { extensions?: { code?: string }; message: string }[] }) => result.errors?.[0]?.extensions?.code;

    test('create: bad name, duplicate name or alias, path outside the roots or missing, flag outside the allow-list, unknown group, taken port', async () => {
      const before = await instanceCount();
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ name: 'bad name!', modelPath: models.model }, 'BAD_USER_INPUT', /only alphanumeric, hyphens, underscores/],
        [{ name: 'x'.repeat(51), modelPath: models.model }, 'BAD_USER_INPUT', /max 50 characters/],
        [{ name: 'tiny', modelPath: models.model }, 'CONFLICT', /Instance 'tiny' already exists/],
        [{ name: 'tiny-llama', modelPath: models.model }, 'CONFLICT', /already exists/],
        [{ name: 'dup-alias', modelPath: models.model, options: { aliases: ['tiny-llama'] } }, 'CONFLICT', /already used by instance 'tiny'/],
        [{ name: 'outside', modelPath: '/etc/passwd' }, 'BAD_USER_INPUT', /outside the allowed model roots/],
        [{ name: 'dotdot', modelPath: `${models.root}/../escape.gguf` }, 'BAD_USER_INPUT', /outside the allowed model roots/],
        [{ name: 'missing', modelPath: `${models.root}/nope.gguf` }, 'BAD_USER_INPUT', /does not exist/],
        [{ name: 'flags', modelPath: models.model, options: { extraArgs: ['--api-key', 'secret'] } }, 'BAD_USER_INPUT', /'--api-key' is not allowed/],
        [{ name: 'managed', modelPath: models.model, options: { extraArgs: ['--port', '9999'] } }, 'BAD_USER_INPUT', /set by backplane: use port/],
        [{ name: 'group', modelPath: models.model, options: { group: 'nope' } }, 'BAD_USER_INPUT', /Unknown group 'nope'/],
        [{ name: 'port', modelPath: models.model, port: rangeFrom }, 'CONFLICT', /Port \d+ is assigned to instance/],
        [{ name: 'lowport', modelPath: models.model, port: 80 }, 'BAD_USER_INPUT', /port from 1024/],
      ];
      for (const [input, expected, message] of cases) {
        const result = await llama.create(input);
        expect({ input, code: code(result) }).toEqual({ input, code: expected });
        expect(result.errors![0].message).toMatch(message);
      }
      expect(await instanceCount()).toBe(before);
      expect(await runningJobs()).toBe(0);
    });

    test('a running instance: delete and update are CONFLICT; update with restart applies the change; the port in use is CONFLICT before spawning', async () => {
      await llama.mutate('startLlamaInstance', 'tiny');
      const running = await llama.until('tiny', (i) => i.status === 'running' && i.pid !== null);
      const del = await bp.gql('mutation { deleteLlamaInstance(name: "tiny") }');
      expect(code(del)).toBe('CONFLICT');
      expect(del.errors![0].message).toMatch(/stop it before deleting it/);
      const update = await bp.gql('mutation { updateLlamaInstance(name: "tiny", input: { options: { parallel: 2 } }) { name } }');
      expect(code(update)).toBe('CONFLICT');
      expect((await llama.instance('tiny')).options.parallel).toBe(1);
      expect(code(await llama.mutate('startLlamaInstance', 'tiny'))).toBe('CONFLICT');

      const applied = (await bp.gql(`mutation { updateLlamaInstance(name: "tiny", input: { options: { parallel: 2 } }, restart: true) { ${instanceFields} } }`)).data.updateLlamaInstance;
      expect(applied.options.parallel).toBe(2);
      const after = await llama.until('tiny', (i) => i.status === 'running' && i.pid !== null);
      expect(after.pid).not.toBe(running.pid);
      await llama.mutate('stopLlamaInstance', 'tiny');

      // Someone else listens on the instance's port: CONFLICT, nothing spawned, still stopped.
      const busy = net.createServer();
      await new Promise<void>((resolve) => busy.listen(rangeFrom, '127.0.0.1', resolve));
      try {
        const jobsBefore = (await bp.gql('{ jobs(plugin: "llama-cpp") { edges { node { id } } } }')).data.jobs.edges.length;
        const start = await llama.mutate('startLlamaInstance', 'tiny');
        expect(code(start)).toBe('CONFLICT');
        expect(start.errors![0].message).toMatch(new RegExp(`Port ${rangeFrom} is already in use`));
        expect((await llama.instance('tiny')).status).toBe('stopped');
        expect((await bp.gql('{ jobs(plugin: "llama-cpp") { edges { node { id } } } }')).data.jobs.edges.length).toBe(jobsBefore);
      } finally {
        await new Promise((resolve) => busy.close(resolve));
      }

      // Stopped: update and delete work.
      const updated = (await bp.gql('mutation { updateLlamaInstance(name: "extra", input: { options: { threads: null, ctxSize: 256 } }) { options { threads ctxSize } } }')).data.updateLlamaInstance;
      expect(updated.options).toEqual({ threads: null, ctxSize: 256 });
      expect((await bp.gql('mutation { deleteLlamaInstance(name: "extra") }')).data.deleteLlamaInstance).toBe(true);
      expect((await bp.gql('mutation { deleteLlamaInstance(name: "extra") }')).data.deleteLlamaInstance).toBe(false);
      expect(code(await llama.mutate('startLlamaInstance', 'extra'))).toBe('NOT_FOUND');
      await waitFor(async () => ((await runningJobs()) === 0 ? true : undefined));
    });
  });
});
