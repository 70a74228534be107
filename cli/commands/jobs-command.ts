import type { Command } from 'commander';
import type { CliJobRowFragment } from '../../schema/generated/graphql.ts';
import type { CliColumn } from '../../packages/plugin-api/src/cli.ts';
import { idArgument, intFlag } from '../arg-values.ts';
import { CliError } from '../cli-error.ts';
import { humanLine, splitLog } from '../follow-job.ts';
import { colorStatus, formatAgo, formatPercent } from '../output.ts';
import type { CliRuntime } from '../runtime.ts';

/** Table columns of a job, shared by `jobs list`, `status` and `jobs cancel`. */
export function jobColumns(runtime: CliRuntime): CliColumn<CliJobRowFragment>[] {
  const { colors } = runtime.output;
  return [
    { key: 'id' },
    { key: 'kind' },
    { key: 'plugin' },
    { key: 'status', format: (value) => colorStatus(String(value), colors) },
    { key: 'progress', format: (value, row) => (value === null ? '-' : `${formatPercent(value as number)}${row.progressMessage ? ` ${row.progressMessage}` : ''}`) },
    { key: 'gpus' },
    { key: 'createdAt', header: 'CREATED', format: (value) => formatAgo(value as string) },
  ];
}

interface ListOptions {
  status?: string;
  plugin?: string;
  limit?: string;
}
interface LogsOptions {
  tail?: string;
  follow?: boolean;
}

/** `backplane jobs list|show|logs|cancel|wait`. */
export function registerJobsCommands(program: Command, runtime: () => CliRuntime): void {
  const jobs = program
    .command('jobs')
    .description('list, inspect, follow and cancel jobs (data generation, training, serving…)')
    .addHelpText('after', '\nExamples:\n  backplane jobs list --status running\n  backplane jobs logs t-1738047068590824000 --follow\n');

  jobs
    .command('list')
    .alias('ls')
    .description('jobs, newest first')
    .option('--status <status>', 'only jobs in this status: queued, running, succeeded, failed, cancelled')
    .option('--plugin <id>', 'only jobs of this plugin (ilab, vllm-podman, …)')
    .option('--limit <n>', 'at most this many jobs', '20')
    .addHelpText('after', '\nExample:\n  backplane jobs list --status failed --plugin ilab --limit 5\n')
    .action(async (options: ListOptions) => {
      const rt = runtime();
      const data = await rt.run('CliJobs', { first: intFlag(options.limit) ?? 20, status: (options.status ?? null) as never, plugin: options.plugin ?? null });
      rt.output.table(
        data.jobs.edges.map((edge) => edge.node),
        jobColumns(rt),
      );
    });

  jobs
    .command('show <id>')
    .description('one job in full: command, status, exit code, labels, steps')
    .addHelpText('after', '\nExample:\n  backplane jobs show t-1738047068590824000\n')
    .action(async (id: string) => {
      const rt = runtime();
      const { job } = await rt.run('CliJob', { id: idArgument(id) });
      if (!job) throw new CliError(`job '${id}' not found`);
      if (rt.output.json) {
        rt.output.record(job);
        return;
      }
      const { children, labels, args } = job;
      rt.output.record({
        id: job.id,
        kind: job.kind,
        plugin: job.plugin,
        status: colorStatus(job.status, rt.output.colors),
        progress: job.progress === null ? null : `${formatPercent(job.progress)}${job.progressMessage ? ` ${job.progressMessage}` : ''}`,
        waitingFor: job.waitingFor,
        command: [job.command, ...args].join(' '),
        cwd: job.cwd,
        pid: job.pid,
        exitCode: job.exitCode,
        signal: job.signal,
        failureReason: job.failureReason,
        gpus: job.gpus,
        labels: labels.map((l) => `${l.key}=${l.value}`),
        parent: job.parentId,
        created: job.createdAt,
        started: job.startedAt,
        finished: job.finishedAt,
        log: `${job.logPath} (${job.logSize} bytes)`,
      });
      if (children.length > 0) {
        rt.output.line(`\n${rt.output.colors.bold('Steps:')}`);
        rt.output.table(children, jobColumns(rt));
      }
    });

  jobs
    .command('logs <id>')
    .description("a job's log; --follow streams it live until the job ends and exits with its result")
    .option('--tail <n>', 'only the last N lines')
    .option('-f, --follow', 'stream new lines until the job ends (exit 0 succeeded, 1 failed); Ctrl-C stops following, not the job')
    .addHelpText('after', '\nExamples:\n  backplane jobs logs t-1738047068590824000 --tail 50\n  backplane jobs logs t-1738047068590824000 --follow --jsonl\n')
    .action(async (id: string, options: LogsOptions) => {
      const rt = runtime();
      const tail = intFlag(options.tail);
      if (options.follow) {
        process.exitCode = await rt.context.followJob(idArgument(id), { tail: tail ?? 10 });
        return;
      }
      const { job } = await rt.run('CliJobLog', { id: idArgument(id), tail: tail ?? null });
      if (!job) throw new CliError(`job '${id}' not found`);
      const lines = splitLog(job.log);
      if (rt.mode.jsonl) for (const line of lines) process.stdout.write(`${JSON.stringify({ jobId: job.id, line })}\n`);
      else if (rt.mode.json) rt.output.record({ jobId: job.id, status: job.status, lines });
      else if (lines.length > 0) process.stdout.write(`${lines.map((line) => humanLine(line, rt.mode.color)).join('\n')}\n`);
    });

  jobs
    .command('cancel <id>')
    .description('SIGTERM the job’s process group (SIGKILL after jobs.killGraceSeconds)')
    .addHelpText('after', '\nExample:\n  backplane jobs cancel t-1738047068590824000\n')
    .action(async (id: string) => {
      const rt = runtime();
      const { cancelJob } = await rt.run('CliCancelJob', { id: idArgument(id) });
      rt.output.table([cancelJob], jobColumns(rt));
    });

  jobs
    .command('wait <id>')
    .description('wait until the job ends: exit 0 when it succeeded, 1 when it failed or was cancelled')
    .addHelpText('after', '\nExample:\n  backplane jobs wait t-1738047068590824000 && echo trained\n')
    .action(async (id: string) => {
      const rt = runtime();
      process.exitCode = await rt.context.followJob(idArgument(id), { logs: false });
    });
}
