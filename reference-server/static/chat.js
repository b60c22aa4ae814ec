// Visitor chat and agent chat: one WebSocket per room, messages rendered strictly by seq.
(function () {
  "use strict";
  const root = document.getElementById("chat");
  if (!root) return;
  let room = root.dataset.room;
  const role = root.dataset.role;
  const max = Number(root.dataset.max || 1000);
  const list = document.getElementById("messages");
  const statusLine = document.getElementById("status");
  const banner = document.getElementById("banner");
  const typing = document.getElementById("typing");
  const form = document.getElementById("composer");
  const text = document.getElementById("text");
  const counter = document.getElementById("counter");
  const errorLine = document.getElementById("error");
  const rating = document.getElementById("rating");
  const ended = document.getElementById("ended");
  const newChat = document.getElementById("new-chat");
  let lastSent = null;
  let lastSeq = 0;
  let socket = null;
  let retry = 0;
  let typingTimer = null;
  let lastTypingSent = 0;
  let closed = false;

  // The visitor page's words in the chat's language (the server renders them as JSON data); staff
  // pages have none and read English.
  const ui = (function () {
    const data = document.getElementById("ui-texts");
    try { return data ? JSON.parse(data.textContent) : {}; } catch (e) { return {}; }
  })();
  function say(key, english, values) {
    let text = ui[key] || english;
    Object.keys(values || {}).forEach(function (name) { text = text.split("{" + name + "}").join(String(values[name])); });
    return text;
  }

  const names = { visitor: role === "visitor" ? say("you", "You") : "Visitor", bot: say("assistant", "Assistant"), agent: role === "agent" ? "You" : say("agent", "Agent"), system: "" };

  function time(ms) {
    return new Date(ms).toLocaleTimeString(document.documentElement.lang || [], { hour: "2-digit", minute: "2-digit" });
  }

  function render(message) {
    if (message.client_id && message.sender === role) lastSent = null; // acknowledged
    if (message.seq <= lastSeq) return; // already shown
    if (message.seq > lastSeq + 1) { resync(); return; } // a gap: ask for it
    lastSeq = message.seq;
    if (role === "agent") {
      // The dashboard's unread counts compare a room's last seq with what this browser has shown.
      try { localStorage.setItem("chatcore-seen:" + room, String(lastSeq)); } catch (e) { /* private mode */ }
    }
    const item = document.createElement("li");
    item.className = "bubble " + message.sender;
    item.dataset.seq = String(message.seq);
    if (message.sender !== "system") {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = names[message.sender] || message.sender;
      item.appendChild(who);
    }
    const body = document.createElement("p");
    body.textContent = message.text;
    item.appendChild(body);
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = time(message.created_at);
    if (role === "agent" && message.sender === "bot" && message.explanation) {
      const why = message.explanation;
      const matched = why.kind === "matched" ? why : why.matched;
      if (matched) {
        meta.textContent += " · intent " + matched.intent + ", keyword “" + matched.keyword + "”, rule " + matched.rule_id;
      } else if (why.kind === "resumed") {
        meta.textContent += " · answer to the follow-up of rule " + why.rule_id + " (" + why.intent + ")";
      } else {
        meta.textContent += " · " + why.kind;
      }
      if (why.kind === "follow_up") meta.textContent += " · asked for " + why.asked.replace("_", " ");
    }
    item.appendChild(meta);
    list.appendChild(item);
    item.scrollIntoView({ block: "end" });
    if (message.sender !== role) typing.hidden = true;
  }

  function waitText(seconds) {
    if (seconds == null) return "";
    if (seconds < 60) return say("under_a_minute", "less than a minute");
    const minutes = Math.round(seconds / 60);
    return minutes === 1 ? say("one_minute", "about 1 minute") : say("minutes", "about {n} minutes", { n: minutes });
  }

  function showStatus(frame) {
    const wait = waitText(frame.expected_wait_secs);
    const labels = role === "agent" ? {
      bot: "With the bot",
      waiting_for_agent: "Waiting for an agent" + (frame.queue_position ? " (number " + frame.queue_position + " in the queue)" : ""),
      with_agent: "With " + (frame.agent_name || "an agent"),
      closed: "Closed" + (frame.rating ? " — rated " + frame.rating + "/5" : ""),
    } : {
      bot: say("status_bot", "Chatting with our assistant"),
      waiting_for_agent: say("status_waiting", "Waiting for an agent") +
        (frame.queue_position ? say("queue_place", " — you are number {n} in the queue", { n: frame.queue_position }) : "") +
        (wait ? say("expected_wait", ". Expected wait: {wait}.", { wait: wait }) : say("shortly", ". Someone will be with you shortly.")),
      with_agent: say("status_with", "Chatting with {name}", { name: frame.agent_name || say("an_agent", "an agent") }),
      closed: say("status_closed", "This chat has ended"),
    };
    statusLine.textContent = labels[frame.status] || frame.status;
    root.dataset.status = frame.status;
    closed = frame.status === "closed";
    const focusWasHere = root.contains(document.activeElement);
    if (form) form.hidden = closed;
    if (rating) rating.hidden = !(closed && role === "visitor" && !frame.rating);
    if (ended) ended.hidden = !closed;
    const human = document.getElementById("human");
    if (human) human.hidden = frame.status !== "bot";
    const accept = document.getElementById("accept");
    if (accept) accept.hidden = frame.status !== "waiting_for_agent";
    const closeForm = document.getElementById("close");
    if (closeForm) closeForm.hidden = closed;
    // A button that just hid (Talk to a human, a rating, End chat) must not drop focus to the page.
    const active = document.activeElement;
    if (focusWasHere && (!active || active === document.body || active.offsetParent === null)) {
      const next = [text, rating && rating.querySelector("button"), newChat].find(function (candidate) {
        return candidate && candidate.offsetParent !== null;
      });
      if (next) next.focus();
    }
  }

  function showError(message) {
    if (!errorLine) return;
    errorLine.textContent = message;
    errorLine.hidden = false;
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    showError(say("not_connected", "Not connected — reconnecting…"));
    return false;
  }

  function resync() {
    send({ type: "resume", after_seq: lastSeq });
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + location.host + "/ws/chat/" + room + "/?after_seq=" + lastSeq);
    socket.addEventListener("open", function () {
      retry = 0;
      banner.hidden = true;
    });
    socket.addEventListener("message", function (event) {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "message") render(frame);
      else if (frame.type === "status") showStatus(frame);
      else if (frame.type === "typing") {
        typing.hidden = false;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typing.hidden = true; }, 4000);
      } else if (frame.type === "error") {
        showError(frame.message);
        // A refused message keeps its text: put it back if nothing else was typed meanwhile.
        if (lastSent && text && !text.value) { text.value = lastSent; updateCounter(); }
        lastSent = null;
      }
    });
    socket.addEventListener("close", function () {
      banner.textContent = say("connection_lost", "Connection lost — reconnecting…");
      banner.hidden = false;
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * Math.pow(2, retry));
    });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const value = text.value;
      if (!value.trim()) return;
      if ([...value].length > max) { showError(say("too_long", "Your message is longer than {max} characters.", { max: max })); return; }
      const id = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).slice(0, 36);
      if (send({ type: "message", text: value, client_id: id })) {
        lastSent = value;
        text.value = "";
        // The next keystroke starts a new message: announce it at once.
        lastTypingSent = 0;
        updateCounter();
        errorLine.hidden = true;
      }
    });
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    text.addEventListener("input", function () {
      updateCounter();
      const now = Date.now();
      if (now - lastTypingSent > 2000) { lastTypingSent = now; send({ type: "typing" }); }
    });
  }

  function updateCounter() {
    if (!counter) return;
    const length = [...text.value].length;
    counter.textContent = length + " / " + max;
    counter.classList.toggle("over", length > max);
  }

  // In the widget's panel, Escape closes the panel: the page around the frame cannot hear the key.
  if (document.body.classList.contains("embedded") && window.parent !== window) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") window.parent.postMessage({ type: "chatcore:close" }, "*");
    });
  }

  const human = document.getElementById("human");
  if (human) human.addEventListener("click", function () { send({ type: "escalate" }); });
  const end = document.getElementById("end");
  if (end) end.addEventListener("click", function () {
    if (window.confirm(say("confirm_end", "End this chat?"))) send({ type: "close" });
  });
  if (newChat) newChat.addEventListener("click", function () { start(true); });
  if (rating) {
    rating.querySelectorAll("button[data-score]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (send({ type: "rate", score: Number(button.dataset.score) })) rating.hidden = true;
      });
    });
  }
  document.querySelectorAll(".canned-list button").forEach(function (button) {
    button.addEventListener("click", function () {
      text.value = button.textContent;
      button.closest("details").open = false;
      updateCounter();
      text.focus();
    });
  });

  // A new visitor gets a room when the page runs, not when it is fetched (crawlers make none).
  // "Start a new chat" after one ended asks for a fresh room and loads the page again with it.
  function start(fresh) {
    // The host site's language setting (the widget's data-lang) comes in the page address.
    const language = new URLSearchParams(location.search).get("lang");
    const wanted = {};
    if (fresh) wanted.new = true;
    if (language) wanted.language = language;
    fetch("/chat/start/", { method: "POST", credentials: "same-origin", body: Object.keys(wanted).length ? JSON.stringify(wanted) : "" })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (!body.room_id) throw new Error((body.error && body.error.message) || "");
        if (fresh) { location.reload(); return; }
        room = body.room_id;
        root.dataset.room = room;
        connect();
      })
      .catch(function (error) {
        if (form) form.hidden = false;
        showError(error.message || say("unavailable", "The chat is unavailable right now. Please reload the page in a moment."));
      });
  }
  if (room) connect(); else start(false);
  if (document.body.classList.contains("embedded") && text) text.focus();
})();
