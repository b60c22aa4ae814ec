// The embeddable chat widget. On any page of the rental site:
//   <script src="https://CHAT-HOST/static/widget.js" defer></script>
// adds a chat bubble that opens the visitor chat in a panel. Optional attributes on the tag:
//   data-label="Chat with us"        the bubble's text
//   data-customer="C-1042" data-signature="HMAC-SHA256 hex"
//                                    a logged-in customer, vouched for by the site's backend; the
//                                    site's origin must be in CHATCORE_ALLOWED_ORIGINS
//   data-lang="es"                   the visitor's language (en, es, fr); default: the browser's
// Everything runs on the host page without inline styles in markup, so a strict CSP on the rental site
// only needs to allow this script and frames from CHAT-HOST.
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__chatcoreWidget) return;
  window.__chatcoreWidget = true;
  const host = new URL(script.src, location.href).origin;
  const label = script.dataset.label || "Chat with us";
  const customer = script.dataset.customer;
  const signature = script.dataset.signature;
  const language = script.dataset.lang;

  function styled(tag, style) {
    const element = document.createElement(tag);
    Object.keys(style).forEach(function (key) { element.style[key] = style[key]; });
    return element;
  }

  const bubble = styled("button", {
    position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000",
    padding: "12px 18px", border: "0", borderRadius: "999px", background: "#1553c5", color: "#fff",
    font: "600 16px/1.2 system-ui, sans-serif", boxShadow: "0 4px 14px rgba(0,0,0,.25)", cursor: "pointer",
  });
  bubble.type = "button";
  bubble.id = "chatcore-widget-button";
  bubble.textContent = label;
  bubble.setAttribute("aria-expanded", "false");
  bubble.setAttribute("aria-controls", "chatcore-widget-panel");

  const panel = styled("div", {
    position: "fixed", right: "16px", bottom: "76px", zIndex: "2147483000",
    width: "min(380px, calc(100vw - 32px))", height: "min(600px, calc(100vh - 96px))",
    display: "none", flexDirection: "column", background: "#fff", borderRadius: "14px",
    boxShadow: "0 8px 30px rgba(0,0,0,.3)", overflow: "hidden",
  });
  panel.id = "chatcore-widget-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "Customer support chat");

  const bar = styled("div", {
    display: "flex", justifyContent: "space-between", alignItems: "center", padding: "8px 12px",
    background: "#0f2a5c", color: "#fff", font: "600 15px/1.2 system-ui, sans-serif",
  });
  const title = document.createElement("span");
  title.textContent = label;
  const close = styled("button", {
    border: "0", background: "transparent", color: "#fff", font: "600 20px/1 system-ui, sans-serif", cursor: "pointer",
  });
  close.type = "button";
  close.textContent = "×";
  close.setAttribute("aria-label", "Close the chat");
  bar.appendChild(title);
  bar.appendChild(close);
  panel.appendChild(bar);

  let frame = null;
  let opening = null;

  // A logged-in customer is vouched for by a POST from this site (never by a link), before the chat
  // page loads: the chat then belongs to the customer on every device.
  function vouch() {
    if (!customer || !signature) return Promise.resolve();
    // An unreachable server must not leave the panel hanging: the chat page says what is wrong.
    const abort = window.AbortController ? new AbortController() : null;
    if (abort) setTimeout(function () { abort.abort(); }, 10000);
    return fetch(host + "/chat/start/", {
      method: "POST",
      mode: "cors",
      credentials: "include",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ customer: customer, signature: signature, language: language }),
      signal: abort ? abort.signal : undefined,
    }).then(function (response) {
      if (!response.ok) console.warn("chatcore widget: the customer identity was refused (" + response.status + ")");
    }, function () { console.warn("chatcore widget: the chat server is unreachable"); });
  }

  function open() {
    panel.style.display = "flex";
    bubble.setAttribute("aria-expanded", "true");
    if (frame) { frame.focus(); return; }
    if (opening) return;
    const loading = styled("p", { margin: "16px", font: "15px/1.4 system-ui, sans-serif", color: "#5b6577" });
    loading.textContent = "Connecting…";
    loading.setAttribute("role", "status");
    panel.appendChild(loading);
    opening = vouch().then(function () {
      loading.remove();
      frame = styled("iframe", { flex: "1", width: "100%", border: "0" });
      frame.title = "Customer support chat";
      frame.src = host + "/chat/?embed=1" + (language ? "&lang=" + encodeURIComponent(language) : "");
      panel.appendChild(frame);
      frame.focus();
    });
  }

  function hide() {
    panel.style.display = "none";
    bubble.setAttribute("aria-expanded", "false");
    bubble.focus();
  }

  bubble.addEventListener("click", function () {
    if (panel.style.display === "none") open(); else hide();
  });
  close.addEventListener("click", hide);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") hide(); });
  // Escape pressed inside the chat (the frame) arrives as a message from the chat's origin.
  window.addEventListener("message", function (event) {
    if (event.origin === host && event.data && event.data.type === "chatcore:close" && panel.style.display !== "none") hide();
  });

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(bubble);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
