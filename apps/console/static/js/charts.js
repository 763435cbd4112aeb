// Small inline SVG charts drawn here (no chart library): stacked latency bars, sparklines, and the handoff
// graph. Every chart has a title and a text table or description next to it for screen readers.

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== null && value !== undefined) el.setAttribute(name, String(value));
  for (const child of children) if (child) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

export const LATENCY_PARTS = [
  { key: "end_of_turn_ms", label: "End of turn", cls: "p-eot" },
  { key: "stt_final_ms", label: "STT", cls: "p-stt" },
  { key: "llm_ms", label: "LLM first token", cls: "p-llm", fallback: "llm_first_token_ms" },
  { key: "tools_ms", label: "Tools", cls: "p-tools" },
  { key: "tts_first_audio_ms", label: "TTS first audio", cls: "p-tts" },
  { key: "overhead_ms", label: "Overhead", cls: "p-overhead" },
];

export function latencyPart(latency, part) {
  const value = latency[part.key] ?? (part.fallback ? latency[part.fallback] : null);
  return typeof value === "number" && value > 0 ? value : 0;
}

// rows: [{label, latency}] -> one horizontal stacked bar per agent reply.
export function latencyChart(rows, { title = "Per-turn latency" } = {}) {
  const barH = 22;
  const gap = 8;
  const left = 92;
  const width = 640;
  const plotW = width - left - 70;
  const top = 30;
  const height = top + rows.length * (barH + gap) + 30;
  const totals = rows.map((r) => LATENCY_PARTS.reduce((sum, p) => sum + latencyPart(r.latency, p), 0));
  const max = Math.max(100, ...totals);
  const scale = plotW / max;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart latency-chart", role: "img", "aria-labelledby": "latency-chart-title" });
  svg.append(s("title", { id: "latency-chart-title" }, title));
  // Legend
  let x = left;
  for (const part of LATENCY_PARTS) {
    svg.append(s("rect", { x, y: 6, width: 10, height: 10, class: part.cls }));
    svg.append(s("text", { x: x + 14, y: 15, class: "legend" }, part.label));
    x += 14 + part.label.length * 6.9 + 12;
  }
  rows.forEach((row, i) => {
    const y = top + i * (barH + gap);
    svg.append(s("text", { x: left - 6, y: y + barH / 2 + 4, class: "axis row-label", "text-anchor": "end" }, row.label));
    let at = left;
    for (const part of LATENCY_PARTS) {
      const value = latencyPart(row.latency, part);
      if (!value) continue;
      const w = Math.max(1, value * scale);
      svg.append(s("rect", { x: at, y, width: w, height: barH, class: `bar ${part.cls}` }, s("title", {}, `${part.label}: ${Math.round(value)} ms`)));
      at += w;
    }
    const response = row.latency.response_ms;
    svg.append(s("text", { x: at + 6, y: y + barH / 2 + 4, class: "axis" }, response != null ? `${Math.round(response)} ms` : ""));
  });
  // Axis
  const axisY = top + rows.length * (barH + gap) + 4;
  svg.append(s("line", { x1: left, x2: left + plotW, y1: axisY, y2: axisY, class: "gridline" }));
  for (const frac of [0, 0.5, 1]) {
    svg.append(s("text", { x: left + plotW * frac, y: axisY + 16, class: "axis", "text-anchor": "middle" }, `${Math.round(max * frac)} ms`));
  }
  return svg;
}

// A sparkline of recent samples (numbers), with the last value written at the end.
export function sparkline(values, { label, unit = "", width = 260, height = 48 } = {}) {
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart spark", role: "img", "aria-label": `${label}: ${values.length ? values[values.length - 1] : "no data"} ${unit}` });
  if (values.length < 1) return svg;
  if (values.length === 1) values = [values[0], values[0]]; // a flat line until the second sample
  const max = Math.max(1e-9, ...values);
  const plotW = width - 70;
  const step = values.length > 1 ? plotW / (values.length - 1) : 0;
  const flat = values.every((v) => v === values[0]); // nothing to compare yet: a line through the middle
  const y = (v) => (flat ? height / 2 : height - 6 - (v / max) * (height - 14));
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${y(v).toFixed(1)}`);
  svg.append(s("polyline", { points: points.join(" "), class: "spark-line" }));
  const last = values[values.length - 1];
  svg.append(s("text", { x: plotW + 6, y: height / 2 + 4, class: "axis" }, `${formatNumber(last)} ${unit}`));
  return svg;
}

// Horizontal bars of p50 / p95 per label (values in ms).
export function percentileBars(rows, { title }) {
  const width = 520;
  const left = 130;
  const barH = 10;
  const rowH = 30;
  const top = 24;
  const height = top + rows.length * rowH + 8;
  const max = Math.max(10, ...rows.map((r) => r.p95 || 0));
  const scale = (width - left - 80) / max;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title });
  svg.append(s("title", {}, title));
  svg.append(s("rect", { x: left, y: 6, width: 10, height: 8, class: "p50" }), s("text", { x: left + 14, y: 14, class: "legend" }, "p50"));
  svg.append(s("rect", { x: left + 50, y: 6, width: 10, height: 8, class: "p95" }), s("text", { x: left + 64, y: 14, class: "legend" }, "p95"));
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    svg.append(s("text", { x: left - 6, y: y + 12, class: "axis", "text-anchor": "end" }, row.label));
    svg.append(s("rect", { x: left, y, width: Math.max(1, (row.p50 || 0) * scale), height: barH, class: "p50" }));
    svg.append(s("rect", { x: left, y: y + barH + 2, width: Math.max(1, (row.p95 || 0) * scale), height: barH, class: "p95" }));
    svg.append(s("text", { x: left + (row.p95 || 0) * scale + 6, y: y + 16, class: "axis" }, row.count ? `${formatNumber(row.p50)} / ${formatNumber(row.p95)} ms` : "no data"));
  });
  return svg;
}

// The handoff graph of one scenario: agents on a circle, arrows for handoffs, the start agent marked.
export function handoffGraph(scenario) {
  const agents = scenario.agents;
  const width = 560;
  const height = agents.length > 4 ? 340 : agents.length > 2 ? 280 : 120;
  const cx = width / 2;
  const cy = height / 2;
  const radius = agents.length > 2 ? Math.min(cx - 90, cy - 36) : 120;
  const start = agents.length > 2 ? -Math.PI / 2 : Math.PI; // two agents side by side
  const pos = new Map(
    agents.map((name, i) => {
      const angle = (2 * Math.PI * i) / agents.length + start;
      return [name, { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle), angle }];
    }),
  );
  // Fit the drawing's height to the nodes and their labels (three agents on a circle leave its bottom empty).
  const ys = pos.size ? [...pos.values()].map((p) => p.y) : [cy];
  const top = Math.max(0, Math.min(...ys) - 40);
  const bottom = Math.min(height, Math.max(...ys) + 40);
  const svg = s("svg", { viewBox: `0 ${top} ${width} ${bottom - top}`, class: "chart graph", role: "img", "aria-label": `Handoff graph of ${scenario.name}` });
  svg.append(
    s("defs", {}, s("marker", { id: `arrow-${scenario.name}`, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrow-head" }))),
  );
  const nodeR = 16;
  for (const edge of scenario.handoffs || []) {
    const a = pos.get(edge.from);
    const b = pos.get(edge.to);
    if (!a || !b) continue;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len = Math.hypot(dx, dy) || 1;
    // Offset sideways so a->b and b->a do not overlap.
    const ox = (-dy / len) * 5;
    const oy = (dx / len) * 5;
    svg.append(
      s(
        "line",
        { x1: a.x + (dx / len) * nodeR + ox, y1: a.y + (dy / len) * nodeR + oy, x2: b.x - (dx / len) * nodeR + ox, y2: b.y - (dy / len) * nodeR + oy, class: `edge ${edge.type}`, "marker-end": `url(#arrow-${scenario.name})` },
        s("title", {}, `${edge.from} → ${edge.to}${edge.tool ? ` (${edge.tool})` : ""}${edge.condition ? `: ${edge.condition}` : ""}`),
      ),
    );
  }
  for (const name of agents) {
    const p = pos.get(name);
    svg.append(s("circle", { cx: p.x, cy: p.y, r: nodeR, class: name === scenario.start_agent ? "node start" : "node" }));
    // Labels sit outside the circle, away from the arrows between the nodes.
    const cos = Math.cos(p.angle);
    const sin = Math.sin(p.angle);
    const anchor = Math.abs(cos) < 0.3 ? "middle" : cos > 0 ? "start" : "end";
    svg.append(s("text", { x: p.x + cos * (nodeR + 6), y: p.y + sin * (nodeR + 10) + 4, class: "node-label", "text-anchor": anchor }, name));
  }
  return svg;
}

export function formatNumber(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (Math.abs(value) >= 100) return String(Math.round(value));
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2).replace(/\.?0+$/, "") || "0";
}
