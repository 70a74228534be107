import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/**
 * `npm run bench [name…]`: runs every `scripts/bench/*.bench.ts` (or those whose name contains
 * one of the arguments), one after another, each in its own process. Each prints ratios against
 * a baseline it measures in the same run.
 */
const dir = path.dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = (await readdir(dir)).filter((f) => f.endsWith('.bench.ts')).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n== ${file.replace('.bench.ts', '')}\n`);
  const result = await execa(process.execPath, [path.join(dir, file)], { stdio: 'inherit', reject: false });
  if (result.exitCode !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
