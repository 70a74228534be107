/** One file of a staged multipart upload. */
export interface UploadedFile {
  /** The multipart field name. */
  field: string;
  /** The file name as the client sent it, **not validated**: confine or check it before use. */
  filename: string;
  /** Absolute path of the staged bytes, inside {@link StagedUpload.dir}. */
  path: string;
  bytes: number;
  mimeType: string;
}

/**
 * A multipart request body that core streamed to disk (never buffered) before the operation ran:
 * REST routes with `body: 'multipart'`, or `POST /uploads` for GraphQL clients.
 */
export interface StagedUpload {
  id: string;
  /** The non-file fields (the last value of a repeated name). */
  fields: Record<string, string>;
  files: UploadedFile[];
  /** The staging folder, under `<dataDir>/uploads/`. */
  dir: string;
  /** Total bytes of the files. */
  bytes: number;
}

/**
 * Staged uploads. A resolver that receives an upload id claims it, validates and moves its files
 * where they belong (`rename`, falling back to copy on `EXDEV`), then discards it. Core discards
 * an upload nobody claimed by the end of its REST request, and any unclaimed one after
 * `uploads.ttlMs`, so a rejected upload leaves nothing behind.
 */
export interface UploadService {
  /** Takes ownership of a staged upload. Throws a `NOT_FOUND` error when unknown, expired or already claimed. */
  claim(id: string): StagedUpload;
  /** Deletes the staging folder (idempotent). Call it when done, also after moving files out. */
  discard(upload: StagedUpload | string): Promise<void>;
}
