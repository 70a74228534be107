import { describe, expect, test } from 'vitest';
import { orderPlugins } from '../core/kernel/plugin-order.ts';
import { definePlugin, UnavailableError, type PluginDefinition } from '../core/plugin-api.ts';
import { startTestDaemon } from './helpers/test-daemon.ts';

/** A plugin that records its init and stop in `events`. */
function recorder(id: string, events: string[], extra: Partial<PluginDefinition<any, any>> = {}) {
  return definePlugin({
    id,
    version: '1.0.0',
    init({ lifecycle }) {
      events.push(`init ${id}`);
      lifecycle.onShutdown(() => void events.push(`stop ${id}`));
      return { id };
    },
    ...extra,
  });
}

describe('plugin order', () => {
  test('dependencies start first, stop last; ties keep the given order', async () => {
    const events: string[] = [];
    const bp = await startTestDaemon({
      plugins: [recorder('c', events, { dependsOn: ['b'] }), recorder('a', events), recorder('b', events, { dependsOn: ['a'], optionalDependsOn: ['nope'] })],
    });
    expect(events).toEqual(['init a', 'init b', 'init c']);
    expect((await bp.gql('{ plugins { id status } }')).data.plugins).toEqual([
      { id: 'a', status: 'ready' },
      { id: 'b', status: 'ready' },
      { id: 'c', status: 'ready' },
    ]);
    await bp.stop();
    expect(events.slice(3)).toEqual(['stop c', 'stop b', 'stop a']);
  });

  test('a missing dependency, a cycle and a duplicate id are coded boot errors', () => {
    const p = (id: string, dependsOn: string[] = []) => definePlugin({ id, version: '1.0.0', dependsOn });
    expect(() => orderPlugins([p('a', ['zz'])])).toThrow(/BP_ERR_PLUGIN_DEPENDENCY_MISSING: 'a' needs 'zz'/);
    expect(() => orderPlugins([p('a', ['b']), p('b', ['c']), p('c', ['a'])])).toThrow(/BP_ERR_PLUGIN_DEPENDENCY_CYCLE: a -> b -> c -> a/);
    expect(() => orderPlugins([p('a'), p('a')])).toThrow(/BP_ERR_PLUGIN_DUPLICATE/);
  });
});

describe('failure policy', () => {
  test('a missing backend degrades the plugin, a crash fails it, the daemon keeps running', async () => {
    const bp = await startTestDaemon({
      plugins: [
        definePlugin({
          id: 'no-backend',
          version: '1.0.0',
          init: () => {
            throw new UnavailableError('gpu-tool not found on PATH');
          },
          schema(builder, { api }) {
            builder.queryField('noBackend', (t) => t.string({ resolve: (_r, _a, ctx) => String(api(ctx)) }));
          },
        }),
        definePlugin({
          id: 'crashes',
          version: '2.0.0',
          init: () => {
            throw new Error('boom');
          },
        }),
        definePlugin({ id: 'needs-crashes', version: '1.0.0', dependsOn: ['crashes'], init: () => 'never' }),
        recorder('fine', []),
      ],
    });
    const plugins = (await bp.gql('{ plugins { id version status message } }')).data.plugins;
    expect(plugins).toEqual([
      { id: 'no-backend', version: '1.0.0', status: 'degraded', message: 'gpu-tool not found on PATH' },
      { id: 'crashes', version: '2.0.0', status: 'failed', message: 'boom' },
      { id: 'needs-crashes', version: '1.0.0', status: 'degraded', message: "dependency 'crashes' is failed" },
      { id: 'fine', version: '1.0.0', status: 'ready', message: null },
    ]);
    const field = await bp.gql('{ noBackend }');
    expect(field.errors?.[0]).toMatchObject({ message: "Plugin 'no-backend' is degraded: gpu-tool not found on PATH", extensions: { code: 'UNAVAILABLE' } });
    expect((await bp.request('/readyz')).status).toBe(200);
    await bp.stop();
  });

  test('onInitFailure: abort stops the boot', async () => {
    await expect(
      startTestDaemon({
        plugins: [definePlugin({ id: 'strict', version: '1.0.0', onInitFailure: 'abort', init: () => Promise.reject(new Error('no license')) })],
      }),
    ).rejects.toThrow(/BP_ERR_PLUGIN_INIT_FAILED: plugin 'strict': no license/);
  });

  test('an init that hangs times out and fails only that plugin', async () => {
    const bp = await startTestDaemon({
      plugins: [definePlugin({ id: 'slow', version: '1.0.0', initTimeoutMs: 200, init: () => new Promise(() => undefined) }), recorder('after', [])],
    });
    const plugins = (await bp.gql('{ plugins { id status message } }')).data.plugins;
    expect(plugins[0]).toEqual({ id: 'slow', status: 'failed', message: "BP_ERR_PLUGIN_INIT_TIMEOUT: plugin 'slow' init did not finish within 200 ms" });
    expect(plugins[1].status).toBe('ready');
    await bp.stop();
  });

  test('a plugin reports degraded and ready again at run time', async () => {
    let status!: { setDegraded(r: string): void; setReady(): void };
    const bp = await startTestDaemon({
      plugins: [definePlugin({ id: 'flaky', version: '1.0.0', init: (s) => void (status = s.status) })],
    });
    status.setDegraded('backend went away');
    expect((await bp.gql('{ plugins { status message } }')).data.plugins[0]).toEqual({ status: 'degraded', message: 'backend went away' });
    status.setReady();
    expect((await bp.gql('{ plugins { status message } }')).data.plugins[0]).toEqual({ status: 'ready', message: null });
    await bp.stop();
  });
});

test('a status reported during init takes effect when init returns', async () => {
  let duringInit: string | undefined;
  const bp = await startTestDaemon({
    plugins: [
      definePlugin({
        id: 'mocky',
        version: '1.0.0',
        init: async ({ status }) => {
          status.setReady('mock mode');
          duringInit = 'reported';
          await new Promise((r) => setTimeout(r, 50));
          return {};
        },
      }),
    ],
  });
  expect(duringInit).toBe('reported');
  expect((await bp.gql('{ plugins { status message } }')).data.plugins[0]).toEqual({ status: 'ready', message: 'mock mode' });
  await bp.stop();
});

describe('stop', () => {
  test('shutdown hooks can still run commands; the plugin signal aborts after them', async () => {
    let hookResult: { exitCode?: number; canceled: boolean } | undefined;
    let abortedDuringHook: boolean | undefined;
    const bp = await startTestDaemon({
      plugins: [
        definePlugin({
          id: 'cleaner',
          version: '1.0.0',
          init: ({ lifecycle, processes }) => {
            lifecycle.onShutdown(async () => {
              abortedDuringHook = lifecycle.signal.aborted;
              hookResult = await processes.run('sh', ['-c', 'exit 0']);
            });
          },
        }),
      ],
    });
    await bp.stop();
    expect(abortedDuringHook).toBe(false);
    expect(hookResult).toMatchObject({ exitCode: 0, canceled: false });
  });

  test('a shutdown hook that hangs is cut off after kernel.stopTimeoutMs; stop is idempotent', async () => {
    const events: string[] = [];
    const bp = await startTestDaemon({
      config: { kernel: { stopTimeoutMs: 200 } },
      plugins: [
        recorder('first', events),
        definePlugin({
          id: 'hangs',
          version: '1.0.0',
          init: ({ lifecycle }) => lifecycle.onShutdown(() => new Promise(() => undefined)),
        }),
      ],
    });
    const one = bp.daemon.stop();
    const two = bp.daemon.stop();
    expect(one).toBe(two);
    await one;
    await bp.stop();
    expect(events).toEqual(['init first', 'stop first']);
    expect(bp.daemon.plugins().map((p) => p.status)).toEqual(['stopped', 'stopped']);
  });

  test('scheduled tasks of a plugin end when it stops', async () => {
    let runs = 0;
    const bp = await startTestDaemon({
      plugins: [definePlugin({ id: 'ticker', version: '1.0.0', init: ({ scheduler }) => void scheduler.schedule({ id: 'tick', everyMs: 20, run: () => void runs++ }) })],
    });
    await new Promise((r) => setTimeout(r, 150));
    await bp.stop();
    const after = runs;
    expect(after).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toBe(after);
  });
});

describe('manifest checks', () => {
  test('a plugin written for another contract major is refused at load', async () => {
    const { validateManifest } = await import('../core/kernel/plugin-order.ts');
    expect(() => validateManifest({ id: 'old', version: '1.0.0', contract: '^2' }, 'test')).toThrow(/BP_ERR_PLUGIN_CONTRACT/);
    expect(() => validateManifest({ id: 'Bad_Id', version: '1.0.0' }, 'test')).toThrow(/BP_ERR_PLUGIN_INVALID/);
    expect(() => validateManifest({ id: 'ok', version: 'one' }, 'test')).toThrow(/version must be semver/);
  });

  test('two plugins defining the same field fail the schema build with a coded error', async () => {
    const twin = (id: string) =>
      definePlugin({ id, version: '1.0.0', schema: (b) => b.queryField('same', (t) => t.string({ resolve: () => id })) });
    await expect(startTestDaemon({ plugins: [twin('one'), twin('two')] })).rejects.toThrow(/BP_ERR_SCHEMA/);
  });
});
