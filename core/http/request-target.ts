/**
 * A request target as it came on the request line (RFC 9112 §3.2), before any normalising:
 * WHATWG URL parsing would drop dot segments, which legacy routers answer with a redirect.
 */
export interface RequestTarget {
  /** `http://host:port` of an absolute-form target (scheme lowercased), else ''. */
  origin: string;
  /** The path as sent: percent-encoding and dot segments kept; `*` for the asterisk form. */
  path: string;
  /** The query without its `?`; undefined when the target has no `?`. */
  query: string | undefined;
}

const absoluteForm = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?]*)(.*)$/s;

/** Splits origin-, absolute- and asterisk-form targets; undefined for anything else. */
export function parseRequestTarget(raw: string): RequestTarget | undefined {
  if (raw === '*') return { origin: '', path: '*', query: undefined };
  let origin = '';
  let rest = raw;
  const absolute = absoluteForm.exec(raw);
  if (absolute) {
    origin = `${absolute[1].toLowerCase()}://${absolute[2]}`;
    rest = absolute[3];
    if (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?')) return undefined;
  } else if (!raw.startsWith('/')) {
    return undefined;
  }
  const mark = rest.indexOf('?');
  return mark === -1 ? { origin, path: rest, query: undefined } : { origin, path: rest.slice(0, mark), query: rest.slice(mark + 1) };
}

/** A WHATWG URL for the target's path and query (dot segments resolved), on a placeholder host. */
export function targetUrl(target: RequestTarget): URL | undefined {
  const path = target.path === '' || target.path === '*' ? `/${target.path}` : target.path;
  // Concatenated, not resolved: `//jobs` is a path here, not a protocol-relative URL.
  return URL.parse(`http://backplane.invalid${path}${target.query === undefined ? '' : `?${target.query}`}`) ?? undefined;
}
