// The people view (#/people: find a reader by the start of their name, their user id or their SSO
// subject) and the author drawer any view opens with Console.openUser(userId): the reader's
// standing, recent comments with outcomes and scores, reports against them, decisions, bans and
// private notes, and the moderator's actions on them, each one or two keys.
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var t = C.t, tn = C.tn;
  // the drawer's shortcuts are listed in the "?" overlay under this heading; they work while the
  // drawer is open, whatever the view under it (this file dispatches them, before the view's own)
  var DRAWER_SCOPE = "Author drawer (while it is open)";
  var SEQUENCE_MS = 1500; // as the shell's: the second key of "g p" is the shell's, not the drawer's
  // built when asked: the words are in the console's language, which loads after this script
  function banDays() {
    return [
      { value: "", label: t("Permanent (until lifted)") }, { value: "1", label: tn(1, "{n} day", "{n} days") },
      { value: "3", label: tn(3, "{n} day", "{n} days") }, { value: "7", label: tn(7, "{n} day", "{n} days") },
      { value: "30", label: tn(30, "{n} day", "{n} days") }, { value: "90", label: tn(90, "{n} day", "{n} days") },
      { value: "365", label: tn(1, "{n} year", "{n} years") },
    ];
  }

  function actionWord(action) {
    switch (action) {
      case "approve": return t("Approved");
      case "reject": return t("Rejected");
      case "undo": return t("Undid a decision");
      case "ban": return t("Banned");
      case "unban": return t("Lifted the ban");
      case "suspend": return t("Suspended");
      case "trust": return t("Trusted");
      case "untrust": return t("Stopped trusting");
      case "premoderate": return t("Put on premoderation");
      case "unpremoderate": return t("Took off premoderation");
      case "note": return t("Added a note");
      case "shadow_restrict": return t("Shadow-restricted");
      case "lift_shadow_restriction": return t("Lifted the shadow restriction");
      default: return action.replace(/_/g, " ");
    }
  }

  // a reason code (a rejection, a report, an automatic hold) in a moderator's words; a code not
  // listed here shows as itself
  var reasonWord = C.reasonWord;

  function who(id, name) {
    if (id && C.staff && id === C.staff.id) return t("you");
    return name || id || t("the automatic moderation");
  }

  function quoted(text) { return t("“{text}”", { text: text }); }

  // a count in the console's language (its digits, its grouping); ids stay as they are
  function num(n) { return new Intl.NumberFormat(C.locale).format(n); }

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
    var title = el("h2", { id: "people-drawer-title", tabindex: "-1" }, t("Reader"));
    var close = el("button", { type: "button", class: "drawer-close", "aria-keyshortcuts": "Escape",
                               on: { click: function () { closeDrawer(); } } }, t("Close") + " ", el("kbd", { text: "Esc" }));
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
    d.title.textContent = t("Reader #{id}", { id: d.userId });
    d.body.textContent = "";
    d.body.appendChild(el("p", { class: "muted" }, t("Loading…")));
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
        err.status === 404 ? t("This reader is not known to this site.")
          : err.status === 403 ? t("This reader belongs to a site you do not moderate.") : err.message));
    });
  }

  function section(title, id) {
    var h = el("h3", { id: id }, title);
    return el("section", { class: "drawer-section", "aria-labelledby": id }, h);
  }

  function flags(s) {
    var out = [];
    if (s.banned) {
      out.push(el("span", { class: "flag bad" }, s.banned_until ? t("Banned until {time}", { time: C.fmt.time(s.banned_until) })
                                                                : t("Banned until lifted")));
      if (s.ban_reason) out.push(el("span", { class: "muted" }, quoted(s.ban_reason)));
    }
    if (s.premoderated) out.push(el("span", { class: "flag" }, t("Premoderated")));
    if (s.trusted) out.push(el("span", { class: "flag ok" }, t("Trusted")));
    if (s.shadow_restricted) out.push(el("span", { class: "flag" }, t("Shadow-restricted")));
    if (!out.length) out.push(el("span", { class: "flag ok" }, t("In good standing")));
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
      (s.kind === "sso" ? t("Signed-in reader") : t("Guest")) + " · #" + s.user_id + " · ",
      el("span", null, (s.kind === "sso" ? t("subject") : t("id")) + " "), el("code", { class: "subject" }, p.subject),
      " · " + t("first seen") + " ", when(p.created_at)));
    body.appendChild(el("p", { class: "standing", "data-standing": "" }, flags(s)));
    body.appendChild(el("div", { class: "actions drawer-actions", role: "group", "aria-label": t("Actions on {name}", { name: s.name }) },
      actionButton(s.banned ? t("Change ban") : t("Ban"), "b", ban, { class: "reject" }),
      s.banned ? actionButton(t("Lift ban"), "Shift+U", unban) : null,
      actionButton(t("Suspend"), "s", suspend),
      actionButton(t("Trusted"), "t", toggleTrust, { "aria-pressed": String(!!s.trusted) }),
      actionButton(t("Premoderation"), "p", togglePremoderation, { "aria-pressed": String(!!s.premoderated) }),
      p.shadow_restriction ? actionButton(t("Shadow restriction"), "Shift+R", toggleShadow,
                                          { "aria-pressed": String(!!s.shadow_restricted) }) : null,
      actionButton(t("Note"), "n", addNote)));
    // offered only where the site turned it on; what it does, in one line (SECURITY.md "Shadow restriction")
    if (p.shadow_restriction) {
      body.appendChild(el("p", { class: "muted shadow-note" },
        t("Shadow restriction: their new comments wait for a moderator and show only to them, unmarked; they get a statement of reasons and see it when they ask.")));
    }

    var counts = p.counts;
    var comments = section(t("Comments"), "people-comments-title");
    var tally = [t("{published} published · {held} held · {rejected} rejected · {deleted} deleted", {
      published: num(counts.published), held: num(counts.held), rejected: num(counts.rejected), deleted: num(counts.deleted) })];
    if (counts.pending_scoring) tally.push(t("{n} being scored", { n: num(counts.pending_scoring) }));
    comments.appendChild(el("p", { class: "counts" }, tally.join(" · ")));
    if (p.recent_comments.length) {
      comments.appendChild(el("ol", { class: "person-comments", "aria-label": t("Recent comments, newest first") },
        p.recent_comments.map(commentItem)));
    } else {
      comments.appendChild(el("p", { class: "muted" }, t("No comments yet.")));
    }
    body.appendChild(comments);

    var r = p.reports;
    var reports = section(t("Reports against them"), "people-reports-title");
    if (!r.count) {
      reports.appendChild(el("p", { class: "muted" }, t("No reader has reported their comments.")));
    } else {
      var reasons = Object.keys(r.reasons).map(function (k) { return reasonWord(k) + " ×" + num(r.reasons[k]); }).join(", ");
      reports.appendChild(el("p", null, tn(r.count, "{n} report ({open} open): {reasons}", "{n} reports ({open} open): {reasons}",
                                           { open: num(r.open), reasons: reasons })));
      reports.appendChild(el("ul", { class: "plain" }, r.recent.map(function (rep) {
        return el("li", null, when(rep.created_at), " · ", reasonWord(rep.reason), " " + t("on #{id}", { id: rep.comment_id }),
                  rep.note ? el("span", { class: "muted" }, " " + quoted(rep.note)) : null,
                  rep.open ? el("span", { class: "flag bad" }, t("open")) : null);
      })));
    }
    body.appendChild(reports);

    var decisions = section(t("Decisions"), "people-decisions-title");
    decisions.appendChild(p.decisions.length ? auditList(p.decisions)
      : el("p", { class: "muted" }, t("No moderator has decided anything about them yet.")));
    body.appendChild(decisions);

    var bans = section(t("Bans and suspensions"), "people-bans-title");
    bans.appendChild(p.bans.length ? auditList(p.bans) : el("p", { class: "muted" }, t("Never banned or suspended.")));
    body.appendChild(bans);

    var notes = section(t("Moderator notes"), "people-notes-title");
    notes.appendChild(el("p", { class: "hint" }, t("Only moderators of this site see these notes ({count} of at most {cap}).",
                                                   { count: num(p.notes.length), cap: num(p.notes_cap) })));
    if (p.notes.length) {
      notes.appendChild(el("ul", { class: "plain person-notes" }, p.notes.map(function (n) {
        return el("li", null, el("p", { class: "note-text" }, n.text),
                  el("p", { class: "muted note-meta" }, who(n.author_id, n.author_name) + " · ", when(n.created_at)));
      })));
    }
    notes.appendChild(actionButton(t("Add a note"), "n", addNote));
    body.appendChild(notes);
  }

  function commentItem(c) {
    var score = c.max_score != null ? el("span", { title: scoreTitle(c.scores) },
                                              t("score {score}", { score: C.fmt.score(c.max_score) })) : null;
    return el("li", { class: "person-comment status-" + c.status, "data-id": c.id },
      el("div", { class: "meta" },
        el("span", { class: "flag" + (c.status === "rejected" ? " bad" : c.status === "published" ? " ok" : "") },
           C.fmt.status(c.status)),
        c.status_reason ? el("span", { class: "reason" }, reasonWord(c.status_reason)) : null,
        score,
        c.open_reports ? el("span", { class: "reason" }, tn(c.open_reports, "{n} open report", "{n} open reports")) : null,
        c.moderated_by ? el("span", null, t("by {name}", { name: who(c.moderated_by) })) : null,
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
      if (e.action === "ban" || e.action === "suspend") {
        extra.push(until ? t("until {time}", { time: C.fmt.time(until) }) : t("until lifted"));
      }
      if (e.details && e.details.reject_existing) extra.push(t("their comments rejected"));
      if (e.comment_id) extra.push("#" + e.comment_id);
      if (e.reason) extra.push(t("reason: {reason}", { reason: reasonWord(e.reason) }));
      return el("li", { "data-action": e.action }, when(e.created_at), " · ",
                el("strong", null, actionWord(e.action)),
                " " + t("by {name}", { name: who(e.actor_id, e.actor_name) }) + (extra.length ? " · " + extra.join(" · ") : ""),
                e.note && e.action !== "note" ? el("span", { class: "muted" }, " " + quoted(e.note)) : null);
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
    var durations = banDays();
    C.prompt(s.banned ? t("Change the ban of {name}", { name: s.name }) : t("Ban {name}", { name: s.name }), [
      { name: "duration", label: t("How long"), type: "select", options: durations, value: "7" },
      { name: "reason", label: t("Reason (kept in the audit log)"), type: "text", maxlength: 200 },
      { name: "reject_existing", label: t("Reject all their pending and published comments ({n})", { n: num(waiting) }),
        type: "checkbox" },
    ], { submitLabel: t("Continue"), danger: true }).then(function (v) {
      if (!v) return null;
      var days = v.duration ? Number(v.duration) : null;
      var text = [days ? t("{name} will not be able to comment for {duration}.", { name: s.name,
                           duration: durations.filter(function (o) { return o.value === v.duration; })[0].label })
                       : t("{name} will not be able to comment until lifted.", { name: s.name })];
      if (v.reject_existing) text.push(t("All their pending and published comments ({n}) will be rejected.", { n: num(waiting) }));
      var asked = { danger: true, confirmLabel: t("Ban"), title: t("Ban {name}?", { name: s.name }) };
      return C.confirm(text.join(" "), asked).then(function (ok) {
        if (!ok) return null;
        return C.api("POST", "/users/" + s.user_id + "/ban", {
          body: { duration_days: days, reason: v.reason || null, reject_existing: !!v.reject_existing },
        }).then(function (res) {
          C.toast(res.rejected_comments
            ? tn(res.rejected_comments, "Banned {name}; {n} comment rejected.", "Banned {name}; {n} comments rejected.",
                 { name: s.name })
            : t("Banned {name}.", { name: s.name }));
          changed(res.standing, res.rejected_comments);
        });
      });
    }).catch(fail);
  }

  function unban() {
    var p = subject();
    if (!p) return;
    var s = p.standing;
    if (!s.banned) { C.toast(t("{name} is not banned.", { name: s.name })); return; }
    C.confirm(t("{name} will be able to comment again at once.", { name: s.name }),
              { confirmLabel: t("Lift the ban"), title: t("Lift the ban of {name}?", { name: s.name }) })
      .then(function (ok) {
        if (!ok) return null;
        return C.api("DELETE", "/users/" + s.user_id + "/ban").then(function (standing) {
          C.toast(t("Lifted the ban of {name}.", { name: s.name }));
          changed(standing, 0);
        });
      }).catch(fail);
  }

  function suspend() {
    var p = subject();
    if (!p) return;
    var s = p.standing;
    C.prompt(t("Suspend {name}", { name: s.name }), [
      { name: "hours", label: t("For how many hours"), type: "number", min: 1, max: 8760, step: 1, value: 24,
        required: true, help: t("Up to {max} (a year). They cannot comment until it ends; it ends by itself.",
                                { max: new Intl.NumberFormat(C.locale, { useGrouping: false }).format(8760) }) },
      { name: "reason", label: t("Reason (kept in the audit log)"), type: "text", maxlength: 200 },
    ], { submitLabel: t("Suspend"), danger: true }).then(function (v) {
      if (!v) return null;
      return C.api("POST", "/users/" + s.user_id + "/suspend", { body: { hours: v.hours, reason: v.reason || null } })
        .then(function (res) {
          C.toast(t("Suspended {name} until {time}.", { name: s.name, time: C.fmt.time(res.standing.banned_until) }));
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
      return s.trusted ? t("Trusted {name}.", { name: s.name }) : t("{name} is no longer trusted.", { name: s.name });
    });
  }

  function togglePremoderation() {
    var p = subject();
    if (!p) return;
    setFlags({ premoderate: !p.standing.premoderated }, function (s) {
      return s.premoderated ? t("{name}’s comments now wait for a moderator.", { name: s.name })
                            : t("{name} is off premoderation.", { name: s.name });
    });
  }

  function toggleShadow() {
    var p = subject();
    if (!p || !p.shadow_restriction) return;
    setFlags({ shadow_restricted: !p.standing.shadow_restricted }, function (s) {
      return s.shadow_restricted ? t("{name}’s new comments now show to them alone until approved.", { name: s.name })
                                 : t("{name} is no longer restricted; comments already held stay in the queue.", { name: s.name });
    });
  }

  function addNote() {
    var p = subject();
    if (!p) return;
    var s = p.standing;
    C.prompt(t("Note on {name}", { name: s.name }), [
      { name: "text", label: t("Note (only this site’s moderators see it)"), type: "textarea", maxlength: 1000,
        required: true },
    ], { submitLabel: t("Add the note") }).then(function (v) {
      if (!v || !v.text) return null;
      return C.api("POST", "/users/" + s.user_id + "/notes", { body: { text: v.text } }).then(function () {
        C.toast(t("Note added on {name}.", { name: s.name }));
        if (isOpen() && drawer.userId === s.user_id) load();
      });
    }).catch(fail);
  }

  var DRAWER_KEYS = [
    ["b", function () { return t("Ban the reader (how long, reason, optionally reject all their comments)"); }, ban],
    ["Shift+U", function () { return t("Lift the reader's ban"); }, unban],
    ["s", function () { return t("Suspend the reader for some hours"); }, suspend],
    ["t", function () { return t("Trust the reader, or stop trusting them"); }, toggleTrust],
    ["p", function () { return t("Put the reader on premoderation, or take them off"); }, togglePremoderation],
    ["Shift+R", function () { return t("Shadow-restrict the reader, or lift it (where the site offers it)"); }, toggleShadow],
    ["n", function () { return t("Add a private moderator note"); }, addNote],
    ["Escape", function () { return t("Close the drawer"); }, closeDrawer],
  ];
  var drawerHandlers = {};
  DRAWER_KEYS.forEach(function (k) { drawerHandlers[k[0]] = k[2]; });
  // listed in "?"; dispatched below while the drawer is open
  C.keys(DRAWER_SCOPE, DRAWER_KEYS, function () { return t("Author drawer (while it is open)"); });

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
                              "aria-keyshortcuts": "/", placeholder: t("Name, user id or SSO subject") });
    var form = el("form", { class: "toolbar people-search", role: "search", "aria-label": t("Find a reader") },
      el("label", { for: "people-q" }, t("Find a reader")), input,
      el("button", { type: "submit", class: "primary" }, t("Open reader")),
      el("small", { id: "people-q-help", class: "hint" },
         t("The start of their name (any case), their user id or their SSO subject. Enter opens the first match; ↓ or j/k pick another. Press / to come back here.")));
    var status = el("p", { class: "muted people-status", role: "status" });
    var list = el("ul", { class: "people-results", "aria-label": t("Readers found") });
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

  function matchedWord(field) {
    switch (field) {
      case "id": return t("user id");
      case "subject": return t("SSO subject");
      case "name": return t("name");
      default: return String(field);
    }
  }

  function drawResults() {
    if (!ui) return;
    ui.list.textContent = "";
    if (state.people == null) { ui.status.textContent = ""; return; }
    var n = state.people.length;
    ui.status.textContent = !n ? t("No reader found for “{query}”.", { query: state.forQuery })
      : state.more ? tn(n, "{n}+ reader found: type more of the name to narrow it",
                        "{n}+ readers found: type more of the name to narrow it")
      : tn(n, "{n} reader found", "{n} readers found");
    state.people.forEach(function (person, i) {
      var button = el("button", { type: "button", class: "person" + (i === 0 ? " first" : ""), "data-user": person.user_id,
                                  on: { click: function () { openUser(person.user_id); } } },
        el("strong", { class: "person-name" }, person.name),
        el("span", { class: "muted" }, " #" + person.user_id + " · " + (person.kind === "sso" ? t("signed in") : t("guest")) +
                                       " · " + person.subject + " · " + t("matched by {field}", { field: matchedWord(person.matched_by) })),
        person.banned ? el("span", { class: "flag bad" }, person.banned_until
          ? t("banned until {time}", { time: C.fmt.time(person.banned_until) }) : t("banned")) : null,
        person.premoderated ? el("span", { class: "flag" }, t("premoderated")) : null,
        person.trusted ? el("span", { class: "flag ok" }, t("trusted")) : null);
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

  C.view("people", { title: function () { return t("People"); }, order: 3, render: render, leave: leave });
  C.keys("people", [
    ["/", function () { return t("Search for a reader"); }, function () { if (ui) { ui.input.focus(); ui.input.select(); } }],
    ["j", function () { return t("Next reader found"); }, function () { moveResult(1); }],
    ["k", function () { return t("Previous reader found"); }, function () { moveResult(-1); }],
  ]);
})();
