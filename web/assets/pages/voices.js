// Voice library (自定义语音库, SPEC §3): every prompt with its review state (待审核 / 已通过 /
// 已驳回), a player, WAV upload (multipart `file` + `name`, POST /api/prompts: stored as pending
// until reviewed), text to speech (POST /api/prompts/tts: approved at once, the admin typed it)
// and review with a comment (POST /api/prompts/{id}/review). Admin-only, as the API is.
// Stable ids: #voice-upload (inputs `name`, `file`), #voice-upload-save, #voice-error-<field>,
// #voice-tts (inputs `name`, `text`, `lang`), #voice-tts-save, #tts-error-<field>,
// table#voices with tr[data-id][data-status], .review-reason, .approve, .reject, .review-error,
// #voice-filter.
import { t } from "../i18n.js";
import { api, ctx, el, when } from "../lib.js";
import { COMMON, button, clearErrors, errorSlot, input, showError } from "./form.js";

const STATUSES = ["pending", "approved", "rejected"];

/** Sends a multipart form (the JSON client cannot): same headers, CSRF token included. */
async function upload(data) {
  const headers = { "Accept": "application/json", "X-Requested-With": "XMLHttpRequest" };
  if (ctx.session?.csrf_token) headers["X-CSRF-Token"] = ctx.session.csrf_token;
  const r = await fetch("/api/prompts", { method: "POST", headers, body: data });
  const body = await r.json().catch(() => ({}));
  return { status: r.status, data: body };
}

function uploadForm(reload) {
  const form = el("form", undefined, { id: "voice-upload", class: "voice-form" });
  form.addEventListener("submit", (e) => e.preventDefault());
  form.append(el("h2", t("voice.upload")));
  input(form, "voice", "name");
  const file = input(form, "voice", "file", { type: "file" });
  file.accept = ".wav,audio/wav,audio/x-wav";
  form.append(el("p", t("voice.upload_hint"), { class: "hint" }));
  const save = button("voice.upload_button", { id: "voice-upload-save" });
  const status = el("span", "", { class: "status", id: "voice-upload-status", role: "status" });
  form.append(save, status, errorSlot("voice"));
  save.addEventListener("click", async () => {
    clearErrors(form, "voice");
    status.textContent = "";
    const f = file.files?.[0];
    if (!f) { form.querySelector("#voice-error-file").textContent = t("required"); return; }
    const data = new FormData();
    const name = form.querySelector('[name="name"]').value.trim();
    if (name) data.append("name", name);
    data.append("file", f, f.name);
    save.disabled = true;
    const r = await upload(data).finally(() => { save.disabled = false; });
    if (r.status === 201) {
      form.reset();
      form.dataset.saved = r.data.id;
      status.textContent = `${t("voice.uploaded")} ${r.data.name}`;
      await reload();
    } else showError(form, "voice", r);
  });
  return form;
}

function ttsForm(reload) {
  const form = el("form", undefined, { id: "voice-tts", class: "voice-form" });
  form.addEventListener("submit", (e) => e.preventDefault());
  form.append(el("h2", t("voice.tts")));
  input(form, "tts", "name");
  const row = el("div", undefined, { class: "field" });
  const text = el("textarea", undefined, { name: "text", id: "tts-text", rows: 3, maxlength: 2000 });
  row.append(el("label", t("tts.text"), { for: "tts-text" }), text, el("span", "", { class: "error", id: "tts-error-text" }));
  form.append(row);
  const lang = input(form, "tts", "lang", { options: ["zh", "en"], value: "zh" });
  for (const o of lang.options) o.textContent = t(`tts.lang.${o.value}`);
  form.append(el("p", t("voice.tts_hint"), { class: "hint" }));
  const save = button("voice.tts_button", { id: "voice-tts-save" });
  const status = el("span", "", { class: "status", id: "voice-tts-status", role: "status" });
  form.append(save, status, errorSlot("tts"));
  save.addEventListener("click", async () => {
    clearErrors(form, "tts");
    status.textContent = "";
    const body = { name: form.querySelector('[name="name"]').value.trim(), text: text.value, lang: lang.value };
    save.disabled = true;
    const r = await api("POST", "/api/prompts/tts", body).finally(() => { save.disabled = false; });
    if (r.status === 201) {
      form.reset();
      form.dataset.saved = r.data.id;
      status.textContent = `${t("voice.created")} ${r.data.name}`;
      await reload();
    } else showError(form, "tts", r);
  });
  return form;
}

function reviewCell(p, reload) {
  const box = el("div", undefined, { class: "review" });
  if (p.status !== "pending") {
    const who = [p.reviewed_by, when(p.reviewed_at_ms)].filter(Boolean).join(" · ");
    box.append(el("span", who, { class: "reviewed" }));
    if (p.reason) box.append(el("span", p.reason, { class: "review-note" }));
    return box;
  }
  const reason = el("input", undefined, { type: "text", class: "review-reason", name: "reason", maxlength: 500, placeholder: t("voice.comment"), "aria-label": t("voice.comment") });
  const err = el("span", "", { class: "error review-error" });
  const send = async (approve) => {
    err.textContent = "";
    const r = await api("POST", `/api/prompts/${encodeURIComponent(p.id)}/review`, { approve, reason: reason.value.trim() || undefined });
    if (r.status === 200) await reload();
    else err.textContent = r.data.message || String(r.status);
  };
  const ok = button("voice.approve", { class: "approve", "data-id": p.id });
  ok.addEventListener("click", () => send(true));
  const no = button("voice.reject", { class: "reject", "data-id": p.id });
  no.addEventListener("click", () => send(false));
  box.append(reason, ok, no, err);
  return box;
}

async function render(view) {
  view.append(el("h1", t("nav.voices")));
  const bar = el("div", undefined, { class: "voice-bar" });
  const filter = el("select", undefined, { id: "voice-filter", "aria-label": t("voice.filter") });
  filter.append(el("option", t("voice.all"), { value: "" }));
  for (const s of STATUSES) filter.append(el("option", t(`voice.status.${s}`), { value: s }));
  bar.append(el("label", t("voice.filter"), { for: "voice-filter" }), filter);
  const list = el("div", undefined, { id: "voice-list" });
  const listError = errorSlot("voice-list");
  const reload = async () => {
    listError.textContent = "";
    const r = await api("GET", "/api/prompts");
    if (r.status !== 200) { listError.textContent = r.data.message || String(r.status); return; }
    const tbl = el("table", undefined, { id: "voices" });
    const head = el("tr");
    for (const k of ["voice.name", "voice.source", "voice.status", "voice.duration", "voice.uploaded_by", "voice.created", "voice.play", "voice.review"]) head.append(el("th", t(k)));
    tbl.append(head);
    const items = r.data.items.filter((p) => !filter.value || p.status === filter.value);
    for (const p of items) {
      const tr = el("tr", undefined, { "data-id": p.id, "data-status": p.status });
      const name = el("td");
      name.append(el("span", p.name, { class: "voice-name" }));
      if (p.text) name.append(el("span", p.text, { class: "voice-text" }));
      const state = el("td");
      state.append(el("span", t(`voice.status.${p.status}`), { class: "voice-status", "data-status": p.status }));
      const play = el("td");
      // preload=none: the list loads no audio until one is played.
      play.append(el("audio", undefined, { controls: "", preload: "none", src: p.audio_url ?? `/api/prompts/${encodeURIComponent(p.id)}/audio` }));
      const review = el("td");
      review.append(reviewCell(p, reload));
      tr.append(name, el("td", t(`voice.source.${p.source}`)), state, el("td", `${(p.duration_ms / 1000).toFixed(1)} s`),
        el("td", p.uploaded_by ?? ""), el("td", when(p.created_at_ms)), play, review);
      tbl.append(tr);
    }
    list.replaceChildren(tbl);
    if (!items.length) list.append(el("p", t("voice.empty"), { class: "hint" }));
  };
  filter.addEventListener("change", reload);
  const forms = el("div", undefined, { class: "voice-forms" });
  forms.append(uploadForm(reload), ttsForm(reload));
  view.append(forms, bar, list, listError);
  await reload();
}

const dict = {
  "zh-CN": {
    ...COMMON["zh-CN"],
    "nav.voices": "自定义语音库", "voice.upload": "上传语音文件", "voice.name": "语音名称", "voice.file": "WAV 文件",
    "voice.upload_hint": "支持 .wav 格式；上传后需审核，审核通过后才能在IVR节点中使用。", "voice.upload_button": "上传",
    "voice.uploaded": "已上传，待审核：", "voice.tts": "文字转语音（TTS）", "tts.name": "语音名称", "tts.text": "文字内容",
    "tts.lang": "语言", "tts.lang.zh": "中文", "tts.lang.en": "英文", "voice.tts_hint": "管理员输入的文字直接生成并视为已审核。",
    "voice.tts_button": "生成语音", "voice.created": "已生成：", "voice.filter": "审核状态", "voice.all": "全部",
    "voice.status": "审核状态", "voice.status.pending": "待审核", "voice.status.approved": "审核通过", "voice.status.rejected": "已驳回",
    "voice.source": "来源", "voice.source.upload": "上传", "voice.source.tts": "TTS", "voice.duration": "时长",
    "voice.uploaded_by": "上传人", "voice.created": "上传时间", "voice.play": "试听", "voice.review": "审核",
    "voice.comment": "审核意见", "voice.approve": "通过", "voice.reject": "驳回", "voice.empty": "暂无语音",
  },
  en: {
    ...COMMON.en,
    "nav.voices": "Voice library", "voice.upload": "Upload a voice file", "voice.name": "Prompt name", "voice.file": "WAV file",
    "voice.upload_hint": ".wav files; an upload is reviewed before IVR nodes may use it.", "voice.upload_button": "Upload",
    "voice.uploaded": "Uploaded, pending review:", "voice.tts": "Text to speech (TTS)", "tts.name": "Prompt name", "tts.text": "Text",
    "tts.lang": "Language", "tts.lang.zh": "Chinese", "tts.lang.en": "English", "voice.tts_hint": "Text typed by an admin is synthesized and counts as reviewed.",
    "voice.tts_button": "Synthesize", "voice.created": "Created:", "voice.filter": "Review state", "voice.all": "All",
    "voice.status": "Review state", "voice.status.pending": "Pending review", "voice.status.approved": "Approved", "voice.status.rejected": "Rejected",
    "voice.source": "Source", "voice.source.upload": "Upload", "voice.source.tts": "TTS", "voice.duration": "Length",
    "voice.uploaded_by": "Uploaded by", "voice.created": "Uploaded", "voice.play": "Listen", "voice.review": "Review",
    "voice.comment": "Review comment", "voice.approve": "Approve", "voice.reject": "Reject", "voice.empty": "No prompts yet",
  },
};

export default { id: "voices", roles: ["admin"], label: "nav.voices", render, dict };
