import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { verifyPassword } from '../core/auth/password-hash.ts';
import { spawnDaemon } from './helpers/daemon-process.ts';

const cli = (args: string[], input?: string) => execa(process.execPath, ['core/main.ts', ...args], { reject: false, input, env: { BACKPLANE_DATA_DIR: dir } });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bp-auth-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('auth hash-password: a scrypt hash of the password on stdin, one trailing newline dropped', async () => {
  const result = await cli(['auth', 'hash-password'], 'correct horse\n');
  expect(result.exitCode).toBe(0);
  const hash = result.stdout.trim();
  expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  expect(await verifyPassword('correct horse', hash)).toBe(true);
  expect(await verifyPassword('correct horse\n', hash)).toBe(false);
  const empty = await cli(['auth', 'hash-password'], '');
  expect(empty.exitCode).toBe(1);
  expect(empty.stderr).toContain('the password on stdin is empty');
});

test('config: a clear password, a reused name or `anonymous` is refused with its path; check redacts hashes', async () => {
  const bad = path.join(dir, 'bad.yaml');
  await writeFile(bad, 'auth:\n  keys:\n    - { name: ci, key: aaaaaaaaaaaaaaaaaaaa, scopes: [read] }\n  users:\n    - { name: alice, passwordHash: hunter2, scopes: [read] }\n    - { name: ci, passwordHash: "scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", scopes: [read] }\n    - { name: anonymous, passwordHash: "scrypt$1024$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", scopes: [read] }\n');
  const refused = await cli(['config', 'check', '--config', bad]);
  expect(refused.exitCode).toBe(1);
  expect(refused.stderr).toContain('auth.users[0].passwordHash: expected scrypt$N$r$p$salt$hash');
  expect(refused.stderr).toContain("auth.users[1].name: 'ci' is already the name of another key or user");
  expect(refused.stderr).toContain("auth.users[2].name: 'anonymous' is the name of callers without a key or token");

  const hash = (await cli(['auth', 'hash-password'], 'pw')).stdout.trim();
  const good = path.join(dir, 'good.yaml');
  await writeFile(good, `auth:\n  users:\n    - { name: alice, passwordHash: "${hash}", scopes: [operate] }\n`);
  const checked = await cli(['config', 'check', '--config', good]);
  expect(checked.exitCode).toBe(0);
  expect(checked.stdout).not.toContain(hash);
  expect(checked.stdout).toContain('accessTokenTtlSeconds: 900');
});

test('passwords and tokens never reach the daemon’s log, even at debug', async () => {
  const password = 'pw-in-the-clear-4711';
  const hash = (await cli(['auth', 'hash-password'], password)).stdout.trim();
  const daemonDir = await mkdtemp(path.join(dir, 'daemon-'));
  const daemon = await spawnDaemon(daemonDir, { log: { level: 'debug' }, auth: { users: [{ name: 'alice', passwordHash: hash, scopes: ['read'] }] } });
  try {
    const wrong = await daemon.gql(`mutation { login(name: "alice", password: "${password}-wrong") { accessToken } }`);
    expect(wrong.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const tokens = (await daemon.gql<{ login: { accessToken: string; refreshToken: string } }>(`mutation { login(name: "alice", password: "${password}") { accessToken refreshToken } }`)).data!.login;
    const renewed = (await daemon.gql<{ refreshToken: { refreshToken: string } }>(`mutation { refreshToken(token: "${tokens.refreshToken}") { refreshToken } }`)).data!.refreshToken;
    // A replay (logged as a warning) and a forged token (logged at debug).
    await daemon.gql(`mutation { refreshToken(token: "${tokens.refreshToken}") { refreshToken } }`);
    const forged = `${tokens.accessToken.slice(0, -4)}AAAA`;
    expect((await fetch(`${daemon.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${forged}` }, body: '{"query":"{ viewer { principal } }"}' })).status).toBe(401);
    expect((await fetch(`${daemon.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.accessToken}` }, body: '{"query":"{ viewer { principal } }"}' })).status).toBe(200);
    daemon.process.kill('SIGTERM');
    await daemon.process;
    const log = daemon.output();
    expect(log).toContain('login refused');
    expect(log).toContain('a spent refresh token came back');
    expect(log).toContain('access token refused');
    for (const secret of [password, hash, tokens.accessToken, tokens.refreshToken, renewed.refreshToken, forged]) expect(log).not.toContain(secret);
  } finally {
    daemon.process.kill('SIGKILL');
  }
});
