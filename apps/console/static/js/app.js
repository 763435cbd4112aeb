// The console's shell: hash routes, the sign-in, and each page's lifetime (a page returns a cleanup that
// closes its sockets and timers when the operator moves on).

import { adminKey, api, setAdminKey, Unauthorized } from "./api.js";
import { clear, errorBox, h } from "./dom.js";
import * as agents from "./pages/agents.js";
import * as callPage from "./pages/call.js";
import * as health from "./pages/health.js";
import * as history from "./pages/history.js";
import * as live from "./pages/live.js";
import * as softphone from "./pages/softphone.js";

const main = document.getElementById("main");
const signOut = document.getElementById("sign-out");
let cleanup = null;
// Each route() is a visit. Pages render asynchronously, so an earlier visit can finish (or be refused) after a
// later one started: its content goes into its own box, and it may neither show the sign-in nor keep a cleanup.
let visit = 0;

const ROUTES = [
  { pattern: /^\/live(?:\/([\w.-]+))?$/, page: live, title: "Live calls", nav: "#/live" },
  { pattern: /^\/calls\/([\w.-]+)$/, page: callPage, title: "Call", nav: "#/calls" },
  { pattern: /^\/calls$/, page: history, title: "Call history", nav: "#/calls" },
  { pattern: /^\/agents$/, page: agents, title: "Agents and scenarios", nav: "#/agents" },
  // The softphone also works with a session of its own (public sessions): it asks for the key only if needed.
  { pattern: /^\/softphone$/, page: softphone, title: "Softphone", nav: "#/softphone", open: true },
  { pattern: /^\/health$/, page: health, title: "Health", nav: "#/health" },
];

function currentRoute() {
  const path = window.location.hash.replace(/^#/, "") || "/live";
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (match) return { route, params: match.slice(1) };
  }
  return null;
}

function markNav(nav) {
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === nav) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

export function showSignIn(message) {
  stopPage();
  visit += 1; // a page still rendering is over
  signOut.hidden = true;
  document.title = "Sign in - Switchboard console";
  const input = h("input", {
    id: "admin-key",
    name: "admin-key",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const status = h("p", { class: "error", role: "alert", id: "sign-in-error" }, message || "");
  const form = h(
    "form",
    { class: "sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    h("p", {}, "The console shows nothing without the admin key (setting ADMIN_API_KEY). It is kept in this tab only."),
    h("label", { for: "admin-key" }, "Admin key"),
    input,
    h("button", { type: "submit" }, "Sign in"),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    try {
      await api("/api/v1/registry", { key: input.value });
      setAdminKey(input.value);
      route();
    } catch (error) {
      status.textContent = error instanceof Unauthorized ? "That key was refused." : `Sign-in failed: ${error.message}`;
    }
  });
  clear(main).append(form);
  input.focus();
}

function stopPage() {
  if (cleanup) {
    try {
      cleanup();
    } catch (error) {
      console.error(error);
    }
  }
  cleanup = null;
}

async function route() {
  stopPage();
  const thisVisit = ++visit;
  const current = () => thisVisit === visit;
  const found = currentRoute();
  if (!found) {
    window.location.hash = "#/live";
    return;
  }
  const { route: r, params } = found;
  markNav(r.nav);
  if (!adminKey() && !r.open) {
    showSignIn();
    return;
  }
  signOut.hidden = !adminKey();
  document.title = `${r.title} - Switchboard console`;
  const box = h("div", { class: "page" });
  clear(main).append(box);
  const onUnauthorized = (message) => {
    if (current()) showSignIn(message);
  };
  let pageCleanup = null;
  try {
    pageCleanup = (await r.page.render(box, params, { onUnauthorized })) || null;
  } catch (error) {
    if (!current()) return;
    if (error instanceof Unauthorized) showSignIn("The admin key was refused: sign in again.");
    else box.append(errorBox(`This page failed: ${error.message}`));
    return;
  }
  if (current()) cleanup = pageCleanup;
  else if (pageCleanup) pageCleanup();
}

signOut.addEventListener("click", () => {
  setAdminKey(null);
  showSignIn();
});
window.addEventListener("hashchange", route);
route();
