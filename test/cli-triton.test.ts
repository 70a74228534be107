import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { backplaneBin, runBackplane } from './helpers/cli-run.ts';
import { spawnDaemon, type DaemonProcess } from './helpers/daemon-process.ts';
import { FakeTriton, writeFakeModel } from './helpers/fake-triton.ts';

/**
 * `backplane triton …` against a real daemon (`backplane serve` in a child process) whose
 * triton plugin talks to two fakes of Triton sharing one model repository, as
 * test/triton-servers.test.ts drives them.
 */
let tmp: string;
let repository: string;
let a: FakeTriton;
let b: FakeTriton;
let daemon: DaemonProcess;
const cli = (args: string[]) => runBackplane(daemon.url, args);
const json = async (args: string[]) => {
  const result = await cli([...args, '--json']);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
};

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'bp-cli-triton-'));
  const roots = path.join(tmp, 'roots');
  repository = path.join(roots, 'models');
  await mkdir(repository, { recursive: true });
  await writeFakeModel(repository, 'densenet_onnx', { versions: ['1', '2'] });
  await writeFakeModel(repository, 'resnet50');
  a = await new FakeTriton({ repository }).start();
  b = await new FakeTriton({ repository }).start();
  const dataDir = path.join(tmp, 'data');
  await mkdir(dataDir);
  daemon = await spawnDaemon(dataDir, {
    plugins: {
      triton: { repositoryRoots: [roots], probeIntervalMs: 3_600_000, requestTimeoutMs: 1_000 },
      ilab: { enabled: false },
      'vllm-podman': { enabled: false },
      'llama-cpp': { enabled: false },
      'nvidia-smi': { enabled: false },
      training: { enabled: false },
    },
  });
}, 60_000);
afterAll(async () => {
  daemon?.process.kill('SIGTERM');
  await daemon?.process;
  await a?.stop();
  await b?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('backplane triton', () => {
  test('add: registers and probes (table, JSON); a second registration of the address is the daemon’s CONFLICT message', async () => {
    const added = await cli(['triton', 'add', 'gpu-a', '--host', '127.0.0.1', '--port', String(a.port), '--metrics-port', String(a.metricsPort), '--repository', repository, '--gpus', '1']);
    expect(added.stderr).toBe('');
    expect(added.exitCode).toBe(0);
    expect(added.stdout.split('\n')[0]).toMatch(/^NAME\s+ADDRESS\s+STATE\s+LATENCY\s+READY\s+GPUS\s+MESSAGE$/);
    expect(added.stdout).toMatch(new RegExp(`gpu-a\\s+127\\.0\\.0\\.1:${a.port}\\s+READY\\s+[\\d.]+ ms\\s+0/2\\s+1\\s+-`));
    const second = await json(['triton', 'add', 'gpu-b', '--host', '127.0.0.1', '--port', String(b.port)]);
    expect(second).toMatchObject({ id: 'gpu-b', host: '127.0.0.1', httpPort: b.port, metricsPort: null, gpus: 0, health: { state: 'READY', live: true, ready: true } });
    expect(second.cachedModels.sort()).toEqual(['densenet_onnx', 'resnet50']);
    const again = await cli(['triton', 'add', 'gpu-c', '--host', '127.0.0.1', '--port', String(b.port)]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toBe("backplane: registerTritonServer: A Triton server at 127.0.0.1:" + b.port + " is already registered as 'gpu-b'");
  });

  test('load --everywhere and --server, then ls and the fleet view in both modes', async () => {
    const everywhere = await cli(['triton', 'load', 'densenet_onnx', '--everywhere']);
    expect(everywhere.exitCode).toBe(0);
    expect(everywhere.stdout).toMatch(/^SERVER\s+LOADED\s+ERROR\ngpu-a\s+yes\s+-\ngpu-b\s+yes\s+-$/);
    const one = await cli(['triton', 'load', 'resnet50', '--server', 'gpu-a']);
    expect(one.stdout).toMatch(/^MODEL\s+SERVER\s+READY\s+VERSIONS\nresnet50\s+gpu-a\s+yes\s+1 READY$/);
    expect(a.models.get('resnet50')?.versions.get('1')?.state).toBe('READY');

    const ls = await cli(['triton', 'ls']);
    expect(ls.stdout).toMatch(/gpu-a\s+127\.0\.0\.1:\d+\s+READY\s+[\d.]+ ms\s+2\/2\s+1\s+-/);
    expect(ls.stdout).toMatch(/gpu-b\s+127\.0\.0\.1:\d+\s+READY\s+[\d.]+ ms\s+1\/2\s+0\s+-/);
    expect(ls.stdout).not.toContain('\x1b[');
    const servers = await json(['triton', 'ls']);
    expect(servers.map((s: { id: string; readyModels: string[] }) => [s.id, s.readyModels.sort()])).toEqual([
      ['gpu-a', ['densenet_onnx', 'resnet50']],
      ['gpu-b', ['densenet_onnx']],
    ]);

    const models = await cli(['triton', 'models']);
    expect(models.stdout.split('\n')).toEqual([
      expect.stringMatching(/^MODEL\s+SERVER\s+READY\s+VERSIONS$/),
      expect.stringMatching(/^densenet_onnx\s+gpu-a\s+yes\s+2 READY$/),
      expect.stringMatching(/^\s+gpu-b\s+yes\s+2 READY$/),
      expect.stringMatching(/^resnet50\s+gpu-a\s+yes\s+1 READY$/),
      expect.stringMatching(/^\s+gpu-b\s+no\s+never loaded$/),
    ]);
    const fleet = await json(['triton', 'models']);
    expect(fleet.errors).toEqual([]);
    expect(fleet.models.find((m: { name: string }) => m.name === 'densenet_onnx').readyOn.sort()).toEqual(['gpu-a', 'gpu-b']);
    const onB = await json(['triton', 'models', '--server', 'gpu-b']);
    for (const m of onB.models) expect(m.placements.map((p: { serverId: string }) => p.serverId)).toEqual(['gpu-b']);
    expect(onB.models.find((m: { name: string }) => m.name === 'resnet50').placements[0]).toEqual({ serverId: 'gpu-b', ready: false, versions: [{ version: null, state: null, reason: null }] });

    const neither = await cli(['triton', 'load', 'densenet_onnx']);
    expect(neither.exitCode).toBe(2);
    expect(neither.stderr).toContain('backplane: give one of --server <name> or --everywhere');
  });

  test('versions and show: states, statistics, Triton’s metadata and metrics, both modes', async () => {
    a.infer('densenet_onnx', '2', 12);
    const versions = await cli(['triton', 'versions', 'densenet_onnx', '--server', 'gpu-a']);
    expect(versions.stdout).toMatch(/^VERSION\s+STATE\s+REASON\s+INFERENCES\s+EXECUTIONS\s+LAST INFERENCE\n2\s+READY\s+-\s+12\s+12\s+\d{4}-\d\d-\d\dT/);
    const versionsJson = await json(['triton', 'versions', 'densenet_onnx', '--server', 'gpu-a']);
    expect(versionsJson).toMatchObject({ serverId: 'gpu-a', name: 'densenet_onnx', ready: true, versions: [{ version: '2', state: 'READY' }], stats: [{ version: '2', inferenceCount: 12, executionCount: 12 }] });

    const show = await cli(['triton', 'show', 'gpu-a']);
    expect(show.exitCode).toBe(0);
    expect(show.stdout).toMatch(/^name:\s+gpu-a$/m);
    expect(show.stdout).toMatch(/^state:\s+READY$/m);
    expect(show.stdout).toMatch(/^triton:\s+triton 2\.42\.0$/m);
    expect(show.stdout).toMatch(/GPU-0e9fdafb-5adb-91cd-26a8-308d34357efc\s+50%\s+0\.9 \/ 15\.8\s+55 W/);
    expect(show.stdout).toMatch(/densenet_onnx\s+2\s+12\s/);
    const shown = await json(['triton', 'show', 'gpu-a']);
    expect(shown).toMatchObject({ id: 'gpu-a', metadata: { name: 'triton', version: '2.42.0' }, metrics: { gpus: [{ utilization: 0.5, powerWatts: 55.137 }] } });
    expect(shown.metrics.models).toContainEqual(expect.objectContaining({ model: 'densenet_onnx', version: '2', inferenceCount: 12 }));
    expect((await json(['triton', 'show', 'gpu-b'])).metrics).toBeNull();
  });

  test('unload --server, both modes', async () => {
    const unloaded = await cli(['triton', 'unload', 'densenet_onnx', '--server', 'gpu-b']);
    expect(unloaded.stdout).toMatch(/densenet_onnx\s+gpu-b\s+no\s+2 UNAVAILABLE \(unloaded\)$/);
    expect(b.models.get('densenet_onnx')?.versions.get('2')?.state).toBe('UNAVAILABLE');
    expect(await json(['triton', 'unload', 'resnet50', '--server', 'gpu-a', '--dependents'])).toEqual({ serverId: 'gpu-a', name: 'resnet50', ready: false, versions: [{ version: '1', state: 'UNAVAILABLE', reason: 'unloaded' }] });
  });

  test('an unknown server is the daemon’s message, exit 1', async () => {
    for (const args of [['triton', 'versions', 'densenet_onnx', '--server', 'nope'], ['triton', 'load', 'densenet_onnx', '--server', 'nope'], ['triton', 'unload', 'densenet_onnx', '--server', 'nope', '--json']]) {
      const result = await cli(args);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/^backplane: \w+: Triton server 'nope' is not registered$/);
      expect(result.stdout).toBe('');
    }
    for (const args of [['triton', 'show', 'nope'], ['triton', 'models', '--server', 'nope']]) {
      const result = await cli(args);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toBe("backplane: Triton server 'nope' is not registered");
    }
    const badPort = await cli(['triton', 'add', 'x', '--host', '127.0.0.1', '--port', 'eighty']);
    expect(badPort.exitCode).toBe(1);
    expect(badPort.stderr).toContain('Int cannot represent non-integer value: "eighty"');
  });

  test('ls --watch --jsonl: the servers, then each health change; Ctrl-C ends it (130)', async () => {
    const { execa } = await import('execa');
    const child = execa(process.execPath, [backplaneBin, 'triton', 'ls', '--watch', '--jsonl'], { env: { BACKPLANE_URL: daemon.url, BACKPLANE_API_KEY: '' }, reject: false, buffer: false });
    const lines: { id: string; health: { state: string }; readyModels: string[] }[] = [];
    const waiters: (() => void)[] = [];
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const parts = text.split('\n');
      text = parts.pop()!;
      for (const part of parts) lines.push(JSON.parse(part));
      for (const wake of waiters.splice(0)) wake();
    });
    const waitLines = async (n: number) => {
      while (lines.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    };
    await waitLines(2);
    expect(lines.map((l) => [l.id, l.health.state])).toEqual([
      ['gpu-a', 'READY'],
      ['gpu-b', 'READY'],
    ]);
    // The subscription opens just after the first rows are out, so a change may come before it:
    // the server flips between hanging (DOWN once the probe times out) and answering, a change
    // on every probe, until the subscription has reported it DOWN.
    const down = () => lines.slice(2).some((l) => l.id === 'gpu-b' && l.health.state === 'DOWN');
    for (let i = 0; i < 20 && !down(); i++) {
      b.hang = !b.hang;
      await daemon.gql('mutation { probeTritonServer(id: "gpu-b") { id } }');
      await Promise.race([waitLines(lines.length + 1), new Promise((resolve) => setTimeout(resolve, 200))]);
    }
    expect(lines.slice(2).find((l) => l.health.state === 'DOWN')).toMatchObject({ id: 'gpu-b', health: { state: 'DOWN' }, readyModels: [] });
    child.kill('SIGINT');
    expect((await child).exitCode).toBe(130);
    await b.stop();
    await daemon.gql('mutation { probeTritonServer(id: "gpu-b") { id } }');
    expect(await cli(['triton', 'ls'])).toMatchObject({ stdout: expect.stringMatching(/gpu-b\s+127\.0\.0\.1:\d+\s+DOWN\s+-\s+0\/2\s+0\s+Triton server 'gpu-b' \(127\.0\.0\.1:\d+\) is unreachable \(ECONNREFUSED\)/) });
  });

  test('rm, both modes; an unknown one is exit 1', async () => {
    expect(await cli(['triton', 'rm', 'gpu-b'])).toMatchObject({ exitCode: 0, stdout: 'removed gpu-b' });
    expect(await cli(['triton', 'rm', 'gpu-b'])).toMatchObject({ exitCode: 1, stdout: 'gpu-b: no such server' });
    const json = await cli(['triton', 'rm', 'gpu-b', '--json']);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ id: 'gpu-b', removed: false });
    expect((await cli(['triton', 'ls'])).stdout.split('\n')).toHaveLength(2);
  });

  test('status has a Triton section; every command’s --help shows an example', async () => {
    expect((await cli(['status'])).stdout).toMatch(/Triton servers\nNAME\s+ADDRESS\s+STATE\s+LATENCY\s+MODELS\s+GPUS\ngpu-a\s+127\.0\.0\.1:\d+\s+READY/);
    for (const verb of ['ls', 'add', 'rm', 'show', 'models', 'load', 'unload', 'versions']) {
      const help = await cli(['triton', verb, '--help']);
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toMatch(/Examples?:\n {2}backplane triton /);
    }
  });
});
