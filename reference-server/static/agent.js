// Agent dashboard: live arrivals over /ws/agent/, waiting times ticking, a visible (and optional
// audible) notice for each new escalation.
(function () {
  "use strict";
  const root = document.getElementById("dashboard");
  if (!root) return;
  const csrf = root.dataset.csrf;
  const queue = document.getElementById("queue");
  const notice = document.getElementById("notice");
  const count = document.getElementById("queue-count");

  function minutes(since) {
    const seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
    return Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }

  function tick() {
    document.querySelectorAll(".wait[data-since]").forEach(function (cell) {
      const since = Number(cell.dataset.since);
      if (since) cell.textContent = minutes(since);
    });
  }
  setInterval(tick, 1000);
  tick();

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

  function seen(roomId) {
    try { return Number(localStorage.getItem("chatcore-seen:" + roomId) || 0); } catch (e) { return 0; }
  }

  // Unread: messages after the last one this browser showed in the room's chat page.
  function showUnread(row, lastSeq) {
    const cell = row.querySelector(".seq");
    if (!cell) return;
    cell.dataset.last = String(lastSeq);
    const unread = Math.max(0, lastSeq - seen(row.dataset.room));
    cell.textContent = unread > 0 ? unread + " unread" : "—";
    cell.classList.toggle("unread", unread > 0);
  }
  document.querySelectorAll("#active tr[data-room], #bot tr[data-room]").forEach(function (row) {
    const cell = row.querySelector(".seq");
    if (cell) showUnread(row, Number(cell.textContent) || 0);
  });

  function renumber() {
    const rows = queue.querySelectorAll("tr[data-room]");
    rows.forEach(function (row, index) { row.firstElementChild.textContent = String(index + 1); });
    count.textContent = String(rows.length);
    const empty = queue.querySelector("tr.empty");
    if (empty) empty.hidden = rows.length > 0;
  }

  function queueRow(room) {
    const row = document.createElement("tr");
    row.dataset.room = room.id;
    const position = document.createElement("td");
    const link = document.createElement("td");
    const anchor = document.createElement("a");
    anchor.href = "/agent/chat/" + room.id + "/";
    anchor.textContent = room.id.slice(0, 8);
    link.appendChild(anchor);
    const wait = document.createElement("td");
    wait.className = "wait";
    wait.dataset.since = String(room.escalated_at || Date.now());
    const action = document.createElement("td");
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
    form.appendChild(button);
    action.appendChild(form);
    [position, link, wait, action].forEach(function (cell) { row.appendChild(cell); });
    return row;
  }

  function onRoom(room) {
    const existing = queue.querySelector('tr[data-room="' + room.id + '"]');
    if (room.status === "waiting_for_agent" && !existing) {
      queue.appendChild(queueRow(room));
      notice.textContent = "New chat waiting for an agent (" + room.id.slice(0, 8) + ")";
      notice.hidden = false;
      beep();
    } else if (room.status !== "waiting_for_agent" && existing) {
      existing.remove();
    }
    document.querySelectorAll('#active tr[data-room="' + room.id + '"], #bot tr[data-room="' + room.id + '"]')
      .forEach(function (row) { showUnread(row, room.last_seq); });
    renumber();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + "/ws/agent/");
    socket.addEventListener("message", function (event) {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "room") onRoom(frame.room);
      else if (frame.type === "room_message") {
        document.querySelectorAll('#active tr[data-room="' + frame.room_id + '"]')
          .forEach(function (row) { showUnread(row, frame.message.seq); });
      }
      else if (frame.type === "error" && frame.code === "lagged") location.reload();
    });
    socket.addEventListener("close", function () { setTimeout(connect, 2000); });
  }
  connect();
})();
