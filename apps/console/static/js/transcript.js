// A call's live feed as a list: transcript turns of both sides (by seq, so a turn seen twice is shown once),
// tool calls with their latency, handoffs, barge-ins and status changes, in the order they arrive.
// A handoff also shows where no agent_changed event says so (a snapshot, a stored transcript): a final agent
// turn by another agent than the previous one is one.

import { clear, h } from "./dom.js";

const CHANGE_LABELS = {
  connected: "Call connected",
  media_started: "Audio connected",
  media_ended: "Audio ended",
  transferring: "Transferring",
  ended: "Call ended",
  failed: "Call failed",
};
const KIND_LABELS = { speech: "", dtmf: "keys", greeting: "greeting", reprompt: "reprompt", holding: "holding" };

export class TranscriptView {
  constructor(container, { label = "Transcript" } = {}) {
    this.list = h("ol", { class: "feed", "aria-label": label, "aria-live": "polite" });
    this.turns = new Map();
    this.partials = new Map(); // speaker -> the item of the turn still in progress
    this.agent = null; // the agent of the last final agent turn (or the last handoff's target)
    clear(container).append(this.list);
  }

  turnItem(turn) {
    const who = turn.speaker === "caller" ? "Caller" : turn.agent || "Agent";
    const kind = KIND_LABELS[turn.kind] ?? turn.kind;
    return h(
      "li",
      { class: `turn ${turn.speaker}${turn.interrupted ? " interrupted" : ""}`, dataset: turn.seq == null ? null : { seq: turn.seq } },
      h("span", { class: "who" }, who, kind ? h("span", { class: "kind" }, ` · ${kind}`) : null),
      h("span", { class: "text" }, turn.text || "…"),
      turn.interrupted ? h("span", { class: "tag", title: "The caller talked over this reply (or the call ended)" }, "cut short") : null,
    );
  }

  turn(turn) {
    if (turn.final === false) {
      this.partial(turn);
      return;
    }
    const inProgress = this.partials.get(turn.speaker);
    if (inProgress) {
      inProgress.remove();
      this.partials.delete(turn.speaker);
    }
    if (turn.speaker === "agent" && turn.agent) {
      if (this.agent && turn.agent !== this.agent && !this.turns.has(turn.seq)) this.handoff(this.agent, turn.agent);
      this.agent = turn.agent;
    }
    const item = this.turnItem(turn);
    const existing = this.turns.get(turn.seq);
    if (existing) existing.replaceWith(item);
    else this.place(item);
    this.turns.set(turn.seq, item);
    this.scroll();
  }

  // A turn still in progress (words recognised so far, the reply so far): replaced until its final chunk.
  partial(turn) {
    const item = this.turnItem(turn);
    item.classList.add("partial");
    item.setAttribute("aria-live", "off");
    const existing = this.partials.get(turn.speaker);
    if (existing) existing.replaceWith(item);
    else this.list.append(item);
    this.partials.set(turn.speaker, item);
    this.scroll();
  }

  // What is over (a final turn, a tool call, a handoff) goes above what is still being said: the agent may
  // start its reply before the caller's words are final, and a tool runs while the reply is in progress.
  place(item) {
    const inProgress = this.list.querySelector(":scope > .partial");
    if (inProgress) this.list.insertBefore(item, inProgress);
    else this.list.append(item);
  }

  handoff(from, to) {
    this.agent = to;
    this.note(`Handoff: ${from} → ${to}`, "handoff");
  }

  note(text, kind = "note") {
    this.place(h("li", { class: `note ${kind}` }, text));
    this.scroll();
  }

  scroll() {
    this.list.scrollTop = this.list.scrollHeight;
  }

  // One live event (as on /calls/{id}/events and the voice socket); returns the call summary on a snapshot.
  event(event) {
    switch (event.type) {
      case "snapshot":
        for (const turn of event.transcript || []) this.turn(turn);
        return event.call;
      case "transcript_chunk":
        this.turn(event);
        break;
      case "tool_called":
        this.note(`Tool ${event.name} ${event.ok ? "ok" : "failed"} in ${Math.round(event.duration_ms)} ms`, "tool");
        break;
      case "agent_changed":
        if (this.agent !== event.to) this.handoff(event.from, event.to); // not already seen in a turn
        break;
      case "status_update":
        this.note(`${CHANGE_LABELS[event.change] || `Status: ${event.status}`}${event.end_reason ? ` (${event.end_reason})` : ""}`, "status");
        break;
      case "error":
        this.note(`Error from ${event.source}: ${event.message}`, "problem");
        break;
      case "clear":
        this.note("Caller barged in: agent audio stopped", "barge-in");
        break;
      default:
        break;
    }
    return null;
  }
}
