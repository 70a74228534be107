import type { CliCommand, CliContext, CliModule, CliStatusSection } from '../../core/plugin-api.ts';
import type { CliVllmRemoveMutation, CliVllmRestartMutation, CliVllmServerQuery, CliVllmServerRowFragment, CliVllmServersQuery, CliVllmStartMutation, CliVllmStopMutation } from '../../schema/generated/graphql.ts';

/**
 * `backplane vllm ls|start|stop|restart|rm|logs`: the vLLM plugin's client commands, over the
 * daemon's GraphQL API (operations in ./cli.graphql).
 */
const operations = new URL('./cli.graphql', import.meta.url);
/** An Int flag: a number when it reads as one, else the text, for the daemon to refuse in its own words. */
const int = (v: string | undefined): number | undefined => (v === undefined ? undefined : /^\d+$/.test(v) ? Number(v) : (v as unknown as number));
interface StartOptions {
  model: string;
  port: string;
  gpus?: string;
  arg?: string[];
}
interface LogOptions {
  tail?: string;
  follow?: boolean;
}

const columns = (ctx: CliContext) => [
  { key: 'name' as const },
  { key: 'status' as const },
  { key: 'port' as const },
  { key: 'gpus' as const },
  { key: 'url' as const },
  { key: 'message' as const, format: (v: unknown) => (v ? String(v).split('\n')[0].slice(0, 60) : '-') },
];

export function register(program: CliCommand, ctx: CliContext): void {
  const op = (name: string) => ctx.operation(operations, name);
  const print = (server: CliVllmServerRowFragment | null, name: string) => {
    if (ctx.output.json) ctx.output.record(server ? { ...server } : { name, status: null });
    else ctx.output.table(server ? [server] : [], columns(ctx));
  };
  const vllm = program.command('vllm').description('vLLM servers in podman containers').addHelpText('after', '\nExamples:\n  backplane vllm ls\n  backplane vllm start granite --model /models/granite-7b --port 8001\n');
  vllm
    .command('ls')
    .alias('list')
    .description('every vLLM server backplane tracks')
    .addHelpText('after', '\nExample:\n  backplane vllm ls --json\n')
    .action(async () => {
      const data = await ctx.request<CliVllmServersQuery>(await op('CliVllmServers'));
      ctx.output.table(data.vllmServers, columns(ctx));
    });
  vllm
    .command('start <name>')
    .description('start a server (resolves once its container runs, status loading)')
    .requiredOption('--model <path>', 'absolute model path inside a configured model root')
    .requiredOption('--port <port>', 'host port, 1024–65535')
    .option('--gpus <n>', 'lease this many free GPUs (default 1)')
    .option('--arg <arg>', 'an extra vLLM argument from the allow-list; repeat', (value: string, all: string[] = []) => [...all, value])
    .addHelpText('after', '\nExample:\n  backplane vllm start granite --model /models/granite-7b --port 8001 --arg --max-model-len --arg 4096\n')
    .action(async (name: string, options: StartOptions) => {
      const data = await ctx.request<CliVllmStartMutation>(await op('CliVllmStart'), { input: { name, modelPath: options.model, port: int(options.port), gpuCount: int(options.gpus) ?? null, args: options.arg ?? [] } });
      print(data.startVllmServer, name);
    });
  vllm
    .command('stop <name>')
    .description('stop and remove its container')
    .addHelpText('after', '\nExample:\n  backplane vllm stop granite\n')
    .action(async (name: string) => {
      const data = await ctx.request<CliVllmStopMutation>(await op('CliVllmStop'), { name });
      if (!data.stopVllmServer && !ctx.output.json) ctx.output.line(`${name}: nothing was running`);
      else print(data.stopVllmServer, name);
    });
  vllm
    .command('restart <name>')
    .description('stop it if active, then start it with the same settings')
    .addHelpText('after', '\nExample:\n  backplane vllm restart granite\n')
    .action(async (name: string) => {
      const data = await ctx.request<CliVllmRestartMutation>(await op('CliVllmRestart'), { name });
      print(data.restartVllmServer, name);
    });
  vllm
    .command('rm <name>')
    .description('stop it if active and forget it')
    .addHelpText('after', '\nExample:\n  backplane vllm rm granite\n')
    .action(async (name: string) => {
      const data = await ctx.request<CliVllmRemoveMutation>(await op('CliVllmRemove'), { name });
      if (ctx.output.json) ctx.output.record({ name, removed: data.removeVllmServer });
      else ctx.output.line(data.removeVllmServer ? `removed ${name}` : `${name}: no such server`);
      if (!data.removeVllmServer) ctx.setExitCode(1);
    });
  vllm
    .command('logs <name>')
    .description('the container output of its current run (a v- job); --follow streams it')
    .option('--tail <n>', 'only the last N lines')
    .option('-f, --follow', 'stream until the run ends; Ctrl-C stops following, not the server')
    .addHelpText('after', '\nExample:\n  backplane vllm logs granite --tail 100 --follow\n')
    .action(async (name: string, options: LogOptions) => {
      const tail = int(options.tail);
      const data = await ctx.request<CliVllmServerQuery>(await op('CliVllmServer'), { name });
      if (!data.vllmServer) throw new Error(`vLLM server '${name}' not found`);
      if (!data.vllmServer.jobId) throw new Error(`vLLM server '${name}' has no run yet`);
      ctx.setExitCode(await ctx.followJob(data.vllmServer.jobId, { tail: tail ?? (options.follow ? 20 : undefined), follow: options.follow ?? false }));
    });
}

export async function status(ctx: CliContext): Promise<CliStatusSection> {
  const data = await ctx.request<CliVllmServersQuery>(await ctx.operation(operations, 'CliVllmServers'));
  return { title: 'vLLM servers', rows: data.vllmServers, columns: columns(ctx) as never };
}

export default { register, status } satisfies CliModule;
