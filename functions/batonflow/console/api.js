// The Conductor REST API of the same origin, with the stack's auth.
//
// Requests go to "api/..." relative to the page, so the console works at "/" of `baton up` and of an API
// Gateway URL alike. When a request answers 401 the sign-in dialog asks for an application key (exchanged
// at POST api/token for the X-Authorization token, as conductor-python does) or a bearer token (JWT
// stacks), keeps it in sessionStorage for this tab, and the request is sent again.

import { h } from "./dom.js";

const AUTH_KEY = "baton.console.auth";
/** Dispatched on window when the tab signs in or out. */
export const AUTH_EVENT = "baton:auth";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function savedAuth() {
  try {
    return JSON.parse(sessionStorage.getItem(AUTH_KEY) || "null");
  } catch {
    return null;
  }
}

function authHeaders() {
  const auth = savedAuth();
  if (!auth) return {};
  return auth.kind === "bearer"
    ? { Authorization: `Bearer ${auth.token}` }
    : { "X-Authorization": auth.token };
}

async function errorOf(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    return new ApiError(response.status, body.message || text);
  } catch {
    return new ApiError(response.status, text || `${response.status} ${response.statusText}`);
  }
}

/** Sends one request; answers parsed JSON, text, or null (204 / empty body). */
export async function request(method, path, body) {
  for (;;) {
    const headers = { ...authHeaders() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      signOut();
      await signIn((await errorOf(response)).message);
      continue;
    }
    if (!response.ok) throw await errorOf(response);
    const text = await response.text();
    if (!text) return null;
    return (response.headers.get("Content-Type") || "").includes("json") ? JSON.parse(text) : text;
  }
}

const enc = encodeURIComponent;

export const api = {
  search: ({ query, freeText, start = 0, size = 50 }) => {
    const params = new URLSearchParams({ start, size, sort: "startTime:DESC", freeText: freeText || "*" });
    if (query) params.set("query", query);
    return request("GET", `/workflow/search?${params}`);
  },
  workflow: (id) => request("GET", `/workflow/${enc(id)}?includeTasks=true`),
  terminate: (id) =>
    request("DELETE", `/workflow/${enc(id)}?reason=${enc("Terminated from the web console")}`),
  retry: (id) => request("POST", `/workflow/${enc(id)}/retry`),
  restart: (id) => request("POST", `/workflow/${enc(id)}/restart`),
  workflowDefs: () => request("GET", "/metadata/workflow"),
  workflowDef: (name, version) =>
    request("GET", `/metadata/workflow/${enc(name)}${version ? `?version=${enc(version)}` : ""}`),
  taskDefs: () => request("GET", "/metadata/taskdefs"),
  taskLogs: (taskId) => request("GET", `/tasks/${enc(taskId)}/log`),
};

let pending = null;

/** Shows the sign-in dialog once for every request waiting on it; resolves when a token is saved. */
function signIn(reason) {
  pending ??= new Promise((resolve) => {
    const error = h("p", { class: "error", role: "alert" }, reason && !/missing/i.test(reason) ? reason : "");
    const keyId = h("input", { name: "keyId", autocomplete: "username", required: true });
    const keySecret = h("input", {
      name: "keySecret",
      type: "password",
      autocomplete: "current-password",
      required: true,
    });
    const bearer = h("input", { name: "bearer", placeholder: "eyJ…" });
    const done = (auth) => {
      sessionStorage.setItem(AUTH_KEY, JSON.stringify(auth));
      window.dispatchEvent(new Event(AUTH_EVENT));
      dialog.close();
      dialog.remove();
      pending = null;
      resolve();
    };
    const submitKey = async (event) => {
      event.preventDefault();
      const response = await fetch("api/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ keyId: keyId.value.trim(), keySecret: keySecret.value }),
      });
      if (response.ok) done({ kind: "key", token: (await response.json()).token });
      else error.textContent = (await errorOf(response)).message;
    };
    const submitBearer = (event) => {
      event.preventDefault();
      if (bearer.value.trim())
        done({ kind: "bearer", token: bearer.value.trim().replace(/^Bearer\s+/i, "") });
    };
    const dialog = h(
      "dialog",
      { class: "sign-in", id: "sign-in" },
      h("h2", {}, "Sign in to this stack"),
      error,
      h(
        "form",
        { onsubmit: submitKey },
        h("label", {}, "Key id", keyId),
        h("label", {}, "Key secret", keySecret),
        h("button", { type: "submit", class: "primary" }, "Sign in"),
      ),
      h("p", { class: "hint" }, "An application key from ", h("code", {}, "baton keys create"), "."),
      h(
        "form",
        { onsubmit: submitBearer, class: "bearer" },
        h("label", {}, "Or paste a bearer token (JWT stacks)", bearer),
        h("button", { type: "submit" }, "Use token"),
      ),
    );
    dialog.addEventListener("cancel", (event) => event.preventDefault());
    document.body.append(dialog);
    dialog.showModal();
  });
  return pending;
}

export function signOut() {
  sessionStorage.removeItem(AUTH_KEY);
  window.dispatchEvent(new Event(AUTH_EVENT));
}

export function signedIn() {
  return savedAuth() !== null;
}
