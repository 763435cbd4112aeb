// Live calls: every call and browser session not yet ended on any replica (polled), and one call followed
// as it happens over its events socket, with hang-up, DTMF, and the supervisor's guidance panel.

import { adminKey, api, Unauthorized, wsUrl } from "../api.js";
import { clear, errorBox, formatDuration, formatTime, h } from "../dom.js";
import { GuidancePanel } from "../guidance.js";
import { TranscriptView } from "../transcript.js";

const POLL_MS = 2000;

export async function render(main, [callId], { onUnauthorized }) {
  const tableBody = h("tbody");
  const count = h("span", { id: "live-count" }, "…");
  const listProblem = h("div");
  const detail = h("section", { class: "panel detail", "aria-labelledby": "follow-title" });
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Live calls ", h("span", { class: "badge" }, count))),
    h(
      "div",
      { class: "split" },
      h(
        "section",
        { class: "panel", "aria-label": "Live calls list" },
        listProblem,
        h(
          "table",
          { class: "calls", id: "live-calls" },
          h(
            "thead",
            {},
            h("tr", {}, ["Call", "Channel", "Scenario", "Agent", "Caller", "Status", "Duration"].map((t) => h("th", { scope: "col" }, t))),
          ),
          tableBody,
        ),
      ),
      detail,
    ),
  );

  let stopped = false;
  let timer = null;
  async function poll() {
    try {
      const live = await api("/api/v1/live-calls");
      count.textContent = String(live.count);
      clear(listProblem);
      // The list is rebuilt on every poll: keep the keyboard focus on the same call's link.
      const focused = tableBody.contains(document.activeElement) ? document.activeElement.getAttribute("href") : null;
      clear(tableBody);
      if (!live.calls.length) {
        tableBody.append(h("tr", {}, h("td", { colspan: 7, class: "empty" }, "No live calls right now.")));
      }
      for (const call of live.calls) {
        const selected = call.call_id === callId;
        tableBody.append(
          h(
            "tr",
            { class: selected ? "selected" : null, "aria-selected": selected ? "true" : null },
            h("td", {}, h("a", { href: `#/live/${call.call_id}`, class: "mono" }, call.call_id.slice(0, 12))),
            h("td", {}, call.channel),
            h("td", {}, call.scenario),
            h("td", {}, call.agent || ""),
            h("td", { class: "mono" }, call.caller),
            h("td", {}, call.status),
            h("td", { class: "num" }, formatDuration(call.duration_s)),
          ),
        );
      }
      if (focused) tableBody.querySelector(`a[href="${CSS.escape(focused)}"]`)?.focus();
    } catch (error) {
      if (error instanceof Unauthorized) {
        onUnauthorized("The admin key was refused: sign in again.");
        return;
      }
      clear(listProblem).append(errorBox(`Could not list live calls: ${error.message}`));
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }
  await poll();

  let socket = null;
  if (callId) socket = follow(detail, callId);
  else detail.append(h("h2", { id: "follow-title" }, "Follow a call"), h("p", { class: "muted" }, "Pick a call in the list to follow its transcript as it happens."));

  return () => {
    stopped = true;
    clearTimeout(timer);
    if (socket) socket.close(1000, "left the page");
  };
}

function follow(detail, callId) {
  const title = h("h2", { id: "follow-title" }, `Call ${callId.slice(0, 12)}`);
  const facts = h("p", { class: "facts" }, "Connecting…");
  const feed = h("div", { class: "feed-box" });
  const guidanceBox = h("div", { class: "guidance-box", id: "guidance" });
  const actionStatus = h("p", { class: "action-status", role: "status" });
  const digits = h("input", { id: "dtmf-digits", name: "digits", pattern: "[0-9*#]{1,32}", inputmode: "numeric", size: 8, required: true });
  const dtmf = h(
    "form",
    { class: "inline" },
    h("label", { for: "dtmf-digits" }, "Keys"),
    digits,
    h("button", { type: "submit" }, "Send DTMF"),
  );
  dtmf.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/api/v1/calls/${encodeURIComponent(callId)}/dtmf`, { method: "POST", body: { digits: digits.value } });
      actionStatus.textContent = `Sent ${digits.value}`;
      digits.value = "";
    } catch (error) {
      actionStatus.textContent = `DTMF not sent: ${error.message}`;
    }
  });
  const hangUp = h("button", { type: "button", class: "danger" }, "Hang up");
  hangUp.addEventListener("click", async () => {
    if (!window.confirm("Hang up this call for everyone?")) return;
    try {
      await api(`/api/v1/calls/${encodeURIComponent(callId)}`, { method: "DELETE" });
      actionStatus.textContent = "Hung up.";
    } catch (error) {
      actionStatus.textContent = `Not hung up: ${error.message}`;
    }
  });
  detail.append(
    title,
    facts,
    h("div", { class: "actions" }, hangUp, dtmf, h("a", { href: `#/calls/${callId}` }, "Call page")),
    actionStatus,
    guidanceBox,
    feed,
  );
  const view = new TranscriptView(feed, { label: "Live transcript" });
  const guidance = new GuidancePanel(guidanceBox);
  const socket = new WebSocket(wsUrl(`/api/v1/calls/${encodeURIComponent(callId)}/events`, { api_key: adminKey() }));
  socket.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    const call = view.event(event);
    guidance.event(event);
    if (call) {
      facts.textContent = `${call.channel} · ${call.scenario} · ${call.status} · since ${formatTime(call.created_at)}`;
    }
  });
  socket.addEventListener("close", (close) => {
    view.note(close.code === 1000 ? "The call has ended." : `Feed closed: ${close.reason || close.code}`, "status");
    hangUp.disabled = true;
    for (const el of dtmf.elements) el.disabled = true;
  });
  return socket;
}
