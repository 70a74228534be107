import type { CliContext, CliOutput } from '../packages/plugin-api/src/cli.ts';
import { resolveConnection, type ConnectionFlags, type ConnectionOptions } from './connection-options.ts';
import { followJob } from './follow-job.ts';
import { createGraphQLClient, type GraphQLClient } from './graphql-client.ts';
import { operationText } from './operation-text.ts';
import { cliOperation, type CliOperations } from './operations.ts';
import { createOutput, outputMode, type OutputMode } from './output.ts';
import { openSubscriptions } from './subscriptions.ts';

/** The global flags (`backplane --url … --json jobs list`). */
export interface GlobalFlags extends ConnectionFlags {
  json?: boolean;
  jsonl?: boolean;
  color?: boolean;
  config?: string;
}

/** What a command runs with, made from the global flags once they are parsed. */
export interface CliRuntime {
  connection: ConnectionOptions;
  client: GraphQLClient;
  mode: OutputMode;
  output: CliOutput;
  /** Runs an operation of cli/operations.graphql, typed by codegen. */
  run<N extends keyof CliOperations>(name: N, variables?: CliOperations[N][1]): Promise<CliOperations[N][0]>;
  context: CliContext;
}

export function createRuntime(flags: GlobalFlags): CliRuntime {
  const connection = resolveConnection(flags);
  const mode = outputMode(flags);
  if (flags.color === false) mode.color = false;
  const output = createOutput(mode);
  const client = createGraphQLClient(connection);
  const deps = { client, connection, output, mode };
  const context: CliContext = {
    request: (document, variables) => client.request(document, variables),
    operation: (file, name) => operationText(file, name),
    output,
    followJob: (id, options) => followJob(deps, id, options),
    subscribe: (document, variables, next) => subscribeOnce(connection, document, variables ?? {}, next),
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
  return {
    connection,
    client,
    mode,
    output,
    context,
    run: async (name, variables) => client.request(await cliOperation(name), variables as Record<string, unknown> | undefined),
  };
}

/**
 * A {@link CliContext} for commands registered before argv is parsed: each member builds the
 * runtime from the parsed global flags on first use.
 */
export function lazyContext(flags: () => GlobalFlags): { context: CliContext; runtime: () => CliRuntime } {
  let runtime: CliRuntime | undefined;
  const get = () => (runtime ??= createRuntime(flags()));
  const context: CliContext = {
    request: (document, variables) => get().context.request(document, variables),
    operation: (file, name) => operationText(file, name),
    get output() {
      return get().output;
    },
    followJob: (id, options) => get().context.followJob(id, options),
    subscribe: (document, variables, next) => get().context.subscribe(document, variables, next),
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
  return { context, runtime: get };
}

/** One subscription on its own connection, closed when it ends; Ctrl-C exits 130. */
async function subscribeOnce<TData>(connection: ConnectionOptions, document: string, variables: Record<string, unknown>, next: (data: TData) => void): Promise<void> {
  const subs = await openSubscriptions(connection);
  const onSigint = () => {
    void subs.dispose();
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  try {
    await subs.subscribe<TData>(document, variables, next);
  } finally {
    process.off('SIGINT', onSigint);
    await subs.dispose();
  }
}
