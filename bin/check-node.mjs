// Refuses a Node.js that cannot run backplane's TypeScript sources (no type stripping before
// 22.18), with a message saying what to do instead of a syntax error from deep inside.
import { fileURLToPath } from 'node:url';

/** The problem with this Node, or undefined when it is new enough. */
export function nodeProblem(versions = process.versions, features = process.features) {
  const [major, minor] = versions.node.split('.').map(Number);
  if (major > 22 || (major === 22 && minor >= 18)) {
    if (features?.typescript) return undefined;
    return `backplane: this Node.js (v${versions.node}) has type stripping turned off (--no-experimental-strip-types?); backplane runs its TypeScript sources directly.`;
  }
  return (
    `backplane: needs Node.js 22.18 or newer (this is v${versions.node}). On Linux x64, 'npm ci' installs Node 24 ` +
    `into node_modules/.bin and every npm script uses it; elsewhere install Node 22.18+ (24 LTS recommended).`
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const problem = nodeProblem();
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
}
