type Version = [number, number, number];

function parseVersion(text: string): Version | undefined {
  const match = /^(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?/.exec(text.trim());
  if (!match) return undefined;
  const part = (value: string | undefined) => (value === undefined || value === 'x' || value === '*' ? 0 : Number(value));
  return [Number(match[1]), part(match[2]), part(match[3])];
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * Whether `version` satisfies a small subset of semver ranges: `*`, `^1`, `^1.2`, `~1.2`,
 * `>=1.0.0`, `1.x`, an exact version, and space-separated conjunctions (`>=1.0.0 <2`).
 */
export function satisfiesRange(version: string, range: string): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  return range
    .trim()
    .split(/\s+/)
    .every((clause) => satisfiesClause(v, clause));
}

function satisfiesClause(v: Version, clause: string): boolean {
  if (clause === '*' || clause === '') return true;
  const op = /^(\^|~|>=|<=|>|<|=)?(.*)$/.exec(clause)!;
  const bound = parseVersion(op[2]);
  if (!bound) return false;
  switch (op[1]) {
    case '^':
      return compare(v, bound) >= 0 && v[0] === bound[0] && (bound[0] !== 0 || v[1] === bound[1]);
    case '~':
      return compare(v, bound) >= 0 && v[0] === bound[0] && v[1] === bound[1];
    case '>=':
      return compare(v, bound) >= 0;
    case '>':
      return compare(v, bound) > 0;
    case '<=':
      return compare(v, bound) <= 0;
    case '<':
      return compare(v, bound) < 0;
    default: {
      // `1` or `1.x` matches the whole major; `1.2.3` matches exactly.
      const parts = op[2].split('.').filter((p) => p !== 'x' && p !== '*');
      return parts.every((p, i) => Number(p) === v[i]);
    }
  }
}
