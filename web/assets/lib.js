// Shared helpers of the panel's pages: the JSON API client, element building (text always via
// textContent, SPEC §12: output escaped), the session and the live event stream.

/** The signed-in user (`GET /api/session`): username, role, extension, groups, csrf_token. */
export const ctx = { session: null };

let stream = null;

/** Calls the JSON API; cookie writes carry the session's CSRF token. */
export async function api(method, path, body) {
  // X-Requested-With: a 401 then carries no Basic challenge, so the browser shows no
  // password dialog of its own (the panel has its login form).
  const headers = { "Accept": "application/json", "X-Requested-With": "XMLHttpRequest" };
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

/** A `<label>` holding a caption and a form control (the control keeps its own attributes). */
export function labelled(caption, control) {
  const l = el("label", undefined, { class: "field" });
  l.append(el("span", caption), control);
  return l;
}

/** A form control for an admin-defined field (`{key, label_zh, label_en, type, options}`). */
export function fieldInput(def, value, idPrefix) {
  let input;
  if (def.type === "select") {
    input = el("select");
    input.append(el("option", "", { value: "" }));
    for (const o of def.options ?? []) input.append(el("option", o, { value: o }));
  } else {
    input = el("input", undefined, { type: def.type === "number" ? "number" : def.type === "date" ? "date" : "text" });
  }
  input.name = def.key;
  input.id = `${idPrefix}-${def.key}`;
  if (def.required) input.required = true;
  if (value !== undefined && value !== null) input.value = String(value);
  return input;
}

/** The values of `fieldInput` controls in `form` for `defs`: numbers as numbers, blanks left out. */
export function fieldValues(form, defs) {
  const out = {};
  for (const d of defs) {
    const c = form.elements.namedItem(d.key);
    if (!c || c.value === "") continue;
    out[d.key] = d.type === "number" ? Number(c.value) : c.value;
  }
  return out;
}

/** A local date-time text for UTC milliseconds. */
export function when(ms) { return ms ? new Date(ms).toLocaleString() : ""; }
