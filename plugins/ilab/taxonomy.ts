import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { BackendError, InputError, UnavailableError, type ProcessService, type RunResult } from '../../core/plugin-api.ts';

/** A detached checkout of one commit of the taxonomy, private to one job. */
export interface Worktree {
  /** The directory name under the worktrees directory; recorded in the job's `worktree` label. */
  token: string;
  dir: string;
  /** What `git worktree add` printed (for the pipeline log). */
  output: string;
}

/**
 * The taxonomy git repository. Branch names are user input: they are checked with
 * `git check-ref-format --branch`, never start with `-`, and reach git only after
 * `--end-of-options` as part of `refs/heads/<name>`. Jobs never check out in the shared
 * repository; each gets its own detached worktree, so concurrent jobs on different branches
 * cannot see each other's files.
 */
export class Taxonomy {
  readonly #processes: ProcessService;
  readonly #repo: string;
  readonly #worktrees: string;
  // git takes repository-wide locks while adding or removing worktrees: one change at a time.
  #queue: Promise<unknown> = Promise.resolve();

  constructor({ processes, repo, worktrees }: { processes: ProcessService; repo: string; worktrees: string }) {
    this.#processes = processes;
    this.#repo = repo;
    this.#worktrees = worktrees;
  }

  /** Throws a coded input error for a name git would not accept as a branch. */
  async validateBranch(name: string): Promise<void> {
    const invalid = (why: string) => new InputError(`Invalid branchName '${name}': ${why}`);
    if (name.startsWith('-')) throw invalid("a branch name must not start with '-'");
    if (name.includes('@{') || /[\0\n\r]/.test(name)) throw invalid('not a valid git branch name');
    const result = await this.#git(['check-ref-format', '--branch', name], { inRepo: false });
    if (result.exitCode !== 0) throw invalid('not a valid git branch name');
  }

  /** The commit a branch points at. Fails like the legacy server's `git checkout` would. */
  async resolveBranch(name: string): Promise<string> {
    await this.validateBranch(name);
    const result = await this.#git(['rev-parse', '--verify', '--end-of-options', `refs/heads/${name}^{commit}`]);
    const sha = result.stdout.trim();
    if (result.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(sha)) {
      throw new BackendError(`Failed to checkout branch '${name}': ${(result.stderr || result.stdout).trim() || 'branch not found'}`);
    }
    return sha;
  }

  /** Checks out `commit` into a new private directory. */
  addWorktree(commit: string): Promise<Worktree> {
    return this.#serial(async () => {
      await mkdir(this.#worktrees, { recursive: true });
      const token = `wt-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
      const dir = path.join(this.#worktrees, token);
      const result = await this.#git(['worktree', 'add', '--detach', '--', dir, commit]);
      if (result.exitCode !== 0) {
        await rm(dir, { recursive: true, force: true });
        throw new BackendError(`Failed to prepare a taxonomy worktree: ${(result.stderr || result.stdout).trim()}`);
      }
      return { token, dir, output: `${result.stderr}${result.stdout}`.trim() };
    });
  }

  /** Removes a worktree by its token; missing ones are fine. */
  removeWorktree(token: string): Promise<void> {
    return this.#serial(async () => {
      const dir = path.join(this.#worktrees, path.basename(token));
      await this.#git(['worktree', 'remove', '--force', '--', dir]);
      await rm(dir, { recursive: true, force: true });
      await this.#git(['worktree', 'prune']);
    });
  }

  /** Removes every worktree whose token is not in `keep` (after a restart); returns what went. */
  async removeStale(keep: ReadonlySet<string>): Promise<string[]> {
    const entries = await readdir(this.#worktrees).catch(() => [] as string[]);
    const stale = entries.filter((name) => !keep.has(name));
    for (const token of stale) await this.removeWorktree(token);
    if (stale.length === 0) await this.#serial(() => this.#git(['worktree', 'prune']));
    return stale;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #git(args: string[], { inRepo = true } = {}): Promise<RunResult> {
    const result = await this.#processes.run('git', inRepo ? ['-C', this.#repo, ...args] : args, { timeoutMs: 60_000 });
    if (result.spawnError) throw new UnavailableError(`git is not available: ${result.spawnError}`);
    return result;
  }
}
