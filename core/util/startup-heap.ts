import v8 from 'node:v8';

/**
 * Start-up allocates a lot of short-lived garbage (module sources, the schema's build, zod
 * schemas), and V8 grows the young generation to fit it; the grown semi-spaces stay resident
 * while the daemon idles (~25 MiB of RSS, measured by `npm run bench -- startup`). Holding the
 * young generation at its initial size until the daemon is ready keeps that garbage out of the
 * idle footprint; releasing it then lets request load grow it as usual. A process started with
 * its own semi-space flag is left alone.
 */
const growthFlag = '--semi-space-growth-factor';
/** V8's default `--semi-space-growth-factor`. */
const defaultGrowthFactor = 2;
let held = false;

/** Stops the young generation from growing (the CLI calls it first thing). */
export function holdYoungGeneration(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((arg) => /^--(?:max[-_]|min[-_])?semi[-_]space/.test(arg))) return;
  v8.setFlagsFromString(`${growthFlag}=1`);
  held = true;
}

/** Lets it grow again (once the daemon is ready); nothing when it was not held. */
export function releaseYoungGeneration(): void {
  if (!held) return;
  held = false;
  v8.setFlagsFromString(`${growthFlag}=${defaultGrowthFactor}`);
}
