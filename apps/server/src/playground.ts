import { ATTENTION_METHODS } from '@vasink/runtime';

/**
 * The playground page served at `/`: upload an image, ask a question, pick
 * two methods (default: none and VAR) and watch their answers stream side by
 * side (`POST /v1/var/compare` when one side is the baseline: one generation,
 * image features once; else two `POST /v1/chat/completions` streams), and see
 * the sink tokens and a layer's attention heatmap over the image (`POST
 * /v1/var/inspect`). One self-contained page: no external scripts, styles or fonts.
 */
export function playgroundHtml(input: { modelName: string }): string {
  const json = JSON.stringify(input.modelName).replace(/</g, '\\u003c');
  const methods = JSON.stringify(ATTENTION_METHODS.map((m) => ({ name: m.name, label: m.label, parameters: m.parameters }))).replace(/</g, '\\u003c');
  return PAGE.replace('__MODEL__', () => escapeHtml(input.modelName))
    .replace('__MODEL_JSON__', () => json)
    .replace('__METHODS_JSON__', () => methods);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vasink playground</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d1d1f; background: #f6f6f4; }
  body { max-width: 1100px; margin: 0 auto; padding: 16px; }
  h1 { font-size: 1.3rem; margin: 0 0 4px; }
  .muted { color: #666; font-size: .9rem; }
  form, section { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 12px; margin: 12px 0; }
  .row { display: flex; gap: 12px; flex-wrap: wrap; align-items: center; }
  textarea { width: 100%; box-sizing: border-box; min-height: 3em; font: inherit; }
  label { font-size: .9rem; }
  .answers { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
  .answer { white-space: pre-wrap; min-height: 4em; background: #fafafa; border: 1px solid #eee; border-radius: 6px; padding: 8px; }
  .status { font-size: .8rem; color: #666; }
  .error { color: #b00020; }
  #inspect { display: grid; grid-template-columns: auto 1fr; gap: 16px; }
  canvas { border: 1px solid #ccc; image-rendering: auto; max-width: 100%; }
  .chip { display: inline-block; background: #eef; border-radius: 4px; padding: 1px 6px; margin: 2px; font-family: ui-monospace, monospace; font-size: .85rem; }
  button { font: inherit; padding: 4px 14px; }
  #preview { max-height: 96px; max-width: 160px; display: none; }
</style>
</head>
<body>
<h1>vasink playground</h1>
<div class="muted">Model <b>__MODEL__</b> · <span id="health">checking…</span></div>

<form id="ask">
  <div class="row">
    <input type="file" id="image" accept="image/*" required>
    <img id="preview" alt="">
  </div>
  <p><textarea id="question" placeholder="Ask a question about the image" required></textarea></p>
  <div class="row">
    <label>left <select id="method-a"></select></label>
    <label>right <select id="method-b"></select></label>
    <label>VAR preset <select id="preset">
      <option value="general">general</option>
      <option value="hallucination">hallucination</option>
      <option value="vision-centric">vision-centric</option>
      <option value="official-code">official-code</option>
    </select></label>
    <label>max tokens <input type="number" id="max-tokens" value="64" min="1" max="4096" style="width:5em"></label>
    <label id="key-label" hidden>API key <input type="password" id="api-key" autocomplete="off"></label>
    <button type="submit" id="submit">Ask</button>
    <span id="form-error" class="error"></span>
  </div>
</form>

<section>
  <div class="answers">
    <div><b id="title-base">Base</b> <span id="base-label" class="muted">(no method)</span> <span class="status" id="status-base"></span><div class="answer" id="answer-base" data-state="idle"></div></div>
    <div><b id="title-var">VAR</b> <span id="var-label" class="muted"></span> <span class="status" id="status-var"></span><div class="answer" id="answer-var" data-state="idle"></div></div>
  </div>
  <div class="status" id="usage"></div>
</section>

<section>
  <div class="row">
    <label>layer <select id="layer"></select></label>
    <label><input type="radio" name="map" value="var" checked> with VAR</label>
    <label><input type="radio" name="map" value="base"> without VAR</label>
    <label><input type="checkbox" id="show-sinks" checked> outline visual sinks</label>
    <span class="status" id="inspect-status"></span>
  </div>
  <div id="inspect">
    <canvas id="heatmap" width="336" height="336" data-drawn="false"></canvas>
    <div>
      <div id="layer-facts" class="muted"></div>
      <p><b>Sink tokens</b> <span class="muted">(text sinks of this layer; visual sinks outlined in red)</span></p>
      <div id="sinks"></div>
    </div>
  </div>
</section>

<script>
"use strict";
const MODEL = __MODEL_JSON__;
const METHODS = __METHODS_JSON__;
const $ = (id) => document.getElementById(id);
// The method choices: none, each registered method, and VAR with each method that composes with it.
const CHOICES = [{ name: 'none', label: 'none (baseline)' }, ...METHODS.map((m) => ({ name: m.name, label: m.label + ' — ' + m.parameters })),
  ...METHODS.filter((m) => m.name === 'vcd').map((m) => ({ name: 'var+' + m.name, label: 'VAR + ' + m.label }))];
for (const [id, chosen] of [['method-a', 'none'], ['method-b', 'var']]) {
  for (const choice of CHOICES) {
    const option = document.createElement('option');
    option.value = choice.name;
    option.textContent = choice.label;
    option.selected = choice.name === chosen;
    $(id).append(option);
  }
}
const titleOf = (name) => name === 'none' ? 'Base' : name.split('+').map((n) => (METHODS.find((m) => m.name === n) || { label: n }).label).join(' + ');
let inspection = null;
let view = null;

async function checkHealth() {
  try {
    const res = await fetch('/health');
    const body = await res.json();
    $('health').textContent = body.status === 'ok' ? 'ready on ' + body.device : body.status;
    $('key-label').hidden = !body.auth;
    if (body.status === 'loading') setTimeout(checkHealth, 2000);
  } catch (error) {
    $('health').textContent = 'unreachable';
  }
}
checkHealth();

$('image').addEventListener('change', () => {
  const file = $('image').files[0];
  if (!file) return;
  $('preview').src = URL.createObjectURL(file);
  $('preview').style.display = 'inline';
});

function headers() {
  const h = { 'content-type': 'application/json' };
  const key = $('api-key').value.trim();
  if (key) h.authorization = 'Bearer ' + key;
  return h;
}

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function errorText(res) {
  try { const body = await res.json(); return body.error ? body.error.message + ' (' + body.error.code + ')' : res.statusText; }
  catch { return res.status + ' ' + res.statusText; }
}

const panels = ['base', 'var'];
function setPanel(index, state, status) {
  const name = panels[index];
  $('answer-' + name).dataset.state = state;
  if (status !== undefined) $('status-' + name).textContent = status;
}

// Stream one request's choices into panels (choice index → panel index).
async function streamInto(url, body, panelOf) {
  const mine = panelOf.map((p) => p);
  const res = await fetch(url, { method: 'POST', headers: headers(), body: JSON.stringify({ ...body, stream: true }) });
  if (!res.ok) {
    const message = await errorText(res);
    mine.forEach((i) => setPanel(i, 'error', message));
    return;
  }
  mine.forEach((i) => setPanel(i, 'streaming', 'streaming…'));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf('\\n\\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = event.split('\\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\\n');
      if (!data || data === '[DONE]') continue;
      const chunk = JSON.parse(data);
      if (chunk.error) { mine.forEach((i) => setPanel(i, 'error', chunk.error.message)); continue; }
      if (chunk.var && mine.includes(1)) $('var-label').textContent = '(' + chunk.var.preset + ': ρ ' + chunk.var.rho + ', p ' + chunk.var.p + ')';
      for (const choice of chunk.choices) {
        const panel = panelOf[choice.index];
        const name = panels[panel];
        if (choice.delta && choice.delta.content) $('answer-' + name).textContent += choice.delta.content;
        if (choice.finish_reason) setPanel(panel, 'done', 'done (' + choice.finish_reason + ')');
      }
      if (chunk.usage) $('usage').textContent = 'prompt ' + chunk.usage.prompt_tokens + ' tokens · generated ' + chunk.usage.completion_tokens + ' tokens' + (mine.length > 1 ? ' (both answers)' : '') + (chunk.vasink ? ' · ' + chunk.vasink.total_ms + ' ms' : '');
    }
  }
}

// The request fields of one method choice (VAR's preset only where VAR runs).
function methodFields(name, preset) {
  return name.split('+').includes('var') ? { method: name, var: { preset } } : { method: name };
}

// Both answers: one compare request when the left side is the baseline, else one stream per side.
async function streamAnswers(body, left, right, preset) {
  panels.forEach((name, i) => { $('answer-' + name).textContent = ''; setPanel(i, 'waiting', 'queued…'); });
  $('title-base').textContent = titleOf(left);
  $('title-var').textContent = titleOf(right);
  $('base-label').textContent = left === 'none' ? '(no method)' : '';
  $('var-label').textContent = right === 'none' ? '(no method)' : '';
  if (left === 'none' && right !== 'none') return streamInto('/v1/var/compare', { ...body, ...methodFields(right, preset) }, [0, 1]);
  await Promise.all([
    streamInto('/v1/chat/completions', { ...body, ...methodFields(left, preset) }, [0]),
    streamInto('/v1/chat/completions', { ...body, ...methodFields(right, preset) }, [1]),
  ]);
}

async function runInspect(body) {
  $('inspect-status').textContent = 'inspecting…';
  $('heatmap').dataset.drawn = 'false';
  const res = await fetch('/v1/var/inspect', { method: 'POST', headers: headers(), body: JSON.stringify(body) });
  if (!res.ok) { $('inspect-status').textContent = await errorText(res); return; }
  inspection = await res.json();
  view = new Image();
  await new Promise((resolve, reject) => { view.onload = resolve; view.onerror = reject; view.src = inspection.images[0].view; });
  const select = $('layer');
  select.textContent = '';
  for (const layer of inspection.layers) {
    const option = document.createElement('option');
    option.value = String(layer.layer);
    option.textContent = layer.layer + (layer.var_active ? '' : ' (no VAR)');
    select.append(option);
  }
  const active = inspection.layers.filter((l) => l.var_active);
  const first = active.find((l) => l.selected_heads.length > 0) || active[0] || inspection.layers[0];
  select.value = String(first.layer);
  $('inspect-status').textContent = inspection.prompt.tokens + ' prompt tokens, ' + inspection.prompt.image_tokens + ' image tokens';
  draw();
}

const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  return VIRIDIS[i].map((a, k) => Math.round(a + (VIRIDIS[i + 1][k] - a) * f));
}

function draw() {
  if (!inspection || !view) return;
  const layerIndex = Number($('layer').value);
  const layer = inspection.layers.find((l) => l.layer === layerIndex);
  const which = document.querySelector('input[name=map]:checked').value;
  const image = inspection.images[0];
  const canvas = $('heatmap');
  const scale = Math.min(448 / image.width, 448 / image.height, 4);
  canvas.width = Math.round(image.width * scale);
  canvas.height = Math.round(image.height * scale);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(view, 0, 0, canvas.width, canvas.height);
  const map = layer.maps && layer.maps.find((m) => m.image === 0);
  const { rows, cols } = image.grid;
  if (map && image.tokens && rows * cols === image.tokens.length) {
    const values = image.tokens.map((t) => map[which][t]);
    let lo = Infinity, hi = -Infinity;
    for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const off = document.createElement('canvas');
    off.width = cols; off.height = rows;
    const octx = off.getContext('2d');
    const pixels = octx.createImageData(cols, rows);
    values.forEach((v, i) => {
      const [r, g, b] = viridis(hi > lo ? (v - lo) / (hi - lo) : 0);
      pixels.data.set([r, g, b, 255], i * 4);
    });
    octx.putImageData(pixels, 0, 0);
    ctx.globalAlpha = 0.55;
    ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
    ctx.globalAlpha = 1;
  }
  const cw = canvas.width / cols, ch = canvas.height / rows;
  const visual = layer.sinks.filter((s) => s.image === 0);
  if ($('show-sinks').checked) {
    ctx.strokeStyle = 'rgb(255, 0, 0)';
    ctx.lineWidth = 2;
    for (const s of visual) {
      const cell = image.tokens ? image.tokens.indexOf(s.patch) : s.patch;
      if (cell >= 0) ctx.strokeRect((cell % cols) * cw + 1, Math.floor(cell / cols) * ch + 1, cw - 2, ch - 2);
    }
  }
  const sinks = $('sinks');
  sinks.textContent = '';
  for (const s of layer.sinks.filter((s) => s.token !== undefined)) {
    const chip = document.createElement('span');
    chip.className = 'chip';
    chip.textContent = JSON.stringify(s.token) + ' @' + s.position;
    sinks.append(chip);
  }
  if (visual.length) {
    const chip = document.createElement('span');
    chip.className = 'chip';
    chip.textContent = visual.length + ' visual sink patch' + (visual.length === 1 ? '' : 'es');
    sinks.append(chip);
  }
  $('layer-facts').textContent = 'layer ' + layer.layer + (layer.var_active ? '' : ' (VAR off here)') +
    ' · heads selected: ' + (layer.selected_heads.join(', ') || 'none') +
    ' · moved mass ' + layer.moved_mass +
    ' · image attention ' + layer.image_attention.base + ' → ' + layer.image_attention.var;
  canvas.dataset.layer = String(layer.layer);
  canvas.dataset.map = which;
  canvas.dataset.drawn = 'true';
}

$('layer').addEventListener('change', draw);
$('show-sinks').addEventListener('change', draw);
document.querySelectorAll('input[name=map]').forEach((el) => el.addEventListener('change', draw));

$('ask').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('form-error').textContent = '';
  const file = $('image').files[0];
  const question = $('question').value.trim();
  if (!file || !question) { $('form-error').textContent = 'choose an image and ask a question'; return; }
  $('submit').disabled = true;
  try {
    const url = await readAsDataUrl(file);
    const messages = [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }, { type: 'text', text: question }] }];
    const settings = { preset: $('preset').value };
    const maxTokens = Number($('max-tokens').value) || 64;
    await Promise.all([
      streamAnswers({ model: MODEL, messages, max_tokens: maxTokens, temperature: 0 }, $('method-a').value, $('method-b').value, settings.preset),
      runInspect({ model: MODEL, messages, var: settings }),
    ]);
  } catch (error) {
    $('form-error').textContent = String(error && error.message || error);
  } finally {
    $('submit').disabled = false;
  }
});
</script>
</body>
</html>
`;
