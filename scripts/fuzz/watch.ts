import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

/** Every entry under a directory: type, size, mode, mtime, ctime, content hash or link target. */
export type TreeSnapshot = Map<string, string>;

export async function snapshotTree(dir: string, exclude: readonly string[] = []): Promise<TreeSnapshot> {
  const out: TreeSnapshot = new Map();
  const walk = async (current: string) => {
    const stat = await lstat(current).catch(() => undefined);
    if (!stat) return;
    let signature = `${stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'link' : stat.isFile() ? 'file' : 'other'} mode=${stat.mode.toString(8)} size=${stat.size} mtime=${stat.mtimeMs} ctime=${stat.ctimeMs}`;
    if (stat.isSymbolicLink()) signature += ` -> ${await readlink(current)}`;
    if (stat.isFile() && stat.size <= 4 * 1024 * 1024) signature += ` sha1=${createHash('sha1').update(await readFile(current)).digest('hex')}`;
    out.set(path.relative(dir, current) || '.', signature);
    if (stat.isDirectory()) for (const name of (await readdir(current)).sort()) if (!exclude.includes(path.join(current, name))) await walk(path.join(current, name));
  };
  await walk(dir);
  return out;
}

/** What changed between two snapshots of one tree. */
export function diffTrees(before: TreeSnapshot, after: TreeSnapshot): string[] {
  const changes: string[] = [];
  for (const [entry, signature] of after) {
    const was = before.get(entry);
    if (was === undefined) changes.push(`added ${entry} (${signature})`);
    else if (was !== signature) changes.push(`changed ${entry}: ${was} → ${signature}`);
  }
  for (const entry of before.keys()) if (!after.has(entry)) changes.push(`removed ${entry}`);
  return changes;
}

/** Untracked (not ignored) paths of a git checkout. */
export async function untrackedFiles(repo: string): Promise<Set<string>> {
  const { stdout } = await execa('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=all', '-z'], { reject: false });
  return new Set(
    stdout
      .split('\0')
      .filter((e) => e.startsWith('?? '))
      .map((e) => e.slice(3)),
  );
}

/** VmRSS of a process, in bytes (Linux /proc). */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}
