import type { CliCommand } from '../packages/plugin-api/src/cli.ts';
import type { LoadedCliModule } from './commands/status-command.ts';
import { loadPluginCliModules } from './plugin-commands.ts';
import { buildProgram, exitCodeFor } from './program.ts';

/** Core's own top-level commands: these need no plugin command module to run. */
const coreCommands = new Set(['jobs', 'gpus', 'graphql', 'serve', 'config', 'schema', 'auth']);

/**
 * Runs the `backplane` client on `argv` (without node and the script) and resolves with the
 * exit code. Plugins' command modules are imported only when the command may be theirs (or
 * for `status`, `completion` and help, which list or ask them all).
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  let modules: Promise<LoadedCliModule[]> | undefined;
  const configFile = configFlag(argv) ?? process.env.BACKPLANE_CONFIG;
  const loadModules = () => (modules ??= loadPluginCliModules(configFile));
  const built = buildProgram(loadModules);
  const { program, context } = built;
  try {
    const first = argv.find((a) => !a.startsWith('-'));
    if (first === undefined || !coreCommands.has(first)) {
      for (const loaded of await loadModules()) loaded.module.register(program satisfies CliCommand, context);
    }
    built.inheritSettings();
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return exitCodeFor(error);
  }
}

function configFlag(argv: readonly string[]): string | undefined {
  const at = argv.indexOf('--config');
  if (at >= 0) return argv[at + 1];
  return argv.find((a) => a.startsWith('--config='))?.slice('--config='.length);
}
