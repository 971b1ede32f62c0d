/** One group of bars (a metric) in the chart. */
export interface ChartGroup {
  readonly label: string;
  readonly bars: readonly { readonly label: string; readonly value: number; readonly reference?: boolean }[];
}

const PALETTE = ['#4e79a7', '#e15759', '#59a14f', '#f28e2b', '#76b7b2', '#b07aa1'];
const REFERENCE_PALETTE = ['#a0b8d3', '#f0abac', '#acd0a7', '#f8c695', '#badbd8', '#d7bcd0'];

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * A grouped bar chart as a standalone SVG document (no dependencies): one group
 * per metric, one bar per row, reference bars (the paper's numbers) lighter.
 */
export function renderBarChartSvg(options: { title: string; groups: readonly ChartGroup[]; unit?: string }): string {
  const barWidth = 28;
  const gap = 6;
  const groupGap = 36;
  const height = 220;
  const top = 40;
  const left = 48;
  const bottom = 70;
  const values = options.groups.flatMap((group) => group.bars.map((bar) => bar.value)).filter(Number.isFinite);
  const max = Math.max(1e-9, ...values);
  const niceMax = niceCeiling(max);
  const legend = [...new Map(options.groups.flatMap((group) => group.bars.map((bar) => [bar.label, bar.reference ?? false]))).entries()];
  const colorOf = (label: string) => {
    const index = legend.findIndex(([name]) => name === label);
    const [, reference] = legend[index] ?? ['', false];
    return (reference ? REFERENCE_PALETTE : PALETTE)[index % PALETTE.length] as string;
  };
  let x = left + groupGap / 2;
  const parts: string[] = [];
  for (const group of options.groups) {
    const groupStart = x;
    for (const bar of group.bars) {
      const value = Number.isFinite(bar.value) ? bar.value : 0;
      const h = (value / niceMax) * height;
      parts.push(
        `<rect x="${x}" y="${(top + height - h).toFixed(1)}" width="${barWidth}" height="${h.toFixed(1)}" fill="${colorOf(bar.label)}"><title>${escapeXml(`${bar.label}: ${formatNumber(bar.value)}`)}</title></rect>`,
        `<text x="${x + barWidth / 2}" y="${(top + height - h - 4).toFixed(1)}" font-size="9" text-anchor="middle">${escapeXml(formatNumber(bar.value))}</text>`,
      );
      x += barWidth + gap;
    }
    const center = (groupStart + x - gap) / 2;
    parts.push(`<text x="${center}" y="${top + height + 16}" font-size="11" text-anchor="middle">${escapeXml(group.label)}</text>`);
    x += groupGap;
  }
  const width = Math.max(x + left / 2, 320);
  const axis = [0, 0.25, 0.5, 0.75, 1].map((fraction) => {
    const y = top + height - fraction * height;
    return `<line x1="${left}" x2="${width - 10}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${left - 6}" y="${y + 3}" font-size="9" text-anchor="end">${formatNumber(fraction * niceMax)}</text>`;
  });
  let legendX = left;
  const legendItems = legend.map(([label]) => {
    const item = `<rect x="${legendX}" y="${top + height + 34}" width="10" height="10" fill="${colorOf(label)}"/><text x="${legendX + 14}" y="${top + height + 43}" font-size="10">${escapeXml(label)}</text>`;
    legendX += 24 + label.length * 6;
    return item;
  });
  const totalWidth = Math.max(width, legendX + 10);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${totalWidth}" height="${top + height + bottom}" viewBox="0 0 ${totalWidth} ${top + height + bottom}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">${escapeXml(options.title)}${options.unit ? ` (${escapeXml(options.unit)})` : ''}</text>`,
    ...axis,
    ...parts,
    ...legendItems,
    '</svg>',
    '',
  ].join('\n');
}

function niceCeiling(value: number): number {
  const exponent = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * exponent >= value) return step * exponent;
  return 10 * exponent;
}

/** Numbers in reports: up to 2 decimals, trailing zeros kept to 1 decimal for readability. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'n/a' : String(value);
  return Math.abs(value) >= 1000 ? value.toFixed(1) : value.toFixed(2);
}
