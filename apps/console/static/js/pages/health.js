// Health: readiness of each dependency, live calls across replicas, and this replica's latency and capacity
// figures from /metrics (turn latency parts as p50/p95 bars, and sparklines sampled while the page is open).

import { api, ApiError, text, Unauthorized } from "../api.js";
import { formatNumber, percentileBars, sparkline } from "../charts.js";
import { clear, errorBox, h } from "../dom.js";
import { buckets, delta, parseMetrics, quantile, value } from "../metrics.js";

const POLL_MS = 3000;
const HISTORY = 40;
const PARTS = [
  ["end_of_turn", "End of turn"],
  ["stt_final", "STT"],
  ["llm_first_token", "LLM first token"],
  ["tools", "Tools"],
  ["tts_first_audio", "TTS first audio"],
  ["overhead", "Overhead"],
  ["response", "Response"],
];

export async function render(main, _params, { onUnauthorized }) {
  const readiness = h("section", { class: "panel", id: "readiness", "aria-labelledby": "readiness-title" });
  const capacity = h("section", { class: "panel", id: "capacity", "aria-labelledby": "capacity-title" });
  const latency = h("section", { class: "panel", id: "turn-latency", "aria-labelledby": "turn-latency-title" });
  main.append(h("div", { class: "page-head" }, h("h1", {}, "Health")), h("div", { class: "grid-2" }, readiness, capacity), latency);

  const series = { active: [], live: [], loopLag: [], frameLag: [] };
  let previous = null;
  let stopped = false;
  let timer = null;

  async function poll() {
    try {
      const [ready, live, metricsText] = await Promise.all([
        readinessOf(),
        api("/api/v1/live-calls"),
        text("/metrics"),
      ]);
      const samples = parseMetrics(metricsText);
      showReadiness(readiness, ready);
      const loop = buckets(samples, "switchboard_event_loop_lag_seconds");
      const frames = buckets(samples, "switchboard_inbound_frame_lag_seconds");
      push(series.active, value(samples, "switchboard_active_calls") ?? 0);
      push(series.live, live.count);
      push(series.loopLag, 1000 * (quantile(delta(loop, previous?.loop), 0.95) ?? 0));
      push(series.frameLag, 1000 * (quantile(delta(frames, previous?.frames), 0.95) ?? 0));
      previous = { loop, frames };
      showCapacity(capacity, samples, series);
      showLatency(latency, samples);
    } catch (error) {
      if (error instanceof Unauthorized) {
        onUnauthorized("The admin key was refused: sign in again.");
        return;
      }
      clear(capacity).append(errorBox(`Could not read health: ${error.message}`));
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }
  await poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

async function readinessOf() {
  try {
    return await api("/api/v1/readiness");
  } catch (error) {
    if (error instanceof ApiError && error.status === 503) return error.body; // not ready: the body says why
    throw error;
  }
}

function push(list, v) {
  list.push(v);
  if (list.length > HISTORY) list.shift();
}

// One row per dependency readiness checks (Redis, the registry, the embedded TTS), each ready or with why not.
function showReadiness(panel, ready) {
  const ok = ready.status === "ready";
  const dependencies = ready.dependencies || [];
  clear(panel).append(
    h("h2", { id: "readiness-title" }, "Readiness"),
    h("p", { class: ok ? "ok-text" : "error" }, ok ? "Ready" : "Not ready"),
    h(
      "table",
      { class: "calls compact", id: "dependencies", "aria-label": "Dependencies" },
      h("thead", {}, h("tr", {}, ["Dependency", "State", "Detail"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        dependencies.map((d) =>
          h(
            "tr",
            { dataset: { dependency: d.name } },
            h("td", {}, DEPENDENCY_LABELS[d.name] || d.name),
            h("td", { class: d.ok ? "ok-text" : "error" }, d.ok ? "ready" : "not ready"),
            h("td", {}, d.detail),
          ),
        ),
      ),
    ),
    h(
      "dl",
      { class: "kv" },
      h("dt", {}, "ACS"),
      h("dd", {}, ready.acs ?? "—"),
      h("dt", {}, "Live calls on this replica"),
      h("dd", {}, String(ready.live_calls ?? "—")),
    ),
    ready.problems?.length ? h("ul", { class: "errors" }, ready.problems.map((p) => h("li", {}, p))) : h("p", { class: "muted" }, "No problems reported."),
  );
}

const DEPENDENCY_LABELS = { redis: "Redis", registry: "Agent registry", tts: "Text to speech" };

function showCapacity(panel, samples, series) {
  const figure = (label, values, unit) => h("div", { class: "figure" }, h("span", { class: "label" }, label), sparkline(values, { label, unit }));
  clear(panel).append(
    h("h2", { id: "capacity-title" }, "Capacity"),
    figure("Live calls (all replicas)", series.live, "calls"),
    figure("Media streams on this replica", series.active, "streams"),
    figure("Event loop lag p95", series.loopLag, "ms"),
    figure("Inbound frame lag p95", series.frameLag, "ms"),
    h(
      "dl",
      { class: "kv" },
      h("dt", {}, "Calls started"),
      h("dd", {}, formatNumber(value(samples, "switchboard_calls_total") ?? 0)),
      h("dt", {}, "Playout underruns"),
      h("dd", {}, formatNumber(value(samples, "switchboard_playout_underruns_total") ?? 0)),
      h("dt", {}, "Barge-in p95"),
      h("dd", {}, msOf(quantile(buckets(samples, "switchboard_barge_in_seconds"), 0.95))),
    ),
  );
}

function msOf(seconds) {
  return seconds === null ? "no data" : `${formatNumber(seconds * 1000)} ms`;
}

function showLatency(panel, samples) {
  const rows = PARTS.map(([part, label]) => {
    const b = buckets(samples, "switchboard_turn_latency_seconds", { part });
    const count = b.length ? b[b.length - 1].count : 0;
    const q50 = quantile(b, 0.5);
    const q95 = quantile(b, 0.95);
    return { label, count, p50: q50 === null ? 0 : q50 * 1000, p95: q95 === null ? 0 : q95 * 1000 };
  });
  const turns = rows[rows.length - 1].count;
  clear(panel).append(
    h("h2", { id: "turn-latency-title" }, "Turn latency on this replica"),
    h("p", { class: "muted" }, `${turns} agent replies measured since this replica started (estimated from histogram buckets).`),
    percentileBars(rows, { title: "Turn latency parts, p50 and p95" }),
  );
}
