import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { builtinCliModules } from '../cli/builtin-cli-modules.ts';
import { builtinPlugins } from '../plugins/index.ts';
import { runBackplane } from './helpers/cli-run.ts';
import { spawnDaemon, type DaemonProcess } from './helpers/daemon-process.ts';
import { createFakeNvidiaSmi, type FakeNvidiaSmi } from './fixtures/nvidia-smi/fake-nvidia-smi.ts';

let dir: string;
let fake: FakeNvidiaSmi;
let daemon: DaemonProcess;
const cli = (args: string[], env?: Record<string, string>) => runBackplane(daemon.url, args, env);
const startJob = async (fixture: string, args: string[], kind = 'test') => {
  const result = await daemon.gql<{ testStartJob: string }>('mutation($f: String!, $a: [String!]!, $k: String) { testStartJob(fixture: $f, args: $a, kind: $k) }', { f: fixture, a: args, k: kind });
  return result.data!.testStartJob;
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bp-cli-client-'));
  fake = await createFakeNvidiaSmi('four-mixed');
  daemon = await spawnDaemon(dir, {
    plugins: {
      'nvidia-smi': { bin: fake.bin, mode: 'spawn', intervalMs: 200 },
      'jobs-test': { module: path.resolve('test/helpers/jobs-test-plugin.ts') },
      ilab: { mode: 'mock', mock: { stepMs: 20 } },
      'llama-cpp': { llamaServerPath: path.join(dir, 'no-llama-server') },
    },
  });
}, 60_000);
afterAll(async () => {
  daemon?.process.kill('SIGTERM');
  await daemon?.process;
  await fake?.remove();
  await rm(dir, { recursive: true, force: true });
});

describe('status and gpus', () => {
  test('status: a table for people, JSON with stable names for scripts', async () => {
    const table = await cli(['status']);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/^backplane 0\.1\.0 at http:\/\/127\.0\.0\.1:\d+, up \d+/);
    expect(table.stdout).toMatch(/PLUGIN\s+VERSION\s+STATUS\s+MESSAGE/);
    expect(table.stdout).toMatch(/nvidia-smi\s+1\.0\.0\s+ready/);
    expect(table.stdout).toMatch(/1\s+NVIDIA H100 80GB HBM3\s+97%\s+61440 \/ 81559/);
    expect(table.stdout).toContain('ilab served models');
    expect(table.stdout).not.toContain('\x1b['); // piped: no colour
    const json = await cli(['status', '--json']);
    expect(json.exitCode).toBe(0);
    const body = JSON.parse(json.stdout);
    expect(Object.keys(body)).toEqual(expect.arrayContaining(['daemon', 'plugins', 'gpus', 'jobs']));
    expect(body.daemon.version).toBe('0.1.0');
    expect(body.gpus).toHaveLength(4);
    expect(body.plugins.map((p: { id: string }) => p.id)).toContain('jobs-test');
  });

  test('gpus and gpus leases, both modes', async () => {
    const table = await cli(['gpus']);
    expect(table.stdout.split('\n')[0]).toMatch(/^GPU\s+NAME\s+UTIL\s+MEMORY \(MiB\)\s+TEMP\s+POWER\s+FREE\s+HELD BY$/);
    expect(table.stdout.split('\n')).toHaveLength(5);
    const json = JSON.parse((await cli(['gpus', '--json'])).stdout);
    expect(json[1]).toMatchObject({ index: 1, utilizationPercent: 97, memoryUsedMiB: 61440, memoryTotalMiB: 81559, free: false });
    expect((await cli(['gpus', 'leases'])).stdout).toMatch(/\(none\)|LEASE/);
    expect(JSON.parse((await cli(['gpus', 'leases', '--json'])).stdout)).toEqual(expect.any(Array));
  });

  test('gpus --watch --jsonl streams samples of the gpuStats subscription', async () => {
    const { execa } = await import('execa');
    const { backplaneBin } = await import('./helpers/cli-run.ts');
    const child = execa(process.execPath, [backplaneBin, 'gpus', '--watch', '--jsonl'], { env: { BACKPLANE_URL: daemon.url }, reject: false, buffer: false });
    const samples: { sampledAt: string; gpus: unknown[] }[] = [];
    await new Promise<void>((resolve) => {
      let text = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const lines = text.split('\n');
        text = lines.pop()!;
        for (const line of lines) samples.push(JSON.parse(line));
        if (samples.length >= 2) resolve();
      });
    });
    child.kill('SIGINT');
    const result = await child;
    expect(samples[0].gpus).toHaveLength(4);
    expect(samples[1].sampledAt).not.toBe(samples[0].sampledAt);
    expect(result.exitCode).toBe(130);
  });
});

describe('jobs', () => {
  test('list, show and logs in both modes', async () => {
    const id = await startJob('job-lines', ['5']);
    expect((await cli(['jobs', 'wait', id])).exitCode).toBe(0);
    const list = await cli(['jobs', 'list', '--plugin', 'jobs-test', '--limit', '5']);
    expect(list.exitCode).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+KIND\s+PLUGIN\s+STATUS\s+PROGRESS\s+GPUS\s+CREATED$/);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+test\\s+jobs-test\\s+succeeded`));
    const listJson = JSON.parse((await cli(['jobs', 'list', '--json', '--status', 'succeeded'])).stdout);
    expect(listJson.find((j: { id: string }) => j.id === id)).toMatchObject({ id, kind: 'test', plugin: 'jobs-test', status: 'succeeded' });
    const show = await cli(['jobs', 'show', id]);
    expect(show.stdout).toMatch(new RegExp(`id:\\s+${id}`));
    expect(show.stdout).toMatch(/exitCode:\s+0/);
    expect(JSON.parse((await cli(['jobs', 'show', id, '--json'])).stdout)).toMatchObject({ id, status: 'succeeded', exitCode: 0 });
    const logs = await cli(['jobs', 'logs', id, '--tail', '2']);
    expect(logs.stdout.split('\n')).toHaveLength(2);
    const jsonl = (await cli(['jobs', 'logs', id, '--jsonl'])).stdout.split('\n').map((l) => JSON.parse(l));
    expect(jsonl[0]).toEqual({ jobId: id, line: expect.any(String) });
    expect(JSON.parse((await cli(['jobs', 'logs', id, '--json'])).stdout)).toMatchObject({ jobId: id, status: 'succeeded', lines: expect.any(Array) });
  });

  test('logs --follow streams a job to its end and exits with its result', async () => {
    const ok = await startJob('job-sleep', ['1', '0']);
    const followed = await cli(['jobs', 'logs', ok, '--follow']);
    expect(followed.exitCode).toBe(0);
    expect(followed.stdout).toContain('sleeping 1s');
    expect(followed.stdout).toContain('awake');
    expect(followed.stderr).toContain(`${ok} succeeded (exit 0)`);
    const bad = await startJob('job-sleep', ['1', '3']);
    const failed = await cli(['jobs', 'logs', bad, '--follow', '--jsonl']);
    expect(failed.exitCode).toBe(1);
    const lines = failed.stdout.split('\n').map((l) => JSON.parse(l));
    expect(lines).toContainEqual({ jobId: bad, line: 'awake' });
    expect(lines.at(-1)).toMatchObject({ jobId: bad, status: 'failed', exitCode: 3 });
    expect((await cli(['jobs', 'wait', bad])).exitCode).toBe(1);
  });

  test('logs --follow delivers every line of a fast job once, in order', async () => {
    const id = await startJob('job-lines', ['20000']);
    const followed = await cli(['jobs', 'logs', id, '--follow', '--tail', '100000']);
    expect(followed.exitCode).toBe(0);
    const lines = followed.stdout.split('\n');
    expect(lines).toHaveLength(20000);
    expect(lines[0]).toMatch(/^0000000000 /);
    expect(lines[19999]).toMatch(/^0000019999 /);
    expect(new Set(lines).size).toBe(20000);
  });

  test('cancel, both modes; cancelling again is the daemon’s CONFLICT message', async () => {
    const id = await startJob('job-sleep', ['30']);
    const cancelled = await cli(['jobs', 'cancel', id]);
    expect(cancelled.exitCode).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`${id}\\s+test\\s+jobs-test`));
    expect((await cli(['jobs', 'wait', id])).exitCode).toBe(1);
    const again = await cli(['jobs', 'cancel', id, '--json']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/^backplane: cancelJob: Job .* has already ended \(cancelled\)$/);
    const second = await startJob('job-sleep', ['30']);
    expect(JSON.parse((await cli(['jobs', 'cancel', second, '--json'])).stdout)[0]).toMatchObject({ id: second });
  });

  test('an unknown job id is exit 1 with a message, no stack trace', async () => {
    for (const args of [['jobs', 'show', 't-123'], ['jobs', 'logs', 't-123', '--follow'], ['jobs', 'wait', 't-123']]) {
      const result = await cli(args);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toBe("backplane: job 't-123' not found");
    }
    const cancel = await cli(['jobs', 'cancel', 't-123']);
    expect(cancel.exitCode).toBe(1);
    expect(cancel.stderr).not.toContain('    at ');
  });
});

describe('plugin commands', () => {
  test('ilab models, data, checkpoints in both modes', async () => {
    const models = await cli(['ilab', 'models']);
    expect(models.stdout).toMatch(/^NAME\s+SIZE\s+MODIFIED\n/);
    expect(models.stdout).toMatch(/models\/granite-8b-starter-v1\s+15\.2 GB/);
    expect(JSON.parse((await cli(['ilab', 'models', '--json'])).stdout)).toContainEqual(expect.objectContaining({ name: 'models/granite-8b-starter-v1', size: '15.2 GB' }));
    expect((await cli(['ilab', 'data'])).exitCode).toBe(0);
    expect(JSON.parse((await cli(['ilab', 'data', '--json'])).stdout)).toEqual(expect.any(Array));
    const checkpoints = await cli(['ilab', 'checkpoints', '--json']);
    expect(checkpoints.exitCode === 0 || checkpoints.stderr.includes('checkpoints')).toBe(true);
  });

  test('ilab train --follow ends with the job (exit 0), a bad epochs is the daemon’s message (exit 1)', async () => {
    const bad = await cli(['ilab', 'train', '--model', 'models/granite-8b-starter-v1', '--branch', 'main', '--epochs', 'ten']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toBe('backplane: Variable "$epochs" got invalid value "ten"; Int cannot represent non-integer value: "ten"');
    const trained = await cli(['ilab', 'train', '--model', 'models/granite-8b-starter-v1', '--branch', 'main', '--epochs', '1', '--follow']);
    expect(trained.exitCode).toBe(0);
    expect(trained.stdout).toMatch(/^started train job t-\d+ on main/);
    expect(trained.stdout).toContain('Operation completed successfully!');
    expect(trained.stdout).not.toContain('\x1b[');
    const started = JSON.parse((await cli(['ilab', 'generate', '--json'])).stdout);
    expect(started).toMatchObject({ jobId: expect.stringMatching(/^g-/), kind: 'data-generate', mock: true });
    expect((await cli(['jobs', 'wait', started.jobId])).exitCode).toBe(0);
    expect(JSON.parse((await cli(['ilab', 'checkpoints', '--json'])).stdout)[0]).toMatchObject({ name: expect.stringMatching(/^samples_/) });
    expect((await cli(['ilab', 'checkpoints'])).stdout).toMatch(/^NAME\s+SAMPLES\s+MODIFIED/);
    const pipeline = await cli(['ilab', 'pipeline', '--model', 'models/granite-8b-starter-v1', '--branch', 'main', '--epochs', '1', '--follow', '--jsonl']);
    expect(pipeline.exitCode).toBe(0);
    const events = pipeline.stdout.split('\n').map((line) => JSON.parse(line));
    expect(events.at(-1)).toMatchObject({ jobId: expect.stringMatching(/^p-/), status: 'succeeded' });
  });

  test('llama ls in both modes; starting an unknown instance is the daemon’s message', async () => {
    expect((await cli(['llama', 'ls'])).stdout).toBe('(none)');
    expect(JSON.parse((await cli(['llama', 'ls', '--json'])).stdout)).toEqual([]);
    const start = await cli(['llama', 'start', 'nope']);
    expect(start.exitCode).toBe(1);
    expect(start.stderr).toBe("backplane: startLlamaInstance: Instance 'nope' not found");
  });

  test('vllm ls and rm in both modes; without podman, the daemon’s degraded message (exit 1)', async () => {
    const ls = await cli(['vllm', 'ls']);
    const json = await cli(['vllm', 'ls', '--json']);
    const rm = await cli(['vllm', 'rm', 'nope', '--json']);
    if (ls.exitCode === 1) {
      expect(ls.stderr).toMatch(/^backplane: vllmServers: The vllm-podman plugin is degraded: podman not found/);
      expect(json.exitCode).toBe(1);
      expect(rm.stderr).toMatch(/^backplane: removeVllmServer: The vllm-podman plugin is degraded/);
    } else {
      expect(ls.stdout).toMatch(/\(none\)|NAME\s+STATUS/);
      expect(JSON.parse(json.stdout)).toEqual(expect.any(Array));
      expect(JSON.parse(rm.stdout)).toEqual({ name: 'nope', removed: false });
    }
    expect(rm.exitCode).toBe(1);
  });

  test('each built-in manifest names the cli module the client loads without importing it', () => {
    for (const plugin of builtinPlugins) {
      const listed = builtinCliModules.get(plugin.id);
      if (plugin.cli === undefined) expect(listed).toBeUndefined();
      else expect(String(plugin.cli)).toBe(listed?.href);
    }
  });

  test('a third-party plugin in the config file adds its commands', async () => {
    const config = path.join(dir, 'client.yaml');
    await writeFile(config, `plugins:\n  hello-cli:\n    module: ${path.resolve('test/fixtures/cli-plugin/index.ts')}\n`);
    const result = await cli(['--config', config, 'hello-cli', 'greet', 'ada', '--json']);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ greeting: 'hello ada', daemon: '0.1.0' });
    expect((await cli(['hello-cli', 'greet', 'ada'], { BACKPLANE_CONFIG: config })).stdout).toMatch(/greeting:\s+hello ada/);
  });
});

describe('graphql, completion, usage', () => {
  test('graphql with --var', async () => {
    const result = await cli(['graphql', 'query($n: Int) { jobs(first: $n) { edges { node { id } } } }', '--var', 'n=1']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout).jobs.edges).toHaveLength(1);
    const bad = await cli(['graphql', '{ nope }']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toBe('backplane: Cannot query field "nope" on type "Query".');
  });

  test('unknown command or flag: usage error naming it with a suggestion, exit 2', async () => {
    const command = await cli(['jbos', 'list']);
    expect(command.exitCode).toBe(2);
    expect(command.stderr).toContain("backplane: unknown command 'jbos'");
    expect(command.stderr).toContain('(Did you mean jobs?)');
    const flag = await cli(['jobs', 'list', '--stauts', 'running']);
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toContain("unknown option '--stauts'");
    expect(flag.stderr).toContain('(Did you mean --status?)');
    expect((await cli(['jobs'])).exitCode).toBe(2);
    expect((await cli(['ilab', 'train', '--model', 'x'])).stderr).toContain("required option '--branch <name>' not specified");
  });

  test('--help on every command shows an example; completion scripts cover the tree', async () => {
    for (const args of [['status'], ['jobs', 'logs'], ['gpus'], ['ilab', 'train'], ['vllm', 'start'], ['llama', 'logs'], ['graphql']]) {
      const help = await cli([...args, '--help']);
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toMatch(/Examples?:\n {2}backplane /);
    }
    const bash = await cli(['completion', 'bash']);
    expect(bash.stdout).toContain('complete -F _backplane backplane');
    expect(bash.stdout).toContain('"jobs") words_here="list ls show logs cancel wait');
    expect(bash.stdout).toContain('"ilab serve") words_here="base latest');
    expect((await cli(['completion', 'zsh'])).stdout).toContain('bashcompinit');
    expect((await cli(['completion', 'fish'])).exitCode).toBe(2);
  });
});

describe('connection failures', () => {
  test('a daemon that is not there: a clear message, exit 1', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const result = await runBackplane(`http://127.0.0.1:${port}`, ['status']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(`backplane: cannot connect to the daemon at http://127.0.0.1:${port} (connection refused): is it running? Start it with \`backplane serve\`, or point --url / BACKPLANE_URL at it`);
  });
});
