/** A configuration that cannot be used; `problems` holds one `path: reason` line each. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[], source?: string) {
    super(`BP_ERR_CONFIG: invalid configuration${source ? ` (${source})` : ''}:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
