// Line charts as SVG: metric series over iterations, tuning convergence.
import {h, s, fmt} from './dom.js';

const W = 560, H = 260, L = 60, R = 16, T = 14, B = 36;
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563'];

// series: [{name, points: [{x, y}], dashed?}]. Points with a null y are skipped.
export function lineChart(series, {xLabel = '', yLabel = '', className = 'chart'} = {}) {
  const all = series.flatMap((one) => one.points.filter((p) => p.y !== null && Number.isFinite(p.y)));
  const svg = s('svg', {class: className, width: W, height: H, viewBox: `0 0 ${W} ${H}`,
                        role: 'img', 'data-points': all.length});
  if (!all.length) {
    svg.append(s('text', {x: W / 2, y: H / 2, 'text-anchor': 'middle'}, 'no data'));
    return h('figure', {class: 'chart-box'}, svg);
  }
  let [x0, x1] = [Math.min(...all.map((p) => p.x)), Math.max(...all.map((p) => p.x))];
  let [y0, y1] = [Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y))];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
  const px = (x) => L + (x - x0) / (x1 - x0) * (W - L - R);
  const py = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  svg.append(s('line', {class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B}));
  svg.append(s('line', {class: 'axis', x1: L, y1: T, x2: L, y2: H - B}));
  for (let k = 0; k <= 4; k++) {
    const y = y0 + (y1 - y0) * k / 4;
    svg.append(s('text', {class: 'tick', x: L - 6, y: py(y) + 4, 'text-anchor': 'end'}, fmt(y)));
    const x = x0 + (x1 - x0) * k / 4;
    svg.append(s('text', {class: 'tick', x: px(x), y: H - B + 16, 'text-anchor': 'middle'},
                 fmt(Math.round(x * 100) / 100)));
  }
  svg.append(s('text', {class: 'axis-label', x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle'},
               xLabel));
  svg.append(s('text', {class: 'axis-label', x: 12, y: T + 6}, yLabel));
  series.forEach((one, i) => {
    const points = one.points.filter((p) => p.y !== null && Number.isFinite(p.y));
    if (!points.length) return;
    const color = COLORS[i % COLORS.length];
    svg.append(s('polyline', {class: 'series', fill: 'none', stroke: color,
      'stroke-dasharray': one.dashed ? '5 4' : null, 'data-series': one.name,
      points: points.map((p) => `${px(p.x)},${py(p.y)}`).join(' ')}));
    if (one.markers) {
      for (const p of points) {
        svg.append(s('circle', {cx: px(p.x), cy: py(p.y), r: 3.5, fill: color},
                     s('title', null, `${one.name}: ${fmt(p.x)} → ${fmt(p.y)}`)));
      }
    }
  });
  const legend = h('figcaption', {class: 'legend'}, series.map((one, i) =>
    h('span', {class: 'legend-item'},
      h('span', {class: 'swatch', style: null, 'data-color': i % COLORS.length}), one.name)));
  return h('figure', {class: 'chart-box'}, svg, legend);
}
