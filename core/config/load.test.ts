import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfig } from './load.ts';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function configFile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bp-config-'));
  dirs.push(dir);
  const file = path.join(dir, 'backplane.yaml');
  await writeFile(file, text);
  return file;
}

describe('loadConfig', () => {
  test('embedded defaults', async () => {
    const { config, file } = await loadConfig({ env: {}, cwd: '/srv' });
    expect(file).toBeUndefined();
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080, bodyLimitBytes: 1048576 });
    expect(config.dataDir).toBe('/srv/data');
    expect(config.log.level).toBe('info');
    expect(config.jobs).toMatchObject({ maxConcurrent: 4, killGraceSeconds: 10, maxLogBytes: 268435456, onShutdown: 'keep' });
    expect(config.jobs.envAllowList).toEqual(expect.arrayContaining(['PATH', 'HOME', 'LANG', 'LC_*']));
    expect(config.jobs.envAllowList.some((name) => name.startsWith('BACKPLANE'))).toBe(false);
  });

  test('precedence: flags > env > file > defaults', async () => {
    const file = await configFile('server:\n  host: 127.0.0.2\n  port: 9000\nlog:\n  level: warn\njobs:\n  maxConcurrent: 2\n');
    const env = { BACKPLANE_PORT: '9100', BACKPLANE_LOG_LEVEL: 'debug', BACKPLANE_JOBS__MAX_CONCURRENT: '3' };
    const { config } = await loadConfig({ flags: { config: file, port: '9200' }, env, cwd: '/' });
    expect(config.server.host).toBe('127.0.0.2'); // file
    expect(config.server.port).toBe(9200); // flag over env over file
    expect(config.log.level).toBe('debug'); // env over file
    expect(config.jobs.maxConcurrent).toBe(3); // generic env mapping
  });

  test('BACKPLANE_CONFIG names the file; plugin sections map from env with kebab-case ids', async () => {
    const file = await configFile('plugins:\n  nvidia-smi:\n    intervalMs: 500\n');
    const { config } = await loadConfig({ env: { BACKPLANE_CONFIG: file, BACKPLANE_PLUGINS__NVIDIA_SMI__FREE_MEMORY_MI_B: '700', BACKPLANE_PLUGINS__ILAB__ENABLED: 'false' }, cwd: '/' });
    expect(config.plugins['nvidia-smi']).toMatchObject({ intervalMs: 500 });
    expect(config.plugins.ilab).toEqual({ enabled: false });
  });

  test('every problem is reported with its exact path and reason', async () => {
    const file = await configFile('server:\n  port: 70000\n  hots: x\njobs:\n  maxConcurrent: 1.5\nauth:\n  keys:\n    - name: ci\n      scopes: [root]\n');
    const error = await loadConfig({ flags: { config: file }, env: {}, cwd: '/' }).catch((e: Error & { problems: string[] }) => e);
    expect((error as { problems: string[] }).problems).toEqual([
      'server.port: expected integer port 0-65535',
      'server.hots: unknown key',
      'auth.keys[0].scopes[0]: expected one of "inference"|"read"|"operate"|"admin"',
      'jobs.maxConcurrent: expected positive integer',
    ]);
    expect((error as Error).message).toContain(file);
  });

  test('bad flags and unreadable or invalid files are clear errors', async () => {
    await expect(loadConfig({ flags: { port: 'http' }, env: {} })).rejects.toThrow(/server\.port: expected integer port 0-65535/);
    await expect(loadConfig({ flags: { logLevel: 'loud' }, env: {} })).rejects.toThrow(/log\.level: expected one of/);
    await expect(loadConfig({ flags: { config: '/no/such.yaml' }, env: {} })).rejects.toThrow(/\/no\/such\.yaml: cannot read \(ENOENT\)/);
    await expect(loadConfig({ flags: { config: await configFile('server: [\n') }, env: {} })).rejects.toThrow(/not valid YAML/);
    await expect(loadConfig({ flags: { config: await configFile('- a\n- b\n') }, env: {} })).rejects.toThrow(/expected a mapping/);
  });
});
