import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import { z, type Builder, type SchemaHelpers } from '../../core/plugin-api.ts';
import { seedEvents, type SeedEvent } from './seed-events.ts';
import { abortable, followLogEntries, logLevels, recentLogEntries, type LogEntry } from './seed-logs.ts';
import type { LlamaCppService } from './service.ts';
import { instanceNameSchema } from './validation.ts';

/** Host facts for the seed's `/api/system/status` and `/info`. */
interface HostFacts {
  hostname: string;
  os: string;
  arch: string;
  cpuCount: number;
  cpuUsagePercent: number;
  memoryTotalBytes: number;
  memoryUsedBytes: number;
  diskUsagePercent: number | null;
  diskPath: string | null;
}

/** Go's GOARCH names, which the seed document's server (Go) reported. */
const goArch: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/**
 * What the llamactl REST face (`/api`, plugins/llama-cpp/rest-seed.ts) needs beyond the
 * instance API: log entries with levels and a follow stream, the WebSocket's event stream, and
 * host facts. Pure: no I/O here.
 */
export function addLlamaSeedSchema(builder: Builder, { api }: SchemaHelpers<LlamaCppService>): void {
  const LevelEnum = builder.enumType('LlamaLogLevel', { values: logLevels, description: 'A minimum level: the level and the more severe ones.' });

  const Entry = builder.objectRef<LogEntry>('LlamaLogEntry').implement({
    description: 'One line of an instance’s log: llama-server’s own prefix (elapsed time and level letter) parsed.',
    fields: (t) => ({
      timestamp: t.field({ type: 'DateTime', nullable: true, description: 'The run’s start plus llama-server’s elapsed-time prefix; for a followed line without one, when it was read.', resolve: (e) => e.timestamp }),
      level: t.field({ type: LevelEnum, resolve: (e) => e.level }),
      message: t.exposeString('message'),
    }),
  });

  const Event = builder.objectRef<SeedEvent>('LlamaInstanceEvent').implement({
    description: 'A message of llamactl’s /api/ws: a status change, a stats sample, or an alert.',
    fields: (t) => ({
      type: t.exposeString('type', { description: '`instance_status_changed`, `instance_stats_updated` or `system_alert`.' }),
      timestamp: t.field({ type: 'DateTime', resolve: (e) => e.timestamp }),
      name: t.string({ resolve: (e) => e.instance.name }),
      status: t.string({ resolve: (e) => e.instance.status }),
      previousStatus: t.exposeString('previousStatus', { nullable: true }),
      message: t.exposeString('message', { nullable: true, description: 'The alert’s text (system_alert).' }),
      level: t.exposeString('level', { nullable: true, description: '`warn` or `error` (system_alert).' }),
      statusMessage: t.string({ nullable: true, description: 'The instance’s own message (why it failed or stopped).', resolve: (e) => e.instance.message }),
      port: t.int({ resolve: (e) => e.instance.port }),
      pid: t.int({ nullable: true, resolve: (e) => e.instance.pid }),
      healthState: t.string({ resolve: (e) => e.instance.health.state }),
      rssBytes: t.float({ nullable: true, resolve: (e) => e.instance.stats?.rssBytes ?? null }),
      cpuPercent: t.float({ nullable: true, resolve: (e) => e.instance.stats?.cpuPercent ?? null }),
      uptimeSeconds: t.int({ nullable: true, resolve: (e) => e.instance.stats?.uptimeSeconds ?? null }),
      tokensPerSecond: t.float({ nullable: true, resolve: (e) => e.instance.stats?.tokensPerSecond ?? null }),
    }),
  });

  const Host = builder.objectRef<HostFacts>('LlamaHostFacts').implement({
    description: 'The host the instances run on.',
    fields: (t) => ({
      hostname: t.exposeString('hostname'),
      os: t.exposeString('os'),
      arch: t.exposeString('arch', { description: 'Go’s GOARCH spelling (amd64, arm64), as llamactl reported it.' }),
      cpuCount: t.exposeInt('cpuCount'),
      cpuUsagePercent: t.exposeFloat('cpuUsagePercent', { description: 'All cores, since the previous query of this field (since boot on the first).' }),
      memoryTotalBytes: t.exposeFloat('memoryTotalBytes'),
      memoryUsedBytes: t.exposeFloat('memoryUsedBytes', { description: 'Total minus MemAvailable.' }),
      diskUsagePercent: t.exposeFloat('diskUsagePercent', { nullable: true, description: 'Of the file system holding the first model root.' }),
      diskPath: t.exposeString('diskPath', { nullable: true }),
    }),
  });

  let previousCpu: { idle: number; total: number } | undefined;
  const cpuUsage = () => {
    const now = os.cpus().reduce((acc, c) => ({ idle: acc.idle + c.times.idle, total: acc.total + c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq }), { idle: 0, total: 0 });
    const base = previousCpu ?? { idle: 0, total: 0 };
    previousCpu = now;
    const total = now.total - base.total;
    return total <= 0 ? 0 : Math.round((1 - (now.idle - base.idle) / total) * 1000) / 10;
  };

  const linesArg = { defaultValue: 100, validate: { schema: z.number().int().min(0).max(10_000) } } as const;
  const nameArg = { required: true, validate: { schema: instanceNameSchema } } as const;

  builder.queryFields((t) => ({
    llamaInstanceLogEntries: t.field({
      type: [Entry],
      description: 'The last `lines` entries (of at least `level`) of the instance’s current or last run.',
      args: { name: t.arg.string(nameArg), lines: t.arg.int(linesArg), level: t.arg({ type: LevelEnum }) },
      resolve: (_r, { name, lines, level }, ctx) => recentLogEntries(ctx, api(ctx), name, lines ?? 100, level),
    }),
    llamaHostFacts: t.field({
      type: Host,
      resolve: async (_r, _a, ctx) => {
        const diskPath = api(ctx).config.modelRoots[0] ?? null;
        const disk = diskPath ? await statfs(diskPath).catch(() => undefined) : undefined;
        const available = /MemAvailable:\s+(\d+) kB/.exec(await readFile('/proc/meminfo', 'utf8').catch(() => ''));
        const total = os.totalmem();
        return {
          hostname: os.hostname(),
          os: process.platform,
          arch: goArch[process.arch] ?? process.arch,
          cpuCount: os.availableParallelism(),
          cpuUsagePercent: cpuUsage(),
          memoryTotalBytes: total,
          memoryUsedBytes: total - (available ? Number(available[1]) * 1024 : os.freemem()),
          diskUsagePercent: disk && disk.blocks > 0 ? Math.round((1 - disk.bavail / disk.blocks) * 1000) / 10 : null,
          diskPath: disk ? diskPath : null,
        };
      },
    }),
  }));

  builder.subscriptionFields((t) => ({
    llamaInstanceLogFollow: t.field({
      type: [Entry],
      description: 'The last `lines` entries, then new ones as they are written (in batches), across restarts, until the client leaves or the instance is deleted.',
      args: { name: t.arg.string(nameArg), lines: t.arg.int(linesArg), level: t.arg({ type: LevelEnum }) },
      subscribe: (_r, { name, lines, level }, ctx) => {
        const service = api(ctx);
        service.require(name); // NOT_FOUND before the stream starts
        return abortable((signal) => followLogEntries(ctx, service, name, lines ?? 100, level, signal));
      },
      resolve: (batch) => batch,
    }),
    llamaInstanceEvents: t.field({
      type: Event,
      description: 'Every instance’s current status, then status changes, stats samples every `statsIntervalSeconds` while starting or running, and alerts (restarting, failed, failing health checks).',
      args: { statsIntervalSeconds: t.arg.float({ defaultValue: 5, validate: { schema: z.number().min(0.05).max(3600) } }) },
      subscribe: (_r, { statsIntervalSeconds }, ctx) => {
        const service = api(ctx);
        return abortable((signal) => seedEvents(ctx, service, (statsIntervalSeconds ?? 5) * 1000, signal));
      },
      resolve: (event) => event,
    }),
  }));
}
