import { renameSync, writeFileSync } from 'node:fs';

/** Write a file through a temporary name and a rename, so readers never see half of it. */
export function writeAtomic(file: string, content: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
}
