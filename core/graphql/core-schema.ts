import type { PluginState } from '../kernel/plugin-host.ts';
import type { Builder } from './builder.ts';

/** Core fields: the plugin list and daemon facts. */
export function addCoreSchema(builder: Builder): void {
  const PluginStatusEnum = builder.enumType('PluginStatus', {
    description: 'Where a plugin is in its life. `degraded`: running without its backend (see `message`).',
    values: ['pending', 'starting', 'ready', 'degraded', 'failed', 'stopping', 'stopped'] as const,
  });

  const PluginInfo = builder.objectRef<PluginState>('PluginInfo').implement({
    description: 'An enabled plugin and how it is doing.',
    fields: (t) => ({
      id: t.exposeString('id'),
      version: t.exposeString('version'),
      status: t.field({ type: PluginStatusEnum, resolve: (p) => p.status }),
      message: t.exposeString('message', { nullable: true, description: 'Why the plugin is degraded or failed, or a note such as `mock mode`.' }),
      initMs: t.exposeInt('initMs', { nullable: true, description: 'How long init took, in milliseconds.' }),
    }),
  });

  builder.queryField('plugins', (t) =>
    t.field({
      type: [PluginInfo],
      description: 'Every enabled plugin, in boot order.',
      resolve: (_root, _args, ctx) => ctx.daemon.plugins(),
    }),
  );

  const DaemonInfoRef = builder.objectRef<{ version: string; startedAt: Date }>('DaemonInfo').implement({
    fields: (t) => ({
      version: t.exposeString('version'),
      startedAt: t.field({ type: 'DateTime', resolve: (d) => d.startedAt }),
      uptimeSeconds: t.float({ resolve: (d) => (Date.now() - d.startedAt.getTime()) / 1000 }),
    }),
  });

  builder.queryField('daemon', (t) => t.field({ type: DaemonInfoRef, resolve: (_root, _args, ctx) => ctx.daemon }));

  builder.subscriptionField('pluginStatusChanged', (t) =>
    t.field({
      type: PluginInfo,
      description: 'A plugin changed status (degraded, ready again, stopped).',
      subscribe: (_root, _args, ctx) => ctx.subscribe<PluginState>('core:plugins'),
      resolve: (state) => state,
    }),
  );
}
