import type { RequestTarget } from './request-target.ts';

// Go's url package works on bytes; these helpers use latin1 strings, one char per byte.

/** Go's `url.unescape` in path mode: undefined for a malformed `%` escape. */
export function goUnescapePath(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== '%') {
      out += raw[i];
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    out += String.fromCharCode(Number.parseInt(hex, 16));
    i += 2;
  }
  return out;
}

/** Go's `url.escape(s, encodePath)`: only unreserved bytes and `$&+,/:;=@` stay as they are. */
export function goEscapePath(bytes: string): string {
  let out = '';
  for (const char of bytes) {
    if (/[A-Za-z0-9\-_.~$&+,/:;=@]/.test(char)) out += char;
    else out += `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** gorilla/mux's `cleanPath`: Go's `path.Clean` of a rooted path, keeping a trailing slash. */
export function goCleanPath(p: string): string {
  if (p === '') return '/';
  const rooted = p.startsWith('/') ? p : `/${p}`;
  const out: string[] = [];
  for (const part of rooted.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  const cleaned = `/${out.join('/')}`;
  return rooted.endsWith('/') && cleaned !== '/' ? `${cleaned}/` : cleaned;
}

/**
 * Where gorilla/mux redirects (301) a request whose decoded path is not clean: the cleaned path,
 * escaped as Go's `URL.String` does, after the absolute-form origin and before the raw query.
 * Undefined when the path is clean, or not a valid path at all.
 */
export function goCleanRedirect(target: RequestTarget): string | undefined {
  const decoded = goUnescapePath(target.path);
  if (decoded === undefined) return undefined;
  const cleaned = goCleanPath(decoded);
  if (cleaned === decoded) return undefined;
  return `${target.origin}${goEscapePath(cleaned)}${target.query === undefined ? '' : `?${target.query}`}`;
}
