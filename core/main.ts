import path from 'node:path';
import { printSchema } from 'graphql';
import YAML from 'yaml';
import { builtinPlugins } from '../plugins/index.ts';
import { hashPassword } from './auth/password-hash.ts';
import { helpText, parseCommand, UsageError } from './cli/args.ts';
import { readPassword } from './cli/read-password.ts';
import { ConfigError } from './config/config-error.ts';
import { loadConfig } from './config/load.ts';
import { BACKPLANE_VERSION, createDaemon } from './daemon.ts';
import { buildSchema } from './graphql/build-schema.ts';
import { coreSchemaModules } from './core-modules.ts';
import { resolvePlugins } from './kernel/load-plugins.ts';
import { orderPlugins } from './kernel/plugin-order.ts';
import { createLogger } from './services/logger-service.ts';
import { releaseYoungGeneration } from './util/startup-heap.ts';

/** CLI entry: parse, load config, run the command, map failures to exit codes. */
async function main(argv: readonly string[]): Promise<number> {
  const command = parseCommand(argv);
  if (command.name === 'help') {
    process.stdout.write(helpText);
    return 0;
  }
  if (command.name === 'version') {
    process.stdout.write(`backplane ${BACKPLANE_VERSION} (node ${process.version})\n`);
    return 0;
  }
  if (command.name === 'schema-print') {
    process.stdout.write(printSchema(buildSchema(orderPlugins(builtinPlugins), coreSchemaModules)));
    return 0;
  }
  if (command.name === 'hash-password') {
    const password = await readPassword();
    if (password === '') throw new Error('auth hash-password: the password on stdin is empty');
    process.stdout.write(`${await hashPassword(password)}\n`);
    return 0;
  }

  const { config, file } = await loadConfig({ flags: command.flags });
  const plugins = await resolvePlugins({ config, builtins: builtinPlugins, baseDir: file ? path.dirname(file) : process.cwd() });
  if (command.name === 'config-check') {
    const redacted = {
      ...config,
      auth: { ...config.auth, keys: config.auth.keys.map((k) => ({ ...k, key: k.key ? '[redacted]' : undefined })), users: config.auth.users.map((u) => ({ ...u, passwordHash: '[redacted]' })) },
    };
    process.stdout.write(`configuration OK${file ? ` (${file})` : ' (embedded defaults)'}\nplugins: ${plugins.map((p) => p.definition.id).join(', ') || '(none)'}\n---\n${YAML.stringify(redacted)}`);
    return 0;
  }

  const logger = createLogger({ level: config.log.level });
  const daemon = createDaemon({ config, plugins, logger });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    logger.info('signal received', { signal });
    daemon.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Resuming after an uncaught exception is unsafe: log it and exit; the supervisor restarts us.
  process.on('uncaughtException', (error) => {
    logger.error('uncaught exception', { error });
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    logger.error('unhandled rejection', { error });
    process.exit(1);
  });
  try {
    await daemon.start();
    releaseYoungGeneration();
  } catch (error) {
    logger.error('start failed', { error });
    await daemon.stop().catch(() => undefined);
    throw error;
  }
  return -1; // keep running until a signal
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`backplane: ${error.message}\n\n${helpText}`);
      process.exit(2);
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`backplane: ${error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`backplane: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
