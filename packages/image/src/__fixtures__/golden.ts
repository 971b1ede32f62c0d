// Loaders for the golden files written by tooling/fixtures/image/make_fixtures.py.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goldenFixtures } from '../testing/index.js';

export { float32FromBytes, fromBase64, maxAbsDiff } from '../testing/index.js';

export const FIXTURES = dirname(fileURLToPath(import.meta.url));
const golden = goldenFixtures(FIXTURES);
export const { path: fixturePath, readJson, readFloat32, loadPng, loadSource } = golden;
