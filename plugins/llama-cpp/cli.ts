import type { CliCommand, CliContext, CliModule, CliStatusSection } from '../../core/plugin-api.ts';
import type {
  CliLlamaDeleteMutation,
  CliLlamaInstanceQuery,
  CliLlamaInstanceRowFragment,
  CliLlamaInstancesQuery,
  CliLlamaLogsQuery,
  CliLlamaRestartMutation,
  CliLlamaStartMutation,
  CliLlamaStopMutation,
} from '../../schema/generated/graphql.ts';

/**
 * `backplane llama ls|start|stop|restart|rm|logs`: the llama.cpp plugin's instances, over the
 * daemon's GraphQL API (operations in ./cli.graphql).
 */
const operations = new URL('./cli.graphql', import.meta.url);
/** An Int flag: a number when it reads as one, else the text, for the daemon to refuse in its own words. */
const int = (v: string | undefined): number | undefined => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : (v as unknown as number));
interface LogOptions {
  tail?: string;
  follow?: boolean;
}

const columns = [
  { key: 'name' as const },
  { key: 'status' as const },
  { key: 'port' as const },
  { key: 'gpus' as const },
  { key: 'restartCount' as const, header: 'RESTARTS' },
  { key: 'baseUrl' as const, header: 'URL' },
  { key: 'message' as const, format: (v: unknown) => (v ? String(v).split('\n')[0].slice(0, 60) : '-') },
];

export function register(program: CliCommand, ctx: CliContext): void {
  const op = (name: string) => ctx.operation(operations, name);
  const print = (instance: CliLlamaInstanceRowFragment) => (ctx.output.json ? ctx.output.record({ ...instance }) : ctx.output.table([instance], columns));
  const llama = program.command('llama').description('llama.cpp llama-server instances').addHelpText('after', '\nExamples:\n  backplane llama ls\n  backplane llama start qwen\n  backplane llama logs qwen --follow\n');
  llama
    .command('ls')
    .alias('list')
    .description('every instance, by name')
    .addHelpText('after', '\nExample:\n  backplane llama ls --json\n')
    .action(async () => {
      const data = await ctx.request<CliLlamaInstancesQuery>(await op('CliLlamaInstances'));
      ctx.output.table(
        data.llamaInstances.edges.map((e) => e.node),
        columns,
      );
    });
  llama
    .command('start <name>')
    .description('start it (returns at starting; it is running once /health answers)')
    .addHelpText('after', '\nExample:\n  backplane llama start qwen\n')
    .action(async (name: string) => print((await ctx.request<CliLlamaStartMutation>(await op('CliLlamaStart'), { name })).startLlamaInstance));
  llama
    .command('stop <name>')
    .description('SIGTERM, SIGKILL after the stop timeout (or at once with --force)')
    .option('--force', 'SIGKILL at once')
    .addHelpText('after', '\nExample:\n  backplane llama stop qwen\n')
    .action(async (name: string, options: { force?: boolean }) => print((await ctx.request<CliLlamaStopMutation>(await op('CliLlamaStop'), { name, force: options.force ?? null })).stopLlamaInstance));
  llama
    .command('restart <name>')
    .description('stop it if active, then start it')
    .addHelpText('after', '\nExample:\n  backplane llama restart qwen\n')
    .action(async (name: string) => print((await ctx.request<CliLlamaRestartMutation>(await op('CliLlamaRestart'), { name })).restartLlamaInstance));
  llama
    .command('rm <name>')
    .description('delete a stopped or failed instance')
    .addHelpText('after', '\nExample:\n  backplane llama rm qwen\n')
    .action(async (name: string) => {
      const data = await ctx.request<CliLlamaDeleteMutation>(await op('CliLlamaDelete'), { name });
      if (ctx.output.json) ctx.output.record({ name, removed: data.deleteLlamaInstance });
      else ctx.output.line(data.deleteLlamaInstance ? `removed ${name}` : `${name}: no such instance`);
      if (!data.deleteLlamaInstance) ctx.setExitCode(1);
    });
  llama
    .command('logs <name>')
    .description('the last lines of its current or last run; --follow streams the run’s job log')
    .option('--tail <n>', 'only the last N lines (default 100)')
    .option('-f, --follow', 'stream the current run until it ends; Ctrl-C stops following, not the instance')
    .addHelpText('after', '\nExample:\n  backplane llama logs qwen --tail 20 --follow\n')
    .action(async (name: string, options: LogOptions) => {
      const tail = int(options.tail);
      if (options.follow) {
        const data = await ctx.request<CliLlamaInstanceQuery>(await op('CliLlamaInstance'), { name });
        if (!data.llamaInstance) throw new Error(`llama instance '${name}' not found`);
        if (!data.llamaInstance.jobId) throw new Error(`llama instance '${name}' has not run yet`);
        ctx.setExitCode(await ctx.followJob(data.llamaInstance.jobId, { tail: tail ?? 20 }));
        return;
      }
      const data = await ctx.request<CliLlamaLogsQuery>(await op('CliLlamaLogs'), { name, lines: tail ?? 100 });
      if (ctx.output.jsonl) for (const entry of data.llamaInstanceLogEntries) process.stdout.write(`${JSON.stringify(entry)}\n`);
      else if (ctx.output.json) ctx.output.record({ name, entries: data.llamaInstanceLogEntries });
      else for (const entry of data.llamaInstanceLogEntries) process.stdout.write(`${entry.message}\n`);
    });
}

export async function status(ctx: CliContext): Promise<CliStatusSection> {
  const data = await ctx.request<CliLlamaInstancesQuery>(await ctx.operation(operations, 'CliLlamaInstances'));
  return { title: 'llama.cpp instances', rows: data.llamaInstances.edges.map((e) => e.node), columns: columns as never };
}

export default { register, status } satisfies CliModule;
