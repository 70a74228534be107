import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** bin/backplane.mjs, the way `npx backplane` runs it. */
export const backplaneBin = path.join(root, 'bin', 'backplane.mjs');

/** Runs the `backplane` client against `url` (piped: no TTY, so no colour or live display). */
export function runBackplane(url: string, args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [backplaneBin, ...args], { cwd: root, reject: false, env: { BACKPLANE_URL: url, BACKPLANE_API_KEY: '', NO_COLOR: '', ...env }, extendEnv: true });
}
