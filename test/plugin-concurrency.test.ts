import { describe, expect, test } from 'vitest';
import { definePlugin, type PluginDefinition } from '../core/plugin-api.ts';
import { startTestDaemon } from './helpers/test-daemon.ts';

/** A promise with its resolver, to make one plugin's init wait for another's. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/**
 * A plugin that records `init <id>` when its init begins and `ready <id>` just before it returns,
 * `stop <id>` from its shutdown hook; `before` runs in between.
 */
function plugin(id: string, events: string[], before: () => Promise<void> = async () => undefined, extra: Partial<PluginDefinition<any, any>> = {}) {
  return definePlugin({
    id,
    version: '1.0.0',
    // A host that ran these inits one after another would time each waiting one out.
    initTimeoutMs: 5_000,
    async init({ lifecycle }) {
      events.push(`init ${id}`);
      lifecycle.onShutdown(() => void events.push(`stop ${id}`));
      await before();
      events.push(`ready ${id}`);
      return { id };
    },
    ...extra,
  });
}

describe('plugin start concurrency', () => {
  test('independent plugins init at the same time; a dependent starts once its dependencies returned', async () => {
    const events: string[] = [];
    const aEntered = gate();
    const bEntered = gate();
    // Each of a and b returns only once the other's init has begun: both must run at once.
    const a = plugin('a', events, async () => {
      aEntered.open();
      await bEntered.opened;
    });
    const b = plugin('b', events, async () => {
      bEntered.open();
      await aEntered.opened;
    });
    const c = plugin('c', events, undefined, { dependsOn: ['a'], optionalDependsOn: ['b', 'not-enabled'] });
    const bp = await startTestDaemon({ plugins: [c, a, b] });
    try {
      expect((await bp.gql('{ plugins { id status message } }')).data.plugins).toEqual([
        { id: 'a', status: 'ready', message: null },
        { id: 'b', status: 'ready', message: null },
        { id: 'c', status: 'ready', message: null },
      ]);
      expect(events.slice(0, 2)).toEqual(['init a', 'init b']);
      expect(events.indexOf('init c')).toBeGreaterThan(events.indexOf('ready a'));
      expect(events.indexOf('init c')).toBeGreaterThan(events.indexOf('ready b'));
      expect((await bp.request('/readyz')).status).toBe(200);
    } finally {
      await bp.stop();
    }
  });

  test('stop runs in reverse dependency order, whatever finished init first', async () => {
    const events: string[] = [];
    const bReturned = gate();
    // a finishes after b, so the finish order (b, a, c) differs from the dependency order (a, b, c).
    const a = plugin('a', events, () => bReturned.opened);
    const b = plugin('b', events, async () => void setImmediate(bReturned.open));
    const c = plugin('c', events, undefined, { dependsOn: ['a'] });
    const bp = await startTestDaemon({ plugins: [a, b, c] });
    expect(events.filter((e) => e.startsWith('ready'))).toEqual(['ready b', 'ready a', 'ready c']);
    await bp.stop();
    expect(events.filter((e) => e.startsWith('stop'))).toEqual(['stop c', 'stop b', 'stop a']);
  });

  test('an abort lets the plugins already starting settle, starts none after it, and stops what started', async () => {
    const events: string[] = [];
    const strictEntered = gate();
    const strict = plugin(
      'strict',
      events,
      async () => {
        strictEntered.open();
        throw new Error('no license');
      },
      { onInitFailure: 'abort' },
    );
    // Still in init when strict fails: it finishes, then its shutdown hook runs with the boot's stop.
    const other = plugin('other', events, () => strictEntered.opened.then(() => new Promise((r) => setImmediate(r))));
    const dependent = plugin('dependent', events, undefined, { dependsOn: ['other'] });
    await expect(startTestDaemon({ plugins: [strict, other, dependent] })).rejects.toThrow(/BP_ERR_PLUGIN_INIT_FAILED: plugin 'strict': no license/);
    expect(events).toContain('ready other');
    expect(events).toContain('stop other');
    expect(events).not.toContain('init dependent');
  });
});

test('a runOnStart task runs once every plugin has started, not during the other inits', async () => {
  const events: string[] = [];
  const ran = gate();
  const early = definePlugin({
    id: 'early',
    version: '1.0.0',
    init({ scheduler }) {
      scheduler.schedule({ id: 'warm-up', cron: '0 0 1 1 *', runOnStart: true, run: () => void (events.push('warm-up'), ran.open()) });
      return {};
    },
  });
  // Starts after early: a warm-up that ran when scheduled would come before its init.
  const late = plugin('late', events, undefined, { dependsOn: ['early'] });
  const bp = await startTestDaemon({ plugins: [early, late] });
  try {
    await ran.opened;
    expect(events).toEqual(['init late', 'ready late', 'warm-up']);
  } finally {
    await bp.stop();
  }
});
