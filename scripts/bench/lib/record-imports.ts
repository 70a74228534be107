import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

/**
 * `node --import ./record-imports.ts`: records every npm package specifier the repo's own
 * modules import (statically or dynamically) and writes the list, as JSON, to the file named by
 * `BP_RECORD_IMPORTS` when the process exits. The startup bench's baseline imports that list.
 */
const out = process.env.BP_RECORD_IMPORTS;
const seen = new Set<string>();
/** Resolved URL → bare specifier; a resolve alone (`import.meta.resolve`) loads nothing. */
const pending = new Map<string, string>();
const bare = (specifier: string) => !/^(\.|\/|node:|file:|data:)/.test(specifier) && !specifier.startsWith('#');

if (out) {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const result = nextResolve(specifier, context);
      const parent = context.parentURL ?? '';
      if (bare(specifier) && parent.startsWith('file:') && !parent.includes('/node_modules/') && !result.url.startsWith('node:')) pending.set(result.url, specifier);
      return result;
    },
    load(url, context, nextLoad) {
      const specifier = pending.get(url);
      if (specifier) seen.add(specifier);
      return nextLoad(url, context);
    },
  });
  process.on('exit', () => writeFileSync(out, JSON.stringify([...seen].sort())));
}
