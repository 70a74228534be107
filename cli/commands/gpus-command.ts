import type { Command } from 'commander';
import type { CliColumn } from '../../packages/plugin-api/src/cli.ts';
import type { CliGpuRowFragment } from '../../schema/generated/graphql.ts';
import { cliOperation } from '../operations.ts';
import { createOutput, formatAgo } from '../output.ts';
import type { CliRuntime } from '../runtime.ts';
import { openSubscriptions } from '../subscriptions.ts';
import type { CliGpuStatsSubscription } from '../../schema/generated/graphql.ts';
import { CliError } from '../cli-error.ts';

const mib = (value: number | null) => (value === null ? '?' : `${value}`);

/** Columns of `backplane gpus` (and the GPU part of `status`). */
export function gpuColumns(runtime: CliRuntime): CliColumn<CliGpuRowFragment>[] {
  const { colors } = runtime.output;
  return [
    { key: 'index', header: 'GPU' },
    { key: 'name' },
    { key: 'utilizationPercent', header: 'UTIL', format: (v) => (v === null ? '-' : `${v}%`) },
    { key: 'memoryUsedMiB', header: 'MEMORY (MiB)', format: (_v, row) => `${mib(row.memoryUsedMiB)} / ${mib(row.memoryTotalMiB)}` },
    { key: 'temperatureC', header: 'TEMP', format: (v) => (v === null ? '-' : `${v}°C`) },
    { key: 'powerDrawW', header: 'POWER', format: (v) => (v === null ? '-' : `${Math.round(v as number)} W`) },
    { key: 'free', format: (v) => (v ? colors.green('yes') : colors.yellow('no')) },
    { key: 'lease', header: 'HELD BY', format: (_v, row) => (row.lease ? `${row.lease.holder.kind} ${row.lease.holder.id}` : '-') },
  ];
}

/** `backplane gpus [--watch]`, `backplane gpus leases`. */
export function registerGpusCommands(program: Command, runtime: () => CliRuntime): void {
  const gpus = program
    .command('gpus')
    .description('GPU usage (nvidia-smi plugin); --watch refreshes it live')
    .option('-w, --watch', 'a live table, redrawn on every sample of the gpuStats subscription (Ctrl-C ends); with --jsonl one sample a line')
    .addHelpText('after', '\nExamples:\n  backplane gpus\n  backplane gpus --watch\n  backplane gpus leases --json\n')
    .action(async (options: { watch?: boolean }) => {
      const rt = runtime();
      if (!options.watch) {
        const data = await rt.run('CliGpus');
        rt.output.table(data.gpus, gpuColumns(rt));
        return;
      }
      await watchGpus(rt);
    });

  gpus
    .command('leases')
    .description('GPU leases held by jobs and servers')
    .addHelpText('after', '\nExample:\n  backplane gpus leases\n')
    .action(async () => {
      const rt = runtime();
      const data = await rt.run('CliGpuLeases');
      rt.output.table(data.gpuLeases, [
        { key: 'id', header: 'LEASE' },
        { key: 'indices', header: 'GPUS' },
        { key: 'holder', header: 'HOLDER', format: (_v, row) => `${row.holder.kind} ${row.holder.id}` },
        { key: 'createdAt', header: 'SINCE', format: (v) => formatAgo(v as string) },
      ]);
    });
}

async function watchGpus(rt: CliRuntime): Promise<void> {
  const subs = await openSubscriptions(rt.connection);
  const live = rt.mode.color || Boolean(process.stdout.isTTY && !rt.mode.json);
  process.once('SIGINT', () => {
    if (live) process.stdout.write('\x1b[?25h');
    void subs.dispose();
    process.exit(130);
  });
  let samples = 0;
  try {
    await subs.subscribe<CliGpuStatsSubscription>(await cliOperation('CliGpuStats'), {}, (data) => {
      samples++;
      if (rt.mode.json) {
        process.stdout.write(`${JSON.stringify(data.gpuStats)}\n`);
        return;
      }
      let frame = `${rt.output.colors.bold('GPUs')} at ${new Date(data.gpuStats.sampledAt).toLocaleTimeString()} (sample ${samples}, Ctrl-C ends)\n`;
      createOutput(rt.mode, (text) => (frame += text)).table(data.gpuStats.gpus, gpuColumns(rt));
      // One write a frame: clear the screen and home the cursor, as `watch` does, then the table.
      process.stdout.write(`${live ? '\x1b[H\x1b[2J' : ''}${frame}`);
    });
  } catch (error) {
    throw error instanceof CliError ? error : new CliError(String(error));
  } finally {
    await subs.dispose();
  }
}
