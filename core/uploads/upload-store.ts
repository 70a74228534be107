import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { NotFoundError } from '../errors.ts';
import type { StagedUpload, UploadService } from '../../packages/plugin-api/src/services/uploads.ts';
import { stageMultipart } from './stage-multipart.ts';

export type { StagedUpload, UploadService, UploadedFile } from '../../packages/plugin-api/src/services/uploads.ts';

export interface UploadStoreOptions {
  /** Staging root, `<dataDir>/uploads`. */
  root: string;
  /** An unclaimed upload is discarded this long after it was staged. */
  ttlMs: number;
}

/**
 * The daemon's staged uploads: multipart bodies streamed to `<dataDir>/uploads/<id>/`, handed to
 * the resolver that claims them, and discarded when nobody does.
 */
export interface UploadStore extends UploadService {
  /** Streams a multipart body to a new staging folder; rejects (leaving nothing) on a bad or oversize body. */
  stage(req: IncomingMessage, maxBytes: number): Promise<StagedUpload>;
  /** Discards the upload if it is still unclaimed (the end of the REST request that staged it). */
  discardUnclaimed(id: string): Promise<void>;
  /** Removes staging folders left by an earlier run. */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

export function createUploadStore({ root, ttlMs }: UploadStoreOptions): UploadStore {
  const pending = new Map<string, { upload: StagedUpload; timer: NodeJS.Timeout }>();
  const remove = (dir: string) => rm(dir, { recursive: true, force: true });

  const store: UploadStore = {
    async stage(req, maxBytes) {
      const id = `up-${randomBytes(12).toString('hex')}`;
      const dir = path.join(root, id);
      const body = await stageMultipart(req, dir, maxBytes);
      const upload: StagedUpload = { id, dir, ...body };
      const timer = setTimeout(() => void store.discardUnclaimed(id), ttlMs);
      timer.unref();
      pending.set(id, { upload, timer });
      return upload;
    },
    claim(id) {
      const entry = pending.get(id);
      if (!entry) throw new NotFoundError(`upload '${id}' not found (unknown, expired or already used)`, { details: { upload: id } });
      clearTimeout(entry.timer);
      pending.delete(id);
      return entry.upload;
    },
    async discard(upload) {
      const id = typeof upload === 'string' ? upload : upload.id;
      const entry = pending.get(id);
      if (entry) {
        clearTimeout(entry.timer);
        pending.delete(id);
      }
      // Only folders of our own root, whatever the caller passed.
      if (/^up-[0-9a-f]{24}$/.test(id)) await remove(path.join(root, id));
    },
    async discardUnclaimed(id) {
      if (pending.has(id)) await store.discard(id);
    },
    async sweep() {
      const names = await readdir(root).catch(() => [] as string[]);
      await Promise.all(names.filter((n) => /^up-[0-9a-f]{24}$/.test(n) && !pending.has(n)).map((n) => remove(path.join(root, n))));
    },
    async close() {
      const ids = [...pending.keys()];
      await Promise.all(ids.map((id) => store.discard(id)));
    },
  };
  return store;
}
