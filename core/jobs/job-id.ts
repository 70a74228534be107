const prefixPattern = /^[a-z][a-z0-9]{0,7}$/;

/**
 * Job ids as the legacy API makes them, `<prefix>-<unix time in ns>`, but guaranteed unique:
 * the stamp is strictly increasing across all prefixes within the daemon, and the wall clock
 * keeps it increasing across restarts.
 */
export function createJobIdGenerator(): (prefix: string) => { id: string; seq: bigint } {
  const wallAtStart = BigInt(Date.now()) * 1_000_000n;
  const monoAtStart = process.hrtime.bigint();
  let last = 0n;
  return (prefix) => {
    if (!prefixPattern.test(prefix)) throw new Error(`invalid job id prefix '${prefix}'`);
    let now = wallAtStart + (process.hrtime.bigint() - monoAtStart);
    if (now <= last) now = last + 1n;
    last = now;
    return { id: `${prefix}-${now}`, seq: now };
  };
}
