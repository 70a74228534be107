import type { IncomingMessage, ServerResponse } from 'node:http';
import { isBackplaneError } from '../errors.ts';
import type { AuthInfo } from '../graphql/context.ts';
import { hasScope } from '../graphql/required-scope.ts';
import { BodyTooLargeError } from '../http/read-body.ts';
import type { UploadStore } from './upload-store.ts';

const reply = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
};

/**
 * `POST /uploads` (multipart/form-data): stages the body for a GraphQL mutation that takes an
 * upload id, and answers `201 {"id", "files": [{field, filename, bytes, mimeType}], "fields"}`.
 * Needs the `operate` scope, as the mutations do. Errors use GraphQL's `{errors: [{message,
 * extensions: {code}}]}` shape, like `/graphql`.
 */
export async function serveUpload(req: IncomingMessage, res: ServerResponse, { store, maxBytes, auth }: { store: UploadStore; maxBytes: number; auth: AuthInfo | undefined }): Promise<void> {
  const error = (status: number, code: string, message: string, headers?: Record<string, string>) => {
    req.resume();
    reply(res, status, { errors: [{ message, extensions: { code } }] }, headers);
  };
  if (req.method !== 'POST') return error(405, 'METHOD_NOT_ALLOWED', 'POST a multipart/form-data body', { allow: 'POST' });
  if (!auth) return error(401, 'UNAUTHENTICATED', 'Unauthorized: send an API key or access token as Authorization: Bearer <key>', { 'www-authenticate': 'Bearer' });
  if (!hasScope(auth.scopes, 'operate')) return error(403, 'FORBIDDEN', "uploading needs the 'operate' scope");
  try {
    const upload = await store.stage(req, maxBytes);
    reply(res, 201, { id: upload.id, files: upload.files.map(({ field, filename, bytes, mimeType }) => ({ field, filename, bytes, mimeType })), fields: upload.fields });
  } catch (cause) {
    if (cause instanceof BodyTooLargeError) return error(413, 'PAYLOAD_TOO_LARGE', `the upload is larger than ${maxBytes} bytes`);
    if (isBackplaneError(cause)) return error(400, cause.code, cause.message);
    throw cause;
  }
}
