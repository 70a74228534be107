import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, expect, test } from 'vitest';
import { backplaneBin, runBackplane } from './helpers/cli-run.ts';
import { spawnDaemon, type DaemonProcess } from './helpers/daemon-process.ts';
import { waitFor } from './helpers/wait-for.ts';

const jobsPlugin = { 'jobs-test': { module: path.resolve('test/helpers/jobs-test-plugin.ts') }, ilab: { enabled: false }, 'vllm-podman': { enabled: false }, 'llama-cpp': { enabled: false }, 'nvidia-smi': { enabled: false } };
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function daemonIn(config: Record<string, unknown>, dir?: string): Promise<{ daemon: DaemonProcess; dir: string }> {
  const dataDir = dir ?? (await mkdtemp(path.join(os.tmpdir(), 'bp-cli-fail-')));
  if (!dir) cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const daemon = await spawnDaemon(dataDir, config);
  cleanups.push(async () => {
    daemon.process.kill('SIGKILL');
    await daemon.process;
  });
  return { daemon, dir: dataDir };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const startJob = async (daemon: DaemonProcess, args: string[], apiKey?: string) => {
  const response = await fetch(`${daemon.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify({ query: 'mutation($a: [String!]!) { testStartJob(fixture: "job-sleep", args: $a) }', variables: { a: args } }),
  });
  return ((await response.json()) as { data: { testStartJob: string } }).data.testStartJob;
};

/** Runs a follow in the background and resolves once its stdout shows `text`. */
function follow(url: string, args: string[]) {
  const child = execa(process.execPath, [backplaneBin, ...args], { env: { BACKPLANE_URL: url }, reject: false, all: true });
  let out = '';
  child.all!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return { child, shown: (text: string) => waitFor(() => (out.includes(text) ? true : undefined)) };
}

test('wrong key, no key and a missing scope: clear messages naming what to fix, exit 1', async () => {
  const { daemon } = await daemonIn({ plugins: jobsPlugin, auth: { keys: [{ name: 'viewer', key: 'viewer-key-0123456789', scopes: ['read'] }, { name: 'ops', key: 'ops-key-0123456789ab', scopes: ['operate'] }] } });
  const none = await runBackplane(daemon.url, ['status']);
  expect(none.exitCode).toBe(1);
  expect(none.stderr).toMatch(/^backplane: the daemon needs an API key: pass --api-key, set BACKPLANE_API_KEY or use --api-key-file/);
  const wrong = await runBackplane(daemon.url, ['status', '--api-key', 'not-the-key-at-all']);
  expect(wrong.exitCode).toBe(1);
  expect(wrong.stderr).toMatch(/^backplane: the daemon refused the API key \(Unauthorized: .*\); check --api-key, BACKPLANE_API_KEY or --api-key-file$/);
  const keyFile = path.join(os.tmpdir(), `bp-cli-key-${process.pid}`);
  await writeFile(keyFile, 'viewer-key-0123456789\n', { mode: 0o600 });
  cleanups.push(() => rm(keyFile, { force: true }));
  expect((await runBackplane(daemon.url, ['jobs', 'list', '--api-key-file', keyFile])).exitCode).toBe(0);
  const id = await startJob(daemon, ['30'], 'ops-key-0123456789ab');
  const scope = await runBackplane(daemon.url, ['jobs', 'cancel', id], { BACKPLANE_API_KEY: 'viewer-key-0123456789' });
  expect(scope.exitCode).toBe(1);
  expect(scope.stderr).toBe("backplane: the API key lacks the 'operate' scope this command needs (Forbidden: this operation needs the 'operate' scope)");
  const ws = await runBackplane(daemon.url, ['jobs', 'logs', id, '--follow', '--api-key', 'not-the-key-at-all']);
  expect(ws.exitCode).toBe(1);
  expect(ws.stderr).toMatch(/^backplane: the daemon refused the API key/);
  expect((await runBackplane(daemon.url, ['jobs', 'cancel', id], { BACKPLANE_API_KEY: 'ops-key-0123456789ab' })).exitCode).toBe(0);
});

test('a daemon killed mid-follow: a clear error and a non-zero exit', async () => {
  const { daemon } = await daemonIn({ plugins: jobsPlugin, jobs: { onShutdown: 'stop' } });
  const id = await startJob(daemon, ['3']);
  const run = follow(daemon.url, ['jobs', 'logs', id, '--follow', '--timeout', '2']);
  await run.shown('sleeping 3s');
  daemon.process.kill('SIGKILL');
  const result = await run.child;
  expect(result.exitCode).toBe(1);
  expect(result.all).toMatch(/backplane: lost the connection to the daemon at http:\/\/127\.0\.0\.1:\d+ while following t-\d+, and it did not come back within 2 s \(.*connection refused.*\)/);
  expect(result.all).not.toContain('    at ');
});

test('a daemon restarted mid-follow: the follow reconnects, shows no line twice, and exits with the job', async () => {
  const port = await freePort();
  const config = { plugins: jobsPlugin, server: { port }, jobs: { onShutdown: 'keep' } };
  const first = await daemonIn(config);
  const id = await startJob(first.daemon, ['4', '0']);
  const run = follow(first.daemon.url, ['jobs', 'logs', id, '--follow']);
  await run.shown('sleeping 4s');
  first.daemon.process.kill('SIGKILL');
  await first.daemon.process;
  await daemonIn(config, first.dir);
  const result = await run.child;
  expect(result.exitCode).toBe(0);
  expect(result.all!.match(/sleeping 4s/g)).toHaveLength(1);
  expect(result.all).toContain('awake');
  expect(result.all).toContain(`${id} succeeded (exit 0)`);
});

test('--timeout: a daemon that accepts but never answers is a clear error, exit 1', async () => {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(resolve); }));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const result = await runBackplane(url, ['jobs', 'list', '--timeout', '0.5']);
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toBe(`backplane: the daemon at ${url} did not answer within 0.5 s (--timeout)`);
  const bad = await runBackplane(url, ['jobs', 'list', '--timeout', 'soon']);
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr).toBe("backplane: --timeout: expected seconds between 0 and 86400, got 'soon'");
});
