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

  it('compares any two methods: PAI on the left, VAF on the right, each answer its chat completion\'s', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(url);
    await page.waitForFunction(`document.getElementById('health').textContent === 'ready on cpu'`);
    // The pickers list the registry's methods.
    const options = await page.$$eval('#method-a option', (els) => els.map((el) => (el as unknown as { value: string }).value));
    expect(options).toEqual(['none', 'var', 'pai', 'vaf', 'vcd', 'var+vcd']);
    const dataUrl = await testImageDataUrl(96, 72);
    await page.setInputFiles('#image', { name: 'picture.png', mimeType: 'image/png', buffer: Buffer.from(dataUrl.split(',')[1]!, 'base64') });
    await page.fill('#question', 'What is in the image?');
    await page.fill('#max-tokens', '8');
    await page.selectOption('#method-a', 'pai');
    await page.selectOption('#method-b', 'vaf');
    await page.click('#submit');
    await page.waitForSelector('#answer-base[data-state="done"]', { timeout: 30_000 });
    await page.waitForSelector('#answer-var[data-state="done"]', { timeout: 30_000 });
    expect(await page.textContent('#title-base')).toBe('PAI');
    expect(await page.textContent('#title-var')).toBe('VAF');
    const expected = async (method: string) => {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'tiny-llava', method, max_tokens: 8, temperature: 0, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl } }, { type: 'text', text: 'What is in the image?' }] }] }),
      });
      return ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
    };
    expect(await page.textContent('#answer-base')).toBe(await expected('pai'));
    expect(await page.textContent('#answer-var')).toBe(await expected('vaf'));
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
