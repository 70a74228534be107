import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * CORS for configured origins (`server.cors.origins`: a list, or `*`). Sets the headers on
 * allowed requests and answers preflights; returns true when the request was a preflight.
 * With no origins configured CORS is off: a preflight is an `OPTIONS` like any other, answered
 * by its route (a legacy profile's 405, as its server without CORS did).
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, origins: '*' | readonly string[]): boolean {
  const origin = req.headers.origin;
  if (!origin || origins.length === 0) return false;
  const allowed = origins === '*' || origins.includes(origin);
  if (!allowed) {
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.writeHead(403, { 'content-length': '0' }).end();
      return true;
    }
    return false;
  }
  res.setHeader('access-control-allow-origin', origins === '*' ? '*' : origin);
  res.setHeader('vary', 'Origin');
  if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
    res.writeHead(204, {
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
      'access-control-allow-headers': req.headers['access-control-request-headers'] ?? 'content-type, authorization, x-api-key',
      'access-control-max-age': '600',
      'content-length': '0',
    });
    res.end();
    return true;
  }
  return false;
}
