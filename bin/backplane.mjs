#!/usr/bin/env node
// The CLI in this same process: Node ≥ 22.18 runs the TypeScript sources itself (type stripping).
import { nodeProblem } from './check-node.mjs';

const problem = nodeProblem();
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
await import('../core/main.ts');
