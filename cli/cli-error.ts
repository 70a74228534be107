/**
 * A failure the `backplane` client reports as one line (`backplane: <message>`) with an exit
 * code, never a stack trace: 1 for a bad value or a daemon error, 2 for bad usage, 130 for Ctrl-C.
 */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}
