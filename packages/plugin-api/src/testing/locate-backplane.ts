import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The backplane CLI script (`bin/backplane.mjs`) to run: `explicit` if given, else the
 * `BACKPLANE_BIN` environment variable, else the `backplane` package's `bin` as resolved from
 * `fromDir` (your project) and then from this package.
 */
export function locateBackplaneBin(explicit?: string, fromDir: string = process.cwd()): string {
  const given = explicit ?? process.env.BACKPLANE_BIN;
  if (given) return path.resolve(fromDir, given);
  for (const base of [path.join(path.resolve(fromDir), 'noop.js'), import.meta.url]) {
    let manifest: string;
    try {
      manifest = createRequire(base).resolve('backplane/package.json');
    } catch {
      continue;
    }
    const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: string | Record<string, string> };
    const script = typeof bin === 'string' ? bin : bin?.backplane;
    if (script) return path.resolve(path.dirname(manifest), script);
  }
  throw new Error('cannot find the backplane CLI: pass backplaneBin, set BACKPLANE_BIN to its bin/backplane.mjs, or install the backplane package');
}
