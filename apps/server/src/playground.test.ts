import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertTinyModel, testImageDataUrl } from './__fixtures__/tiny-model.js';
import { type VasinkServer, createVasinkServer } from './server.js';

// The playground in headless Chromium (Debian's), against a real server on the tiny LLaVA model.
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let converted: Awaited<ReturnType<typeof convertTinyModel>>;
let server: VasinkServer;
let browser: Browser;
let url: string;

beforeAll(async () => {
  converted = await convertTinyModel();
  server = createVasinkServer({ model: converted.dir, device: 'cpu', threads: 1, port: 0 });
  ({ url } = await server.listen());
  await server.ready;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await converted?.cleanup();
});

describe('playground', () => {
  it('answers a question without and with VAR and draws the heatmap with the sinks', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(url);
    await page.waitForFunction(`document.getElementById('health').textContent === 'ready on cpu'`);

    const png = Buffer.from((await testImageDataUrl(96, 72)).split(',')[1]!, 'base64');
    await page.setInputFiles('#image', { name: 'picture.png', mimeType: 'image/png', buffer: png });
    await page.fill('#question', 'What is in the image?');
    await page.fill('#max-tokens', '16');
    await page.click('#submit');

    await page.waitForSelector('#answer-base[data-state="done"]', { timeout: 30_000 });
    await page.waitForSelector('#answer-var[data-state="done"]', { timeout: 30_000 });
    await page.waitForSelector('#heatmap[data-drawn="true"]', { timeout: 30_000 });
    expect((await page.textContent('#answer-base'))!.length).toBeGreaterThan(0);
    expect((await page.textContent('#answer-var'))!.length).toBeGreaterThan(0);
    expect(await page.textContent('#status-var')).toMatch(/^done \((stop|length)\)$/);
    expect(await page.textContent('#var-label')).toContain('general');
    expect(await page.textContent('#usage')).toMatch(/prompt \d+ tokens/);

    // The first VAR layer with selected heads is shown, BOS listed as a sink token.
    expect(await page.getAttribute('#heatmap', 'data-layer')).toBe('2');
    expect(await page.textContent('#sinks')).toContain('"<s>" @0');
    expect(await page.textContent('#layer-facts')).toMatch(/heads selected: \d/);

    // The canvas holds the image under a heatmap (many colours) with visual sinks outlined in red.
    // (A string: this package compiles without the DOM types.)
    const pixels = await page.evaluate<{ width: number; colours: number; red: number }>(`(() => {
      const canvas = document.getElementById('heatmap');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      const colours = new Set();
      let red = 0;
      for (let i = 0; i < data.length; i += 4) {
        colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        if (data[i] > 240 && data[i + 1] < 20 && data[i + 2] < 20) red++;
      }
      return { width: canvas.width, colours: colours.size, red };
    })()`);
    expect(pixels.width).toBeGreaterThan(100);
    expect(pixels.colours).toBeGreaterThan(100);
    expect(pixels.red).toBeGreaterThan(50);

    // Another layer and the map without VAR redraw the picture.
    await page.selectOption('#layer', '3');
    expect(await page.getAttribute('#heatmap', 'data-layer')).toBe('3');
    await page.check('input[name=map][value=base]');
    expect(await page.getAttribute('#heatmap', 'data-map')).toBe('base');
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
