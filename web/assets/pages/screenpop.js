// The screen pop (来电弹屏, SPEC §5, seed 001 §3): when the agent's phone rings it shows the
// call (number, 归属地, time, type), the customer found by the calling number (or a new-customer
// form prefilled with it), the service summary (服务小结), a ticket prefilled with the customer,
// a contact plan (联系计划) and the customer's history timeline. Not a page of its own: the
// workspace mounts it. Text only through textContent (SPEC §12).
import { t, current } from "../i18n.js";
import { api, el, labelled, fieldInput, fieldValues, when } from "../lib.js";

export const dict = {
  "zh-CN": {
    "pop.caller": "来电号码", "pop.call": "通话", "pop.time": "呼叫时间", "pop.location": "归属地",
    "pop.type": "呼叫类型", "pop.type.queue": "技能组来电", "pop.type.direct": "直拨分机",
    "pop.customer": "客户信息", "pop.new": "新客户", "pop.unknown": "未找到此号码的客户, 可新建",
    "pop.close": "关闭", "cust.name": "姓名", "cust.company": "公司", "cust.phones": "电话",
    "cust.notes": "备注", "cust.save": "保存客户", "cust.edit": "编辑", "cust.more": "同号码的其他客户",
    "sum.category": "服务分类", "sum.source": "来源", "sum.note": "小结内容", "sum.save": "保存小结",
    "src.inbound_call": "呼入", "src.manual_outbound": "手动外呼", "src.system_outbound": "系统外呼",
    "tk.type": "工单类型", "tk.title": "标题", "tk.description": "描述", "tk.save": "创建工单",
    "plan.number": "联系号码", "plan.due": "提醒时间", "plan.note": "联系事项", "plan.save": "创建联系计划",
    "timeline": "历史动态", "timeline.empty": "暂无记录", "saved": "已保存",
    "mobile": "手机", "landline": "固话", "international": "国际", "other": "其他",
    "tl.call": "通话", "tl.chat": "在线会话", "tl.ticket": "工单", "tl.summary": "服务小结", "tl.contact_plan": "联系计划",
  },
  en: {
    "pop.caller": "Caller", "pop.call": "Call", "pop.time": "Call time", "pop.location": "Number location",
    "pop.type": "Call type", "pop.type.queue": "Skill-group call", "pop.type.direct": "Direct call",
    "pop.customer": "Customer", "pop.new": "New customer", "pop.unknown": "No customer has this number; create one",
    "pop.close": "Close", "cust.name": "Name", "cust.company": "Company", "cust.phones": "Phones",
    "cust.notes": "Notes", "cust.save": "Save customer", "cust.edit": "Edit", "cust.more": "Other customers with this number",
    "sum.category": "Category", "sum.source": "Source", "sum.note": "Summary", "sum.save": "Save summary",
    "src.inbound_call": "Inbound", "src.manual_outbound": "Manual outbound", "src.system_outbound": "System outbound",
    "tk.type": "Ticket type", "tk.title": "Title", "tk.description": "Description", "tk.save": "Create ticket",
    "plan.number": "Number", "plan.due": "Remind at", "plan.note": "About", "plan.save": "Create contact plan",
    "timeline": "History", "timeline.empty": "Nothing yet", "saved": "Saved",
    "mobile": "Mobile", "landline": "Landline", "international": "International", "other": "Other",
    "tl.call": "Call", "tl.chat": "Web chat", "tl.ticket": "Ticket", "tl.summary": "Summary", "tl.contact_plan": "Contact plan",
  },
};

/** Configuration the pop needs, read once per workspace render so a ring costs one lookup. */
export async function loadConfig() {
  const [cf, sf, cats, types] = await Promise.all([
    api("GET", "/api/customer-fields"), api("GET", "/api/summary-fields"),
    api("GET", "/api/summary-categories"), api("GET", "/api/ticket-types"),
  ]);
  return {
    customerFields: cf.data.items ?? [], summaryFields: sf.data.items ?? [],
    categories: cats.data.items ?? [], ticketTypes: types.data.items ?? [],
  };
}

const label = (def) => (current() === "zh-CN" ? def.label_zh : def.label_en) || def.key;

function locationText(loc) {
  if (!loc) return "";
  const parts = [t(loc.kind) === loc.kind ? loc.kind : t(loc.kind)];
  for (const p of [loc.city, loc.area_code, loc.carrier]) if (p) parts.push(p);
  return parts.join(" ");
}

function status(id) { return el("span", "", { id, class: "status", role: "status" }); }

async function submit(statusEl, method, path, body) {
  statusEl.textContent = "";
  statusEl.classList.remove("error");
  const r = await api(method, path, body);
  if (r.status >= 300) {
    statusEl.classList.add("error");
    statusEl.textContent = r.data.message || String(r.status);
    return null;
  }
  return r.data;
}

/** Builds the pop into `root` (an element with id `screenpop`); returns its controller. */
export function createScreenPop(root, config, session) {
  let call = null; // { call_id, caller, at_ms, received_at, direct, group }
  let customer = null;
  let lookup = null; // the answer of GET /api/customers?phone=
  root.hidden = true;

  const head = el("div", undefined, { class: "pop-head" });
  const body = el("div", undefined, { class: "pop-body" });
  root.replaceChildren(head, body);

  function show(ev) {
    call = {
      call_id: ev.call_id, caller: ev.data?.caller ?? "", at_ms: ev.at_ms,
      received_at: Date.now(), direct: Boolean(ev.data?.direct), group: ev.group ?? null,
    };
    customer = null;
    lookup = null;
    root.hidden = false;
    root.dataset.callId = call.call_id ?? "";
    root.dataset.eventAt = String(call.at_ms);
    root.dataset.receivedAt = String(call.received_at);
    delete root.dataset.renderedAt;
    drawHead();
    body.replaceChildren(el("p", "…", { class: "loading" }));
    lookUp(call);
  }

  function drawHead() {
    const close = el("button", t("pop.close"), { type: "button", id: "pop-close" });
    close.addEventListener("click", () => { root.hidden = true; call = null; });
    const dl = el("dl", undefined, { class: "pop-call" });
    const row = (k, v, id) => { dl.append(el("dt", t(k)), el("dd", v, id ? { id } : {})); };
    row("pop.caller", call.caller, "pop-caller");
    row("pop.call", call.call_id ?? "", "pop-call-id");
    row("pop.time", when(call.at_ms), "pop-time");
    row("pop.location", lookup ? locationText(lookup.location) : "", "pop-location");
    row("pop.type", t(call.direct ? "pop.type.direct" : "pop.type.queue") + (call.group ? ` (${call.group})` : ""), "pop-type");
    head.replaceChildren(el("h2", t("screenpop")), close, dl);
  }

  async function lookUp(c) {
    const r = c.caller ? await api("GET", `/api/customers?phone=${encodeURIComponent(c.caller)}`) : { status: 400, data: {} };
    if (call !== c) return; // another call rang meanwhile
    lookup = r.status === 200 ? r.data : null;
    customer = lookup?.items?.[0] ?? null;
    draw();
    root.dataset.renderedAt = String(Date.now());
  }

  function draw() {
    drawHead();
    const cust = el("section", undefined, { id: "pop-customer" });
    cust.append(el("h3", t("pop.customer")));
    if (customer) cust.append(customerView(customer));
    else cust.append(el("p", t("pop.unknown"), { id: "pop-unknown" }), customerForm(null));
    if ((lookup?.items?.length ?? 0) > 1) {
      const more = el("ul", undefined, { id: "pop-more", "aria-label": t("cust.more") });
      for (const c of lookup.items.slice(1)) {
        const b = el("button", `${c.name} ${c.company}`, { type: "button" });
        b.addEventListener("click", () => { customer = c; draw(); });
        const li = el("li"); li.append(b); more.append(li);
      }
      cust.append(el("p", t("cust.more")), more);
    }
    const timeline = el("section", undefined, { id: "pop-timeline" });
    timeline.append(el("h3", t("timeline")));
    body.replaceChildren(cust, summaryForm(), ticketForm(), planForm(), timeline);
    if (customer) loadTimeline(timeline, customer.id);
    else timeline.append(el("p", t("timeline.empty")));
  }

  function customerView(c) {
    const box = el("div", undefined, { class: "customer" });
    box.append(el("p", c.name, { id: "pop-customer-name", class: "customer-name" }));
    const dl = el("dl");
    const row = (k, v) => { dl.append(el("dt", k), el("dd", v)); };
    row(t("cust.company"), c.company);
    row(t("cust.phones"), (c.phones ?? []).join(", "));
    for (const d of config.customerFields) row(label(d), c.fields?.[d.key] ?? "");
    row(t("cust.notes"), c.notes);
    const edit = el("button", t("cust.edit"), { type: "button", id: "cust-edit" });
    edit.addEventListener("click", () => box.replaceWith(customerForm(c)));
    box.append(dl, edit);
    return box;
  }

  function customerForm(c) {
    const f = el("form", undefined, { id: "customer-form" });
    const name = el("input", undefined, { name: "name", id: "cust-name", required: "" });
    const company = el("input", undefined, { name: "company", id: "cust-company" });
    const phones = el("input", undefined, { name: "phones", id: "cust-phones" });
    const notes = el("textarea", undefined, { name: "notes", id: "cust-notes" });
    name.value = c?.name ?? "";
    company.value = c?.company ?? "";
    phones.value = c ? (c.phones ?? []).join(", ") : (lookup?.phone ?? call?.caller ?? "");
    notes.value = c?.notes ?? "";
    f.append(labelled(t("cust.name"), name), labelled(t("cust.company"), company), labelled(t("cust.phones"), phones));
    for (const d of config.customerFields) f.append(labelled(label(d), fieldInput(d, c?.fields?.[d.key], "cust")));
    f.append(labelled(t("cust.notes"), notes));
    const st = status("cust-status");
    f.append(el("button", t("cust.save"), { type: "submit", id: "cust-save" }), st);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const payload = {
        name: name.value.trim(), company: company.value.trim(), notes: notes.value,
        phones: phones.value.split(/[,，\s]+/).filter(Boolean),
        fields: fieldValues(f, config.customerFields),
      };
      const saved = await submit(st, c ? "PUT" : "POST", c ? `/api/customers/${c.id}` : "/api/customers", payload);
      if (saved) { customer = saved; draw(); }
    });
    return f;
  }

  function categoryOptions(select, nodes, prefix) {
    for (const n of nodes) {
      const text = prefix ? `${prefix} / ${n.name}` : n.name;
      select.append(el("option", text, { value: String(n.id) }));
      categoryOptions(select, n.children ?? [], text);
    }
  }

  function summaryForm() {
    const f = el("form", undefined, { id: "summary-form", class: "pop-form" });
    f.append(el("h3", t("summary")));
    const cat = el("select", undefined, { name: "category", id: "sum-category" });
    cat.append(el("option", "", { value: "" }));
    categoryOptions(cat, config.categories, "");
    const source = el("select", undefined, { name: "source", id: "sum-source" });
    for (const s of ["inbound_call", "manual_outbound", "system_outbound"]) source.append(el("option", t(`src.${s}`), { value: s }));
    const note = el("textarea", undefined, { name: "note", id: "sum-note" });
    f.append(labelled(t("sum.category"), cat), labelled(t("sum.source"), source));
    for (const d of config.summaryFields) f.append(labelled(label(d), fieldInput(d, undefined, "sum")));
    f.append(labelled(t("sum.note"), note));
    const st = status("summary-status");
    f.append(el("button", t("sum.save"), { type: "submit", id: "summary-save" }), st);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!call?.call_id) return;
      const saved = await submit(st, "POST", `/api/calls/${encodeURIComponent(call.call_id)}/summary`, {
        category_id: cat.value ? Number(cat.value) : null, customer_id: customer?.id ?? null,
        source: source.value, fields: fieldValues(f, config.summaryFields), note: note.value,
      });
      if (saved) { st.textContent = `${t("saved")} #${saved.id}`; st.dataset.id = String(saved.id); refreshTimeline(); }
    });
    return f;
  }

  function ticketForm() {
    const f = el("form", undefined, { id: "ticket-form", class: "pop-form" });
    f.append(el("h3", t("ticket")));
    const type = el("select", undefined, { name: "type", id: "tk-type", required: "" });
    for (const ty of config.ticketTypes) type.append(el("option", ty.name, { value: String(ty.id) }));
    const title = el("input", undefined, { name: "title", id: "tk-title", required: "" });
    title.value = customer ? `${customer.name} ${call?.caller ?? ""}`.trim() : call?.caller ?? "";
    const desc = el("textarea", undefined, { name: "description", id: "tk-description" });
    f.append(labelled(t("tk.type"), type), labelled(t("tk.title"), title), labelled(t("tk.description"), desc));
    if (customer) f.append(el("p", `${t("pop.customer")}: ${customer.name}`, { id: "tk-customer", "data-customer-id": String(customer.id) }));
    const st = status("ticket-status");
    f.append(el("button", t("tk.save"), { type: "submit", id: "ticket-save" }), st);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const saved = await submit(st, "POST", "/api/tickets", {
        type_id: Number(type.value), title: title.value.trim(), description: desc.value,
        customer_id: customer?.id ?? null, call_id: call?.call_id ?? null,
      });
      if (saved) { st.textContent = `${t("saved")} #${saved.id}`; st.dataset.id = String(saved.id); refreshTimeline(); }
    });
    return f;
  }

  function planForm() {
    const f = el("form", undefined, { id: "plan-form", class: "pop-form" });
    f.append(el("h3", t("contactplan")));
    const number = el("input", undefined, { name: "number", id: "plan-number", required: "" });
    number.value = call?.caller ?? "";
    const due = el("input", undefined, { name: "due", id: "plan-due", type: "datetime-local", required: "" });
    const soon = new Date(Date.now() + 3600_000);
    due.value = new Date(soon.getTime() - soon.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    const note = el("textarea", undefined, { name: "note", id: "plan-note" });
    f.append(labelled(t("plan.number"), number), labelled(t("plan.due"), due), labelled(t("plan.note"), note));
    const st = status("plan-status");
    f.append(el("button", t("plan.save"), { type: "submit", id: "plan-save" }), st);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      const saved = await submit(st, "POST", "/api/contact-plans", {
        number: number.value.trim(), customer_id: customer?.id ?? null,
        due_at: new Date(due.value).getTime(), note: note.value,
      });
      if (saved) { st.textContent = `${t("saved")} #${saved.id}`; st.dataset.id = String(saved.id); refreshTimeline(); }
    });
    return f;
  }

  function refreshTimeline() {
    const tl = root.querySelector("#pop-timeline");
    if (tl && customer) loadTimeline(tl, customer.id);
  }

  async function loadTimeline(section, id) {
    const r = await api("GET", `/api/customers/${id}/timeline?per_page=20`);
    const list = el("ol", undefined, { class: "timeline" });
    for (const item of r.data.items ?? []) {
      const d = item.detail ?? {};
      const what = d.title ?? d.category ?? d.note ?? d.caller ?? "";
      list.append(el("li", `${when(item.at_ms)} · ${t(`tl.${item.kind}`)} ${item.id} ${what}`));
    }
    section.replaceChildren(el("h3", t("timeline")), list.children.length ? list : el("p", t("timeline.empty")));
  }

  return {
    /** The agent's phone rings (`agent.ringing` naming this agent). */
    ring(ev) { if (!call || call.call_id !== ev.call_id) show(ev); },
    /** The call was answered; opens the pop if the ring was missed (page opened mid-ring). */
    answered(ev, caller) { if (!call || call.call_id !== ev.call_id) show({ ...ev, data: { ...ev.data, caller } }); },
    /** The call id on show, if any. */
    callId() { return call?.call_id ?? null; },
  };
}
