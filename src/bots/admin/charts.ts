/**
 * Inline SVG charts for the admin page, rendered on the server: no script, no CDN (the page must
 * work where nothing outside is reachable). Each chart has a <title> and an aria-label for readers.
 */
import { escapeHtml } from './html.js';

export interface Series {
  name: string;
  color: string;
  values: number[];
}

const FONT = 'font-family="system-ui, sans-serif" font-size="11" fill="#445"';

/** A friendly axis top: 1, 2, 5 times a power of ten, at least `max`. */
export function niceMax(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/** Vertical bars, one per label, stacked by series (e.g. tasks per day by status). */
export function stackedBarChart(options: {
  title: string;
  labels: string[];
  series: Series[];
  width?: number;
  height?: number;
}): string {
  const { title, labels, series } = options;
  const width = options.width ?? 1100;
  const height = options.height ?? 240;
  const left = 40;
  const bottom = 36;
  const top = 12;
  const plotW = width - left - 10;
  const plotH = height - top - bottom;
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const slot = plotW / Math.max(1, labels.length);
  const barW = Math.max(2, slot * 0.7);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const parts: string[] = [];
  for (const tick of [0, max / 2, max]) {
    parts.push(
      `<line x1="${left}" x2="${width - 10}" y1="${y(tick)}" y2="${y(tick)}" stroke="#dde" />`,
      `<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end" ${FONT}>${formatNumber(tick)}</text>`,
    );
  }
  labels.forEach((label, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    let base = 0;
    for (const s of series) {
      const value = s.values[i] ?? 0;
      if (value <= 0) continue;
      const h = (value / max) * plotH;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${(y(base) - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${escapeHtml(`${label}: ${value} ${s.name}`)}</title></rect>`,
      );
      base += value;
    }
    // Label every bar when few, else every other one, so the axis stays readable.
    if (labels.length <= 16 || i % 2 === 0) {
      parts.push(
        `<text x="${(x + barW / 2).toFixed(1)}" y="${height - bottom + 14}" text-anchor="middle" ${FONT}>${escapeHtml(label)}</text>`,
      );
    }
  });
  const legend = series
    .map(
      (s, i) =>
        `<rect x="${left + i * 95}" y="${height - 12}" width="10" height="10" fill="${s.color}" /><text x="${left + i * 95 + 14}" y="${height - 3}" ${FONT}>${escapeHtml(s.name)}</text>`,
    )
    .join('');
  return svg(title, width, height, parts.join('') + legend);
}

/** Horizontal bars, one per row, biggest first as given (e.g. spend per workspace). */
export function horizontalBarChart(options: {
  title: string;
  rows: { label: string; value: number; display?: string }[];
  color: string;
  width?: number;
}): string {
  const { title, rows, color } = options;
  const width = options.width ?? 640;
  const rowH = 24;
  const labelW = 180;
  const height = Math.max(1, rows.length) * rowH + 8;
  const max = Math.max(0, ...rows.map((r) => r.value)) || 1;
  const barSpace = width - labelW - 90;
  const parts = rows.map((row, i) => {
    const yTop = 4 + i * rowH;
    const w = Math.max(row.value > 0 ? 2 : 0, (row.value / max) * barSpace);
    return [
      `<text x="${labelW - 8}" y="${yTop + 15}" text-anchor="end" ${FONT}>${escapeHtml(truncate(row.label, 28))}</text>`,
      `<rect x="${labelW}" y="${yTop + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" rx="2" fill="${color}"><title>${escapeHtml(`${row.label}: ${row.display ?? row.value}`)}</title></rect>`,
      `<text x="${(labelW + w + 6).toFixed(1)}" y="${yTop + 15}" ${FONT}>${escapeHtml(row.display ?? formatNumber(row.value))}</text>`,
    ].join('');
  });
  if (rows.length === 0) parts.push(`<text x="8" y="18" ${FONT}>nothing yet</text>`);
  return svg(title, width, height, parts.join(''));
}

function svg(title: string, width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escapeHtml(title)}"><title>${escapeHtml(title)}</title>${body}</svg>`;
}

export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
