/**
 * What a plugin's `backplane` client commands receive (see {@link PluginDefinition.cli}).
 *
 * A plugin names a module in its manifest's `cli` field; the `backplane` command imports only
 * that module (never the plugin's `init` or `schema` code) and calls its `register` export with
 * the root command and a {@link CliContext}. The commands talk to the daemon over its GraphQL
 * API through the context, so they work against a daemon on another host too.
 *
 * The command types are the subset of commander's `Command` the contract promises; the object
 * passed is a real commander `Command` (commander 15), so its other methods work too.
 *
 * @module
 */

/** An action's arguments: the positional arguments, then the options object, then the command. */
export type CliAction = (...args: any[]) => void | Promise<void>;

/** A command (or the root program) commands are added to; commander's `Command`. */
export interface CliCommand {
  /** Adds a subcommand, e.g. `command('start <name>')`, and returns it. */
  command(nameAndArgs: string): CliCommand;
  description(text: string): CliCommand;
  /** `option('--epochs <n>', 'training epochs', '10')`. */
  option(flags: string, description?: string, defaultValue?: string | boolean | string[]): CliCommand;
  /** With a parser, e.g. to collect a repeated flag: `(value, all: string[] = []) => [...all, value]`. */
  option<T>(flags: string, description: string, parse: (value: string, previous: T) => T, defaultValue?: T): CliCommand;
  requiredOption(flags: string, description?: string, defaultValue?: string | boolean | string[]): CliCommand;
  alias(alias: string): CliCommand;
  /** Every command should show an example: `addHelpText('after', '\nExample:\n  backplane …')`. */
  addHelpText(position: 'before' | 'after' | 'beforeAll' | 'afterAll', text: string): CliCommand;
  action(fn: CliAction): CliCommand;
}

/** A column of {@link CliOutput.table}: the row key, and the heading shown (the key upper-cased by default). */
export interface CliColumn<TRow> {
  key: keyof TRow & string;
  header?: string;
  /** Turns the value into the cell text (people only; `--json` prints the row as it is). */
  format?: (value: TRow[keyof TRow], row: TRow) => string;
}

/** Output helpers that honour `--json`, `--jsonl`, TTY detection and `NO_COLOR`. */
export interface CliOutput {
  /** `--json` (or `--jsonl`) was given: print data, no tables or colour. */
  readonly json: boolean;
  /** `--jsonl` was given: one JSON object a line for streams. */
  readonly jsonl: boolean;
  /** Rows as an aligned borderless table, or as a JSON array of the rows under `--json`. */
  table<TRow extends object>(rows: readonly TRow[], columns: readonly CliColumn<TRow>[]): void;
  /** One record: `key: value` lines, or the object as JSON under `--json`. */
  record(value: Record<string, unknown>): void;
  /** A line for people (nothing under `--json`). */
  line(text: string): void;
  /** Colour helpers that are identity functions when colour is off. */
  readonly colors: { bold(s: string): string; dim(s: string): string; red(s: string): string; green(s: string): string; yellow(s: string): string; cyan(s: string): string };
}

/** How {@link CliContext.followJob} follows a job. */
export interface CliFollowOptions {
  /** Lines of the log already written to print first (default 0 with a progress display, else 20). */
  tail?: number;
  /** Print the log lines (default true); false shows only the progress bar or spinner. */
  logs?: boolean;
  /** false: print the log (or its `tail`) once and resolve with 0, without waiting. Default true. */
  follow?: boolean;
}

/** What a plugin's command modules get from the `backplane` command. */
export interface CliContext {
  /**
   * Runs a GraphQL operation on the daemon and returns its `data`. A GraphQL error becomes a
   * message that names the daemon's own text (and the missing scope for `FORBIDDEN`); the
   * command exits 1 with it.
   */
  request<TData = unknown>(document: string, variables?: Record<string, unknown>): Promise<TData>;
  /**
   * The text of one named operation of a `.graphql` file (with the fragments it spreads), so a
   * plugin keeps its operations in a file codegen checks: `operation(new URL('./cli.graphql',
   * import.meta.url), 'CliIlabModels')`.
   */
  operation(file: URL, name: string): Promise<string>;
  readonly output: CliOutput;
  /**
   * Streams a job's log (reconnecting when the connection drops) with a progress bar or a
   * spinner on a TTY, and resolves with the exit code for its result: 0 succeeded, 1 otherwise.
   * Ctrl-C stops following (exit 130); the job keeps running.
   */
  followJob(id: string, options?: CliFollowOptions): Promise<number>;
  /**
   * Runs a GraphQL subscription (over graphql-ws, loaded on first use) and calls `next` with
   * each result's `data`. Resolves when the daemon completes it; rejects with the daemon's
   * message when it refuses, or when the connection drops (no retry). Ctrl-C ends the command
   * with exit 130.
   */
  subscribe<TData = unknown>(document: string, variables: Record<string, unknown> | undefined, next: (data: TData) => void): Promise<void>;
  /** Ends the command with this exit code once output is flushed. */
  setExitCode(code: number): void;
}

/** The module a manifest's `cli` field names. */
export interface CliModule {
  /** Adds the plugin's commands to `program` (the root `backplane` command). No I/O. */
  register(program: CliCommand, context: CliContext): void;
  /**
   * Lines for `backplane status` (servers the plugin runs, say), asked only when the plugin is
   * enabled on the daemon. Rows are shown as a table under `title`.
   */
  status?(context: CliContext): Promise<CliStatusSection | undefined>;
}

/** A section of `backplane status`. */
export interface CliStatusSection {
  title: string;
  rows: readonly Record<string, unknown>[];
  columns: readonly CliColumn<Record<string, unknown>>[];
}
