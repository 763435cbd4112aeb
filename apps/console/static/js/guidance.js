// Supervisor guidance for a followed call: the latest `guidance` event (checklist status, the caller's tone
// with its confidence, coaching lines, which engine answered) and the intake's result once it completes.

import { clear, formatTime, h } from "./dom.js";

const STATUS = {
  done: { mark: "✓", text: "done" },
  missing: { mark: "○", text: "missing" },
  not_applicable: { mark: "–", text: "n/a" },
};

export class GuidancePanel {
  constructor(container) {
    this.guidance = h("div", { class: "guidance-body" }, h("p", { class: "muted" }, "Waiting for the caller's first turn…"));
    this.intake = h("div", { class: "intake-body" });
    clear(container).append(
      h("section", { class: "guidance", "aria-labelledby": "guidance-title", "aria-live": "polite" }, h("h3", { id: "guidance-title" }, "Guidance"), this.guidance),
      this.intake,
    );
  }

  // One live event; ignores the kinds it does not show.
  event(event) {
    if (event.type === "guidance") this.showGuidance(event.guidance);
    else if (event.type === "intake_complete") this.showIntake(event.intake);
    else if (event.type === "snapshot" && event.call?.intake) this.showIntake(event.call.intake);
  }

  showGuidance(report) {
    const tone = report.tone;
    const items = report.checklist.map((item) => {
      const status = STATUS[item.status] ?? { mark: "?", text: item.status };
      return h(
        "li",
        { class: `check ${item.status}`, dataset: { item: item.id } },
        h("span", { class: "mark", "aria-hidden": "true" }, status.mark),
        h("span", { class: "label-text" }, item.label),
        h("span", { class: "status" }, status.text, item.turn == null ? "" : ` · turn ${item.turn}`),
      );
    });
    clear(this.guidance).append(
      h(
        "p",
        { class: "tone-line" },
        h("span", { class: "label" }, "Caller tone "),
        h("span", { class: `tone ${tone.tone}`, id: "guidance-tone" }, tone.tone),
        h("span", { class: "muted" }, ` ${Math.round(tone.confidence * 100)}% sure · ${report.engine} · ${report.turns_read} turns read`),
      ),
      items.length ? h("ul", { class: "checklist", "aria-label": "Checklist" }, items) : h("p", { class: "muted" }, "No checklist."),
      report.coaching.length ? h("ul", { class: "coaching", "aria-label": "Coaching" }, report.coaching.map((line) => h("li", {}, line))) : null,
    );
  }

  showIntake(intake) {
    const rows = Object.entries(intake.fields).map(([name, value]) =>
      h("tr", {}, h("th", { scope: "row" }, name.replaceAll("_", " ")), h("td", {}, Array.isArray(value) ? value.join(", ") : String(value))),
    );
    clear(this.intake).append(
      h(
        "section",
        { class: "intake", "aria-labelledby": "intake-title" },
        h("h3", { id: "intake-title" }, `Intake complete: ${intake.form}`),
        h("p", { class: "muted" }, `Recorded by ${intake.agent || "the agent"} at turn ${intake.turn_seq} · ${formatTime(intake.completed_at)}`),
        h("table", { class: "calls compact" }, h("tbody", {}, rows)),
      ),
    );
  }
}
