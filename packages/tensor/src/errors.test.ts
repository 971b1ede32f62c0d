import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DTypeError, InvalidArgumentError, ShapeError, VasinkError, describeError, exposureOf } from './errors.js';

describe('exposureOf and describeError', () => {
  it("takes a vasink error's own exposure; bare ones are internal", () => {
    expect(exposureOf(new VasinkError('x'))).toBe('internal');
    expect(exposureOf(new VasinkError('x', { exposure: 'config' }))).toBe('config');
    expect(exposureOf(new InvalidArgumentError('x'))).toBe('input');
    expect(exposureOf(new ShapeError('x'))).toBe('internal');
    expect(exposureOf(new DTypeError('x'))).toBe('internal');
    expect(describeError(new InvalidArgumentError('maxRows must be a positive integer'))).toBe('maxRows must be a positive integer');
  });

  it('classes operating-system errors by what they name: a path is input, the machine is config', async () => {
    let notDir: unknown;
    try {
      mkdirSync('/dev/null/x');
    } catch (error) {
      notDir = error;
    }
    expect(exposureOf(notDir)).toBe('input');
    expect(describeError(notDir)).toBe('/dev/null/x: a part of the path is a file, not a directory (ENOTDIR, mkdir)');
    const first = createServer();
    await new Promise<void>((resolve) => first.listen(0, '127.0.0.1', resolve));
    const port = (first.address() as { port: number }).port;
    const inUse = await new Promise<unknown>((resolve) => {
      const second = createServer();
      second.once('error', resolve);
      second.listen(port, '127.0.0.1');
    });
    first.close();
    expect(exposureOf(inUse)).toBe('config');
    expect(describeError(inUse)).toBe(`127.0.0.1:${port}: address already in use (EADDRINUSE, listen)`);
  });

  it('anything else is internal: a TypeError, a RangeError, a thrown string', () => {
    expect(exposureOf(new TypeError('x is undefined'))).toBe('internal');
    expect(exposureOf(new RangeError('Array buffer allocation failed'))).toBe('internal');
    expect(exposureOf('oops')).toBe('internal');
    expect(exposureOf(Object.assign(new Error('not a system error'), { code: 'ENOENT' }))).toBe('internal');
  });
});

describe('VasinkError messages', () => {
  it('are one line whatever they echo: control characters become escapes', () => {
    const error = new VasinkError('header is not valid JSON: Unexpected token \'\n\', "\n\u0000" is not valid\tJSON\r');
    expect(error.message).toBe('header is not valid JSON: Unexpected token \'\\n\', "\\n\\u0000" is not valid\\tJSON\\r');
    expect(error.message).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('VasinkError codes', () => {
  it('are a typed union that packages extend (VasinkErrorCodes); an unknown code does not compile', () => {
    const known = new VasinkError('x', { code: 'SHAPE_MISMATCH' });
    // @ts-expect-error NO_SUCH_CODE is not a key of VasinkErrorCodes: typecheck fails if codes become plain strings
    const unknown = new VasinkError('x', { code: 'NO_SUCH_CODE' });
    expect([known.code, unknown.code]).toEqual(['SHAPE_MISMATCH', 'NO_SUCH_CODE']);
  });
});
