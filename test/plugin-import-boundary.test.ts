import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from 'vitest';

/**
 * Built-in plugins are written as third-party ones are: they reach core only through the
 * contract (core/plugin-api.ts, which is `@backplane/plugin-api`), so nothing a built-in uses is
 * missing from the published package.
 */
async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(full)));
    else if (/\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name)) out.push(full);
  }
  return out;
}

test('plugins import core only through core/plugin-api.ts', async () => {
  const offenders: string[] = [];
  const files = await sourceFiles('plugins');
  expect(files.length).toBeGreaterThan(50);
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      const target = path.relative('.', path.resolve(path.dirname(file), m[1]));
      if (m[1].startsWith('.') && (target.startsWith('core/') || target.startsWith('cli/')) && target !== 'core/plugin-api.ts') offenders.push(`${file}: ${m[1]}`);
    }
  }
  expect(offenders).toEqual([]);
});
