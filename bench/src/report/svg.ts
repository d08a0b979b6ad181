import type { Chart } from './result.js';

const W = 640;
const H = 320;
const M = { left: 64, right: 16, top: 32, bottom: 48 };
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 ? `${Math.round(v / 100) / 10}k` : String(Math.round(v * 100) / 100);
}

/** A hand-written SVG line or grouped-bar chart (no dependencies). */
export function renderSvg(chart: Chart): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const all = chart.series.flatMap((s) => s.points);
  const yMax = niceMax(Math.max(0, ...all.map((p) => p[1])));
  const xs = all.map((p) => p[0]);
  const xMin = chart.kind === 'bar' ? 0 : Math.min(0, ...xs);
  const xMax = chart.kind === 'bar' ? (chart.categories?.length ?? 1) : Math.max(xMin + 1, ...xs);
  const X = (x: number) => M.left + ((x - xMin) / (xMax - xMin)) * pw;
  const Y = (y: number) => M.top + ph - (y / yMax) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(chart.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${Y(v)}" y2="${Y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${M.left - 6}" y="${Y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#333"/>`);
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#333"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 8}" text-anchor="middle">${esc(chart.xLabel)}</text>`);
  parts.push(`<text x="14" y="${M.top + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${M.top + ph / 2})">${esc(chart.yLabel)}</text>`);
  if (chart.kind === 'bar') {
    const cats = chart.categories ?? [];
    const groupW = pw / Math.max(1, cats.length);
    const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
    cats.forEach((c, ci) => {
      parts.push(`<text x="${M.left + groupW * (ci + 0.5)}" y="${M.top + ph + 16}" text-anchor="middle">${esc(c)}</text>`);
      chart.series.forEach((s, si) => {
        const v = s.points.find((p) => p[0] === ci)?.[1] ?? 0;
        const x = M.left + groupW * ci + groupW * 0.1 + barW * si;
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${Y(v).toFixed(1)}" width="${barW.toFixed(1)}" height="${(M.top + ph - Y(v)).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"><title>${esc(s.name)} ${esc(c)}: ${fmt(v)}</title></rect>`,
        );
      });
    });
  } else {
    for (let i = 0; i <= 4; i++) {
      const v = xMin + ((xMax - xMin) * i) / 4;
      parts.push(`<text x="${X(v)}" y="${M.top + ph + 16}" text-anchor="middle">${fmt(v)}</text>`);
    }
    chart.series.forEach((s, si) => {
      if (s.points.length === 0) return;
      const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${COLORS[si % COLORS.length]}" stroke-width="2"/>`);
    });
  }
  chart.series.forEach((s, si) => {
    const x = M.left + 8 + si * 150;
    parts.push(`<rect x="${x}" y="${M.top - 4}" width="10" height="10" fill="${COLORS[si % COLORS.length]}"/>`);
    parts.push(`<text x="${x + 14}" y="${M.top + 5}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
