import { copyFile, rename, unlink } from 'node:fs/promises';

/**
 * Moves a file: `rename`, or copy and unlink when source and target are on different file
 * systems (`EXDEV`; a staged upload under the data dir moved into a model repository elsewhere).
 */
export async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to);
    await unlink(from);
  }
}
