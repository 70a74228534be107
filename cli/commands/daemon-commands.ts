import type { Command } from 'commander';

/**
 * The daemon's own commands (`serve`, `config check`, `schema print`, `auth hash-password`),
 * listed here for help and completion. bin/backplane.mjs sends them to core/main.ts before
 * this client loads; run through here, they hand over to it the same way.
 */
export function registerDaemonCommands(program: Command): void {
  const handOver = async () => {
    await import('../../core/main.ts');
  };
  const daemon = (name: string, description: string, example: string) =>
    program
      .command(name)
      .description(description)
      .allowUnknownOption()
      .allowExcessArguments()
      .helpOption(false)
      .addHelpText('after', `\nExample:\n  ${example}\n`)
      .action(handOver);
  daemon('serve', 'start the daemon (see backplane serve --help)', 'backplane serve --config /etc/backplane.yaml');
  daemon('config', 'config check: validate the configuration and print the effective config', 'backplane config check --config backplane.yaml');
  daemon('schema', 'schema print: print the GraphQL schema (SDL)', 'backplane schema print > schema.graphql');
  daemon('auth', 'auth hash-password: read a password on stdin, print its scrypt hash', 'backplane auth hash-password < password.txt');
}
