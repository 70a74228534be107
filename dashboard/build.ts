import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * `npm run build:dashboard` (and npm's `prepare`, so `npm ci` builds it): the typed documents
 * (graphql-codegen, from the committed schema), then `vite build` into dashboard/dist. Offline:
 * every input is in the checkout or node_modules. Without dev dependencies (`npm ci
 * --omit=dev`) there is nothing to build with: it says so and succeeds, and the daemon answers
 * the page with a 503 that names this command.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
const codegen = path.join(root, 'node_modules', '@graphql-codegen', 'cli', 'esm', 'bin.js');
if (!existsSync(vite) || !existsSync(codegen)) {
  console.log('dashboard: vite or graphql-codegen is not installed (dev dependencies); not building dashboard/dist');
} else {
  const run = (script: string, args: string[]) => execFileSync(process.execPath, [script, ...args], { cwd: root, stdio: 'inherit' });
  run(codegen, ['--config', 'codegen.ts']);
  run(vite, ['build', '--config', 'dashboard/vite.config.ts', '--logLevel', 'warn']);
  // gzip twins for the daemon to send when the browser accepts them (same bytes every build:
  // Node's gzip header carries no time).
  const assets = path.join(root, 'dashboard', 'dist', 'dashboard-assets');
  for (const name of readdirSync(assets)) {
    if (/\.(js|css|svg)$/.test(name)) writeFileSync(path.join(assets, `${name}.gz`), gzipSync(readFileSync(path.join(assets, name)), { level: 9 }));
  }
}
