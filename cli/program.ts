import { Command, CommanderError } from 'commander';
import { CliError } from './cli-error.ts';
import { registerCompletionCommand } from './commands/completion-command.ts';
import { registerDaemonCommands } from './commands/daemon-commands.ts';
import { registerGpusCommands } from './commands/gpus-command.ts';
import { registerGraphqlCommand } from './commands/graphql-command.ts';
import { registerJobsCommands } from './commands/jobs-command.ts';
import { registerStatusCommand, type LoadedCliModule } from './commands/status-command.ts';
import { DEFAULT_URL } from './connection-options.ts';
import type { CliContext } from '../packages/plugin-api/src/cli.ts';
import { lazyContext, type CliRuntime, type GlobalFlags } from './runtime.ts';

/** The root command, its global options and core's commands; plugins add theirs after. */
export interface BuiltProgram {
  program: Command;
  runtime: () => CliRuntime;
  context: CliContext;
  /** Gives every subcommand (plugins' too, so call it after they register) the root's error handling. */
  inheritSettings(): void;
}

export function buildProgram(modules: () => Promise<readonly LoadedCliModule[]>): BuiltProgram {
  const program = new Command('backplane');
  program
    .description('one control plane for the ML backends on a GPU host: the daemon, and a client for it')
    .option('--url <url>', `the daemon (env BACKPLANE_URL; default ${DEFAULT_URL})`)
    .option('--api-key <key>', 'API key or access token (env BACKPLANE_API_KEY)')
    .option('--api-key-file <file>', 'read the API key from a file (env BACKPLANE_API_KEY_FILE)')
    .option('--timeout <seconds>', 'give up on a request after this long (env BACKPLANE_TIMEOUT; default 30)')
    .option('--config <file>', 'config file whose third-party plugins add commands (env BACKPLANE_CONFIG)')
    .option('--json', 'print JSON with stable field names, no tables or colour')
    .option('--jsonl', 'print one JSON object a line (streams: logs --follow, gpus --watch)')
    .option('--no-color', 'no colour (also NO_COLOR=1; colour is only ever used on a terminal)')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExamples:\n  backplane status\n  backplane jobs logs t-1738047068590824000 --follow\n  backplane ilab train --model models/granite-7b-lab --branch my-skill --epochs 3 --follow\n\nDocs: docs/cli.md\n')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'backplane: ')) });
  const flags = () => {
    const opts = program.opts<GlobalFlags>();
    return { ...opts, config: opts.config ?? process.env.BACKPLANE_CONFIG };
  };
  const { context, runtime } = lazyContext(flags);
  registerStatusCommand(program, runtime, modules);
  registerJobsCommands(program, runtime);
  registerGpusCommands(program, runtime);
  registerGraphqlCommand(program, runtime);
  registerCompletionCommand(program);
  registerDaemonCommands(program);
  // Every subcommand exits through exitOverride and shares the error format.
  const inherit = (command: Command) => {
    for (const sub of command.commands) {
      sub.exitOverride().showSuggestionAfterError(true).configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'backplane: ')) });
      inherit(sub);
    }
  };
  return { program, runtime, context, inheritSettings: () => inherit(program) };
}

/** Maps what a command threw to an exit code, printing one line (never a stack trace). */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    // Usage problems (unknown command or flag, missing argument, a group without its verb): 2.
    return 2;
  }
  if (error instanceof CliError) {
    process.stderr.write(`backplane: ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`backplane: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}
