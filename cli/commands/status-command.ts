import type { Command } from 'commander';
import type { CliModule } from '../../packages/plugin-api/src/cli.ts';
import type { CliGpusQuery } from '../../schema/generated/graphql.ts';
import { CliError } from '../cli-error.ts';
import { colorStatus, formatDuration } from '../output.ts';
import type { CliRuntime } from '../runtime.ts';
import { gpuColumns } from './gpus-command.ts';
import { jobColumns } from './jobs-command.ts';

/** A plugin's command module, known by plugin id (for its `status` section). */
export interface LoadedCliModule {
  pluginId: string;
  module: CliModule;
}

/** `backplane status`: the daemon, its plugins, GPUs, running and queued jobs, servers. */
export function registerStatusCommand(program: Command, runtime: () => CliRuntime, modules: () => Promise<readonly LoadedCliModule[]>): void {
  program
    .command('status')
    .description('daemon version and uptime, plugins, GPUs, running and queued jobs, servers')
    .addHelpText('after', '\nExamples:\n  backplane status\n  BACKPLANE_URL=http://gpu-host:8080 backplane status --json\n')
    .action(async () => {
      const rt = runtime();
      const status = await rt.run('CliStatus');
      const enabled = new Set(status.plugins.filter((p) => p.status === 'ready' || p.status === 'degraded').map((p) => p.id));
      // GPUs and plugin sections are asked in parallel; a failing one shows its error, not a crash.
      const gpus = enabled.has('nvidia-smi') ? rt.run('CliGpus').then((d: CliGpusQuery) => d.gpus, (e: unknown) => (e instanceof CliError ? e : Promise.reject(e))) : Promise.resolve(undefined);
      const sections = (await modules())
        .filter((m) => m.module.status && status.plugins.some((p) => p.id === m.pluginId && (p.status === 'ready' || p.status === 'degraded')))
        .map((m) => m.module.status!(rt.context).catch((e: unknown) => (e instanceof CliError ? { title: m.pluginId, error: e.message } : Promise.reject(e))));
      const [gpuRows, ...plugged] = await Promise.all([gpus, ...sections]);
      const jobs = [...status.running.edges, ...status.queued.edges].map((e) => e.node);
      if (rt.output.json) {
        rt.output.record({
          daemon: status.daemon,
          plugins: status.plugins,
          gpus: gpuRows instanceof CliError ? { error: gpuRows.message } : (gpuRows ?? []),
          jobs,
          ...Object.fromEntries(plugged.filter((s) => s).map((s) => [s!.title, 'error' in s! ? { error: s.error } : s!.rows])),
        });
        return;
      }
      const { colors } = rt.output;
      rt.output.line(`${colors.bold('backplane')} ${status.daemon.version} at ${rt.connection.url}, up ${formatDuration(status.daemon.uptimeSeconds)}`);
      rt.output.line(`\n${colors.bold('Plugins')}`);
      rt.output.table(status.plugins, [{ key: 'id', header: 'PLUGIN' }, { key: 'version' }, { key: 'status', format: (v) => colorStatus(String(v), colors) }, { key: 'message' }]);
      if (gpuRows !== undefined) {
        rt.output.line(`\n${colors.bold('GPUs')}`);
        if (gpuRows instanceof CliError) rt.output.line(colors.yellow(gpuRows.message));
        else rt.output.table(gpuRows, gpuColumns(rt));
      }
      rt.output.line(`\n${colors.bold('Jobs')} (running and queued)`);
      rt.output.table(jobs, jobColumns(rt));
      for (const section of plugged) {
        if (!section) continue;
        rt.output.line(`\n${colors.bold(section.title)}`);
        if ('error' in section) rt.output.line(colors.yellow(section.error));
        else rt.output.table(section.rows, section.columns);
      }
    });
}
