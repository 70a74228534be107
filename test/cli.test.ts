import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };
import { spawnDaemon } from './helpers/daemon-process.ts';

const cli = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, ['core/main.ts', ...args], { reject: false, env: { ...env, BACKPLANE_DATA_DIR: dir }, extendEnv: true });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bp-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('--help and --version', async () => {
  const help = await cli(['--help']);
  expect(help.exitCode).toBe(0);
  expect(help.stdout).toContain('backplane serve [options]');
  expect(help.stdout).toContain('--data-dir DIR');
  const version = await cli(['--version']);
  // The Node that runs the tests runs the CLI too: the pinned 24 on Linux x64, the system's elsewhere.
  expect(version.stdout).toBe(`backplane ${packageJson.version} (node ${process.version})`);
});

test('unknown commands and flags are usage errors (exit 2)', async () => {
  const result = await cli(['frobnicate']);
  expect(result.exitCode).toBe(2);
  expect(result.stderr).toContain("unknown command 'frobnicate'");
  expect((await cli(['serve', '--prot', '1'])).exitCode).toBe(2);
});

test('config check: exact path and reason for a bad config, exit 1', async () => {
  const file = path.join(dir, 'bad.yaml');
  await writeFile(file, 'plugins:\n  nosuch: {}\nserver:\n  port: -1\n');
  const result = await cli(['config', 'check', '--config', file]);
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toContain('server.port: expected integer port 0-65535');
  const plugins = path.join(dir, 'plugins.yaml');
  await writeFile(plugins, `plugins:\n  hello:\n    module: ${path.resolve('examples/hello-plugin/src/index.ts')}\n    heartbeatMs: 0\n`);
  const pluginResult = await cli(['config', 'check', '--config', plugins]);
  expect(pluginResult.exitCode).toBe(1);
  expect(pluginResult.stderr).toContain('plugins.hello.heartbeatMs: expected positive integer');
});

test('config check: a good config prints the effective config without secrets', async () => {
  const file = path.join(dir, 'good.yaml');
  await writeFile(file, 'auth:\n  keys:\n    - name: ci\n      key: super-secret-value-123\n      scopes: [read]\n');
  const result = await cli(['config', 'check', '--config', file]);
  expect(result.exitCode).toBe(0);
  expect(result.stdout).toContain('configuration OK');
  expect(result.stdout).toContain('port: 8080');
  expect(result.stdout).not.toContain('super-secret-value-123');
});

test('serve refuses a non-loopback address without API keys', async () => {
  const result = await cli(['serve', '--host', '0.0.0.0', '--port', '0']);
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toContain('BP_ERR_INSECURE_BIND: refusing to listen on 0.0.0.0 without API keys');
  expect(result.stderr).toContain('auth.keys');
});

test('serve --port 0 prints the bound address; SIGTERM stops it gracefully with exit 0', async () => {
  const daemon = await spawnDaemon(dir, {});
  expect(daemon.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect((await fetch(`${daemon.url}/healthz`)).status).toBe(200);
  daemon.process.kill('SIGTERM');
  const result = await daemon.process;
  expect(result.exitCode).toBe(0);
  expect(daemon.output()).toContain('"msg":"stopped"');
});
