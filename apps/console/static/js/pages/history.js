// Call history: ended calls newest first, searched on the server (id, scenario, channel, caller, end reason)
// and paged with its cursor; below, what calls cost per day and scenario (GET /api/v1/costs/daily).

import { api, Unauthorized } from "../api.js";
import { clear, durationBetween, errorBox, formatDuration, formatTime, h, maskNumber } from "../dom.js";

export async function render(main) {
  const query = h("input", { id: "history-q", name: "q", type: "search", maxlength: 100, placeholder: "scenario, call id, end reason…" });
  const form = h("form", { class: "inline", role: "search" }, h("label", { for: "history-q" }, "Search"), query, h("button", { type: "submit" }, "Search"));
  const body = h("tbody");
  const problem = h("div");
  const more = h("button", { type: "button", hidden: true }, "Older calls");
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Call history"), form),
    h(
      "section",
      { class: "panel" },
      problem,
      h(
        "table",
        { class: "calls", id: "history" },
        h("thead", {}, h("tr", {}, ["Started", "Call", "Channel", "Scenario", "Caller", "Duration", "Outcome"].map((t) => h("th", { scope: "col" }, t)))),
        body,
      ),
      more,
    ),
    await dailyCostPanel(),
  );

  let cursor = null;
  async function load(reset) {
    if (reset) {
      cursor = null;
      clear(body);
    }
    clear(problem);
    try {
      const params = new URLSearchParams({ limit: "20" });
      if (query.value.trim()) params.set("q", query.value.trim());
      if (cursor) params.set("cursor", cursor);
      const page = await api(`/api/v1/call-history?${params}`);
      for (const call of page.calls) {
        body.append(
          h(
            "tr",
            {},
            h("td", {}, formatTime(call.created_at)),
            h("td", {}, h("a", { href: `#/calls/${call.call_id}`, class: "mono" }, call.call_id.slice(0, 12))),
            h("td", {}, call.channel),
            h("td", {}, call.scenario),
            h("td", { class: "mono" }, maskNumber(call.caller)),
            h("td", { class: "num" }, formatDuration(durationBetween(call.created_at, call.ended_at))),
            h("td", {}, call.status === "failed" ? `failed: ${call.end_reason || ""}` : call.end_reason || call.status),
          ),
        );
      }
      if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 7, class: "empty" }, "No ended calls match.")));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      if (error instanceof Unauthorized) throw error;
      problem.append(errorBox(`Could not load calls: ${error.message}`));
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(true);
  });
  more.addEventListener("click", () => load(false));
  await load(true);
}

// Cost totals per UTC day and scenario over the newest calls on record, priced by the table in force.
async function dailyCostPanel() {
  const box = h("section", { class: "panel", id: "daily-cost", "aria-labelledby": "daily-cost-title" }, h("h2", { id: "daily-cost-title" }, "Cost per day"));
  let totals;
  try {
    totals = await api("/api/v1/costs/daily?max_calls=1000");
  } catch (error) {
    if (error instanceof Unauthorized) throw error;
    box.append(errorBox(`Costs unavailable: ${error.message}`));
    return box;
  }
  if (!totals.days.length) {
    box.append(h("p", { class: "muted" }, "No calls on record."));
    return box;
  }
  box.append(
    h("p", { class: "muted" }, `${totals.currency} · prices as of ${totals.prices_as_of} · ${totals.calls_seen} calls${totals.truncated ? " (newest only)" : ""}`),
    h(
      "table",
      { class: "calls compact", "aria-label": "Cost per day and scenario" },
      h("thead", {}, h("tr", {}, ["Day (UTC)", "Scenario", "Calls", "Cost"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        totals.days.map((row) => h("tr", {}, h("td", {}, row.day), h("td", {}, row.scenario), h("td", { class: "num" }, row.calls), h("td", { class: "num" }, money(row.total)))),
      ),
    ),
  );
  return box;
}

function money(value) {
  return Number(value).toFixed(value && Math.abs(value) < 0.01 ? 6 : 4);
}
