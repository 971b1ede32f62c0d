import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Bytes of a safetensors file built by hand, bypassing the writer: an 8-byte
 * little-endian length (of `header`, or `headerLength` when given), the header
 * text as is (no padding added), then `data`.
 */
export function rawSafetensors(
  header: string | object,
  data: Uint8Array | number = 0,
  options: { headerLength?: bigint } = {},
): Uint8Array {
  const text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + text.length + body.length);
  new DataView(out.buffer).setBigUint64(0, options.headerLength ?? BigInt(text.length), true);
  out.set(text, 8);
  out.set(body, 8 + text.length);
  return out;
}

/** Bytes from a C-style escaped string such as the reference's test vectors (`"<\x00..."`). */
export function latin1(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

/** A fresh temporary directory, and a function that removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vasink-safetensors-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Write bytes to `dir/name` and return the path. */
export async function writeBytes(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** Little-endian bytes of numbers in a TypedArray. */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}
