import type { Prng } from './prng.ts';

/**
 * Hostile values, by kind. `{victim}` stands for the canary directory outside the data dir:
 * anything that escapes the configured roots lands there, where the watcher sees it.
 */
export interface PayloadContext {
  /** Absolute path of the canary directory. */
  victim: string;
  /** The canary directory relative to the data dir (`../victim`). */
  victimFromData: string;
}

const traversal = [
  '../',
  '..',
  '.',
  '...',
  '....//....//',
  '../../../../../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f%2e%2e%2f',
  '%2e%2e/%2e%2e/{victimFromData}',
  '..%252f..%252f',
  '..\\..\\..\\windows\\win.ini',
  '/etc/passwd',
  '/etc/shadow',
  '/proc/self/environ',
  '/proc/self/cmdline',
  '/dev/null',
  '/',
  '//',
  '{victim}',
  '{victim}/secret.txt',
  '{victim}/new-file',
  '{victimFromData}/secret.txt',
  '../../../../../../../../../../..{victim}/secret.txt',
  '{victim}/../victim/./secret.txt',
  'file://{victim}/secret.txt',
  '~',
  '~/.ssh/id_rsa',
  'evil-link',
  'evil-link/secret.txt',
  'evil-link/../evil-link',
  'models/evil-model',
  'samples_256/../../../..',
  'a/b/../../../..',
  'name\u0000.txt',
  '%00',
  'foo%00/../../{victimFromData}',
  'C:\\Windows\\System32',
  '\\\\127.0.0.1\\share',
];

const injection = [
  '; touch {victim}/pwned-semicolon',
  '$(touch {victim}/pwned-subshell)',
  '`touch {victim}/pwned-backtick`',
  '| touch {victim}/pwned-pipe',
  '&& touch {victim}/pwned-and',
  '\ntouch {victim}/pwned-newline',
  '--upload-pack=touch {victim}/pwned-upload-pack',
  '--output={victim}/pwned-output',
  '--exec=touch {victim}/pwned-exec',
  '-o{victim}/pwned-o',
  '--config=core.sshCommand=touch {victim}/pwned-ssh',
  '-c',
  '-x',
  '-h',
  '--help',
  '--version',
  '-rf',
  '--',
  '--end-of-options',
  '@{-1}',
  '@{upstream}',
  'HEAD@{0}',
  'HEAD~1',
  'main^{tree}',
  'main..other',
  'main...other',
  'refs/heads/../../HEAD',
  'feature/../main',
  'branch.lock',
  'a..b',
  '.hidden',
  'trailing/',
  'with space',
  'a:b',
  'a?b*c[d',
  'ref\\name',
  ':/',
  "' OR '1'='1",
  "'; DROP TABLE job; --",
  '" OR 1=1 --',
  "robert'); DELETE FROM jobs; --",
  '1; SELECT * FROM sqlite_master',
  '%27%20OR%201%3D1',
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '%s%s%s%s%n',
  '\r\nX-Injected: 1',
  'value\r\n\r\nHTTP/1.1 200 OK',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
];

const unicode = [
  'é',
  'naïve-ünïcödé',
  '\u202egnp.exe',
  '\ufeffbom',
  '\u200b',
  'e\u0301\u0301\u0301',
  '𝕏𝕐ℤ',
  '😀🚀',
  'مرحبا',
  '漢字',
  'ｆｕｌｌｗｉｄｔｈ',
  '\ud800',
  '\udfff\ud800',
  '\u0000',
  '\u0007\u001b[31m',
  '\u2028\u2029',
  '\uffff',
];

const plain = ['', ' ', 'a', 'pre-train', 'post-train', 'main', 'other', 'feature/train-improvements', 'missing', 'samples_256', 'granite-7b-lab-Q4_K_M.gguf', 'models/granite-8b-starter-v1', 'instructlab/granite-7b-lab', 'knowledge', 'null', 'undefined', 'true', '0', '-1', '1e309', 'NaN', '9007199254740993', '0x10', '1.5', ' 7 ', '+1', '١٢'];

/** Raw byte sequences that are not valid UTF-8 (overlong `/`, lone surrogates, truncated). */
export const invalidUtf8: readonly Buffer[] = [
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0xff]),
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xe0, 0x80, 0xaf]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
  Buffer.from([0x80]),
  Buffer.from([0x2e, 0x2e, 0xc0, 0xaf, 0x2e, 0x2e]),
];

export type StringKind = 'traversal' | 'injection' | 'unicode' | 'plain' | 'long';

export const stringKinds: readonly StringKind[] = ['traversal', 'injection', 'unicode', 'plain', 'long'];

/** A hostile string of the given kind (or a random kind). */
export function hostileString(rng: Prng, ctx: PayloadContext, kind: StringKind = rng.pick(stringKinds)): string {
  const fill = (s: string) => s.replaceAll('{victimFromData}', ctx.victimFromData).replaceAll('{victim}', ctx.victim);
  switch (kind) {
    case 'traversal':
      return fill(rng.pick(traversal));
    case 'injection':
      return fill(rng.pick(injection));
    case 'unicode':
      return rng.pick(unicode);
    case 'plain':
      return rng.pick(plain);
    case 'long':
      return rng.pick(['a', '../', '%', '\u00e9', '{', ' ']).repeat(rng.pick([256, 4096, 65_536, 300_000]));
  }
}

/** A string made of two hostile parts, sometimes. */
export function mixedString(rng: Prng, ctx: PayloadContext): string {
  const first = hostileString(rng, ctx);
  return rng.chance(0.25) ? `${first}${hostileString(rng, ctx, rng.pick(['traversal', 'injection', 'unicode', 'plain']))}` : first;
}

/** A JSON value of any type, often not the one a field wants. */
export function wrongTypedValue(rng: Prng, ctx: PayloadContext, depth = 0): unknown {
  return rng.weighted<() => unknown>([
    [4, () => mixedString(rng, ctx)],
    [1, () => null],
    [1, () => rng.chance(0.5)],
    [2, () => rng.pick([0, -1, 1, 1.5, -0.0001, 1e308, -1e308, 2 ** 31, 2 ** 31 - 1, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, 65_536, 4, 1_000_000_000])],
    [1, () => (depth > 2 ? [] : Array.from({ length: rng.int(0, 3) }, () => wrongTypedValue(rng, ctx, depth + 1)))],
    [1, () => (depth > 2 ? {} : Object.fromEntries(Array.from({ length: rng.int(0, 3) }, () => [hostileString(rng, ctx, rng.pick(['plain', 'injection', 'unicode'])), wrongTypedValue(rng, ctx, depth + 1)])))],
  ])();
}

/** JSON text nested `depth` levels deep, as arrays or objects. */
export function deepJson(rng: Prng, depth: number): string {
  if (rng.chance(0.5)) return `${'['.repeat(depth)}${']'.repeat(depth)}`;
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Percent-encodes everything outside the unreserved set (so raw payloads survive a URL). */
export function percentEncode(value: string): string {
  // Byte-wise, so lone surrogates (which encodeURIComponent refuses) go out as U+FFFD.
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) out += /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}
