// Agent dashboard: the three lists drawn from the page's JSON and kept live over /ws/agent/; waiting
// times tick; each new escalation shows a notice (and, if the agent opted in, a sound and a desktop
// notification).
(function () {
  "use strict";
  const root = document.getElementById("dashboard");
  if (!root) return;
  const csrf = root.dataset.csrf;
  const initial = JSON.parse(document.getElementById("lists").textContent);
  const agents = initial.agents || {};
  const rooms = new Map();
  [].concat(initial.queue, initial.active, initial.bot).forEach(function (room) { rooms.set(room.id, room); });
  const notice = document.getElementById("notice");
  const connection = document.getElementById("connection");
  const count = document.getElementById("queue-count");
  const sound = document.getElementById("sound");
  const desktop = document.getElementById("desktop");
  const BOT_ROWS = 50;

  function preference(name, fallback) {
    try { return localStorage.getItem("chatcore-pref:" + name) || fallback; } catch (e) { return fallback; }
  }
  function remember(name, value) {
    try { localStorage.setItem("chatcore-pref:" + name, value); } catch (e) { /* private mode */ }
  }

  sound.checked = preference("sound", "off") === "on";
  sound.addEventListener("change", function () { remember("sound", sound.checked ? "on" : "off"); });
  function showDesktopState() {
    if (!("Notification" in window)) { desktop.hidden = true; return; }
    desktop.textContent = Notification.permission === "granted" ? "Desktop notifications on"
      : Notification.permission === "denied" ? "Desktop notifications blocked" : "Desktop notifications";
    desktop.disabled = Notification.permission !== "default";
  }
  desktop.addEventListener("click", function () {
    // Older browsers take a callback instead of returning a promise.
    const asked = Notification.requestPermission(showDesktopState);
    if (asked && asked.then) asked.then(showDesktopState, showDesktopState);
  });
  showDesktopState();

  function beep() {
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.15);
    } catch (e) { /* sound is optional */ }
  }

  function announce(room) {
    notice.textContent = "New chat waiting for an agent: " + visitorLabel(room) + ".";
    notice.hidden = false;
    if (sound.checked) beep();
    if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
      try { new Notification("Chat waiting for an agent", { body: visitorLabel(room), tag: room.id }); } catch (e) { /* optional */ }
    }
  }

  function elapsed(since) {
    const seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const clock = String(minutes).padStart(hours ? 2 : 1, "0") + ":" + String(seconds % 60).padStart(2, "0");
    return hours ? hours + ":" + clock : clock;
  }

  function tick() {
    document.querySelectorAll(".wait[data-since]").forEach(function (cell) {
      cell.textContent = elapsed(Number(cell.dataset.since));
    });
  }

  function seen(roomId) {
    try { return Number(localStorage.getItem("chatcore-seen:" + roomId) || 0); } catch (e) { return 0; }
  }

  function visitorLabel(room) {
    return (room.visitor === "customer" ? "Customer " : "Guest ") + room.id.slice(0, 8);
  }

  function cell(content, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    if (typeof content === "string") td.textContent = content; else td.appendChild(content);
    return td;
  }

  function chatLink(room) {
    const anchor = document.createElement("a");
    anchor.href = "/agent/chat/" + room.id + "/";
    anchor.textContent = visitorLabel(room);
    return anchor;
  }

  function acceptForm(room) {
    const form = document.createElement("form");
    form.method = "post";
    form.action = "/agent/chat/" + room.id + "/";
    [["csrf", csrf], ["action", "accept"]].forEach(function (pair) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = pair[0];
      input.value = pair[1];
      form.appendChild(input);
    });
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Accept";
    button.setAttribute("aria-label", "Accept chat with " + visitorLabel(room));
    form.appendChild(button);
    return form;
  }

  // Each table draws a row once and afterwards only updates its changing cells in place, so a
  // focused Accept button or link survives live updates.
  const tables = {
    queue: {
      status: "waiting_for_agent",
      order: function (a, b) { return (a.escalated_at || 0) - (b.escalated_at || 0); },
      create: function (room) {
        const since = room.escalated_at || room.updated_at;
        const wait = cell(elapsed(since), "wait");
        wait.dataset.since = String(since);
        return [cell("", "place"), cell(chatLink(room)), wait, cell(acceptForm(room))];
      },
      update: function (row, room, index) { setText(row.querySelector(".place"), String(index + 1)); },
    },
    active: {
      status: "with_agent",
      order: function (a, b) { return b.updated_at - a.updated_at; },
      create: function (room) { return [cell(chatLink(room)), cell("", "agent"), cell("", "seq")]; },
      update: function (row, room) {
        const name = room.agent_id != null ? (agents[String(room.agent_id)] || "Agent " + room.agent_id) : "—";
        setText(row.querySelector(".agent"), name);
        showUnread(row.querySelector(".seq"), room);
      },
    },
    bot: {
      status: "bot",
      limit: BOT_ROWS,
      order: function (a, b) { return b.updated_at - a.updated_at; },
      // Bot chats' messages are not sent to agents (they would flood every dashboard): this list
      // shows when each chat started, which stays true.
      create: function (room) {
        const opened = cell(elapsed(room.created_at), "wait");
        opened.dataset.since = String(room.created_at);
        return [cell(chatLink(room)), opened];
      },
      update: function () {},
    },
  };

  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  // Unread: messages after the last one this browser showed in the room's chat page.
  function showUnread(element, room) {
    const unread = Math.max(0, room.last_seq - seen(room.id));
    setText(element, unread > 0 ? unread + " unread" : "—");
    element.classList.toggle("unread", unread > 0);
  }

  function draw() {
    Object.keys(tables).forEach(function (id) {
      const table = tables[id];
      const body = document.getElementById(id);
      const empty = body.querySelector("tr.empty");
      let list = Array.from(rooms.values()).filter(function (room) { return room.status === table.status; }).sort(table.order);
      if (table.limit) list = list.slice(0, table.limit);
      const rows = new Map();
      body.querySelectorAll("tr[data-room]").forEach(function (row) { rows.set(row.dataset.room, row); });
      let previous = empty;
      list.forEach(function (room, index) {
        let row = rows.get(room.id);
        if (row) {
          rows.delete(room.id);
        } else {
          row = document.createElement("tr");
          row.dataset.room = room.id;
          table.create(room).forEach(function (td) { row.appendChild(td); });
        }
        table.update(row, room, index);
        // Moved only when out of place: moving a row would take the focus out of it.
        if (row.previousElementSibling !== previous) previous.after(row);
        previous = row;
      });
      rows.forEach(function (row) { row.remove(); });
      empty.hidden = list.length > 0;
      if (id === "queue") setText(count, String(list.length));
    });
    tick();
  }

  function onRoom(room) {
    const before = rooms.get(room.id);
    rooms.set(room.id, room);
    if (room.status === "closed") rooms.delete(room.id);
    if (room.status === "waiting_for_agent" && (!before || before.status !== "waiting_for_agent")) announce(room);
    draw();
  }

  function onMessage(roomId, message) {
    const room = rooms.get(roomId);
    if (!room || message.seq <= room.last_seq) return;
    room.last_seq = message.seq;
    draw();
  }

  let connectedBefore = false;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + "/ws/agent/");
    socket.addEventListener("open", function () {
      // Back after a break: what changed meanwhile was never sent, so the lists are fetched again
      // (and an ended session lands on the login page).
      if (connectedBefore) { location.reload(); return; }
      connectedBefore = true;
      connection.hidden = true;
    });
    socket.addEventListener("message", function (event) {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "room") onRoom(frame.room);
      else if (frame.type === "room_message") onMessage(frame.room_id, frame.message);
      // Missed events: the lists may be stale, so they are fetched again with the page.
      else if (frame.type === "error" && frame.code === "lagged") location.reload();
    });
    socket.addEventListener("close", function () {
      connection.hidden = false;
      // An ended session (logout elsewhere, expiry, disabled account) cannot reconnect: log in again.
      fetch("/api/v1/session", { credentials: "same-origin" }).then(function (response) {
        if (response.status === 401) location.href = "/agent/login/";
        else setTimeout(connect, 2000);
      }, function () { setTimeout(connect, 2000); });
    });
  }

  // Another tab showing a chat updates what this browser has seen: unread counts follow.
  window.addEventListener("storage", function (event) {
    if (event.key && event.key.indexOf("chatcore-seen:") === 0) draw();
  });
  setInterval(tick, 1000);
  draw();
  connect();
})();
