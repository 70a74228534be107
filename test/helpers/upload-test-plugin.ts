import { readFile } from 'node:fs/promises';
import { definePlugin, InputError, type EndpointRegistry, type UploadService } from '../../core/plugin-api.ts';

/**
 * Staged uploads and model endpoints, from a plugin's side: a multipart REST route whose mutation
 * claims the upload (or refuses it before claiming), and endpoints published at init.
 */
export function uploadTestPlugin() {
  let uploads: UploadService | undefined;
  let endpoints: EndpointRegistry | undefined;
  return definePlugin({
    id: 'upload-test',
    version: '1.0.0',
    operations: [`mutation UploadTest($uploadId: String!, $refuse: Boolean) { uploadTest(uploadId: $uploadId, refuse: $refuse) }`],
    init(services) {
      uploads = services.uploads;
      endpoints = services.endpoints;
      services.endpoints.publish({ id: 'upload-test:s1/m1', protocol: 'openai', server: 's1', model: 'm1', baseUrl: 'http://127.0.0.1:1', ready: true });
      return {};
    },
    schema(builder) {
      builder.mutationField('uploadTest', (t) =>
        t.field({
          type: 'JSON',
          args: { uploadId: t.arg.string({ required: true }), refuse: t.arg.boolean() },
          resolve: async (_root, { uploadId, refuse }) => {
            if (refuse) throw new InputError('refused before claiming');
            const upload = uploads!.claim(uploadId);
            try {
              const files = await Promise.all(upload.files.map(async (f) => ({ field: f.field, filename: f.filename, bytes: f.bytes, text: await readFile(f.path, 'utf8') })));
              return { fields: upload.fields, files, total: upload.bytes };
            } finally {
              await uploads!.discard(upload);
            }
          },
        }),
      );
      builder.queryField('uploadTestEndpoints', (t) => t.field({ type: 'JSON', resolve: () => endpoints!.list() }));
    },
    rest(routes) {
      for (const [path, maxBodyBytes] of [['/api/upload-test', undefined], ['/api/upload-test-small', 1000]] as const) {
        routes.add({
          profile: 'mlserve',
          method: 'POST',
          path,
          operation: 'UploadTest',
          body: 'multipart',
          ...(maxBodyBytes ? { maxBodyBytes } : {}),
          variables: (request) => {
            const body = request.body as { uploadId: string; fields: Record<string, string> };
            return { uploadId: body.uploadId, refuse: body.fields.refuse === 'yes' };
          },
          reply: (data: { uploadTest: unknown }) => ({ status: 201, json: data.uploadTest }),
        });
      }
    },
  });
}
