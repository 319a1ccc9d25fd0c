// Shared helpers of the panel's pages: the JSON API client, element building (text always via
// textContent, SPEC §12: output escaped), the session and the live event stream.

/** The signed-in user (`GET /api/session`): username, role, extension, groups, csrf_token. */
export const ctx = { session: null };

let stream = null;

/** Calls the JSON API; cookie writes carry the session's CSRF token. */
export async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && ctx.session?.csrf_token) headers["X-CSRF-Token"] = ctx.session.csrf_token;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  return { status: r.status, data };
}

/** A new element with `text` as its textContent and the given attributes. */
export function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** Opens (or reopens) the live event stream; `onEvent` gets each event of `kinds` parsed. */
export function openStream(kinds, onEvent) {
  stream?.close();
  stream = new EventSource("/api/events/stream");
  stream.addEventListener("open", () => document.body.dataset.live = "open");
  for (const kind of kinds) {
    stream.addEventListener(kind, (m) => { try { onEvent(JSON.parse(m.data)); } catch { /* bad frame: skip */ } });
  }
  return stream;
}

/** Closes the live stream (sign-out, page change). */
export function closeStream() { stream?.close(); stream = null; }
