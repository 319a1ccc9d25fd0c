// The visitor's chat page (在线客服 H5, SPEC §9), also the content of the widget's iframe. It
// opens a session with the chat API (CHAT_API.md), follows it over the session's own SSE stream
// and shows the states connecting → queued (position) → with an agent → ended, the 5-level
// satisfaction rating (at the end or when the agent invites one, 邀评) and, when nobody is
// online or the queue timed out, the leave-a-message form (留言). The visitor id and the open
// session (id + token) are kept in localStorage, so a reload continues the session.
// Text only through textContent; no inline script or style (the page runs under a strict CSP).

const MAX_TEXT = 2000;
const RATING_VALUES = [1, 2, 3, 4, 5];

const DICT = {
  "zh-CN": {
    title: "在线客服", connecting: "正在连接…", queued: "排队中,您前面还有 {n} 人", queuedNow: "排队中,马上为您接入",
    active: "客服 {agent} 正在为您服务", ended: "会话已结束", offline: "当前没有客服在线",
    send: "发送", placeholder: "请输入消息,Enter 发送,Shift+Enter 换行", end: "结束会话", minimize: "收起",
    again: "重新咨询", joined: "客服 {agent} 已接入", transferred: "正在为您转接到其他客服", left: "客服已离开",
    endedBy: { visitor_left: "您已结束会话", agent_ended: "客服已结束会话", idle_timeout: "长时间无消息,会话已结束",
      queue_timeout: "排队超时,请留言,我们会尽快联系您", shutdown: "服务暂停,会话已结束" },
    ratingTitle: "请对本次服务进行评价", ratingInvited: "客服邀请您对本次服务进行评价", ratingComment: "其他意见(选填)",
    ratingSubmit: "提交评价", ratingThanks: "感谢您的评价!",
    levels: ["非常满意", "满意", "一般", "不满意", "非常不满意"],
    leaveTitle: "留言", leaveHint: "请留下您的联系方式和问题,我们会尽快与您联系。", name: "姓名", phone: "电话", email: "邮箱",
    text: "留言内容", leaveSubmit: "提交留言", leaveDone: "留言已提交,我们会尽快与您联系。",
    needName: "请填写姓名", needContact: "请填写电话或邮箱", needText: "请填写留言内容(最多2000字)",
    badPhone: "电话号码格式不正确", badEmail: "邮箱格式不正确", badName: "姓名最多40个字",
    failed: "操作失败({status}),请稍后重试", busy: "请求过于频繁,请稍后再试", unknownGroup: "未找到该客服组",
  },
  en: {
    title: "Online service", connecting: "Connecting…", queued: "In the queue: {n} ahead of you", queuedNow: "In the queue: you are next",
    active: "Agent {agent} is serving you", ended: "The chat has ended", offline: "No agent is online now",
    send: "Send", placeholder: "Type a message; Enter sends, Shift+Enter for a new line", end: "End chat", minimize: "Minimise",
    again: "Start a new chat", joined: "Agent {agent} joined", transferred: "Transferring you to another agent", left: "The agent left",
    endedBy: { visitor_left: "You ended the chat", agent_ended: "The agent ended the chat", idle_timeout: "The chat ended after a quiet while",
      queue_timeout: "Nobody could answer in time: please leave a message and we will contact you", shutdown: "The service stopped; the chat has ended" },
    ratingTitle: "How was our service?", ratingInvited: "The agent asks you to rate this service", ratingComment: "Comment (optional)",
    ratingSubmit: "Submit rating", ratingThanks: "Thank you for your rating!",
    levels: ["Very satisfied", "Satisfied", "Neutral", "Dissatisfied", "Very dissatisfied"],
    leaveTitle: "Leave a message", leaveHint: "Leave your contact details and question; we will get back to you soon.", name: "Name",
    phone: "Phone", email: "Email", text: "Message", leaveSubmit: "Send message", leaveDone: "Your message was sent; we will contact you soon.",
    needName: "Please enter your name", needContact: "Please enter a phone number or an email", needText: "Please enter your message (at most 2000 characters)",
    badPhone: "This phone number is not valid", badEmail: "This email address is not valid", badName: "At most 40 characters",
    failed: "Something went wrong ({status}); please try again", busy: "Too many requests; please wait a moment", unknownGroup: "No such service group",
  },
};

const params = new URLSearchParams(location.search);
const lang = params.get("lang") === "en" ? "en" : "zh-CN";
const L = DICT[lang];
const group = (params.get("group") || "").trim();
const $ = (id) => document.getElementById(id);
const fill = (s, vars) => s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));

/** Local storage that fails soft (private mode, blocked third-party storage in an iframe). */
const store = {
  get(k) { try { return localStorage.getItem(k); } catch { return null; } },
  set(k, v) { try { localStorage.setItem(k, v); } catch { /* not kept: a reload starts afresh */ } },
  del(k) { try { localStorage.removeItem(k); } catch { /* nothing kept */ } },
};
const SESSION_KEY = `bl.chat.session.${group || "-"}`;

/** The visitor's id, made once per browser and kept. */
function visitorId() {
  let v = store.get("bl.chat.visitor");
  if (!v || !/^[A-Za-z0-9_-]{8,64}$/.test(v)) {
    const b = new Uint8Array(12);
    crypto.getRandomValues(b);
    v = "v" + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    store.set("bl.chat.visitor", v);
  }
  return v;
}

const state = { id: null, token: null, phase: "connecting", seqs: new Set(), stream: null, rated: false, rating: 0 };

/** Calls the chat API; the session's token goes in `X-Chat-Token`. */
async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (state.token) headers["X-Chat-Token"] = state.token;
  try {
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = r.status === 204 ? {} : await r.json().catch(() => ({}));
    return { status: r.status, data };
  } catch {
    return { status: 0, data: {} };
  }
}

function failText(r) {
  if (r.status === 429) return L.busy;
  return fill(L.failed, { status: r.status || "network" });
}

function time(ms) {
  const d = new Date(ms || Date.now());
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** Appends a message (once per seq) to the list, scrolled into view. */
function addMessage(m) {
  if (m.seq !== undefined && m.seq !== null) {
    if (state.seqs.has(m.seq)) return;
    state.seqs.add(m.seq);
  }
  const from = ["visitor", "agent", "system"].includes(m.from) ? m.from : "system";
  const li = document.createElement("li");
  li.className = `msg ${from}`;
  if (m.seq !== undefined && m.seq !== null) li.dataset.seq = String(m.seq);
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.textContent = String(m.text ?? "");
  const t = document.createElement("time");
  t.textContent = time(m.at_ms);
  if (m.at_ms) t.dateTime = new Date(m.at_ms).toISOString();
  li.append(bubble, t);
  // Keep the list in seq order when a refetch fills a gap.
  const list = $("messages");
  const after = m.seq ? [...list.children].find((x) => x.dataset.seq && Number(x.dataset.seq) > m.seq) : null;
  if (after) list.insertBefore(li, after); else list.append(li);
  list.scrollTop = list.scrollHeight;
}

/** A local notice in the list (not a message of the session). */
function note(text) { addMessage({ from: "system", text, at_ms: Date.now() }); }

function setStatus(text) { $("chat-status").textContent = text; }

/** Shows one of the page's states; the composer is open while the session is. */
function setPhase(phase, view = {}) {
  state.phase = phase;
  $("chat").dataset.state = phase;
  const open = phase === "queued" || phase === "active";
  $("composer").hidden = !open;
  $("chat-end").hidden = !open;
  if (phase === "connecting") setStatus(L.connecting);
  if (phase === "queued") setStatus(view.position > 1 ? fill(L.queued, { n: view.position - 1 }) : L.queuedNow);
  if (phase === "active") setStatus(fill(L.active, { agent: view.agent ?? "" }));
  if (phase === "ended") setStatus(L.ended);
  if (phase === "offline") setStatus(L.offline);
}

function closeStream() { state.stream?.close(); state.stream = null; }

/** The session's live events (EventSource cannot send headers: the token goes in the query). */
function openStream() {
  closeStream();
  const es = new EventSource(`/chat/api/sessions/${encodeURIComponent(state.id)}/stream?token=${encodeURIComponent(state.token)}`);
  state.stream = es;
  let opened = false;
  // After a reconnect, messages sent meanwhile are read back from the session.
  es.addEventListener("open", () => { if (opened) refresh(); opened = true; });
  const on = (kind, fn) => es.addEventListener(kind, (m) => {
    let ev;
    try { ev = JSON.parse(m.data); } catch { return; }
    fn(ev, ev.data ?? {});
  });
  on("chat.message", (ev, d) => addMessage({ seq: d.seq, from: d.from, text: d.text, at_ms: ev.at_ms }));
  on("queue.entered", (ev, d) => setPhase("queued", { position: d.position }));
  on("call.answered", (ev) => { setPhase("active", { agent: ev.agent }); note(fill(L.joined, { agent: ev.agent ?? "" })); });
  on("call.transferred", () => note(L.transferred));
  on("rating.invited", () => showRating(true));
  on("call.ended", (ev, d) => ended(d.cause));
  // The stream fell behind and skipped events: the session is read back whole.
  es.addEventListener("stream.lagged", () => refresh());
  es.addEventListener("error", () => {
    if (state.phase === "ended") { closeStream(); return; }
    // The browser retries a dropped stream by itself, but not a refused one (the session is
    // gone, the server restarted): read the session back, then reopen or give up on it.
    if (es.readyState === EventSource.CLOSED) setTimeout(() => recover(es), 2000);
  });
}

/** After the stream was refused: reopen it if the session is still open, else end the page's. */
async function recover(es) {
  if (state.stream !== es || state.phase === "ended") return;
  const r = await refresh();
  if (state.stream !== es || state.phase === "ended") return;
  if (r.status === 200) { openStream(); return; }
  if (r.status === 404) {
    state.rated = true; // nothing left to rate
    ended(null);
    return;
  }
  setTimeout(() => recover(es), 5000);
}

/** Reads the session back (reload, reconnect) and shows what it holds. */
async function refresh() {
  const r = await call("GET", `/chat/api/sessions/${encodeURIComponent(state.id)}`);
  if (r.status !== 200) return r;
  const v = r.data;
  for (const m of v.messages ?? []) addMessage(m);
  if (v.rating) state.rated = true;
  if (v.phase === "ended") ended(v.end_cause);
  else {
    setPhase(v.phase === "active" ? "active" : "queued", v);
    if (v.invited && !state.rated) showRating(true);
  }
  return r;
}

/** The session is over: the rating (or the leave-a-message form after a queue timeout). */
function ended(cause) {
  if (state.phase === "ended") return;
  setPhase("ended");
  closeStream();
  store.del(SESSION_KEY);
  const why = L.endedBy[cause];
  if (why) note(why);
  if (cause === "queue_timeout") { showLeave(); return; }
  if (!state.rated) showRating(false);
  $("chat-again-row").hidden = false;
}

function showRating(invited) {
  if (state.rated) return;
  $("rating-title").textContent = invited ? L.ratingInvited : L.ratingTitle;
  $("rating").hidden = false;
}

function buildRating() {
  const box = $("rating-levels");
  for (const v of RATING_VALUES) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = L.levels[v - 1];
    b.dataset.value = String(v);
    b.setAttribute("role", "radio");
    b.setAttribute("aria-checked", "false");
    b.addEventListener("click", () => {
      state.rating = v;
      for (const x of box.children) x.setAttribute("aria-checked", String(x === b));
      $("rating-submit").disabled = false;
    });
    box.append(b);
  }
  $("rating-comment").placeholder = L.ratingComment;
  $("rating-submit").textContent = L.ratingSubmit;
  $("rating-submit").addEventListener("click", async () => {
    $("rating-error").textContent = "";
    if (!state.rating || !state.id) return;
    const body = { value: state.rating };
    const comment = $("rating-comment").value.trim();
    if (comment) body.comment = comment;
    const r = await call("POST", `/chat/api/sessions/${encodeURIComponent(state.id)}/rating`, body);
    if (r.status >= 300) { $("rating-error").textContent = r.data.message || failText(r); return; }
    state.rated = true;
    $("rating").hidden = true;
    $("rating-thanks").textContent = L.ratingThanks;
    $("rating-thanks").hidden = false;
  });
}

function showLeave() {
  $("composer").hidden = true;
  $("leave").hidden = false;
  $("chat-again-row").hidden = true;
}

function buildLeave() {
  const form = $("leave");
  $("leave-title").textContent = L.leaveTitle;
  $("leave-hint").textContent = L.leaveHint;
  for (const f of ["name", "phone", "email", "text"]) $(`leave-${f}-label`).textContent = L[f];
  $("leave-submit").textContent = L.leaveSubmit;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    for (const x of form.querySelectorAll(".error")) x.textContent = "";
    const get = (f) => $(`leave-${f}`).value.trim();
    const body = { name: get("name"), text: get("text"), visitor: visitorId() };
    if (group) body.group = group;
    if (get("phone")) body.phone = get("phone");
    if (get("email")) body.email = get("email");
    $("leave-submit").disabled = true;
    const r = await call("POST", "/chat/api/leave-message", body);
    $("leave-submit").disabled = false;
    if (r.status === 201 || r.status === 200) {
      form.hidden = true;
      $("leave-done").textContent = L.leaveDone;
      $("leave-done").hidden = false;
      return;
    }
    // The refusal goes next to its field ("contact" = phone or email: shown by the phone).
    const field = r.data.field === "contact" ? "phone" : r.data.field;
    const slot = (field && $(`leave-error-${field}`)) || $("leave-error");
    slot.textContent = localMessage(field, r.data.error) || r.data.message || failText(r);
  });
}

/** The page's own wording for a refused field (the server's messages are English). */
function localMessage(field, code) {
  if (code === "missing_field") return { name: L.needName, phone: L.needContact, email: L.needContact, text: L.needText }[field] ?? "";
  return { name: L.badName, phone: L.badPhone, email: L.badEmail, text: L.needText }[field] ?? "";
}

function buildComposer() {
  const text = $("chat-text");
  const count = $("chat-count");
  text.placeholder = L.placeholder;
  text.maxLength = MAX_TEXT;
  $("chat-send").textContent = L.send;
  const counted = () => {
    count.textContent = `${text.value.length}/${MAX_TEXT}`;
    count.classList.toggle("full", text.value.length >= MAX_TEXT);
  };
  text.addEventListener("input", counted);
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("composer").requestSubmit(); }
  });
  $("composer").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("chat-error").textContent = "";
    const value = text.value.trim();
    if (!value || !state.id) return;
    $("chat-send").disabled = true;
    const r = await call("POST", `/chat/api/sessions/${encodeURIComponent(state.id)}/messages`, { text: value.slice(0, MAX_TEXT) });
    $("chat-send").disabled = false;
    if (r.status === 201 || r.status === 200) {
      addMessage({ seq: r.data.seq, from: "visitor", text: r.data.text ?? value, at_ms: r.data.at_ms });
      text.value = "";
      counted();
      text.focus();
    } else {
      $("chat-error").textContent = r.data.message || failText(r);
      if (r.status === 409 || r.status === 404) refresh();
    }
  });
}

/** Opens a new session, or shows the leave-a-message form when nobody is online. */
async function start() {
  setPhase("connecting");
  const body = { visitor: visitorId() };
  if (group) body.group = group;
  const page = document.referrer || params.get("page");
  if (page) body.page = page.slice(0, 500);
  // A site that knows its visitor may pass the name and phone (the widget's data-name/-phone).
  const name = (params.get("name") || "").trim();
  if (name) body.name = name.slice(0, 40);
  const phone = (params.get("phone") || "").trim();
  if (phone) body.phone = phone.slice(0, 32);
  const r = await call("POST", "/chat/api/sessions", body);
  if (r.status === 201 || r.status === 200) {
    state.id = r.data.session.id;
    state.token = r.data.token;
    store.set(SESSION_KEY, JSON.stringify({ id: state.id, token: state.token }));
    for (const m of r.data.session.messages ?? []) addMessage(m);
    setPhase(r.data.session.phase === "active" ? "active" : "queued", r.data.session);
    openStream();
    return;
  }
  if (r.status === 409 && r.data.offline) { setPhase("offline"); showLeave(); return; }
  setPhase("ended");
  setStatus("");
  $("chat-error").textContent = r.status === 404 ? L.unknownGroup : r.data.message || failText(r);
  $("chat-again-row").hidden = false;
}

/** Continues the session kept by an earlier load, if it is still open; else starts one. */
async function resume() {
  let kept = null;
  try { kept = JSON.parse(store.get(SESSION_KEY) || "null"); } catch { kept = null; }
  if (kept && typeof kept.id === "string" && typeof kept.token === "string") {
    state.id = kept.id;
    state.token = kept.token;
    const r = await refresh();
    if (r.status === 200 && state.phase !== "ended") { openStream(); return; }
    store.del(SESSION_KEY);
    if (r.status === 200) return; // ended meanwhile: its rating is on screen
    state.id = null;
    state.token = null;
  }
  await start();
}

function init() {
  document.documentElement.lang = lang;
  const color = params.get("color") || "";
  if (/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(color)) document.documentElement.style.setProperty("--accent", color);
  const title = (params.get("title") || "").trim().slice(0, 60) || L.title;
  $("chat-title").textContent = title;
  document.title = title;
  $("chat-end").textContent = L.end;
  $("chat-again").textContent = L.again;
  $("chat-end").addEventListener("click", async () => {
    if (!state.id) return;
    const r = await call("POST", `/chat/api/sessions/${encodeURIComponent(state.id)}/end`);
    if (r.status < 300 || r.status === 409) ended("visitor_left");
    else $("chat-error").textContent = r.data.message || failText(r);
  });
  $("chat-again").addEventListener("click", () => {
    closeStream();
    Object.assign(state, { id: null, token: null, seqs: new Set(), rated: false, rating: 0 });
    $("messages").replaceChildren();
    for (const id of ["rating", "rating-thanks", "leave", "leave-done", "chat-again-row"]) $(id).hidden = true;
    for (const b of $("rating-levels").children) b.setAttribute("aria-checked", "false");
    $("rating-submit").disabled = true;
    $("chat-error").textContent = "";
    start();
  });
  // Inside the widget's iframe: a button that asks the embedding page to close the frame.
  if (window.parent !== window) {
    const min = $("chat-minimize");
    min.textContent = L.minimize;
    min.hidden = false;
    min.addEventListener("click", () => window.parent.postMessage({ type: "branchline-chat-close" }, "*"));
  }
  buildComposer();
  buildRating();
  buildLeave();
  resume();
}

init();
