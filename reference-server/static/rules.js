// Bot-rule editor: the search filters the table as you type, and "Try this edit" asks the server which
// rule would answer the "Try a message" text if this row's unsaved values were saved.
(function () {
  "use strict";
  const tryBox = document.getElementById("try");
  const search = document.getElementById("search");
  const searchCount = document.getElementById("search-count");
  if (!tryBox || !search) return;

  const rows = Array.from(document.querySelectorAll("tr.rule"));
  function filter() {
    const needle = search.value.trim().toLowerCase();
    let shown = 0;
    rows.forEach(function (row) {
      const hit = !needle || row.dataset.search.toLowerCase().indexOf(needle) !== -1;
      row.hidden = !hit;
      // A rule's "try" result sits in the row below it, and goes with it.
      const below = row.nextElementSibling;
      if (below && below.classList.contains("draft-row")) below.hidden = !hit || !below.textContent.trim();
      if (hit) shown += 1;
    });
    searchCount.textContent = needle ? shown + " of " + rows.length + " rules match" : "";
  }
  search.addEventListener("input", filter);

  function say(output, text, failed) {
    // A live region is announced when its text changes while it is shown: show it empty, then fill it.
    const row = output.closest("tr.draft-row");
    if (row) row.hidden = false;
    output.hidden = false;
    output.textContent = "";
    output.classList.toggle("error", Boolean(failed));
    setTimeout(function () { output.textContent = text; }, 50);
  }

  function draftOf(form) {
    const value = function (name) { const field = form.elements[name]; return field ? field.value : ""; };
    // The same rule as saving: digits only (Number() would also take "1e3").
    if (!/^\s*-?\d+\s*$/.test(value("priority"))) throw new Error("Priority must be a whole number.");
    const priority = Number(value("priority"));
    return {
      intent: value("intent").trim(),
      keywords: value("keywords").split(",").map(function (k) { return k.trim(); }).filter(Boolean),
      response: value("response"),
      priority: priority,
      // A checkbox on the new-rule form; a hidden field (present when active) on saved rules.
      active: Boolean(form.elements.active && (form.elements.active.type !== "checkbox" || form.elements.active.checked)),
      language: value("language").trim() || "en",
      catalog_response: value("catalog_response").trim() || null,
    };
  }

  function describe(body) {
    const found = body.matched;
    if (!found) return "No rule would match: the bot would send its fallback reply.";
    const whose = body.draft_wins ? "This rule" : "Rule " + found.rule_id + " (not this one)";
    return whose + " would answer (" + found.intent + ", keyword “" + found.keyword + "”, priority " +
      found.priority + "): " + body.response;
  }

  document.querySelectorAll("button.try-draft").forEach(function (button) {
    button.hidden = false;
    const form = button.form;
    const output = document.getElementById(button.dataset.output);
    button.addEventListener("click", function () {
      const text = tryBox.value.trim();
      if (!text) { say(output, "Type a message in “Try a message” first.", true); tryBox.focus(); return; }
      let draft;
      try { draft = draftOf(form); } catch (error) { say(output, error.message, true); return; }
      const id = form.elements.id ? Number(form.elements.id.value) : null;
      const request = { text: text, draft: draft };
      if (id !== null) request.replaces = id;
      fetch("/api/v1/explain", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request),
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (result) {
        if (!result.ok) { say(output, (result.body.error && result.body.error.message) || "The rule is not valid.", true); return; }
        say(output, "With this unsaved " + (id === null ? "rule" : "edit") + ": " + describe(result.body), false);
      }).catch(function () { say(output, "Could not reach the server; try again.", true); });
    });
  });
  // Every rule form takes the "Try a message" text and the search along, so the page comes back as
  // it was; toggling or deleting asks first when it would lose something.
  function dirty(form) {
    return Array.from(form.elements).some(function (field) {
      return (field.tagName === "TEXTAREA" || field.type === "number" || field.type === "text") && field.value !== field.defaultValue;
    });
  }
  document.querySelectorAll("form[action='/agent/bot-responses/'][method='post']").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      const action = event.submitter && event.submitter.value;
      const id = form.elements.id ? form.elements.id.value : null;
      if (action === "delete" && !window.confirm("Delete rule " + id + "? This cannot be undone.")) { event.preventDefault(); return; }
      if ((action === "enable" || action === "disable") && dirty(form) &&
          !window.confirm("Rule " + id + " has unsaved changes, which turning it " + (action === "enable" ? "on" : "off") + " discards. Continue?")) {
        event.preventDefault();
        return;
      }
      [["try", tryBox.value], ["search", search.value]].forEach(function (pair) {
        if (!pair[1].trim()) return;
        const carry = document.createElement("input");
        carry.type = "hidden";
        carry.name = pair[0];
        carry.value = pair[1];
        form.appendChild(carry);
      });
    });
  });
  filter();
})();
