#!/usr/bin/env node
// The CLI in this same process: Node ≥ 22.18 runs the TypeScript sources itself (type stripping).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18) || !process.features?.typescript) {
  process.stderr.write(
    `backplane: needs Node.js 22.18 or newer (this is ${process.version}). On Linux x64 'npm ci' installs Node 24 ` +
      `into node_modules/.bin, which every npm script uses; elsewhere install Node 22.18+ or 24 LTS.\n`,
  );
  process.exit(1);
}
await import('../core/main.ts');
