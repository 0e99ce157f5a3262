// The people view (#/people: find a reader by the start of their name, their user id or their SSO
// subject) and the author drawer any view opens with Console.openUser(userId): the reader's
// standing, recent comments with outcomes and scores, reports against them, decisions, bans and
// private notes, and the moderator's actions on them, each one or two keys.
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  // the drawer's shortcuts are listed in the "?" overlay under this heading; they work while the
  // drawer is open, whatever the view under it (this file dispatches them, before the view's own)
  var DRAWER_SCOPE = "Author drawer (while it is open)";
  var SEQUENCE_MS = 1500; // as the shell's: the second key of "g p" is the shell's, not the drawer's
  var BAN_DAYS = [
    { value: "", label: "Permanent (until lifted)" }, { value: "1", label: "1 day" }, { value: "3", label: "3 days" },
    { value: "7", label: "7 days" }, { value: "30", label: "30 days" }, { value: "90", label: "90 days" },
    { value: "365", label: "1 year" },
  ];
  var ACTION_WORDS = {
    approve: "Approved", reject: "Rejected", undo: "Undid a decision", ban: "Banned", unban: "Lifted the ban",
    suspend: "Suspended", trust: "Trusted", untrust: "Stopped trusting", premoderate: "Put on premoderation",
    unpremoderate: "Took off premoderation", note: "Added a note", shadow_restrict: "Shadow-restricted",
    lift_shadow_restriction: "Lifted the shadow restriction",
  };

  function who(id, name) {
    if (id && C.staff && id === C.staff.id) return "you";
    return name || id || "the automatic moderation";
  }

  function fail(err) {
    if (err) C.toast(err.detail || err.message || String(err), { error: true });
  }

  function when(iso) {
    return el("time", { datetime: iso, title: C.fmt.time(iso) }, C.fmt.ago(iso));
  }

  // ------------------------------------------------------------------ the author drawer
  var drawer = null;   // {root, title, body, userId, profile, opener, seq}
  var lastKey = null;  // the previous key while the drawer is open: {key, at}

  function ensureDrawer() {
    if (drawer) return drawer;
    var title = el("h2", { id: "people-drawer-title", tabindex: "-1" }, "Reader");
    var close = el("button", { type: "button", class: "drawer-close", "aria-keyshortcuts": "Escape",
                               on: { click: function () { closeDrawer(); } } }, "Close ", el("kbd", { text: "Esc" }));
    var body = el("div", { class: "drawer-body" });
    var root = el("aside", { id: "people-drawer", class: "drawer", role: "dialog", "aria-modal": "false",
                             "aria-labelledby": "people-drawer-title", hidden: true },
                  el("div", { class: "drawer-head" }, title, close), body);
    (document.getElementById("main") || document.body).appendChild(root);
    drawer = { root: root, title: title, body: body, userId: null, profile: null, opener: null, seq: 0 };
    return drawer;
  }

  function isOpen() { return !!drawer && !drawer.root.hidden; }

  function openUser(userId) {
    var d = ensureDrawer();
    if (!isOpen()) d.opener = document.activeElement;
    d.userId = Number(userId);
    d.profile = null;
    d.root.hidden = false;
    document.body.classList.add("drawer-open");
    d.title.textContent = "Reader #" + d.userId;
    d.body.textContent = "";
    d.body.appendChild(el("p", { class: "muted" }, "Loading…"));
    d.title.focus();
    return load();
  }

  function closeDrawer() {
    if (!isOpen()) return;
    drawer.seq++;
    drawer.root.hidden = true;
    drawer.profile = null;
    document.body.classList.remove("drawer-open");
    var opener = drawer.opener;
    drawer.opener = null;
    if (opener && opener.focus && document.contains(opener) && opener !== document.body) opener.focus();
  }

  function load() {
    var d = drawer;
    var seq = ++d.seq;
    return C.api("GET", "/users/" + d.userId + "/profile").then(function (p) {
      if (seq !== d.seq || !isOpen()) return;
      d.profile = p;
      renderProfile(p);
    }).catch(function (err) {
      if (seq !== d.seq || !isOpen()) return;
      d.profile = null;
      d.body.textContent = "";
      d.body.appendChild(el("p", { class: "error", role: "alert" },
        err.status === 404 ? "This reader is not known to this site."
          : err.status === 403 ? "This reader belongs to a site you do not moderate." : err.message));
    });
  }

  function section(title, id) {
    var h = el("h3", { id: id }, title);
    return el("section", { class: "drawer-section", "aria-labelledby": id }, h);
  }

  function flags(s) {
    var out = [];
    if (s.banned) {
      out.push(el("span", { class: "flag bad" }, s.banned_until ? "Banned until " + C.fmt.time(s.banned_until)
                                                                : "Banned until lifted"));
      if (s.ban_reason) out.push(el("span", { class: "muted" }, "“" + s.ban_reason + "”"));
    }
    if (s.premoderated) out.push(el("span", { class: "flag" }, "Premoderated"));
    if (s.trusted) out.push(el("span", { class: "flag ok" }, "Trusted"));
    if (s.shadow_restricted) out.push(el("span", { class: "flag" }, "Shadow-restricted"));
    if (!out.length) out.push(el("span", { class: "flag ok" }, "In good standing"));
    return out;
  }

  function actionButton(label, key, handler, attrs) {
    return el("button", Object.assign({ type: "button", "aria-keyshortcuts": key,
                                        on: { click: function () { handler(); } } }, attrs || {}),
              label + " ", el("kbd", { text: key }));
  }

  function renderProfile(p) {
    var d = drawer;
    var s = p.standing;
    var body = d.body;
    d.title.textContent = s.name;
    body.textContent = "";

    body.appendChild(el("p", { class: "person-line muted" },
      (s.kind === "sso" ? "Signed-in reader" : "Guest") + " · #" + s.user_id + " · ",
      el("span", null, (s.kind === "sso" ? "subject " : "id ")), el("code", { class: "subject" }, p.subject),
      " · first seen ", when(p.created_at)));
    body.appendChild(el("p", { class: "standing", "data-standing": "" }, flags(s)));
    body.appendChild(el("div", { class: "actions drawer-actions", role: "group", "aria-label": "Actions on " + s.name },
      actionButton(s.banned ? "Change ban" : "Ban", "b", ban, { class: "reject" }),
      s.banned ? actionButton("Lift ban", "Shift+U", unban) : null,
      actionButton("Suspend", "s", suspend),
      actionButton("Trusted", "t", toggleTrust, { "aria-pressed": String(!!s.trusted) }),
      actionButton("Premoderation", "p", togglePremoderation, { "aria-pressed": String(!!s.premoderated) }),
      p.shadow_restriction ? actionButton("Shadow restriction", "Shift+R", toggleShadow,
                                          { "aria-pressed": String(!!s.shadow_restricted) }) : null,
      actionButton("Note", "n", addNote)));
    // offered only where the site turned it on; what it does, in one line (SECURITY.md "Shadow restriction")
    if (p.shadow_restriction) {
      body.appendChild(el("p", { class: "muted shadow-note" }, "Shadow restriction: their new comments wait " +
        "for a moderator and show only to them, unmarked; they get a statement of reasons and see it when they ask."));
    }

    var counts = p.counts;
    var comments = section("Comments", "people-comments-title");
    comments.appendChild(el("p", { class: "counts" },
      counts.published + " published · " + counts.held + " held · " + counts.rejected + " rejected · " +
      counts.deleted + " deleted" + (counts.pending_scoring ? " · " + counts.pending_scoring + " being scored" : "")));
    if (p.recent_comments.length) {
      comments.appendChild(el("ol", { class: "person-comments", "aria-label": "Recent comments, newest first" },
        p.recent_comments.map(commentItem)));
    } else {
      comments.appendChild(el("p", { class: "muted" }, "No comments yet."));
    }
    body.appendChild(comments);

    var r = p.reports;
    var reports = section("Reports against them", "people-reports-title");
    if (!r.count) {
      reports.appendChild(el("p", { class: "muted" }, "No reader has reported their comments."));
    } else {
      reports.appendChild(el("p", null, r.count + " report" + (r.count === 1 ? "" : "s") + " (" + r.open + " open): " +
        Object.keys(r.reasons).map(function (k) { return k.replace(/_/g, " ") + " ×" + r.reasons[k]; }).join(", ")));
      reports.appendChild(el("ul", { class: "plain" }, r.recent.map(function (rep) {
        return el("li", null, when(rep.created_at), " · ", rep.reason.replace(/_/g, " "), " on #" + rep.comment_id,
                  rep.note ? el("span", { class: "muted" }, " “" + rep.note + "”") : null,
                  rep.open ? el("span", { class: "flag bad" }, "open") : null);
      })));
    }
    body.appendChild(reports);

    var decisions = section("Decisions", "people-decisions-title");
    decisions.appendChild(p.decisions.length ? auditList(p.decisions)
      : el("p", { class: "muted" }, "No moderator has decided anything about them yet."));
    body.appendChild(decisions);

    var bans = section("Bans and suspensions", "people-bans-title");
    bans.appendChild(p.bans.length ? auditList(p.bans) : el("p", { class: "muted" }, "Never banned or suspended."));
    body.appendChild(bans);

    var notes = section("Moderator notes", "people-notes-title");
    notes.appendChild(el("p", { class: "hint" }, "Only moderators of this site see these notes (" + p.notes.length +
                                                 " of at most " + p.notes_cap + ")."));
    if (p.notes.length) {
      notes.appendChild(el("ul", { class: "plain person-notes" }, p.notes.map(function (n) {
        return el("li", null, el("p", { class: "note-text" }, n.text),
                  el("p", { class: "muted note-meta" }, who(n.author_id, n.author_name) + " · ", when(n.created_at)));
      })));
    }
    notes.appendChild(actionButton("Add a note", "n", addNote));
    body.appendChild(notes);
  }

  function commentItem(c) {
    var score = c.max_score != null ? el("span", { title: scoreTitle(c.scores) }, "score " + C.fmt.score(c.max_score)) : null;
    return el("li", { class: "person-comment status-" + c.status, "data-id": c.id },
      el("div", { class: "meta" },
        el("span", { class: "flag" + (c.status === "rejected" ? " bad" : c.status === "published" ? " ok" : "") },
           C.fmt.status(c.status)),
        c.status_reason ? el("span", { class: "reason" }, c.status_reason.replace(/_/g, " ")) : null,
        score,
        c.open_reports ? el("span", { class: "reason" }, c.open_reports + " open report" + (c.open_reports === 1 ? "" : "s")) : null,
        c.moderated_by ? el("span", null, "by " + who(c.moderated_by)) : null,
        el("span", null, "#" + c.id),
        el("a", { href: "#/articles/" + encodeURIComponent(c.article.id) }, c.article.title),
        when(c.created_at)),
      C.html(el("div", { class: "body" }), c.body_html)); // sanitised by the service when written
  }

  function scoreTitle(scores) {
    if (!scores) return null;
    return Object.keys(scores).sort(function (a, b) { return scores[b] - scores[a]; })
      .map(function (k) { return k + " " + C.fmt.score(scores[k]); }).join(", ");
  }

  function auditList(entries) {
    return el("ul", { class: "plain audit-lines" }, entries.map(function (e) {
      var until = e.details && e.details.until;
      var extra = [];
      if (e.action === "ban" || e.action === "suspend") extra.push(until ? "until " + C.fmt.time(until) : "until lifted");
      if (e.details && e.details.reject_existing) extra.push("their comments rejected");
      if (e.comment_id) extra.push("#" + e.comment_id);
      if (e.reason) extra.push("reason: " + e.reason.replace(/_/g, " "));
      return el("li", { "data-action": e.action }, when(e.created_at), " · ",
                el("strong", null, ACTION_WORDS[e.action] || e.action.replace(/_/g, " ")),
                " by " + who(e.actor_id, e.actor_name) + (extra.length ? " · " + extra.join(" · ") : ""),
                e.note && e.action !== "note" ? el("span", { class: "muted" }, " “" + e.note + "”") : null);
    }));
  }

  // ------------------------------------------------------------------ the drawer's actions
  function subject() { return isOpen() && drawer.profile ? drawer.profile : null; }

  // after a change: tell other views, show the new profile; comments a ban rejected leave the
  // lists on screen, so a view showing comments is drawn again from the server
  function changed(standing, rejected) {
    C.emit("people:changed", { user_id: standing.user_id, standing: standing, rejected_comments: rejected || 0 });
    if (isOpen() && drawer.userId === standing.user_id) load();
    var cur = C.current();
    if (rejected && cur && (cur.name === "queue" || cur.name === "articles")) C.go(cur.name, cur.arg);
  }

  function ban() {
    var p = subject();
    if (!p) return;
    var s = p.standing;
    var waiting = p.counts.held + p.counts.published + p.counts.pending_scoring;
    C.prompt((s.banned ? "Change the ban of " : "Ban ") + s.name, [
      { name: "duration", label: "How long", type: "select", options: BAN_DAYS, value: "7" },
      { name: "reason", label: "Reason (kept in the audit log)", type: "text", maxlength: 200 },
      { name: "reject_existing", label: "Reject all their pending and published comments (" + waiting + ")",
        type: "checkbox" },
    ], { submitLabel: "Continue", danger: true }).then(function (v) {
      if (!v) return null;
      var days = v.duration ? Number(v.duration) : null;
      var span = days ? "for " + BAN_DAYS.filter(function (o) { return o.value === v.duration; })[0].label : "until lifted";
      var text = s.name + " will not be able to comment " + span + "." +
        (v.reject_existing ? " All their pending and published comments (" + waiting + ") will be rejected." : "");
      return C.confirm(text, { danger: true, confirmLabel: "Ban", title: "Ban " + s.name + "?" }).then(function (ok) {
        if (!ok) return null;
        return C.api("POST", "/users/" + s.user_id + "/ban", {
          body: { duration_days: days, reason: v.reason || null, reject_existing: !!v.reject_existing },
        }).then(function (res) {
          C.toast("Banned " + s.name + (res.rejected_comments ? "; " + res.rejected_comments + " comment" +
                  (res.rejected_comments === 1 ? "" : "s") + " rejected" : "") + ".");
          changed(res.standing, res.rejected_comments);
        });
      });
    }).catch(fail);
  }

  function unban() {
    var p = subject();
    if (!p) return;
    var s = p.standing;
    if (!s.banned) { C.toast(s.name + " is not banned."); return; }
    C.confirm(s.name + " will be able to comment again at once.", { confirmLabel: "Lift the ban",
                                                                   title: "Lift the ban of " + s.name + "?" })
      .then(function (ok) {
        if (!ok) return null;
        return C.api("DELETE", "/users/" + s.user_id + "/ban").then(function (standing) {
          C.toast("Lifted the ban of " + s.name + ".");
          changed(standing, 0);
        });
      }).catch(fail);
  }

  function suspend() {
    var p = subject();
    if (!p) return;
    var s = p.standing;
    C.prompt("Suspend " + s.name, [
      { name: "hours", label: "For how many hours", type: "number", min: 1, max: 8760, step: 1, value: 24,
        required: true, help: "Up to 8760 (a year). They cannot comment until it ends; it ends by itself." },
      { name: "reason", label: "Reason (kept in the audit log)", type: "text", maxlength: 200 },
    ], { submitLabel: "Suspend", danger: true }).then(function (v) {
      if (!v) return null;
      return C.api("POST", "/users/" + s.user_id + "/suspend", { body: { hours: v.hours, reason: v.reason || null } })
        .then(function (res) {
          C.toast("Suspended " + s.name + " until " + C.fmt.time(res.standing.banned_until) + ".");
          changed(res.standing, 0);
        });
    }).catch(fail);
  }

  function setFlags(body, done) {
    var p = subject();
    if (!p) return;
    C.api("PATCH", "/users/" + p.standing.user_id, { body: body }).then(function (standing) {
      C.toast(done(standing));
      changed(standing, 0);
    }).catch(fail);
  }

  function toggleTrust() {
    var p = subject();
    if (!p) return;
    setFlags({ trusted: !p.standing.trusted }, function (s) {
      return s.trusted ? "Trusted " + s.name + "." : s.name + " is no longer trusted.";
    });
  }

  function togglePremoderation() {
    var p = subject();
    if (!p) return;
    setFlags({ premoderate: !p.standing.premoderated }, function (s) {
      return s.premoderated ? s.name + "’s comments now wait for a moderator." : s.name + " is off premoderation.";
    });
  }

  function toggleShadow() {
    var p = subject();
    if (!p || !p.shadow_restriction) return;
    setFlags({ shadow_restricted: !p.standing.shadow_restricted }, function (s) {
      return s.shadow_restricted ? s.name + "’s new comments now show to them alone until approved."
                                 : s.name + " is no longer restricted; comments already held stay in the queue.";
    });
  }

  function addNote() {
    var p = subject();
    if (!p) return;
    var s = p.standing;
    C.prompt("Note on " + s.name, [
      { name: "text", label: "Note (only this site’s moderators see it)", type: "textarea", maxlength: 1000,
        required: true },
    ], { submitLabel: "Add the note" }).then(function (v) {
      if (!v || !v.text) return null;
      return C.api("POST", "/users/" + s.user_id + "/notes", { body: { text: v.text } }).then(function () {
        C.toast("Note added on " + s.name + ".");
        if (isOpen() && drawer.userId === s.user_id) load();
      });
    }).catch(fail);
  }

  var DRAWER_KEYS = [
    ["b", "Ban the reader (how long, reason, optionally reject all their comments)", ban],
    ["Shift+U", "Lift the reader's ban", unban],
    ["s", "Suspend the reader for some hours", suspend],
    ["t", "Trust the reader, or stop trusting them", toggleTrust],
    ["p", "Put the reader on premoderation, or take them off", togglePremoderation],
    ["Shift+R", "Shadow-restrict the reader, or lift it (where the site offers it)", toggleShadow],
    ["n", "Add a private moderator note", addNote],
    ["Escape", "Close the drawer", closeDrawer],
  ];
  var drawerHandlers = {};
  DRAWER_KEYS.forEach(function (k) { drawerHandlers[k[0]] = k[2]; });
  C.keys(DRAWER_SCOPE, DRAWER_KEYS); // listed in "?"; dispatched below while the drawer is open

  // Captured at the window, before the shell's own listener: while the drawer is open its keys are
  // the drawer's (the queue's "n" or "p" would otherwise act on the list under it).
  window.addEventListener("keydown", function (ev) {
    if (!isOpen() || !C.staff || ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    if (ev.key === "Shift" || ev.key === "Control" || ev.key === "Alt" || ev.key === "Meta") return;
    if (document.querySelector("dialog[open]")) return; // a confirmation or the help: Escape is theirs
    var name = C.keyName(ev);
    var previous = lastKey && Date.now() - lastKey.at < SEQUENCE_MS ? lastKey.key : null;
    lastKey = { key: name, at: Date.now() };
    if (name === "Escape") {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      closeDrawer();
      return;
    }
    if (C.typing(ev.target) || previous === "g") return;
    var handler = drawerHandlers[name];
    if (!handler) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    handler();
  }, true);

  C.provide("openUser", openUser);
  C.on("signout", closeDrawer);
  C.on("site", closeDrawer);

  // ------------------------------------------------------------------ the people view
  var state = { q: "", people: null, more: false, forQuery: null, seq: 0, timer: null };
  var ui = null;

  function render(container, arg) {
    var input = el("input", { id: "people-q", type: "search", autocomplete: "off", spellcheck: "false",
                              maxlength: 200, value: state.q, "aria-describedby": "people-q-help",
                              "aria-keyshortcuts": "/", placeholder: "Name, user id or SSO subject" });
    var form = el("form", { class: "toolbar people-search", role: "search", "aria-label": "Find a reader" },
      el("label", { for: "people-q" }, "Find a reader"), input,
      el("button", { type: "submit", class: "primary" }, "Open"),
      el("small", { id: "people-q-help", class: "hint" },
         "The start of their name (any case), their user id or their SSO subject. Enter opens the first match; " +
         "↓ or j/k pick another. Press / to come back here."));
    var status = el("p", { class: "muted people-status", role: "status" });
    var list = el("ul", { class: "people-results", "aria-label": "Readers found" });
    container.appendChild(form);
    container.appendChild(status);
    container.appendChild(list);
    ui = { input: input, status: status, list: list };

    input.addEventListener("input", function () {
      state.q = input.value;
      clearTimeout(state.timer);
      state.timer = setTimeout(function () { search(); }, 250);
    });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown") { ev.preventDefault(); focusResult(0); }
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearTimeout(state.timer);
      state.q = input.value;
      var ready = state.forQuery === state.q.trim() ? Promise.resolve() : search();
      ready.then(function () {
        if (state.people && state.people.length) openUser(state.people[0].user_id);
      });
    });
    drawResults();
    if (arg && /^\d+$/.test(arg)) openUser(Number(arg));
    else input.focus();
  }

  function leave() { clearTimeout(state.timer); ui = null; }

  function search() {
    var q = state.q.trim();
    var seq = ++state.seq;
    if (!q) {
      state.people = null;
      state.forQuery = "";
      drawResults();
      return Promise.resolve();
    }
    return C.api("GET", "/people", { params: { q: q } }).then(function (res) {
      if (seq !== state.seq) return;
      state.people = res.people;
      state.more = res.more;
      state.forQuery = q;
      drawResults();
    }).catch(function (err) { if (seq === state.seq) fail(err); });
  }

  var MATCHED = { id: "user id", subject: "SSO subject", name: "name" };

  function drawResults() {
    if (!ui) return;
    ui.list.textContent = "";
    if (state.people == null) { ui.status.textContent = ""; return; }
    var n = state.people.length;
    ui.status.textContent = n ? n + (state.more ? "+" : "") + " reader" + (n === 1 ? "" : "s") + " found" +
      (state.more ? ": type more of the name to narrow it" : "") : "No reader found for “" + state.forQuery + "”.";
    state.people.forEach(function (person, i) {
      var button = el("button", { type: "button", class: "person" + (i === 0 ? " first" : ""), "data-user": person.user_id,
                                  on: { click: function () { openUser(person.user_id); } } },
        el("strong", { class: "person-name" }, person.name),
        el("span", { class: "muted" }, " #" + person.user_id + " · " + (person.kind === "sso" ? "signed in" : "guest") +
                                       " · " + person.subject + " · matched by " + MATCHED[person.matched_by]),
        person.banned ? el("span", { class: "flag bad" }, person.banned_until ? "banned until " +
                                                          C.fmt.time(person.banned_until) : "banned") : null,
        person.premoderated ? el("span", { class: "flag" }, "premoderated") : null,
        person.trusted ? el("span", { class: "flag ok" }, "trusted") : null);
      ui.list.appendChild(el("li", null, button));
    });
  }

  function results() { return ui ? Array.prototype.slice.call(ui.list.querySelectorAll("button.person")) : []; }

  function focusResult(index) {
    var all = results();
    if (!all.length) return;
    all[Math.max(0, Math.min(all.length - 1, index))].focus();
  }

  function moveResult(step) {
    var all = results();
    var at = all.indexOf(document.activeElement);
    focusResult(at < 0 ? 0 : at + step);
  }

  C.view("people", { title: "People", order: 3, render: render, leave: leave });
  C.keys("people", [
    ["/", "Search for a reader", function () { if (ui) { ui.input.focus(); ui.input.select(); } }],
    ["j", "Next reader found", function () { moveResult(1); }],
    ["k", "Previous reader found", function () { moveResult(-1); }],
  ]);
})();
