import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/fixtures */
export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** A fake or helper executable in test/fixtures/bin. */
export function fixtureBin(name: string): string {
  return path.join(fixturesDir, 'bin', name);
}
