// One call: what happened (outcome, agents visited, tools called), its transcript, and where each agent
// reply's time went as a chart (end of turn, STT, LLM first token, tools, TTS first audio, overhead).

import { api, ApiError, blob } from "../api.js";
import { latencyChart, LATENCY_PARTS, latencyPart } from "../charts.js";
import { durationBetween, errorBox, formatDuration, formatTime, h, maskNumber } from "../dom.js";
import { TranscriptView } from "../transcript.js";

export async function render(main, [callId]) {
  let record;
  let transcript = null;
  try {
    record = await api(`/api/v1/calls/${encodeURIComponent(callId)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      main.append(h("h1", {}, "Call not found"), h("p", {}, h("a", { href: "#/calls" }, "Back to the history")));
      return;
    }
    throw error;
  }
  try {
    transcript = await api(`/api/v1/calls/${encodeURIComponent(callId)}/transcript`);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  const turns = transcript?.turns || [];
  const outcome = transcript?.outcome;
  const tools = turns.flatMap((t) => (t.tool_calls || []).map((c) => ({ ...c, seq: t.seq, agent: t.agent })));
  const replies = turns.filter((t) => t.speaker === "agent" && t.latency && t.latency.response_ms != null);

  main.append(
    h("div", { class: "page-head" }, h("h1", {}, `Call ${callId.slice(0, 12)}`), h("a", { href: "#/calls" }, "← Call history")),
    h(
      "section",
      { class: "panel facts-grid", "aria-label": "Call facts" },
      fact("Status", record.status),
      fact("Channel", record.channel),
      fact("Scenario", record.scenario),
      fact("Caller", maskNumber(record.caller) || "—"),
      fact("Started", formatTime(record.created_at)),
      fact("Duration", formatDuration(durationBetween(record.connected_at || record.created_at, record.ended_at))),
      fact("Outcome", outcome?.reason || "—"),
      fact("End reason", record.end_reason || "—"),
      fact("Agents visited", outcome?.agents_visited?.join(" → ") || [...new Set(turns.map((t) => t.agent).filter(Boolean))].join(" → ") || "—"),
      fact("Tools called", outcome?.tools_called?.join(", ") || [...new Set(tools.map((t) => t.name))].join(", ") || "—"),
    ),
  );

  const chartBox = h("section", { class: "panel", id: "latency", "aria-labelledby": "latency-title" }, h("h2", { id: "latency-title" }, "Latency per agent reply"));
  if (replies.length) {
    chartBox.append(latencyChart(replies.map((t) => ({ label: `turn ${t.seq}`, latency: t.latency }))));
    chartBox.append(latencyTable(replies));
  } else {
    chartBox.append(h("p", { class: "muted" }, "No agent reply with measured latency in this call."));
  }
  main.append(chartBox);

  if (tools.length) {
    main.append(
      h(
        "section",
        { class: "panel", "aria-labelledby": "tools-title" },
        h("h2", { id: "tools-title" }, "Tool calls"),
        h(
          "table",
          { class: "calls" },
          h("thead", {}, h("tr", {}, ["Turn", "Agent", "Tool", "Result", "Duration"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, tools.map((c) => h("tr", {}, h("td", {}, c.seq), h("td", {}, c.agent || ""), h("td", { class: "mono" }, c.name), h("td", { class: c.ok ? null : "problem" }, c.ok ? "ok" : `failed: ${c.error || "no reason given"}`), h("td", { class: "num" }, `${Math.round(c.duration_ms)} ms`)))),
        ),
      ),
    );
  }

  const feed = h("div", { class: "feed-box tall" });
  main.append(
    h("section", { class: "panel", "aria-labelledby": "transcript-title" }, h("h2", { id: "transcript-title" }, "Transcript"), feed),
    summaryPanel(outcome?.summary),
    await costPanel(callId),
    await recordingPanel(callId),
  );
  const view = new TranscriptView(feed);
  if (!turns.length) view.note("No transcript for this call.");
  for (const turn of turns) {
    // A reply's tools ran before it was spoken: list them first, as the live feed does.
    for (const call of turn.tool_calls || []) view.note(`Tool ${call.name} ${call.ok ? "ok" : "failed"} in ${Math.round(call.duration_ms)} ms`, "tool");
    view.turn(turn);
  }
}

function summaryPanel(summary) {
  const box = h("section", { class: "panel", id: "summary", "aria-labelledby": "summary-title" }, h("h2", { id: "summary-title" }, "Post-call summary"));
  if (!summary) {
    box.append(h("p", { class: "muted" }, "No summary yet (calls are summarised when they end)."));
    return box;
  }
  box.append(
    h("div", { class: "facts-grid" }, fact("Disposition", summary.disposition), fact("Reason", summary.reason), fact("By", summary.source)),
    h("p", {}, summary.summary),
  );
  if (summary.follow_ups?.length) box.append(h("h3", {}, "Follow-ups"), h("ul", {}, summary.follow_ups.map((f) => h("li", {}, f))));
  if (summary.intake) box.append(h("h3", {}, "Intake"), h("ul", {}, Object.entries(summary.intake).map(([k, v]) => h("li", {}, `${k}: ${Array.isArray(v) ? v.join(", ") : v}`))));
  return box;
}

// The recording needs the admin key, which an <audio src> cannot send: fetch it, play it from a blob URL.
async function recordingPanel(callId) {
  const box = h("section", { class: "panel", id: "recording", "aria-labelledby": "recording-title" }, h("h2", { id: "recording-title" }, "Recording"));
  let audio = null;
  try {
    audio = await blob(`/api/v1/calls/${encodeURIComponent(callId)}/recording`);
  } catch (error) {
    if (error instanceof ApiError) {
      box.append(errorBox(`Recording unavailable: ${error.message}`));
      return box;
    }
    throw error;
  }
  if (!audio) {
    box.append(h("p", { class: "muted" }, "No recording is stored for this call."));
    return box;
  }
  box.append(
    h("audio", { controls: "", preload: "metadata", src: URL.createObjectURL(audio), "aria-label": "Call recording" }),
    h("p", { class: "muted" }, "Stereo: the caller on the left, the agent (as the caller heard it) on the right."),
  );
  return box;
}

function fact(label, value) {
  return h("div", { class: "fact" }, h("span", { class: "label" }, label), h("span", { class: "value" }, value));
}

function latencyTable(replies) {
  return h(
    "table",
    { class: "calls compact", "aria-label": "Latency parts per reply (ms)" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Turn"), LATENCY_PARTS.map((p) => h("th", { scope: "col", class: "num" }, p.label)), h("th", { scope: "col", class: "num" }, "Response"))),
    h(
      "tbody",
      {},
      replies.map((t) =>
        h("tr", {}, h("td", {}, t.seq), LATENCY_PARTS.map((p) => h("td", { class: "num" }, Math.round(latencyPart(t.latency, p)))), h("td", { class: "num" }, Math.round(t.latency.response_ms))),
      ),
    ),
  );
}

// What the call cost: its usage by provider, model and agent, priced by the table in force.
async function costPanel(callId) {
  const box = h("section", { class: "panel", id: "cost", "aria-labelledby": "cost-title" }, h("h2", { id: "cost-title" }, "Cost"));
  let cost;
  try {
    cost = await api(`/api/v1/calls/${encodeURIComponent(callId)}/cost`);
  } catch (error) {
    box.append(errorBox(`Cost unavailable: ${error.message}`));
    return box;
  }
  if (!cost.lines.length) {
    box.append(h("p", { class: "muted" }, "No usage recorded for this call."));
    return box;
  }
  box.append(
    h("p", {}, h("strong", {}, `${money(cost.total)} ${cost.currency}`), ` in all · prices as of ${cost.prices_as_of}`),
    h(
      "table",
      { class: "calls compact", "aria-label": "Cost per provider, model and agent" },
      h("thead", {}, h("tr", {}, ["Provider", "Model", "Agent", "Usage", "Cost"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        cost.lines.map((line) =>
          h("tr", {}, h("td", {}, line.provider), h("td", { class: "mono" }, line.model), h("td", {}, line.agent), h("td", {}, usageText(line.usage)), h("td", { class: "num" }, money(line.cost))),
        ),
      ),
    ),
  );
  if (cost.unpriced.length) box.append(h("p", { class: "muted" }, `Not priced (no rate in the table): ${cost.unpriced.join("; ")}`));
  return box;
}

const USAGE_LABELS = {
  requests: "requests",
  input_tokens: "input tokens",
  cached_input_tokens: "cached",
  output_tokens: "output tokens",
  input_text_tokens: "text in",
  input_audio_tokens: "audio in",
  output_text_tokens: "text out",
  output_audio_tokens: "audio out",
  cached_input_text_tokens: "cached text",
  cached_input_audio_tokens: "cached audio",
  stt_audio_seconds: "s of audio recognised",
  tts_characters: "characters spoken",
  acs_call_minutes: "call min",
  acs_media_minutes: "media min",
  unknown_events: "unreadable reports",
};

function usageText(usage) {
  return Object.entries(usage)
    .filter(([, value]) => value)
    .map(([key, value]) => `${Number.isInteger(value) ? value : Math.round(value * 10) / 10} ${USAGE_LABELS[key] || key.replaceAll("_", " ")}`)
    .join(", ");
}

function money(value) {
  return Number(value).toFixed(value && Math.abs(value) < 0.01 ? 6 : 4);
}
