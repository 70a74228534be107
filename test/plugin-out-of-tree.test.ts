import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as daemonContract from '../core/plugin-api.ts';
import { builtinPlugins } from '../plugins/index.ts';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..');
const backplaneBin = path.join(repo, 'bin', 'backplane.mjs');
// The built-in plugins need their backends; only the plugin under test runs.
const builtinsOff = Object.fromEntries(builtinPlugins.map((plugin) => [plugin.id, { enabled: false }]));

type TestKit = typeof import('@backplane/plugin-api/testing');

/**
 * A third-party plugin as its author ships it and an operator installs it: the contract and the
 * example plugin packed with `npm pack` (which builds their JS and .d.ts), installed into a folder
 * outside this checkout, and booted in a real daemon through the packed test kit.
 */
describe('a plugin installed from npm tarballs outside the repository', () => {
  let dir: string;
  let kit: TestKit;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bp-out-of-tree-'));
    for (const pkg of ['packages/plugin-api', 'examples/hello-plugin']) {
      await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: path.join(repo, pkg) });
    }
    const tarballs = (await readdir(dir)).filter((name) => name.endsWith('.tgz'));
    expect(tarballs.sort()).toEqual(['backplane-plugin-api-1.0.0.tgz', 'backplane-plugin-hello-1.2.0.tgz']);
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'operator-host', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', ...tarballs.map((t) => `./${t}`)], { cwd: dir });
    kit = (await import(pathToFileURL(path.join(dir, 'node_modules/@backplane/plugin-api/dist/testing/index.js')).href)) as TestKit;
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('ships JS and declarations only', async () => {
    const files = await readdir(path.join(dir, 'node_modules/@backplane/plugin-api/dist'), { recursive: true });
    expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'errors.js', 'testing/index.js', 'entities.js']));
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(await readdir(path.join(dir, 'node_modules/backplane-plugin-hello'))).toEqual(expect.arrayContaining(['dist', 'operations.graphql', 'package.json']));
  });

  test('its copy of the contract is not the daemon’s, and the brand still recognises its errors', async () => {
    const own = (await import(pathToFileURL(path.join(dir, 'node_modules/@backplane/plugin-api/dist/index.js')).href)) as typeof import('@backplane/plugin-api');
    const error = new own.UnavailableError('backend gone');
    expect(error).not.toBeInstanceOf(daemonContract.UnavailableError);
    expect(daemonContract.isBackplaneError(error)).toBe(true);
    expect(daemonContract.hasErrorCode(error, 'UNAVAILABLE')).toBe(true);
    expect(daemonContract.isBackplaneError(Object.assign(new Error('x'), { code: 'UNAVAILABLE' }))).toBe(false);
  });

  test('loads by package name from the config file’s folder: its query, its route, its own coded errors', async () => {
    const bp = await kit.startTestDaemon({
      backplaneBin,
      configDir: dir,
      plugins: { ...builtinsOff, hello: { module: 'backplane-plugin-hello', greeting: 'Hey' } },
    });
    try {
      const result = await bp.graphql('{ plugins { id version status } hello(name: "Ada") }');
      expect(result).toEqual({ data: { plugins: [{ id: 'hello', version: '1.2.0', status: 'ready' }], hello: 'Hey, Ada!' } });

      expect(await bp.rest('GET', '/api/hello/Grace')).toMatchObject({ status: 200, body: { message: 'Hey, Grace!' } });
      // An InputError from the plugin's own copy of the contract keeps its code and message.
      expect(await bp.rest('GET', '/api/hello/%21%21')).toMatchObject({ status: 400, body: { error: 'Bad Request', code: 'BAD_USER_INPUT', details: 'name must be 1 to 64 letters' } });
      const blank = await bp.graphql('mutation { helloEcho(text: "   ") }');
      expect(blank.errors).toEqual([expect.objectContaining({ message: 'text must not be blank', extensions: { code: 'BAD_USER_INPUT' } })]);
    } finally {
      await bp.stop();
    }
  });

  test('loads by absolute path to the installed JS, and its own UnavailableError makes it degraded', async () => {
    const missing = path.join(dir, 'no-such-backend');
    // The kit finds the CLI through BACKPLANE_BIN as well.
    process.env.BACKPLANE_BIN = backplaneBin;
    const bp = await kit.startTestDaemon({
      plugins: { ...builtinsOff, hello: { module: path.join(dir, 'node_modules/backplane-plugin-hello/dist/index.js'), requiresFile: missing } },
    }).finally(() => delete process.env.BACKPLANE_BIN);
    try {
      const result = await bp.graphql('{ plugins { id status message } }');
      expect(result.data?.plugins).toEqual([{ id: 'hello', status: 'degraded', message: `hello needs ${missing}, which does not exist` }]);
      const call = await bp.graphql('{ hello(name: "Ada") }');
      expect(call.errors?.[0].extensions?.code).toBe('UNAVAILABLE');
    } finally {
      await bp.stop();
    }
  });

  test('a package the config folder does not have is a coded load error naming that folder', async () => {
    const elsewhere = await mkdtemp(path.join(os.tmpdir(), 'bp-no-plugins-'));
    try {
      const failed = kit.startTestDaemon({ backplaneBin, configDir: elsewhere, plugins: { ...builtinsOff, hello: { module: 'backplane-plugin-hello' } } });
      await expect(failed).rejects.toThrow(/plugins\.hello\.module: BP_ERR_PLUGIN_LOAD: cannot load 'backplane-plugin-hello': Cannot find package 'backplane-plugin-hello' imported from .*bp-no-plugins-/);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
