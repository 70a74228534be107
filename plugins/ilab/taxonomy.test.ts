import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createProcessService } from '../../core/services/process-service.ts';
import { Taxonomy } from './taxonomy.ts';

let base: string;
let taxonomy: Taxonomy;
const git = (...args: string[]) => execFileSync('git', ['-C', path.join(base, 'repo'), '-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { encoding: 'utf8' });

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'bp-taxonomy-'));
  await mkdir(path.join(base, 'repo'));
  await writeFile(path.join(base, 'repo', 'README'), 'main\n');
  git('init', '--quiet', '--initial-branch=main');
  git('add', '--all');
  git('commit', '--quiet', '-m', 'main');
  git('branch', 'feature/ünïcode-✓');
  taxonomy = new Taxonomy({ processes: createProcessService({ signal: new AbortController().signal }), repo: path.join(base, 'repo'), worktrees: path.join(base, 'worktrees') });
});
afterAll(() => rm(base, { recursive: true, force: true }));

test.each(['main', 'feature/ünïcode-✓', 'a-b.c_d'])('%s is a valid branch name', async (name) => {
  await expect(taxonomy.validateBranch(name)).resolves.toBeUndefined();
});

test.each(['--upload-pack=x', '-f', 'a..b', 'a b', 'HEAD', '@{-1}', 'x.lock', 'a/', '/a', 'a\nb', 'x^', 'x~1', 'x:y'])('%s is refused as an input error', async (name) => {
  await expect(taxonomy.validateBranch(name)).rejects.toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/^Invalid branchName /) });
});

test('resolveBranch gives the commit; a missing branch fails like the legacy checkout', async () => {
  expect(await taxonomy.resolveBranch('feature/ünïcode-✓')).toBe(git('rev-parse', 'main').trim());
  await expect(taxonomy.resolveBranch('nope')).rejects.toMatchObject({ code: 'BACKEND_ERROR', message: "Failed to checkout branch 'nope': fatal: Needed a single revision" });
});

test('worktrees: added detached, removed by token, stale ones cleaned up; the main checkout never moves', async () => {
  const commit = await taxonomy.resolveBranch('main');
  const [a, b] = await Promise.all([taxonomy.addWorktree(commit), taxonomy.addWorktree(commit)]);
  expect(a.token).not.toBe(b.token);
  expect(existsSync(path.join(a.dir, 'README'))).toBe(true);
  expect(a.output).toMatch(/HEAD is now at [0-9a-f]+ main/);
  await taxonomy.removeWorktree(a.token);
  expect(existsSync(a.dir)).toBe(false);
  expect(await taxonomy.removeStale(new Set([b.token]))).toEqual([]);
  expect(await taxonomy.removeStale(new Set())).toEqual([b.token]);
  expect(await readdir(path.join(base, 'worktrees'))).toEqual([]);
  expect(git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
  expect(git('branch', '--show-current').trim()).toBe('main');
});
