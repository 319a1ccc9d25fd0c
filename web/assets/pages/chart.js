// Small SVG charts built with DOM calls, shared by the live monitor and the reports page (SPEC
// §10/§11: "the panel draws charts where a person would rather look than read"). No library,
// no inline style (the CSP's style-src 'self' forbids it: colours are SVG presentation
// attributes), every text through textContent. Each bar or point carries a <title> tooltip
// with the value as the table shows it, and data-series / data-x / data-value for tests.

const SVG = "http://www.w3.org/2000/svg";

/** The series colours, in order. */
export const COLORS = ["#3b7dd8", "#4caf50", "#f0a030", "#c0392b", "#8e44ad", "#16a085", "#7f8c8d", "#d35400"];

/** An SVG element with attributes (and text, through textContent). */
export function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

/** The axis top for `v`: 1, 2 or 5 × 10^n at or above it (at least 1). */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** A short axis number: 1200 → 1.2k. */
function short(v) {
  if (Math.abs(v) >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return String(+v.toFixed(2));
}

function root(width, height, opts) {
  const attrs = { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", class: "chart" };
  if (opts.id) attrs.id = opts.id;
  const c = svg("svg", attrs);
  if (opts.title) c.append(svg("title", {}, opts.title));
  return c;
}

function legend(chart, series, x0) {
  const g = svg("g", { class: "legend" });
  let x = x0;
  for (const s of series) {
    g.append(svg("rect", { x, y: 0, width: 9, height: 9, fill: s.color }));
    g.append(svg("text", { x: x + 13, y: 9, "font-size": 10 }, s.name));
    x += 24 + Math.min(160, 7 * String(s.name).length);
  }
  chart.append(g);
}

function bar(x, y, w, h, s, label, v) {
  const r = svg("rect", {
    x, y, width: Math.max(0, w), height: Math.max(0, h), fill: s.color, class: "bar",
    "data-series": s.key ?? s.name, "data-x": label, "data-value": v,
  });
  r.append(svg("title", {}, `${label} ${s.name}: ${(s.format ?? String)(v)}`));
  return r;
}

/**
 * Vertical bars: `labels` on x, one bar per series side by side (or one stacked bar with
 * `stacked`); a y axis with three ticks and a legend. A series is `{ name, color, values,
 * key?, format? }` (`format` turns a value into the tooltip's text); `axis` formats the y ticks,
 * `tick` the x labels.
 */
export function barChart(labels, series, opts = {}) {
  const { width = 720, height = 220, stacked = false, axis = short, tick = String } = opts;
  const chart = root(width, height, opts);
  const top = 16, bottom = 24, left = 40;
  const h = height - top - bottom;
  const totals = labels.map((_, i) => series.reduce((a, s) => a + Math.max(0, s.values[i] ?? 0), 0));
  const max = niceMax(opts.max ?? Math.max(0, ...(stacked ? totals : series.flatMap((s) => s.values))));
  const slot = (width - left) / Math.max(1, labels.length);
  const bw = stacked ? Math.max(1, slot - 2) : Math.max(1, (slot - 2) / Math.max(1, series.length));
  for (const f of [0, 0.5, 1]) {
    const y = top + h - f * h;
    chart.append(svg("line", { x1: left, y1: y, x2: width, y2: y, stroke: f ? "#ddd" : "#888" }));
    chart.append(svg("text", { x: left - 4, y: y + 3, "font-size": 9, "text-anchor": "end", class: "tick" }, axis(max * f)));
  }
  chart.append(svg("line", { x1: left, y1: top, x2: left, y2: top + h, stroke: "#888" }));
  const every = Math.max(1, Math.ceil(labels.length / 31));
  labels.forEach((label, i) => {
    let base = top + h;
    series.forEach((s, j) => {
      const v = s.values[i] ?? 0;
      const bh = (Math.max(0, v) / max) * h;
      const x = left + i * slot + 1 + (stacked ? 0 : j * bw);
      chart.append(bar(x, base - bh, bw - 1, bh, s, label, v));
      if (stacked) base -= bh;
    });
    if (i % every === 0) {
      chart.append(svg("text", { x: left + i * slot + slot / 2, y: height - 8, "font-size": 9, "text-anchor": "middle", class: "xlabel" }, tick(label)));
    }
  });
  legend(chart, series, left + 4);
  return chart;
}

/**
 * Horizontal bars, one row per label (names read better across): side by side per series, or
 * one stacked bar per row with `stacked`.
 */
export function hbarChart(labels, series, opts = {}) {
  const { width = 720, stacked = false, axis = short } = opts;
  const row = stacked || series.length === 1 ? 18 : 8 + 10 * series.length;
  const top = 18, bottom = 16, left = 130;
  const height = top + bottom + row * Math.max(1, labels.length);
  const chart = root(width, height, opts);
  const w = width - left - 10;
  const totals = labels.map((_, i) => series.reduce((a, s) => a + Math.max(0, s.values[i] ?? 0), 0));
  const max = niceMax(opts.max ?? Math.max(0, ...(stacked ? totals : series.flatMap((s) => s.values))));
  for (const f of [0, 0.5, 1]) {
    const x = left + f * w;
    chart.append(svg("line", { x1: x, y1: top, x2: x, y2: height - bottom, stroke: f ? "#ddd" : "#888" }));
    const anchor = f === 1 ? "end" : f ? "middle" : "start";
    chart.append(svg("text", { x, y: height - 4, "font-size": 9, "text-anchor": anchor, class: "tick" }, axis(max * f)));
  }
  const bh = stacked || series.length === 1 ? row - 4 : 9;
  labels.forEach((label, i) => {
    const y0 = top + i * row + 2;
    const name = String(label);
    const tx = svg("text", { x: left - 4, y: y0 + Math.min(row - 4, 12), "font-size": 10, "text-anchor": "end", class: "ylabel" },
      name.length > 20 ? `${name.slice(0, 19)}…` : name);
    tx.append(svg("title", {}, name));
    chart.append(tx);
    let x = left;
    series.forEach((s, j) => {
      const v = s.values[i] ?? 0;
      const bw = (Math.max(0, v) / max) * w;
      if (stacked) {
        chart.append(bar(x, y0, bw, bh, s, label, v));
        x += bw;
      } else {
        chart.append(bar(left, y0 + j * 10, bw, bh, s, label, v));
      }
    });
  });
  legend(chart, series, left);
  return chart;
}

/** Lines with a point per label (rates: pass `max: 1` and a percentage `axis`). */
export function lineChart(labels, series, opts = {}) {
  const { width = 720, height = 160, axis = short, tick = String } = opts;
  const chart = root(width, height, opts);
  const top = 16, bottom = 24, left = 40;
  const h = height - top - bottom;
  const max = opts.max ?? niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const slot = (width - left) / Math.max(1, labels.length);
  for (const f of [0, 0.5, 1]) {
    const y = top + h - f * h;
    chart.append(svg("line", { x1: left, y1: y, x2: width, y2: y, stroke: f ? "#ddd" : "#888" }));
    chart.append(svg("text", { x: left - 4, y: y + 3, "font-size": 9, "text-anchor": "end", class: "tick" }, axis(max * f)));
  }
  const every = Math.max(1, Math.ceil(labels.length / 31));
  labels.forEach((label, i) => {
    if (i % every === 0) {
      chart.append(svg("text", { x: left + i * slot + slot / 2, y: height - 8, "font-size": 9, "text-anchor": "middle", class: "xlabel" }, tick(label)));
    }
  });
  for (const s of series) {
    const pts = s.values.map((v, i) => [left + i * slot + slot / 2, top + h - (Math.min(max, Math.max(0, v ?? 0)) / max) * h]);
    chart.append(svg("polyline", { points: pts.map((p) => p.join(",")).join(" "), fill: "none", stroke: s.color, "stroke-width": 2 }));
    pts.forEach(([x, y], i) => {
      const c = svg("circle", {
        cx: x, cy: y, r: 3, fill: s.color, class: "point",
        "data-series": s.key ?? s.name, "data-x": labels[i], "data-value": s.values[i] ?? 0,
      });
      c.append(svg("title", {}, `${labels[i]} ${s.name}: ${(s.format ?? String)(s.values[i] ?? 0)}`));
      chart.append(c);
    });
  }
  legend(chart, series, left + 4);
  return chart;
}
