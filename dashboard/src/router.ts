import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routes (`#/jobs/<id>`): the daemon serves one page at its path, and REST profiles own
 * the paths below `/`, so the dashboard's own navigation never makes a request.
 */
export type Route =
  | { page: 'overview' }
  | { page: 'jobs'; query: URLSearchParams }
  | { page: 'job'; id: string }
  | { page: 'servers' }
  | { page: 'training' }
  | { page: 'plugin'; id: string };

export function parseRoute(hash: string): Route {
  const [pathPart, search = ''] = hash.replace(/^#/, '').split('?');
  const parts = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'jobs' && parts[1]) return { page: 'job', id: parts[1] };
  if (parts[0] === 'jobs') return { page: 'jobs', query: new URLSearchParams(search) };
  if (parts[0] === 'servers') return { page: 'servers' };
  if (parts[0] === 'training') return { page: 'training' };
  if (parts[0] === 'plugins' && parts[1]) return { page: 'plugin', id: parts[1] };
  return { page: 'overview' };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export const jobHref = (id: string) => `#/jobs/${encodeURIComponent(id)}`;
