// IVR flows (IVR流程设置): the list of flows and an editor for a flow's node graph (SPEC §3).
// A flow is `{name, entry, nodes: {id: {id, type, …}}}` (src/core/ivr/flow.rs); each node is a
// card with its parameters as labelled controls, prompts chosen from the approved prompts of the
// voice library and edges chosen from the flow's nodes; an SVG overview is drawn from the same
// state. The API validates the whole flow and stores it or nothing; its refusals (`errors`, each
// naming a `node` and, for edges, an `edge`) are shown next to that node's field.
// Stable ids: #ivr-list, table#ivr-flows, #ivr-new, #ivr-form, #ivr-name, #ivr-entry,
// #ivr-new-id, #ivr-new-type, #ivr-add-node, #ivr-nodes, section.ivr-node[data-node=<id>],
// #ivr-graph, #ivr-save, #ivr-error, #ivr-status; inside a card, controls are named after the
// JSON field and error slots carry data-field=<field> (menu choices: data-field="choices[<key>]").
import { t } from "../i18n.js";
import { api, el, when } from "../lib.js";
import { COMMON, button, table } from "./form.js";

const KINDS = ["play", "menu", "collect", "time_condition", "transfer", "voicemail", "survey", "set_var", "hangup"];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const TARGETS = ["group", "extension", "external"];
const SVG = "http://www.w3.org/2000/svg";
/** Which node fields hold prompts (required ones first) and which hold edges. */
const PROMPT_FIELDS = ["prompt", "invalid_prompt", "timeout_prompt"];

/** A new node of `type` with the model's defaults (flow.rs `default_*`). */
function blank(id, type, keep = {}) {
  const next = keep.next ?? "";
  switch (type) {
    case "play": return { id, type, prompt: keep.prompt ?? "", barge_in: false, next };
    case "menu": return { id, type, prompt: keep.prompt ?? "", choices: [], timeout_ms: 5000, retries: 2, invalid_prompt: "", timeout_prompt: "", fallback: keep.fallback ?? "" };
    case "collect": return { id, type, prompt: keep.prompt ?? "", var: "", min_len: 1, max_len: 4, terminator: "#", timeout_ms: 5000, retries: 2, invalid_prompt: "", next, fallback: keep.fallback ?? "" };
    case "time_condition": return { id, type, windows: [], in_time: "", out_of_time: "" };
    case "transfer": return { id, type, target_kind: "group", target_value: "" };
    case "voicemail": return { id, type, mailbox: "" };
    case "survey": return { id, type, prompt: keep.prompt ?? "", max: 5, timeout_ms: 5000, retries: 2, invalid_prompt: "", next, fallback: keep.fallback ?? "" };
    case "set_var": return { id, type, name: "", value: "", next };
    default: return { id, type: "hangup" };
  }
}

/** The API's node JSON → the editor's node (choices as rows, the transfer target split). */
function fromJson(n) {
  const e = { ...blank(n.id, n.type), ...n };
  if (n.type === "menu") e.choices = Object.entries(n.choices ?? {}).map(([digit, target]) => ({ digit, target }));
  if (n.type === "transfer") {
    const [kind, value] = Object.entries(n.target ?? { group: "" })[0] ?? ["group", ""];
    e.target_kind = kind;
    e.target_value = value;
    delete e.target;
  }
  if (n.type === "time_condition") e.windows = (n.windows ?? []).map((w) => ({ ...w, weekdays: [...w.weekdays] }));
  for (const f of PROMPT_FIELDS) if (f in e && e[f] === null) e[f] = "";
  if ("terminator" in e && e.terminator === null) e.terminator = "";
  return e;
}

/** The editor's node → the API's node JSON (blank optional prompts become null). */
function toJson(e) {
  const n = { ...e };
  if (e.type === "menu") n.choices = Object.fromEntries(e.choices.map((c) => [c.digit, c.target]));
  if (e.type === "transfer") { n.target = { [e.target_kind]: e.target_value.trim() }; delete n.target_kind; delete n.target_value; }
  for (const f of ["invalid_prompt", "timeout_prompt"]) if (f in n && n[f] === "") n[f] = null;
  // A cleared number falls back to the model's default.
  for (const k of ["timeout_ms", "retries", "min_len", "max"]) if (n[k] === "") delete n[k];
  if (e.type === "collect") {
    if (n.prompt === "") n.prompt = null;
    n.terminator = n.terminator === "" ? null : n.terminator;
  }
  return n;
}

/** The node's outgoing edges as [field, label, target] (the order of flow.rs `edges`). */
function edges(n) {
  switch (n.type) {
    case "play": case "set_var": return [["next", "", n.next]];
    case "menu": return [...n.choices.map((c) => [`choices[${c.digit}]`, c.digit, c.target]), ["fallback", t("ivr.edge.fallback"), n.fallback]];
    case "collect": case "survey": return [["next", "", n.next], ["fallback", t("ivr.edge.fallback"), n.fallback]];
    case "time_condition": return [["in_time", t("ivr.in_time"), n.in_time], ["out_of_time", t("ivr.out_of_time"), n.out_of_time]];
    default: return [];
  }
}

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The flow's overview: columns by distance from the start node, arrows for every edge. */
function drawGraph(host, flow, onPick) {
  const ids = Object.keys(flow.nodes);
  const depth = new Map();
  const queue = flow.nodes[flow.entry] ? [flow.entry] : [];
  if (queue.length) depth.set(flow.entry, 0);
  while (queue.length) {
    const id = queue.shift();
    for (const [, , to] of edges(flow.nodes[id])) {
      if (flow.nodes[to] && !depth.has(to)) { depth.set(to, depth.get(id) + 1); queue.push(to); }
    }
  }
  const lost = Math.max(-1, ...depth.values()) + 1;
  for (const id of ids) if (!depth.has(id)) depth.set(id, lost);
  const W = 150, H = 44, GX = 70, GY = 26, PAD = 16;
  const rows = new Map();
  const pos = new Map();
  for (const id of ids) {
    const d = depth.get(id);
    const r = rows.get(d) ?? 0;
    rows.set(d, r + 1);
    pos.set(id, { x: PAD + d * (W + GX), y: PAD + r * (H + GY) });
  }
  const cols = Math.max(1, ...[...rows.keys()].map((d) => d + 1));
  const height = Math.max(1, ...rows.values()) * (H + GY) + PAD * 2;
  const g = svg("svg", { id: "ivr-graph", class: "ivr-graph", width: cols * (W + GX) + PAD, height, viewBox: `0 0 ${cols * (W + GX) + PAD} ${height}`, role: "img", "aria-label": t("ivr.graph") });
  const defs = svg("defs");
  const marker = svg("marker", { id: "ivr-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "ivr-arrow-head" }));
  defs.append(marker);
  g.append(defs);
  for (const id of ids) {
    const a = pos.get(id);
    for (const [field, label, to] of edges(flow.nodes[id])) {
      const b = pos.get(to);
      if (!b) continue;
      const x1 = a.x + W, y1 = a.y + H / 2;
      let x2 = b.x, y2 = b.y + H / 2;
      if (b.x <= a.x) { x2 = b.x + W / 2; y2 = b.y + (b.y > a.y ? 0 : H); }
      g.append(svg("line", { x1, y1, x2, y2, class: "ivr-edge", "marker-end": "url(#ivr-arrow)", "data-from": id, "data-to": to, "data-field": field }));
      if (label) g.append(svg("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 4, class: "ivr-edge-label", "text-anchor": "middle" }, label));
    }
  }
  for (const id of ids) {
    const { x, y } = pos.get(id);
    const box = svg("g", { class: `ivr-box${id === flow.entry ? " entry" : ""}${depth.get(id) === lost && id !== flow.entry ? " lost" : ""}`, "data-node": id, tabindex: 0 });
    box.append(svg("rect", { x, y, width: W, height: H, rx: 6 }));
    box.append(svg("text", { x: x + 8, y: y + 18, class: "ivr-box-id" }, id.length > 18 ? id.slice(0, 17) + "…" : id));
    box.append(svg("text", { x: x + 8, y: y + 35, class: "ivr-box-type" }, t(`ivr.type.${flow.nodes[id].type}`)));
    box.addEventListener("click", () => onPick(id));
    g.append(box);
  }
  host.replaceChildren(g);
}

/** A labelled control with its error slot (`data-field`, id `ivr-err:<node>:<field>`). */
function field(node, name, control, caption = t(`ivr.${name}`)) {
  const row = el("div", undefined, { class: "field" });
  const id = `ivr-in:${node.id}:${name}`;
  control.id = id;
  control.name = name;
  row.append(el("label", caption, { for: id }), control, el("span", "", { class: "error", "data-field": name, id: `ivr-err:${node.id}:${name}` }));
  return row;
}

async function render(view) {
  view.append(el("h1", t("nav.ivrflows")));
  const list = el("div", undefined, { id: "ivr-list" });
  const listError = el("p", "", { class: "error", id: "ivr-list-error", role: "alert" });
  const host = el("div", undefined, { id: "ivr-editor" });
  view.append(list, listError, host);
  const [p, gr] = await Promise.all([api("GET", "/api/prompts"), api("GET", "/api/skill-groups")]);
  const approved = p.status === 200 ? p.data.items.filter((x) => x.status === "approved") : [];
  const groups = gr.status === 200 ? gr.data.items.map((g) => g.name) : [];

  let names = [];
  const taken = () => names;
  const reload = async () => {
    list.replaceChildren();
    listError.textContent = "";
    const r = await api("GET", "/api/ivr-flows");
    if (r.status !== 200) { listError.textContent = r.data.message || String(r.status); return; }
    names = r.data.items.map((f) => f.name);
    const rows = r.data.items.map((f) => {
      const actions = el("span");
      const edit = button("edit", { class: "edit", "data-flow": f.name });
      edit.addEventListener("click", async () => {
        const x = await api("GET", `/api/ivr-flows/${encodeURIComponent(f.name)}`);
        if (x.status === 200) editor(host, x.data, { approved, groups, reload, existing: true, taken });
        else listError.textContent = x.data.message || String(x.status);
      });
      const del = button("delete", { class: "delete", "data-flow": f.name });
      del.addEventListener("click", async () => {
        const x = await api("DELETE", `/api/ivr-flows/${encodeURIComponent(f.name)}`);
        if (x.status === 200) { if (host.querySelector("#ivr-form")?.dataset.flow === f.name) host.replaceChildren(); await reload(); }
        else listError.textContent = x.data.message || String(x.status);
      });
      actions.append(edit, del);
      return [f.name, f.version, when(f.updated_at_ms), actions];
    });
    list.append(table("ivr-flows", ["ivr.flow", "ivr.version", "ivr.updated", ""], rows));
    const add = button("ivr.new", { id: "ivr-new" });
    add.addEventListener("click", () => editor(host, { name: "", entry: "", nodes: {} }, { approved, groups, reload, existing: false, taken }));
    list.append(add);
    if (!approved.length) list.append(el("p", t("ivr.no_prompts"), { class: "hint", id: "ivr-no-prompts" }));
  };
  await reload();
}

/** The editor for one flow (`data` as the API returns it). */
function editor(host, data, { approved, groups, reload, existing, taken }) {
  const flow = { name: data.name, entry: data.entry, nodes: {} };
  for (const n of Object.values(data.nodes ?? {})) flow.nodes[n.id] = fromJson(n);
  const form = el("form", undefined, { id: "ivr-form", class: "ivr-form" });
  form.dataset.flow = flow.name;
  form.addEventListener("submit", (e) => e.preventDefault());
  form.append(el("h2", existing ? `${t("ivr.flow")} ${flow.name}` : t("ivr.new")));

  const head = el("div", undefined, { class: "ivr-head" });
  const name = el("input", undefined, { id: "ivr-name", name: "name", type: "text", maxlength: 64 });
  name.value = flow.name;
  name.readOnly = existing;
  const entry = el("select", undefined, { id: "ivr-entry", name: "entry" });
  for (const [id, caption, control] of [["ivr-name", "ivr.name", name], ["ivr-entry", "ivr.entry", entry]]) {
    const row = el("div", undefined, { class: "field" });
    row.append(el("label", t(caption), { for: id }), control, el("span", "", { class: "error", id: `${id === "ivr-name" ? "ivr-error-name" : "ivr-error-entry"}` }));
    head.append(row);
  }
  form.append(head);

  const adder = el("fieldset", undefined, { class: "ivr-adder" });
  adder.append(el("legend", t("ivr.add_node")));
  const newId = el("input", undefined, { id: "ivr-new-id", type: "text", placeholder: t("ivr.node_id"), "aria-label": t("ivr.node_id") });
  const newType = el("select", undefined, { id: "ivr-new-type", "aria-label": t("ivr.type") });
  for (const k of KINDS) newType.append(el("option", t(`ivr.type.${k}`), { value: k }));
  const addBtn = button("ivr.add_node", { id: "ivr-add-node" });
  const addErr = el("span", "", { class: "error", id: "ivr-error-new" });
  adder.append(newId, newType, addBtn, addErr);
  form.append(adder);

  const graphHost = el("div", undefined, { class: "ivr-graph-host" });
  const nodes = el("div", undefined, { id: "ivr-nodes", class: "ivr-nodes" });
  form.append(el("h3", t("ivr.graph")), graphHost, el("h3", t("ivr.nodes")), nodes);
  const save = button("save", { id: "ivr-save" });
  const status = el("span", "", { class: "status", id: "ivr-status", role: "status" });
  form.append(save, status, el("p", "", { class: "error", id: "ivr-error", role: "alert" }));

  const pick = (id) => {
    const card = nodes.querySelector(`section.ivr-node[data-node="${CSS.escape(id)}"]`);
    card?.scrollIntoView({ block: "center" });
    card?.querySelector("select, input")?.focus();
  };
  const redraw = () => drawGraph(graphHost, flow, pick);
  const fillEntry = () => {
    entry.replaceChildren(el("option", t("ivr.choose"), { value: "" }));
    for (const id of Object.keys(flow.nodes)) entry.append(el("option", id, { value: id }));
    if (flow.entry && !flow.nodes[flow.entry]) entry.append(el("option", `${flow.entry} (${t("ivr.missing")})`, { value: flow.entry }));
    entry.value = flow.entry;
  };
  entry.addEventListener("change", () => { flow.entry = entry.value; rebuild(); });

  /** A select of prompts: approved ones, plus the current value if it is no longer approved. */
  const promptSelect = (value, optional) => {
    const s = el("select");
    s.append(el("option", optional ? t("ivr.none") : t("ivr.choose"), { value: "" }));
    for (const a of approved) s.append(el("option", a.name, { value: a.id }));
    if (value && !approved.some((a) => a.id === value)) s.append(el("option", `${value} (${t("ivr.not_approved")})`, { value }));
    s.value = value ?? "";
    return s;
  };
  /** A select of the flow's nodes, plus the current value if that node is gone. */
  const nodeSelect = (value) => {
    const s = el("select");
    s.append(el("option", t("ivr.choose"), { value: "" }));
    for (const id of Object.keys(flow.nodes)) s.append(el("option", id, { value: id }));
    if (value && !flow.nodes[value]) s.append(el("option", `${value} (${t("ivr.missing")})`, { value }));
    s.value = value ?? "";
    return s;
  };
  const bind = (node, key, control, convert = (v) => v) => {
    const ev = control.tagName === "SELECT" || control.type === "checkbox" ? "change" : "input";
    control.addEventListener(ev, () => {
      node[key] = control.type === "checkbox" ? control.checked : convert(control.value);
      redraw();
    });
    return control;
  };
  const num = (node, key) => {
    const i = el("input", undefined, { type: "number", min: 0 });
    i.value = node[key];
    return bind(node, key, i, (v) => (v === "" ? "" : Number(v)));
  };
  const text = (node, key) => {
    const i = el("input", undefined, { type: "text" });
    i.value = node[key] ?? "";
    return bind(node, key, i);
  };

  const params = (node) => {
    const box = el("div", undefined, { class: "ivr-params" });
    const add = (name, control, caption) => box.append(field(node, name, control, caption));
    const prompt = (key, optional) => add(key, bind(node, key, promptSelect(node[key], optional)));
    const target = (key) => add(key, bind(node, key, nodeSelect(node[key])));
    switch (node.type) {
      case "play": {
        prompt("prompt", false);
        const b = el("input", undefined, { type: "checkbox" });
        b.checked = Boolean(node.barge_in);
        add("barge_in", bind(node, "barge_in", b));
        target("next");
        break;
      }
      case "menu": {
        prompt("prompt", false);
        const choices = el("table", undefined, { class: "ivr-choices" });
        const headRow = el("tr");
        for (const k of ["ivr.digit", "ivr.goto", ""]) headRow.append(el("th", k ? t(k) : ""));
        choices.append(headRow);
        for (const c of node.choices) choices.append(choiceRow(node, c));
        const addChoice = button("ivr.add_choice", { class: "add-choice" });
        addChoice.addEventListener("click", () => {
          const used = new Set(node.choices.map((c) => c.digit));
          const c = { digit: [..."1234567890*#"].find((d) => !used.has(d)) ?? "", target: "" };
          node.choices.push(c);
          choices.append(choiceRow(node, c));
          redraw();
        });
        const wrap = el("div", undefined, { class: "field" });
        wrap.append(el("span", t("ivr.choices")), choices, addChoice, el("span", "", { class: "error", "data-field": "choices", id: `ivr-err:${node.id}:choices` }));
        box.append(wrap);
        add("timeout_ms", num(node, "timeout_ms"));
        add("retries", num(node, "retries"));
        prompt("invalid_prompt", true);
        prompt("timeout_prompt", true);
        target("fallback");
        break;
      }
      case "collect":
        prompt("prompt", true);
        add("var", text(node, "var"));
        add("min_len", num(node, "min_len"));
        add("max_len", num(node, "max_len"));
        add("terminator", text(node, "terminator"));
        add("timeout_ms", num(node, "timeout_ms"));
        add("retries", num(node, "retries"));
        prompt("invalid_prompt", true);
        target("next");
        target("fallback");
        break;
      case "survey":
        prompt("prompt", false);
        add("max", num(node, "max"));
        add("timeout_ms", num(node, "timeout_ms"));
        add("retries", num(node, "retries"));
        prompt("invalid_prompt", true);
        target("next");
        target("fallback");
        break;
      case "time_condition": {
        const wrap = el("div", undefined, { class: "field" });
        const rows = el("div", undefined, { class: "ivr-windows" });
        const draw = () => {
          rows.replaceChildren();
          if (!node.windows.length) rows.append(el("p", t("ivr.windows_default"), { class: "hint" }));
          node.windows.forEach((w, i) => rows.append(windowRow(node, w, i, draw)));
        };
        draw();
        const addW = button("ivr.add_window", { class: "add-window" });
        addW.addEventListener("click", () => { node.windows.push({ weekdays: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "18:00" }); draw(); });
        wrap.append(el("span", t("ivr.windows")), rows, addW, el("span", "", { class: "error", "data-field": "windows", id: `ivr-err:${node.id}:windows` }));
        box.append(wrap);
        target("in_time");
        target("out_of_time");
        break;
      }
      case "transfer": {
        const kind = el("select");
        for (const k of TARGETS) kind.append(el("option", t(`ivr.target.${k}`), { value: k }));
        kind.value = node.target_kind;
        add("target_kind", bind(node, "target_kind", kind));
        const value = el("input", undefined, { type: "text", list: `ivr-groups-${node.id}` });
        value.value = node.target_value;
        const dl = el("datalist", undefined, { id: `ivr-groups-${node.id}` });
        for (const g of groups) dl.append(el("option", undefined, { value: g }));
        add("target_value", bind(node, "target_value", value));
        box.append(dl);
        break;
      }
      case "voicemail":
        add("mailbox", text(node, "mailbox"));
        break;
      case "set_var":
        add("name", text(node, "name"), t("ivr.var_name"));
        add("value", text(node, "value"));
        target("next");
        break;
      default:
        box.append(el("p", t("ivr.hangup_hint"), { class: "hint" }));
    }
    return box;
  };

  const choiceRow = (node, c) => {
    const tr = el("tr", undefined, { class: "choice" });
    const digit = el("input", undefined, { type: "text", name: "digit", maxlength: 1, size: 2, "aria-label": t("ivr.digit") });
    digit.value = c.digit;
    const slot = el("span", "", { class: "error", "data-field": `choices[${c.digit}]`, id: `ivr-err:${node.id}:choices[${c.digit}]` });
    digit.addEventListener("input", () => {
      c.digit = digit.value.trim();
      slot.dataset.field = `choices[${c.digit}]`;
      slot.id = `ivr-err:${node.id}:choices[${c.digit}]`;
      redraw();
    });
    const to = nodeSelect(c.target);
    to.name = "target";
    to.setAttribute("aria-label", t("ivr.goto"));
    to.addEventListener("change", () => { c.target = to.value; redraw(); });
    const rm = button("ivr.remove", { class: "remove-choice" });
    rm.addEventListener("click", () => { node.choices.splice(node.choices.indexOf(c), 1); tr.remove(); redraw(); });
    for (const cell of [digit, to, [rm, slot]]) {
      const td = el("td");
      td.append(...[cell].flat());
      tr.append(td);
    }
    return tr;
  };

  const windowRow = (node, w, i, draw) => {
    const row = el("div", undefined, { class: "ivr-window" });
    for (const d of DAYS) {
      const id = `ivr-win:${node.id}:${i}:${d}`;
      const c = el("input", undefined, { type: "checkbox", id, value: d, name: "weekdays" });
      c.checked = w.weekdays.includes(d);
      c.addEventListener("change", () => { w.weekdays = DAYS.filter((x) => x === d ? c.checked : w.weekdays.includes(x)); });
      row.append(c, el("label", t(`day.${d}`), { for: id }));
    }
    for (const k of ["start", "end"]) {
      const inp = el("input", undefined, { type: "text", name: k, size: 5, placeholder: "HH:MM", "aria-label": t(`hours.${k}`) });
      inp.value = w[k];
      inp.addEventListener("input", () => { w[k] = inp.value.trim(); });
      row.append(inp);
    }
    const rm = button("ivr.remove", { class: "remove-window" });
    rm.addEventListener("click", () => { node.windows.splice(i, 1); draw(); });
    row.append(rm);
    return row;
  };

  const card = (node) => {
    const sec = el("section", undefined, { class: "ivr-node", "data-node": node.id, "data-type": node.type });
    const top = el("div", undefined, { class: "ivr-node-head" });
    top.append(el("strong", node.id, { class: "ivr-node-id" }));
    if (node.id === flow.entry) top.append(el("span", t("ivr.start"), { class: "ivr-start-badge" }));
    const type = el("select", undefined, { name: "type", "aria-label": t("ivr.type") });
    for (const k of KINDS) type.append(el("option", t(`ivr.type.${k}`), { value: k }));
    type.value = node.type;
    type.addEventListener("change", () => { flow.nodes[node.id] = blank(node.id, type.value, node); rebuild(); });
    const setEntry = button("ivr.set_start", { class: "set-entry" });
    setEntry.disabled = node.id === flow.entry;
    setEntry.addEventListener("click", () => { flow.entry = node.id; rebuild(); });
    const rm = button("ivr.remove_node", { class: "remove-node" });
    rm.addEventListener("click", () => { delete flow.nodes[node.id]; rebuild(); });
    top.append(type, setEntry, rm);
    sec.append(top, el("p", "", { class: "error node-error", "data-field": "", id: `ivr-err:${node.id}:` }), params(node));
    return sec;
  };

  const rebuild = () => {
    fillEntry();
    nodes.replaceChildren(...Object.values(flow.nodes).map(card));
    redraw();
  };

  addBtn.addEventListener("click", () => {
    addErr.textContent = "";
    const id = newId.value.trim();
    if (!id) { addErr.textContent = t("required"); return; }
    if (flow.nodes[id]) { addErr.textContent = t("ivr.duplicate"); return; }
    flow.nodes[id] = blank(id, newType.value);
    if (!flow.entry) flow.entry = id;
    newId.value = "";
    rebuild();
  });

  const clear = () => {
    for (const e of form.querySelectorAll(".error")) e.textContent = "";
    for (const s of form.querySelectorAll("section.ivr-node.bad")) s.classList.remove("bad");
    status.textContent = "";
  };
  const slot = (node, fieldName) => document.getElementById(`ivr-err:${node}:${fieldName}`) ?? document.getElementById(`ivr-err:${node}:`);
  const put = (s, msg) => { if (s) s.textContent = s.textContent ? `${s.textContent}; ${msg}` : msg; };
  /** Places one item of the API's `errors` next to the node field it names. */
  const place = (item) => {
    const node = item.node;
    if (item.kind === "empty_name") return put(form.querySelector("#ivr-error-name"), item.problem);
    if (item.kind === "missing_entry") return put(form.querySelector("#ivr-error-entry"), item.problem);
    if (node === null || node === undefined || !flow.nodes[node]) return put(form.querySelector("#ivr-error"), item.problem);
    form.querySelector(`section.ivr-node[data-node="${CSS.escape(node)}"]`)?.classList.add("bad");
    let f = "";
    if (item.kind === "dangling_edge") f = item.edge;
    else if (item.kind === "unapproved_prompt") f = PROMPT_FIELDS.find((k) => (flow.nodes[node][k] ?? "") === item.prompt) ?? "";
    else if (item.kind === "bad_param") {
      const w = String(item.why ?? "");
      const first = w.split(" ")[0];
      f = first in flow.nodes[node] ? first : /choice/.test(w) ? "choices" : /variable/.test(w) ? "var" : "";
    }
    put(slot(node, f), item.problem);
  };

  save.addEventListener("click", async () => {
    clear();
    const key = name.value.trim();
    if (!key) { form.querySelector("#ivr-error-name").textContent = t("required"); return; }
    // A new flow must not replace an existing one of the same name (PUT would overwrite it).
    if (!name.readOnly && taken().includes(key)) { form.querySelector("#ivr-error-name").textContent = t("ivr.exists"); return; }
    // Keys of a menu must be one DTMF key each and distinct: JSON object keys cannot say so.
    let bad = false;
    for (const n of Object.values(flow.nodes)) {
      if (n.type !== "menu") continue;
      const seen = new Set();
      for (const c of n.choices) {
        if (!/^[0-9*#A-D]$/.test(c.digit) || seen.has(c.digit)) {
          put(slot(n.id, `choices[${c.digit}]`), t("ivr.bad_digit"));
          bad = true;
        }
        seen.add(c.digit);
      }
    }
    if (bad) { form.querySelector("#ivr-error").textContent = t("ivr.fix"); return; }
    const body = { name: key, entry: flow.entry, nodes: Object.fromEntries(Object.values(flow.nodes).map((n) => [n.id, toJson(n)])) };
    const r = await api("PUT", `/api/ivr-flows/${encodeURIComponent(key)}`, body);
    if (r.status === 200 || r.status === 201) {
      flow.name = key;
      form.dataset.flow = key;
      form.dataset.saved = key;
      form.dataset.version = String(r.data.version);
      name.readOnly = true;
      status.textContent = `${t("ivr.saved")} ${r.data.version}`;
      await reload();
      return;
    }
    form.querySelector("#ivr-error").textContent = r.data?.message || String(r.status);
    if (Array.isArray(r.data?.errors)) for (const item of r.data.errors) place(item);
    else if (r.data?.field === "name") put(form.querySelector("#ivr-error-name"), r.data.message);
  });

  host.replaceChildren(form);
  rebuild();
  (existing ? nodes : name).scrollIntoView?.({ block: "nearest" });
}

const DAY_LABELS = {
  "zh-CN": { "day.mon": "周一", "day.tue": "周二", "day.wed": "周三", "day.thu": "周四", "day.fri": "周五", "day.sat": "周六", "day.sun": "周日", "hours.start": "开始", "hours.end": "结束" },
  en: { "day.mon": "Mon", "day.tue": "Tue", "day.wed": "Wed", "day.thu": "Thu", "day.fri": "Fri", "day.sat": "Sat", "day.sun": "Sun", "hours.start": "Start", "hours.end": "End" },
};

const dict = {
  "zh-CN": {
    ...COMMON["zh-CN"], ...DAY_LABELS["zh-CN"],
    "nav.ivrflows": "IVR流程设置", "ivr.flow": "IVR流程", "ivr.version": "版本", "ivr.updated": "更新时间", "ivr.new": "新建IVR流程",
    "ivr.name": "流程名称", "ivr.entry": "起始节点", "ivr.add_node": "添加节点", "ivr.node_id": "节点编号", "ivr.type": "节点类型",
    "ivr.graph": "流程图", "ivr.nodes": "节点", "ivr.choose": "— 请选择 —", "ivr.none": "（无）", "ivr.missing": "不存在",
    "ivr.not_approved": "未审核通过", "ivr.start": "起始", "ivr.set_start": "设为起始节点", "ivr.remove_node": "删除节点",
    "ivr.remove": "移除", "ivr.duplicate": "节点编号已存在", "ivr.exists": "已有同名流程，请换一个名称或编辑该流程", "ivr.saved": "已保存，版本", "ivr.fix": "请先修正标出的错误",
    "ivr.bad_digit": "按键须为 0-9、*、# 或 A-D 中的一个，且不可重复",
    "ivr.no_prompts": "语音库中还没有审核通过的语音；放音和按键导航节点需要审核通过的语音。",
    "ivr.type.play": "放音", "ivr.type.menu": "按键导航", "ivr.type.collect": "收号", "ivr.type.time_condition": "时间条件",
    "ivr.type.transfer": "转接", "ivr.type.voicemail": "留言", "ivr.type.survey": "满意度调查", "ivr.type.set_var": "设置变量",
    "ivr.type.hangup": "挂机",
    "ivr.prompt": "语音", "ivr.barge_in": "按键可打断", "ivr.next": "下一节点", "ivr.choices": "按键导航项", "ivr.digit": "按键",
    "ivr.goto": "转到节点", "ivr.add_choice": "添加导航项", "ivr.timeout_ms": "等待按键超时(毫秒)", "ivr.retries": "重试次数",
    "ivr.invalid_prompt": "按键错误语音", "ivr.timeout_prompt": "超时语音", "ivr.fallback": "重试用尽后转到",
    "ivr.var": "变量名", "ivr.min_len": "最少位数", "ivr.max_len": "最多位数", "ivr.terminator": "结束键",
    "ivr.max": "最高评分", "ivr.windows": "时间段", "ivr.windows_default": "未设时间段：使用工作时间", "ivr.add_window": "添加时间段",
    "ivr.in_time": "时间内", "ivr.out_of_time": "时间外", "ivr.target_kind": "转接到", "ivr.target_value": "目标",
    "ivr.target.group": "技能组队列", "ivr.target.extension": "分机", "ivr.target.external": "外线号码",
    "ivr.edge.fallback": "其他", "ivr.mailbox": "留言信箱", "ivr.var_name": "变量名", "ivr.value": "值", "ivr.hangup_hint": "挂断通话，流程结束。",
  },
  en: {
    ...COMMON.en, ...DAY_LABELS.en,
    "nav.ivrflows": "IVR flows", "ivr.flow": "IVR flow", "ivr.version": "Version", "ivr.updated": "Updated", "ivr.new": "New IVR flow",
    "ivr.name": "Flow name", "ivr.entry": "Start node", "ivr.add_node": "Add node", "ivr.node_id": "Node id", "ivr.type": "Node type",
    "ivr.graph": "Overview", "ivr.nodes": "Nodes", "ivr.choose": "— choose —", "ivr.none": "(none)", "ivr.missing": "missing",
    "ivr.not_approved": "not approved", "ivr.start": "Start", "ivr.set_start": "Make start node", "ivr.remove_node": "Remove node",
    "ivr.remove": "Remove", "ivr.duplicate": "A node with this id exists", "ivr.exists": "A flow with this name exists; pick another name or edit that flow", "ivr.saved": "Saved, version", "ivr.fix": "Fix the marked problems first",
    "ivr.bad_digit": "A key is one of 0-9, *, # or A-D, each used once",
    "ivr.no_prompts": "The voice library has no approved prompt yet; play and menu nodes need one.",
    "ivr.type.play": "Play prompt", "ivr.type.menu": "Menu", "ivr.type.collect": "Collect digits", "ivr.type.time_condition": "Time condition",
    "ivr.type.transfer": "Transfer", "ivr.type.voicemail": "Voicemail", "ivr.type.survey": "Survey", "ivr.type.set_var": "Set variable",
    "ivr.type.hangup": "Hang up",
    "ivr.prompt": "Prompt", "ivr.barge_in": "Keys interrupt", "ivr.next": "Next node", "ivr.choices": "Menu keys", "ivr.digit": "Key",
    "ivr.goto": "Go to node", "ivr.add_choice": "Add key", "ivr.timeout_ms": "Key timeout (ms)", "ivr.retries": "Retries",
    "ivr.invalid_prompt": "Invalid-key prompt", "ivr.timeout_prompt": "Timeout prompt", "ivr.fallback": "After the retries",
    "ivr.var": "Variable", "ivr.min_len": "Min digits", "ivr.max_len": "Max digits", "ivr.terminator": "End key",
    "ivr.max": "Highest rating", "ivr.windows": "Time windows", "ivr.windows_default": "No windows: the working hours apply", "ivr.add_window": "Add window",
    "ivr.in_time": "In time", "ivr.out_of_time": "Out of time", "ivr.target_kind": "Transfer to", "ivr.target_value": "Target",
    "ivr.target.group": "Skill-group queue", "ivr.target.extension": "Extension", "ivr.target.external": "External number",
    "ivr.edge.fallback": "else", "ivr.mailbox": "Mailbox", "ivr.var_name": "Variable", "ivr.value": "Value", "ivr.hangup_hint": "Hangs up; the flow ends here.",
  },
};

export default { id: "ivr", roles: ["admin"], label: "nav.ivrflows", render, dict };
