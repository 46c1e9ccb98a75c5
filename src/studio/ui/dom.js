// DOM helpers. Every piece of data becomes a text node or an attribute value: nothing from the
// API is ever parsed as markup (no innerHTML), so a step named <script> shows as text.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setAttributes(node, attributes) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, String(value));
    }
  }
  return node;
}

// h('a', {href: '#/x', class: 'c'}, 'text', child, [more]) -> an HTML element.
export function h(tag, attributes, ...children) {
  return append(setAttributes(document.createElement(tag), attributes), children);
}

// s('rect', {x: 1}) -> an SVG element.
export function s(tag, attributes, ...children) {
  return append(setAttributes(document.createElementNS(SVG_NS, tag), attributes), children);
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

// A table of rows: columns [{title, value: row => text|Node}].
export function table(columns, rows, attributes) {
  return h('table', attributes,
    h('thead', null, h('tr', null, columns.map((c) => h('th', null, c.title)))),
    h('tbody', null, rows.map((row) =>
      h('tr', null, columns.map((c) => h('td', null, c.value(row)))))));
}

export function statusBadge(status) {
  return h('span', {class: 'badge status-' + String(status || 'None').replace(/[^A-Za-z]/g, '')},
    status || '—');
}

export function link(href, text) { return h('a', {href}, text); }

export function fmt(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, '');
  }
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function pre(value) {
  return h('pre', null, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
}

export const enc = encodeURIComponent;
