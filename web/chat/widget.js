// Branchline web-chat widget (SPEC §9): one tag on the company site,
//   <script src="https://box/chat/widget.js" data-group="support" data-color="#1677ff"
//           data-title="在线客服" data-lang="zh-CN" data-position="right"></script>
// (optional data-name / data-phone: a visitor the site knows, shown to the agent)
// adds a floating round button that opens and closes an iframe of the box's H5 chat page
// (`/chat/?group=…`), 360×560 on a desktop and full screen on a narrow one. The iframe does every
// API call (same origin as the box). No dependencies; the only global is `window.BranchlineChat`
// with `open()`, `close()` and `toggle()`. Styles are set through element.style (the CSSOM), so a
// site's strict CSP without 'unsafe-inline' styles does not block them.
(function () {
  "use strict";
  if (window.BranchlineChat) return;
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src, location.href).origin;
  var data = script.dataset || {};
  var colour = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(data.color || "") ? data.color : "#1677ff";
  var lang = data.lang === "en" ? "en" : "zh-CN";
  var left = data.position === "left";
  var label = data.title || (lang === "en" ? "Chat with us" : "在线客服");
  var closeLabel = lang === "en" ? "Close chat" : "关闭在线客服";

  var query = new URLSearchParams();
  if (data.group) query.set("group", data.group);
  query.set("lang", lang);
  if (data.color) query.set("color", colour);
  if (data.title) query.set("title", data.title);
  // A site that knows its visitor may name them (shown to the agent).
  if (data.name) query.set("name", data.name);
  if (data.phone) query.set("phone", data.phone);
  var src = origin + "/chat/?" + query.toString();

  var SVG = "http://www.w3.org/2000/svg";
  function icon(paths) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "26");
    svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true");
    for (var i = 0; i < paths.length; i++) {
      var p = document.createElementNS(SVG, "path");
      p.setAttribute("d", paths[i]);
      p.setAttribute("fill", "none");
      p.setAttribute("stroke", "#fff");
      p.setAttribute("stroke-width", "2");
      p.setAttribute("stroke-linecap", "round");
      p.setAttribute("stroke-linejoin", "round");
      svg.appendChild(p);
    }
    return svg;
  }
  var bubble = icon(["M4 5h16v11H9l-5 4z", "M8 10h8", "M8 13h5"]);
  var cross = icon(["M6 6l12 12", "M18 6L6 18"]);

  var button = document.createElement("button");
  button.type = "button";
  button.id = "branchline-chat-button";
  button.setAttribute("aria-label", label);
  button.setAttribute("aria-expanded", "false");
  button.title = label;
  button.appendChild(bubble);
  var b = button.style;
  b.position = "fixed";
  b.bottom = "20px";
  b[left ? "left" : "right"] = "20px";
  b.width = "56px";
  b.height = "56px";
  b.borderRadius = "50%";
  b.border = "0";
  b.padding = "0";
  b.margin = "0";
  b.background = colour;
  b.boxShadow = "0 4px 14px rgba(0,0,0,.25)";
  b.cursor = "pointer";
  b.display = "flex";
  b.alignItems = "center";
  b.justifyContent = "center";
  b.zIndex = "2147483647";

  var frame = null;
  var narrow = window.matchMedia ? window.matchMedia("(max-width: 600px)") : null;

  /** Places the frame (and the button over it) for the screen's width. */
  function layout() {
    if (!frame) return;
    var f = frame.style;
    var full = narrow && narrow.matches;
    if (full) {
      f.top = "0"; f.bottom = "0"; f.left = "0"; f.right = "0";
      f.width = "100%"; f.height = "100%"; f.maxHeight = "none"; f.borderRadius = "0";
    } else {
      f.top = "auto"; f.bottom = "88px";
      f.left = left ? "20px" : "auto"; f.right = left ? "auto" : "20px";
      f.width = "360px"; f.height = "560px"; f.maxHeight = "calc(100vh - 108px)"; f.borderRadius = "12px";
    }
    // Full screen: the open frame carries its own close control; the button would cover the composer.
    b.display = full && isOpen() ? "none" : "flex";
  }

  function isOpen() { return !!frame && frame.style.display !== "none"; }

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.id = "branchline-chat-frame";
      frame.src = src;
      frame.title = label;
      frame.setAttribute("allow", "clipboard-write");
      var f = frame.style;
      f.position = "fixed";
      f.border = "0";
      f.background = "#fff";
      f.boxShadow = "0 8px 30px rgba(0,0,0,.25)";
      f.zIndex = "2147483646";
      document.body.appendChild(frame);
    }
    frame.style.display = "block";
    button.replaceChild(cross, button.firstChild);
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-label", closeLabel);
    button.title = closeLabel;
    layout();
  }

  function close() {
    if (frame) frame.style.display = "none";
    button.replaceChild(bubble, button.firstChild);
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-label", label);
    button.title = label;
    layout();
    b.display = "flex";
  }

  function toggle() { if (isOpen()) close(); else open(); }

  button.addEventListener("click", toggle);
  // The chat page's own "minimise" button (it runs in the frame, on the box's origin).
  window.addEventListener("message", function (e) {
    if (e.origin === origin && e.data && e.data.type === "branchline-chat-close") close();
  });
  if (narrow) {
    if (narrow.addEventListener) narrow.addEventListener("change", layout);
    else if (narrow.addListener) narrow.addListener(layout);
  }

  function mount() { document.body.appendChild(button); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.BranchlineChat = { open: open, close: close, toggle: toggle };
})();
