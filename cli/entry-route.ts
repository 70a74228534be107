/** Global flags of the daemon and the client that take a value (to skip when finding the command). */
const valueFlags = new Set(['--config', '--host', '--port', '--data-dir', '--log-level', '--url', '--api-key', '--api-key-file', '--timeout']);
const daemonWords = new Set(['serve', 'config', 'schema', 'auth']);

/**
 * Which program `bin/backplane.mjs` runs: the daemon's (core/main.ts) for `serve`, `config`,
 * `schema`, `auth`, `--version` and no command at all (which serves), the client (cli/main.ts)
 * for everything else, so a client command never loads the daemon.
 */
export function entryFor(argv: readonly string[]): 'daemon' | 'client' {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return 'client';
    if (arg === '--version' || arg === '-v') return 'daemon';
    if (valueFlags.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    return daemonWords.has(arg) ? 'daemon' : 'client';
  }
  return 'daemon';
}
