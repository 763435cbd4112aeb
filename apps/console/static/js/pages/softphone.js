// Softphone: pick a scenario, press Call, talk to the agent with the microphone; the live transcript runs
// beside, and (with the admin key) each reply's latency parts. Without the admin key it still works when the
// server lets anyone create a session (SESSIONS_AUTH=demo): the session's own token is all it then holds.

import { adminKey, api, ApiError, Unauthorized } from "../api.js";
import { latencyChart } from "../charts.js";
import { clear, errorBox, h } from "../dom.js";
import { TranscriptView } from "../transcript.js";
import { startWebRtcVoice } from "../voice-webrtc.js";
import { startWebSocketVoice } from "../voice-websocket.js";

export async function render(main, _params, { onUnauthorized }) {
  const admin = Boolean(adminKey());
  // The scenarios a session can be created for: with the admin key, or for anyone when sessions are public.
  let scenarios = null;
  try {
    scenarios = await api("/api/v1/sessions/scenarios", { anonymous: !admin });
  } catch (error) {
    if (error instanceof Unauthorized) throw error;
    if (error instanceof ApiError && error.status === 401) {
      onUnauthorized("Calls on this server need the admin key.");
      return null;
    }
  }
  const scenarioField = scenarios
    ? h("select", { id: "scenario", name: "scenario" }, scenarios.map((s) => h("option", { value: s.name }, s.name)))
    : h("input", { id: "scenario", name: "scenario", value: "banking", required: true });
  const transport = h(
    "select",
    { id: "transport", name: "transport" },
    h("option", { value: "webrtc" }, "WebRTC"),
    h("option", { value: "websocket" }, "WebSocket (PCM)"),
  );
  const speaker = h("audio", { id: "agent-audio", autoplay: true });
  const call = h("button", { type: "submit", id: "call" }, "Call");
  const hangUp = h("button", { type: "button", id: "hang-up", class: "danger", disabled: true }, "Hang up");
  const status = h("p", { id: "softphone-status", role: "status" }, "Idle.");
  const digits = h("input", { id: "softphone-dtmf", name: "digits", pattern: "[0-9*#]{1,32}", inputmode: "numeric", size: 8, disabled: true });
  const dtmfButton = h("button", { type: "button", disabled: true }, "Send keys");
  const feed = h("div", { class: "feed-box tall" });
  const latency = h("section", { class: "panel", id: "softphone-latency", "aria-labelledby": "softphone-latency-title" }, h("h2", { id: "softphone-latency-title" }, "Latency"));
  const form = h(
    "form",
    { class: "inline", id: "softphone-form" },
    h("label", { for: "scenario" }, "Scenario"),
    scenarioField,
    h("label", { for: "transport" }, "Audio over"),
    transport,
    call,
    hangUp,
  );
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Softphone"), admin ? null : h("p", { class: "muted" }, "Not signed in: using a session of its own (needs SESSIONS_AUTH=demo).")),
    h(
      "div",
      { class: "split" },
      h(
        "section",
        { class: "panel", "aria-labelledby": "phone-title" },
        h("h2", { id: "phone-title" }, "Call"),
        form,
        status,
        speaker,
        h("div", { class: "inline" }, h("label", { for: "softphone-dtmf" }, "Keys"), digits, dtmfButton),
        h("h2", {}, "Transcript"),
        feed,
      ),
      latency,
    ),
  );
  latency.append(h("p", { class: "muted" }, admin ? "Each agent reply's latency appears here." : "Sign in with the admin key to see latency parts."));

  let voice = null;
  let sessionId = null;
  let view = null;
  let latencyTimer = null;

  async function refreshLatency() {
    if (!admin || !sessionId) return;
    try {
      const transcript = await api(`/api/v1/calls/${sessionId}/transcript`);
      const replies = transcript.turns.filter((t) => t.speaker === "agent" && t.latency && t.latency.response_ms != null);
      if (!replies.length) return;
      clear(latency).append(
        h("h2", { id: "softphone-latency-title" }, "Latency"),
        latencyChart(replies.map((t) => ({ label: `turn ${t.seq}`, latency: t.latency }))),
      );
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
  }

  function ended(code, reason) {
    status.textContent = code === 1000 ? "Call ended." : `Call ended: ${reason || code}`;
    call.disabled = false;
    transport.disabled = false;
    hangUp.disabled = true;
    digits.disabled = dtmfButton.disabled = true;
    voice = null;
    clearTimeout(latencyTimer);
    latencyTimer = setTimeout(refreshLatency, 500);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    call.disabled = true;
    transport.disabled = true;
    status.textContent = "Starting…";
    view = new TranscriptView(feed, { label: "Softphone transcript" });
    try {
      const channel = transport.value;
      const body = { scenario: scenarioField.value, channel };
      const session = await api("/api/v1/sessions", { method: "POST", body, anonymous: !admin, key: adminKey() || undefined });
      sessionId = session.session_id;
      const start = channel === "webrtc" ? startWebRtcVoice : startWebSocketVoice;
      voice = await start(session, {
        audioElement: speaker,
        onEvent(ev) {
          view.event(ev);
          if (ev.type === "snapshot" || (ev.type === "status_update" && ev.change === "media_started")) status.textContent = "Connected: speak now.";
          if (ev.type === "transcript_chunk" && ev.speaker === "agent") {
            clearTimeout(latencyTimer);
            latencyTimer = setTimeout(refreshLatency, 300);
          }
        },
        onClose: ended,
      });
      status.textContent = `Calling over ${channel}…`;
      hangUp.disabled = false;
      digits.disabled = dtmfButton.disabled = false;
    } catch (error) {
      call.disabled = false;
      transport.disabled = false;
      if (error instanceof Unauthorized || (error instanceof ApiError && error.status === 401)) {
        onUnauthorized("Starting a call needs the admin key on this server.");
        return;
      }
      status.textContent = "";
      status.append(errorBox(`Could not start the call: ${error.message}`));
    }
  });
  hangUp.addEventListener("click", () => voice && voice.hangUp());
  dtmfButton.addEventListener("click", () => {
    if (voice && /^[0-9*#]{1,32}$/.test(digits.value)) {
      voice.sendDtmf(digits.value);
      digits.value = "";
    }
  });

  return () => {
    clearTimeout(latencyTimer);
    if (voice) voice.hangUp();
  };
}
