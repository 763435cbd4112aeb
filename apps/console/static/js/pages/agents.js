// Agents and scenarios as this replica serves them: version, scenarios with their handoff graphs, agents with
// prompts, tools with their JSON schemas; and Refresh, which shows the diff and the replicas' acks, or every
// validation error with its file and line (the previous version then stays live).

import { api, ApiError } from "../api.js";
import { handoffGraph } from "../charts.js";
import { append, clear, formatTime, h } from "../dom.js";

export async function render(main) {
  const head = h("div", { class: "page-head" });
  const result = h("section", { class: "panel refresh-result", id: "refresh-result", "aria-live": "polite", hidden: true });
  const body = h("div");
  main.append(head, result, body);

  async function load() {
    const registry = await api("/api/v1/registry");
    const refresh = h("button", { type: "button", id: "refresh" }, "Refresh from disk");
    refresh.addEventListener("click", () => doRefresh(refresh));
    clear(head).append(
      h("h1", {}, "Agents and scenarios"),
      h("p", { class: "facts" }, "Version ", h("code", { id: "registry-version" }, registry.version), ` · loaded ${formatTime(registry.loaded_at)}`),
      refresh,
    );
    append(clear(body), [
      h("h2", {}, "Scenarios"),
      registry.scenarios.map((sc) =>
        h(
          "section",
          { class: "panel scenario", "aria-label": `Scenario ${sc.name}` },
          h("h3", {}, sc.name, h("span", { class: "muted" }, ` · starts with ${sc.start_agent}`)),
          sc.description ? h("p", {}, sc.description) : null,
          h("div", { class: "graph-row" }, handoffGraph(sc), handoffList(sc)),
        ),
      ),
      h("h2", {}, "Agents"),
      registry.agents.map((agent) =>
        h(
          "details",
          { class: "panel agent", id: `agent-${agent.name}` },
          h("summary", {}, h("strong", {}, agent.name), agent.description ? ` — ${agent.description}` : "", agent.source ? h("span", { class: "muted" }, ` (${agent.source})`) : null),
          h("p", {}, h("span", { class: "label" }, "Greeting: "), agent.greeting),
          h("p", {}, h("span", { class: "label" }, "Tools: "), agent.tools.length ? agent.tools.join(", ") : "none"),
          agent.handoff_trigger ? h("p", {}, h("span", { class: "label" }, "Reached by: "), h("code", {}, agent.handoff_trigger)) : null,
          h("h4", {}, "Prompt"),
          h("pre", { class: "prompt" }, agent.prompt),
        ),
      ),
      h("h2", {}, "Tools"),
      registry.tools.map((tool) =>
        h(
          "details",
          { class: "panel tool" },
          h("summary", {}, h("code", {}, tool.name), tool.description ? ` — ${tool.description}` : ""),
          tool.examples.length ? h("p", {}, h("span", { class: "label" }, "Examples: "), tool.examples.slice(0, 5).join(" · ")) : null,
          h("pre", {}, JSON.stringify(tool.parameters, null, 2)),
        ),
      ),
    ]);
  }

  async function doRefresh(button) {
    button.disabled = true;
    result.hidden = false;
    clear(result).append(h("p", {}, "Refreshing…"));
    try {
      const outcome = await api("/api/v1/agents/refresh", { method: "POST" });
      append(clear(result), [refreshReport(outcome)]);
      result.className = "panel refresh-result ok";
      await load();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 422) throw error;
      result.className = "panel refresh-result failed";
      clear(result).append(
        h("h2", {}, "Refresh refused: the previous version stays live"),
        h(
          "ul",
          { class: "errors", id: "refresh-errors" },
          (error.body?.errors || []).map((e) => h("li", {}, h("code", { class: "where" }, `${shortPath(e.file)}${e.line ? `:${e.line}` : ""}`), " ", e.field ? h("code", {}, e.field) : null, " ", e.message)),
        ),
      );
    } finally {
      button.disabled = false;
    }
  }

  await load();
}

function shortPath(file) {
  if (!file) return "(registry)";
  const parts = String(file).split("/");
  return parts.slice(-2).join("/");
}

function handoffList(scenario) {
  if (!scenario.handoffs?.length) return h("p", { class: "muted" }, "No handoffs.");
  return h(
    "ul",
    { class: "edges", "aria-label": `Handoffs in ${scenario.name}` },
    scenario.handoffs.map((e) => h("li", {}, `${e.from} → ${e.to}`, h("span", { class: "muted" }, ` (${e.type}${e.tool ? `, ${e.tool}` : ""})`), e.condition ? h("div", { class: "condition" }, e.condition) : null)),
  );
}

function refreshReport(outcome) {
  const changes = [];
  for (const [kind, set] of Object.entries(outcome.changed || {})) {
    for (const what of ["added", "removed", "changed"]) {
      for (const name of set[what] || []) changes.push(h("li", {}, `${kind.replace(/s$/, "")} ${name} ${what}`));
    }
  }
  const replicas = outcome.replicas || { acknowledged: [], missing: [] };
  return [
    h("h2", {}, "Refreshed: ", h("code", {}, outcome.previous_version), " → ", h("code", {}, outcome.version)),
    changes.length ? h("ul", { id: "refresh-diff" }, changes) : h("p", { id: "refresh-diff" }, "Nothing changed."),
    h("h3", {}, "Replicas"),
    h(
      "ul",
      { id: "refresh-replicas" },
      replicas.acknowledged.map((a) => h("li", {}, h("code", {}, a.replica), a.ok ? ` acknowledged ${a.version}` : ` failed: ${a.error || "unknown"}`)),
      replicas.missing.map((m) => h("li", { class: "problem" }, h("code", {}, m), " did not answer")),
    ),
  ];
}
