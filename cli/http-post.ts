import http from 'node:http';
import https from 'node:https';

/** A response: its status and body text. */
export interface PostResult {
  status: number;
  body: string;
}

/**
 * POSTs JSON with node:http(s). Not `fetch`: Node loads undici, its engine, on the first fetch,
 * which costs a cold client more than the whole request (see docs/cli.md). Rejects with the
 * socket's error (its `code`: ECONNREFUSED…) or a `TimeoutError` after `timeoutMs`.
 */
export function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = (target.protocol === 'https:' ? https : http).request(
      target,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: timeoutMs },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => {
      const error = new Error(`no answer within ${timeoutMs} ms`);
      error.name = 'TimeoutError';
      request.destroy(error);
    });
    request.on('error', reject);
    request.end(body);
  });
}
