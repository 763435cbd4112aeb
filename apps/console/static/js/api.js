// The admin API as the console uses it. The admin key lives in sessionStorage (this tab only, gone when it
// closes) and goes out as X-API-Key, or as ?api_key= on WebSockets (a browser cannot set upgrade headers).

const KEY = "switchboard.adminKey";

export class Unauthorized extends Error {}

export class ApiError extends Error {
  constructor(status, detail, body) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function adminKey() {
  return sessionStorage.getItem(KEY);
}

export function setAdminKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export async function api(path, { method = "GET", body, key = adminKey(), anonymous = false } = {}) {
  const headers = { Accept: "application/json" };
  if (!anonymous) {
    if (!key) throw new Unauthorized("sign in first");
    headers["X-API-Key"] = key;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (response.status === 401 && !anonymous) {
    setAdminKey(null);
    throw new Unauthorized(data?.detail || "the admin key was refused");
  }
  if (!response.ok) throw new ApiError(response.status, data?.detail, data);
  return data;
}

// Binary content (a call recording) with the admin key: null when there is none (404).
export async function blob(path, { key = adminKey() } = {}) {
  if (!key) throw new Unauthorized("sign in first");
  const response = await fetch(path, { headers: { "X-API-Key": key }, cache: "no-store" });
  if (response.status === 404) return null;
  if (response.status === 401) {
    setAdminKey(null);
    throw new Unauthorized("the admin key was refused");
  }
  if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`, null);
  return response.blob();
}

export async function text(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`, null);
  return response.text();
}

export function wsUrl(path, params = {}) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}
