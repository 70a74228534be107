import type { Command } from 'commander';
import { CliError } from '../cli-error.ts';
import { describeGraphQLErrors } from '../graphql-errors.ts';
import type { CliRuntime } from '../runtime.ts';

/** `k=v` → a variable: JSON when it parses (numbers, booleans, lists), else the text. */
export function parseVariable(text: string, into: Record<string, unknown> = {}): Record<string, unknown> {
  const split = text.indexOf('=');
  if (split <= 0) throw new CliError(`--var ${text}: expected NAME=VALUE`, 2);
  const value = text.slice(split + 1);
  let parsed: unknown = value;
  try {
    parsed = JSON.parse(value);
  } catch {
    // Not JSON: the text itself.
  }
  return { ...into, [text.slice(0, split)]: parsed };
}

/** `backplane graphql 'QUERY' [--var k=v]…`: any operation, the result as JSON. */
export function registerGraphqlCommand(program: Command, runtime: () => CliRuntime): void {
  program
    .command('graphql <query>')
    .description('run any GraphQL query or mutation and print the result as JSON ("-" reads it from stdin)')
    .option('--var <name=value>', 'a variable (JSON values: 3, true, ["a"]; else text); repeat for more', parseVariable, {})
    .addHelpText('after', `\nExamples:\n  backplane graphql '{ plugins { id status } }'\n  backplane graphql 'query($id: ID!) { job(id: $id) { status exitCode } }' --var id=t-1738047068590824000\n`)
    .action(async (query: string, options: { var: Record<string, unknown> }) => {
      const rt = runtime();
      const text = query === '-' ? await readStdin() : query;
      const body = await rt.client.raw(text, options.var);
      if (body.errors && body.errors.length > 0 && body.data == null) throw describeGraphQLErrors(body.errors, rt.connection.apiKey !== undefined);
      process.stdout.write(`${JSON.stringify(body.errors ? body : body.data, null, rt.mode.jsonl ? undefined : 2)}\n`);
      if (body.errors && body.errors.length > 0) process.exitCode = 1;
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
