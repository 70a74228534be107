import { parseArgs } from 'node:util';
import type { ConfigFlags } from '../config/load.ts';

export type Command = { name: 'serve' | 'config-check' | 'help' | 'version' | 'schema-print' | 'hash-password'; flags: ConfigFlags };

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const helpText = `backplane — one control plane for the ML backends on a GPU host

Usage:
  backplane serve [options]          start the daemon (also: npm start)
  backplane config check [options]   validate the configuration and print the effective config
  backplane schema print             print the GraphQL schema (SDL)
  backplane auth hash-password       read a password on stdin, print its scrypt hash for auth.users
  backplane --help | --version

Options:
  --config FILE       YAML config file (env BACKPLANE_CONFIG)
  --host HOST         listen address (default 127.0.0.1; env BACKPLANE_HOST)
  --port PORT         listen port, 0 for any free port (default 8080; env BACKPLANE_PORT)
  --data-dir DIR      database and job logs (default ./data; env BACKPLANE_DATA_DIR)
  --log-level LEVEL   trace|debug|info|warn|error|silent (default info; env BACKPLANE_LOG_LEVEL)

Any config key can also come from the environment: BACKPLANE_JOBS__MAX_CONCURRENT=2 sets
jobs.maxConcurrent, BACKPLANE_PLUGINS__NVIDIA_SMI__INTERVAL_MS=2000 sets
plugins.nvidia-smi.intervalMs. Precedence: flags > env > file > defaults. See docs/config.md.
`;

export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const flags: ConfigFlags = { config: values.config, host: values.host, port: values.port, dataDir: values['data-dir'], logLevel: values['log-level'] };
  if (values.help) return { name: 'help', flags };
  if (values.version) return { name: 'version', flags };
  const words = positionals.join(' ');
  if (words === '' || words === 'serve') return { name: 'serve', flags };
  if (words === 'config check') return { name: 'config-check', flags };
  if (words === 'schema print') return { name: 'schema-print', flags };
  if (words === 'auth hash-password') return { name: 'hash-password', flags };
  throw new UsageError(`unknown command '${words}'`);
}
