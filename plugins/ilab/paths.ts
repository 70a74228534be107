import { realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InputError, NotFoundError } from '../../core/plugin-api.ts';
import type { IlabConfig } from './config.ts';
import type { IlabReportedDirs } from './ilab-dirs.ts';

/** Every directory the plugin reads or writes, absolute. */
export interface IlabPaths {
  home: string;
  taxonomy: string;
  models: string;
  checkpoints: string;
  datasets: string;
  worktrees: string;
  /** Directories a qna-eval `yaml_file` may be in. */
  yamlDirs: string[];
  workDir: string | undefined;
}

/**
 * Resolves the directories (`~` expanded): a configured one first, then the one ilab reported
 * (`ilab config show`, see {@link IlabReportedDirs}), then ilab's XDG default under `homeDir`.
 */
export function resolveIlabPaths(config: IlabConfig, dataDir: string, reported: IlabReportedDirs = {}): IlabPaths {
  const home = expand(config.homeDir ?? (config.mode === 'mock' ? path.join(dataDir, 'mock-home') : os.homedir()));
  const share = path.join(home, '.local', 'share', 'instructlab');
  const taxonomy = expand(config.taxonomyDir ?? reported.taxonomy ?? path.join(share, 'taxonomy'));
  return {
    home,
    taxonomy,
    models: expand(config.modelsDir ?? reported.models ?? path.join(home, '.cache', 'instructlab', 'models')),
    checkpoints: expand(config.checkpointsDir ?? reported.checkpoints ?? path.join(share, 'checkpoints', 'hf_format')),
    datasets: expand(config.datasetsDir ?? reported.datasets ?? path.join(share, 'datasets')),
    worktrees: expand(config.worktreesDir ?? path.join(dataDir, 'worktrees')),
    yamlDirs: (config.qnaEval.yamlDirs ?? [taxonomy]).map(expand),
    workDir: config.workDir === undefined ? undefined : expand(config.workDir),
  };
}

function expand(p: string): string {
  if (p === '~') return os.homedir();
  return path.resolve(p.startsWith('~/') ? path.join(os.homedir(), p.slice(2)) : p);
}

/** Whether `child` is `root` or lies below it (both absolute and normalised). */
export function isWithin(root: string, child: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export interface ConfineOptions {
  /** Error for a path outside every root (or escaping one through a symlink). */
  outside: () => Error;
  /** Error for a path inside a root that does not exist. */
  missing: () => Error;
}

/**
 * Resolves a user-supplied path (absolute, or relative to the first root) and requires it to
 * exist inside one of `roots` after following symlinks. The lexical check runs first, so a path
 * outside the roots is refused without revealing whether it exists.
 */
export async function confinePath(value: string, roots: readonly string[], { outside, missing }: ConfineOptions): Promise<string> {
  if (value.includes('\0')) throw outside();
  const candidate = path.resolve(roots[0], value);
  const lexicalRoot = roots.find((root) => isWithin(root, candidate));
  if (!lexicalRoot) throw outside();
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    throw missing();
  }
  // The root itself may be a symlink (a models dir on another disk); compare real with real.
  const realRoots = await Promise.all(roots.map((root) => realpath(root).catch(() => root)));
  if (!realRoots.some((root) => isWithin(root, real))) throw outside();
  return real;
}

/** {@link confinePath} with the plugin's usual messages. */
export function confineOrInputError(value: string, roots: readonly string[], what: string): Promise<string> {
  return confinePath(value, roots, {
    outside: () => new InputError(`${what} '${value}' is outside the allowed directories`),
    missing: () => new NotFoundError(`${what} '${value}' does not exist`),
  });
}
