import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import WebSocket from 'ws';
import YAML from 'yaml';
import { createFakeIlab, type FakeIlab } from '../../test/fixtures/ilab/fake-ilab-env.ts';
import { createFakeNvidiaSmi, type FakeNvidiaSmi } from '../../test/fixtures/nvidia-smi/fake-nvidia-smi.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A log line of the daemon at warn level or above. */
export interface LogRecord {
  time: number;
  level: string;
  msg: string;
  line: string;
}

export interface FuzzEnvironment {
  url: string;
  port: number;
  pid: number;
  apiKey: string;
  bodyLimitBytes: number;
  root: string;
  dataDir: string;
  /** The canary directory outside the data dir. */
  victim: string;
  fake: FakeIlab;
  /** Directories no request may change: the canary, the ilab models and the taxonomy's working tree. */
  canaries: { dir: string; exclude: string[] }[];
  /** Warn and error lines so far. */
  problems: LogRecord[];
  /** The last lines the daemon printed (for crash reports). */
  tail(): string;
  /** Resolves when the daemon exits, with its exit code or signal. */
  exited: Promise<string>;
  isRunning(): boolean;
  /** Forces a full garbage collection in the daemon (through its inspector) and returns V8's used heap. */
  collectGarbage(): Promise<number>;
  /** Stops the daemon with SIGTERM (SIGKILL after 20 s); true when it exited by itself in time. */
  stop(): Promise<boolean>;
  cleanup(): Promise<void>;
}

const bodyLimitBytes = 1024 * 1024;

/**
 * Boots the real daemon as a process on loopback, with every built-in plugin on fakes (ilab and
 * nvidia-smi from test/fixtures; vllm-podman degraded on purpose, podman missing) plus the REST
 * test plugin, so every REST profile has routes. API keys are on, so auth parsing
 * is fuzzed too. The inspector listens on loopback only, to force garbage collection.
 */
export async function startFuzzEnvironment(): Promise<FuzzEnvironment> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bp-fuzz-'));
  const dataDir = path.join(root, 'data');
  const victim = path.join(root, 'victim');
  await mkdir(path.join(victim, 'nested'), { recursive: true });
  await writeFile(path.join(victim, 'secret.txt'), 'canary: nothing may read or change this\n');
  await writeFile(path.join(victim, 'config.json'), '{}');
  await writeFile(path.join(victim, 'qna.yaml'), 'version: 3\ndomain: victim\nseed_examples: []\n');
  await writeFile(path.join(victim, 'nested', 'deeper.txt'), 'x\n');
  const fake = await createFakeIlab({ version: '0.23' });
  await fake.addCheckpoint('samples_256');
  // Symlink-ish names inside the configured roots that point at the canary.
  await symlink(victim, path.join(fake.checkpoints, 'evil-link'));
  await symlink(victim, path.join(fake.models, 'evil-model'));
  const nvsmi: FakeNvidiaSmi = await createFakeNvidiaSmi('eight-h100');
  const apiKey = `fuzz-${Math.random().toString(36).slice(2)}-key-0123456789`;

  const config = {
    dataDir,
    server: { port: 0, bodyLimitBytes },
    log: { level: 'info' },
    auth: { keys: [{ name: 'fuzz', keyEnv: 'BP_FUZZ_API_KEY', scopes: ['admin'] }] },
    jobs: { onShutdown: 'stop', killGraceSeconds: 2 },
    plugins: {
      'nvidia-smi': { bin: nvsmi.bin, intervalMs: 500 },
      'vllm-podman': { podmanPath: path.join(root, 'no-podman', 'podman') },
      // The synchronous /qna-eval wait ends before the fuzzer's 5 s hang bound.
      ilab: await fake.config({ qnaEval: { podmanBin: path.join(repoRoot, 'test', 'fixtures', 'bin', 'podman-qna'), image: 'quay.io/test/qna-eval:1', timeoutMs: 4000 }, convert: { enabled: true } }),
      'rest-test': { module: path.join(repoRoot, 'scripts', 'fuzz', 'plugins-rest-test.ts') },
    },
  };
  await mkdir(dataDir, { recursive: true });
  const configFile = path.join(dataDir, 'backplane.yaml');
  await writeFile(configFile, YAML.stringify(config));

  const child: ResultPromise = execa(process.execPath, ['--inspect=127.0.0.1:0', path.join(repoRoot, 'core', 'main.ts'), 'serve', '--config', configFile], {
    cwd: repoRoot,
    env: { BP_FUZZ_API_KEY: apiKey },
    reject: false,
    buffer: false,
  });
  const problems: LogRecord[] = [];
  const recent: string[] = [];
  let inspector: string | undefined;
  let url: string | undefined;
  let running = true;
  const exited = child.then((r) => {
    running = false;
    return r.signal ?? `exit code ${r.exitCode}`;
  });
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      recent.push(line);
      if (recent.length > 200) recent.shift();
      if (!url) url = /"msg":"listening","url":"(http:\/\/[^"]+)"/.exec(line)?.[1];
      if (!line.includes('"level":"warn"') && !line.includes('"level":"error"')) continue;
      try {
        const record = JSON.parse(line) as { time: string; level: string; msg: string };
        if (problems.length < 20_000) problems.push({ time: Date.parse(record.time), level: record.level, msg: record.msg, line: line.slice(0, 4000) });
      } catch {
        problems.push({ time: Date.now(), level: 'error', msg: 'unparsable log line', line: line.slice(0, 4000) });
      }
    }
  });
  // stderr is not JSON: a stack trace arrives as many lines, kept together as one record.
  let stderrBlock = '';
  let stderrTimer: NodeJS.Timeout | undefined;
  let stderrSince = 0;
  const flushStderr = () => {
    const block = stderrBlock.trim();
    stderrBlock = '';
    if (block) problems.push({ time: stderrSince, level: 'stderr', msg: block.split('\n')[0].slice(0, 200), line: block.slice(0, 4000) });
  };
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    inspector ??= /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(text)?.[1];
    for (const line of text.split('\n').filter(Boolean)) {
      recent.push(`stderr: ${line}`);
      if (/Debugger (listening|attached|ending)|For help, see|Waiting for the debugger/.test(line)) continue;
      if (!stderrBlock) stderrSince = Date.now();
      stderrBlock += `${line}\n`;
    }
    clearTimeout(stderrTimer);
    stderrTimer = setTimeout(flushStderr, 50);
  });

  const cleanup = async () => {
    await rm(root, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
    await fake.cleanup();
    await nvsmi.remove();
  };
  const stop = async () => {
    if (!running) return false;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const how = await exited;
    clearTimeout(timer);
    return how === 'exit code 0';
  };

  const deadline = Date.now() + 60_000;
  while (!url || !inspector || (await fetch(`${url}/readyz`).catch(() => undefined))?.status !== 200) {
    if (!running || Date.now() > deadline) {
      await stop();
      const output = recent.join('\n');
      await cleanup();
      throw new Error(`the daemon did not become ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid!,
    apiKey,
    bodyLimitBytes,
    root,
    dataDir,
    victim,
    fake,
    canaries: [
      { dir: root, exclude: [dataDir] },
      { dir: fake.models, exclude: [] },
      { dir: fake.taxonomy, exclude: [path.join(fake.taxonomy, '.git')] },
    ],
    problems,
    tail: () => recent.slice(-60).join('\n'),
    exited,
    isRunning: () => running,
    collectGarbage: () => inspectorGc(inspector!),
    stop,
    cleanup,
  };
}

/**
 * `HeapProfiler.collectGarbage` twice over the inspector protocol, then `Runtime.getHeapUsage`,
 * each sent when the one before has answered: V8 runs the collection in a task after the
 * message, so a `getHeapUsage` sent along with it is answered first, with the garbage counted
 * (and RSS read then is the RSS before the collection).
 */
function inspectorGc(wsUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl);
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error('inspector did not answer'));
    }, 30_000);
    const calls = ['HeapProfiler.collectGarbage', 'HeapProfiler.collectGarbage', 'Runtime.getHeapUsage'];
    const send = (id: number) => socket.send(JSON.stringify({ id, method: calls[id - 1] }));
    socket.on('open', () => send(1));
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: { usedSize?: number } };
      if (message.id !== undefined && message.id < calls.length) send(message.id + 1);
      else if (message.id === calls.length) {
        clearTimeout(timer);
        socket.close();
        resolve(message.result?.usedSize ?? 0);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
