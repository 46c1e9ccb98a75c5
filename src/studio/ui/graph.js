// Directed graphs drawn as SVG, left to right: the pipeline DAG and the lineage graph.
import {s} from './dom.js';

const NODE_W = 170, NODE_H = 46, GAP_X = 70, GAP_Y = 22, PAD = 16;

// Layers by longest path from the sources (cycles cannot hang it: at most n passes), then one
// barycenter pass to order each layer by its parents' rows.
export function layout(nodes, edges) {
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const layer = nodes.map(() => 0);
  const valid = edges.filter((e) => index.has(e.from) && index.has(e.to));
  for (let pass = 0; pass < nodes.length; pass++) {
    let changed = false;
    for (const e of valid) {
      const from = index.get(e.from), to = index.get(e.to);
      if (layer[to] < layer[from] + 1 && layer[from] + 1 < nodes.length) {
        layer[to] = layer[from] + 1;
        changed = true;
      }
    }
    if (!changed) break;
  }
  const layers = [];
  nodes.forEach((n, i) => { (layers[layer[i]] = layers[layer[i]] || []).push(i); });
  const row = nodes.map(() => 0);
  layers.forEach((members, l) => {
    if (l > 0) {
      const center = (i) => {
        const parents = valid.filter((e) => index.get(e.to) === i).map((e) => row[index.get(e.from)]);
        return parents.length ? parents.reduce((a, b) => a + b, 0) / parents.length : 0;
      };
      members.sort((a, b) => center(a) - center(b) || a - b);
    }
    members.forEach((i, r) => { row[i] = r; });
  });
  const rows = Math.max(1, ...layers.map((m) => (m ? m.length : 0)));
  const positions = nodes.map((n, i) => ({
    x: PAD + layer[i] * (NODE_W + GAP_X),
    y: PAD + row[i] * (NODE_H + GAP_Y),
  }));
  return {
    positions,
    width: PAD * 2 + layers.length * (NODE_W + GAP_X) - GAP_X,
    height: PAD * 2 + rows * (NODE_H + GAP_Y) - GAP_Y,
    index,
  };
}

function truncate(text, max) {
  const t = String(text);
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

// nodes: [{id, label, sublabel, className, data: {attr: value}}]; edges: [{from, to}].
// onSelect(node) is called when a node is clicked or activated with Enter.
export function drawGraph(nodes, edges, {onSelect, className} = {}) {
  const {positions, width, height, index} = layout(nodes, edges);
  const svg = s('svg', {class: className || 'graph', width, height,
                        viewBox: `0 0 ${width} ${height}`, role: 'img'});
  svg.append(s('defs', null, s('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse'},
    s('path', {d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead'}))));
  for (const e of edges) {
    if (!index.has(e.from) || !index.has(e.to)) continue;
    const a = positions[index.get(e.from)], b = positions[index.get(e.to)];
    const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
    const mid = (x1 + x2) / 2;
    svg.append(s('path', {class: 'edge' + (e.kind ? ' edge-' + e.kind : ''),
      d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`, 'marker-end': 'url(#arrow)'}));
  }
  nodes.forEach((n, i) => {
    const p = positions[i];
    const attributes = {class: 'node ' + (n.className || ''), transform: `translate(${p.x},${p.y})`,
                        tabindex: 0, role: 'button'};
    for (const [k, v] of Object.entries(n.data || {})) attributes['data-' + k] = v;
    const group = s('g', attributes,
      s('title', null, n.title || n.label),
      s('rect', {width: NODE_W, height: NODE_H, rx: 7}),
      s('text', {x: 10, y: 19, class: 'label'}, truncate(n.label, 22)),
      s('text', {x: 10, y: 36, class: 'sublabel'}, truncate(n.sublabel || '', 26)));
    if (onSelect) {
      group.addEventListener('click', () => onSelect(n));
      group.addEventListener('keydown', (event) => { if (event.key === 'Enter') onSelect(n); });
    }
    svg.append(group);
  });
  return svg;
}
