// The EU Digital Services Act's views of the console (the routes: api/dsa.py).
//
// "Notices" (#/notices, every moderator): notices of illegal content (Art. 16), a queue of their
// own beside the moderation queue. Open ones first, oldest first, each with its response clock
// (time since it was received, marked past a day), the category in words, the notifier's
// explanation and contact, the comment (as text) and a decision form: remove (with a reason code)
// or keep, with the reasoned explanation the notifier is sent. A decided notice says by whom, when.
//
// "Appeals" (#/appeals, every moderator): complaints against a decision (Art. 20). Who took the
// decision appealed is shown first: a different person must decide the appeal, and the server
// refuses the same one (its message is shown by the form). Reverse or confirm, with an explanation.
//
// "Transparency" (#/transparency, admins): the report's counts (Art. 15/24) for a period, as
// tables, and the same as a CSV or JSON file (fetched with the console's session, saved as a Blob).
//
// Everything from the server is inserted as text (Console.el), never as HTML.
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var t = C.t, tn = C.tn;
  var API = "/api/v1/moderation";
  var OVERDUE_S = 24 * 3600;   // a notice open longer than a day is marked
  var TICK_MS = 30000;         // the clocks move this often while a view is shown

  // the words for each code, said in the console's language when shown (the locale loads later)
  var CATEGORY_WORDS = {
    illegal_hate_speech: function () { return t("Illegal hate speech"); },
    terrorist_content: function () { return t("Terrorist content"); },
    child_sexual_abuse_material: function () { return t("Child sexual abuse material"); },
    defamation: function () { return t("Defamation"); },
    privacy_violation: function () { return t("Privacy violation"); },
    intellectual_property: function () { return t("Intellectual property infringement"); },
    fraud_or_scam: function () { return t("Fraud or scam"); },
    other_illegal: function () { return t("Other illegal content"); },
  };
  var RESTRICTION_WORDS = {
    removal: function () { return t("Comment removed"); },
    visibility_restriction: function () { return t("Comment held (not visible)"); },
    suspension: function () { return t("Account suspended"); },
    termination: function () { return t("Account banned"); },
  };
  var SOURCE_WORDS = {
    automated: function () { return t("Automatic moderation"); },
    notice: function () { return t("A notice of illegal content"); },
    reader_report: function () { return t("A reader's report"); },
    own_initiative: function () { return t("A moderator's own initiative"); },
  };
  var OUTCOME_WORDS = {
    reverse: function () { return t("Reversed"); },
    confirm: function () { return t("Confirmed"); },
    open: function () { return t("Still open"); },
  };
  var ACTION_WORDS = { remove: function () { return t("Removed"); }, keep: function () { return t("Kept"); } };
  var HOW_WORDS = { automated: function () { return t("Automatically"); }, human: function () { return t("By a person"); } };
  var BAN_WORDS = { suspension: function () { return t("Suspensions"); }, termination: function () { return t("Bans"); } };

  function words(table, key) {
    return Object.prototype.hasOwnProperty.call(table, key) ? table[key]() : String(key || "").replace(/_/g, " ");
  }

  // A translated sentence with elements in it: each {placeholder} of the template is replaced by the
  // node (or text) given for it, so that names and times stay elements (strong, time) in any language.
  function fill(template, parts) {
    return template.split(/\{(\w+)\}/).map(function (piece, i) {
      if (!(i % 2)) return piece || null;
      return Object.prototype.hasOwnProperty.call(parts, piece) ? parts[piece] : "{" + piece + "}";
    });
  }

  function num(n) {
    return window.Intl ? new Intl.NumberFormat(C.locale || undefined).format(n) : String(n);
  }

  var fieldSeq = 0;
  function fid(name) { return "dsa-" + name + "-" + (++fieldSeq); }

  function fail(err) {
    if (err) C.toast(err.detail || err.message || String(err), { error: true });
  }

  // "under a minute", "45 min", "3 h 12 min", "2 d 5 h"
  function duration(s, short) {
    if (s == null) return "–";
    s = Math.max(0, Math.floor(s));
    if (s < 60) return short ? t("< 1 min") : t("under a minute");
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return h ? t("{d} d {h} h", { d: num(d), h: num(h) }) : t("{d} d", { d: num(d) });
    if (h) return m ? t("{h} h {m} min", { h: num(h), m: num(m) }) : t("{h} h", { h: num(h) });
    return t("{m} min", { m: num(m) });
  }

  function when(iso) {
    return iso ? el("time", { datetime: iso, title: C.fmt.time(iso) }, C.fmt.time(iso)) : "–";
  }

  // A comment's text as its readers read it, never its markup: the sanitised HTML is parsed into an
  // inert document (nothing there runs or loads) and only its text comes out, a paragraph a line.
  function textOf(html) {
    var doc = new DOMParser().parseFromString(String(html || ""), "text/html");
    Array.prototype.forEach.call(doc.querySelectorAll("br"), function (br) { br.replaceWith("\n"); });
    Array.prototype.forEach.call(doc.querySelectorAll("p, li, blockquote, pre, h1, h2, h3, h4, h5, h6"),
                                 function (block) { block.append("\n\n"); });
    return (doc.body ? doc.body.textContent : "").replace(/\n{3,}/g, "\n\n").trim();
  }

  function facts(rows) {
    return el("dl", { class: "dsa-facts" }, rows.filter(Boolean).map(function (r) {
      return [el("dt", null, r[0]), el("dd", null, r[1])];
    }));
  }

  // ------------------------------------------------------------------ the reason codes (cached)
  var reasons = null;     // the rejection reasons: a removal takes one of these
  var reasonLabels = {};  // every code's words, automatic holds' too (the report counts both)
  function reasonCodes() {
    if (reasons) return Promise.resolve(reasons);
    return C.api("GET", "/reason-codes").then(function (codes) {
      reasons = (codes && codes.reject) || [];
      [].concat(reasons, (codes && codes.hold) || []).forEach(function (r) { reasonLabels[r.code] = r.label; });
      return reasons;
    });
  }
  function reasonWords(code) {
    return reasonLabels[code] || String(code || "").replace(/_/g, " ");
  }

  // ------------------------------------------------------------------ errors by their field
  function errorSlot(key, input) {
    var slot = el("p", { class: "field-error error", id: fid("err"), "data-key": key, hidden: true });
    slot._input = input;
    if (input) input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " +
                                                       slot.id).trim());
    return slot;
  }

  function clearErrors(scope) {
    Array.prototype.forEach.call(scope.querySelectorAll(".field-error"), function (slot) {
      slot.hidden = true; slot.textContent = "";
      if (slot._input) slot._input.removeAttribute("aria-invalid");
    });
  }

  function showError(scope, key, text) {
    var slot = scope.querySelector('.field-error[data-key="' + key + '"]');
    if (!slot) return false;
    slot.textContent = text;
    slot.hidden = false;
    var target = slot._input;
    if (target) { target.setAttribute("aria-invalid", "true"); target.focus(); }
    else { slot.setAttribute("tabindex", "-1"); slot.focus(); }
    return true;
  }

  // the field a refusal names: errors[0].key ("explanation", "$.reason_code") or a "`$.field`" in its text
  function errorKey(err) {
    var e = err.body && err.body.errors && err.body.errors[0];
    var key = e && e.key && e.key !== "body" ? String(e.key) : null;
    if (!key) {
      var m = /`\$\.([A-Za-z0-9_]+)`/.exec((e && e.message) || err.detail || "");
      if (m) key = m[1];
    }
    if (!key && /reason code/i.test(err.detail || "")) key = "reason_code";
    if (!key && /explanation/i.test(err.detail || "")) key = "explanation";
    return key ? key.replace(/^\$\./, "").replace(/^body\./, "").split(/[.[]/)[0] : null;
  }

  // ------------------------------------------------------------------ the nav badges (open counts)
  var openCounts = { notices: null, appeals: null };

  function drawBadge(name) {
    var link = document.querySelector('#nav a[data-view="' + name + '"]');
    if (!link) return;
    var badge = link.querySelector(".dsa-badge");
    if (!badge) {
      badge = el("span", { class: "badge dsa-badge", "aria-live": "off" });
      link.appendChild(badge);
    }
    var n = openCounts[name];
    badge.textContent = "";
    if (n) {
      // the number is seen, the words around it are for screen readers: the plural form is taken
      // with its {n} kept, and the number put in its place
      tn(n, "{n} open", "{n} open", { n: "{n}" }).split("{n}").forEach(function (piece, i) {
        if (i) badge.append(num(n));
        if (piece) badge.append(el("span", { class: "sr-only" }, piece));
      });
    }
    badge.setAttribute("title", n ? tn(n, "{n} open", "{n} open") : "");
  }

  function refreshCounts() {
    if (!C.staff || !C.site()) return;
    ["notices", "appeals"].forEach(function (name) {
      C.api("GET", "/" + name, { params: { status: "open", limit: 1 } }).then(function (page) {
        openCounts[name] = page.open;
        drawBadge(name);
      }).catch(function () { /* the badge is a convenience: the view says what failed */ });
    });
  }

  // counted again on moving between views (what other moderators decided shows), at most this often
  var COUNT_EVERY_MS = 15000;
  var countedAt = 0;
  function refreshSoon() {
    if (Date.now() - countedAt < COUNT_EVERY_MS) return;
    countedAt = Date.now();
    refreshCounts();
  }

  C.on("signin", function () { countedAt = Date.now(); refreshCounts(); });
  C.on("site", function () { countedAt = Date.now(); refreshCounts(); });
  // the nav is drawn anew at sign-in and when a view registers: put the badges back on it
  C.on("route", function () { drawBadge("notices"); drawBadge("appeals"); refreshSoon(); });

  // ------------------------------------------------------------------ shared: a list view's state
  function startClock(state, draw) {
    state.timer = setInterval(function () {
      Array.prototype.forEach.call(state.root.querySelectorAll("[data-clock]"), draw);
    }, TICK_MS);
  }

  function stop(state) {
    if (!state) return;
    state.seq++;
    clearInterval(state.timer);
  }

  // what each list shows, kept while the console is open
  var wanted = { notices: "all", appeals: "all" };

  function statusFilter(name, state, reload) {
    var id = fid("status");
    var select = el("select", { id: id, on: { change: function () {
      state.status = wanted[name] = select.value;
      reload();
    } } },
      [["all", t("All, open first")], ["open", t("Waiting for a decision")], ["decided", t("Decided")]].map(function (o) {
        return el("option", { value: o[0], selected: o[0] === state.status }, o[1]);
      }));
    return el("label", { for: id }, t("Show"), select);
  }

  // the items as cards, each reachable by j/k (its heading takes the focus)
  function moveFocus(state, step) {
    if (!state || !state.root) return;
    var heads = Array.prototype.slice.call(state.root.querySelectorAll(".dsa-card h3"));
    if (!heads.length) return;
    var at = heads.indexOf(document.activeElement);
    if (at < 0) {
      var card = document.activeElement && document.activeElement.closest && document.activeElement.closest(".dsa-card");
      at = card ? heads.indexOf(card.querySelector("h3")) : (step > 0 ? -1 : heads.length);
    }
    var next = heads[Math.min(heads.length - 1, Math.max(0, at + step))];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  }

  function focusExplanation(state) {
    if (!state || !state.root) return;
    var card = document.activeElement && document.activeElement.closest && document.activeElement.closest(".dsa-card");
    card = card || state.root.querySelector(".dsa-card.open");
    var field = card && card.querySelector("textarea[name=explanation]");
    if (field) field.focus();
  }

  // ================================================================== notices
  var notices = null; // {root, seq, status, items, loadedAt, timer, ui}

  function renderNotices(container) {
    stop(notices);
    notices = { root: container, seq: (notices ? notices.seq : 0) + 1, status: wanted.notices,
                items: [], loadedAt: 0, timer: null, ui: {} };
    if (!C.site()) {
      container.appendChild(el("p", { class: "empty" }, t("Pick a site in the header to see its notices.")));
      return;
    }
    var summary = el("p", { class: "dsa-summary", role: "status" }, t("Loading the notices…"));
    notices.ui.summary = summary;
    notices.ui.list = el("ol", { class: "dsa-list", "aria-label": t("Notices of illegal content") });
    container.appendChild(el("p", { class: "hint dsa-intro" }, t("Notices of illegal content under the EU Digital Services Act. They are not part of the moderation queue: each needs a reasoned decision, sent to the notifier.")));
    container.appendChild(el("div", { class: "toolbar" }, summary, el("span", { class: "spacer" }),
      statusFilter("notices", notices, loadNotices), el("button", { type: "button", on: { click: loadNotices } }, t("Reload"))));
    container.appendChild(notices.ui.list);
    startClock(notices, drawNoticeClock);
    loadNotices();
  }

  function loadNotices() {
    var state = notices;
    if (!state) return;
    var mine = ++state.seq;
    Promise.all([C.api("GET", "/notices", { params: { status: state.status } }),
                 reasonCodes().catch(function () { return []; })]).then(function (got) {
      if (notices !== state || mine !== state.seq) return;
      var page = got[0];
      state.items = page.items;
      state.loadedAt = Date.now();
      openCounts.notices = page.open;
      drawBadge("notices");
      drawNotices(page);
    }).catch(function (err) {
      if (notices !== state || mine !== state.seq) return;
      state.ui.summary.textContent = t("The notices could not be loaded: {error}", { error: err.detail || err.message });
      state.ui.summary.className = "dsa-summary error";
    });
  }

  function drawNotices(page) {
    var ui = notices.ui;
    ui.summary.className = "dsa-summary";
    ui.summary.textContent = page.open ? tn(page.open, "{n} notice waits for a decision.", "{n} notices wait for a decision.")
      : t("No notices wait for a decision.");
    ui.list.textContent = "";
    if (!page.items.length) {
      ui.list.appendChild(el("li", { class: "empty" }, notices.status === "decided" ? t("No notice has been decided yet.")
        : notices.status === "open" ? t("No notices wait.") : t("No notices on this site.")));
      return;
    }
    page.items.forEach(function (n) { ui.list.appendChild(noticeCard(n)); });
  }

  function noticeAge(n) {
    return n.decided_at ? n.age_seconds : n.age_seconds + (Date.now() - notices.loadedAt) / 1000;
  }

  function drawNoticeClock(node) {
    var n = node._notice;
    if (!n || !notices) return;
    var age = noticeAge(n);
    var overdue = !n.decided_at && age >= OVERDUE_S;
    node.classList.toggle("overdue", overdue);
    node.textContent = n.decided_at ? t("Decided in {time}", { time: duration(age) })
      : overdue ? t("Waiting {time} · over 24 h", { time: duration(age) }) : t("Waiting {time}", { time: duration(age) });
  }

  function commentBlock(c, headingId) {
    if (!c) return el("p", { class: "muted" }, t("The comment no longer exists."));
    var text = textOf(c.body_html);
    return el("section", { class: "dsa-comment", "aria-labelledby": headingId },
      el("h4", { id: headingId }, t("The comment")),
      el("p", { class: "dsa-comment-meta" }, el("strong", null, c.author_name), " · ", when(c.created_at), " · ",
         el("span", { class: "dsa-comment-status status-" + c.status }, C.fmt.status(c.status)), " · ",
         t("comment {id}", { id: String(c.id) })),
      el("blockquote", { class: "dsa-text" }, text || t("(no text)")),
      c.article_id ? el("p", null, el("a", { href: "#/articles/" + encodeURIComponent(c.article_id) },
                                         t("Open the comment in its article's thread"))) : null,
      el("p", null, el("button", { type: "button", class: "link", on: { click: function () { C.openUser(c.author_id); } } },
                       t("Open {name}'s comments and history", { name: c.author_name }))));
  }

  function noticeCard(n) {
    var titleId = fid("title");
    var clock = el("span", { class: "dsa-clock", "data-clock": "" });
    clock._notice = n;
    drawNoticeClock(clock);
    var notifier = n.notifier_name || n.notifier_email
      ? [n.notifier_name || t("(no name)"), n.notifier_email ? [" · ", el("a", { href: "mailto:" + n.notifier_email },
                                                                          n.notifier_email)] : null]
      : el("span", { class: "muted" }, t("Anonymous (allowed for this category)"));
    var card = el("li", { class: "dsa-card card notice " + (n.decided_at ? "decided" : "open"), "data-id": n.id,
                          "aria-labelledby": titleId },
      el("div", { class: "dsa-head" },
        el("h3", { id: titleId, tabindex: "-1" }, words(CATEGORY_WORDS, n.category), " ",
           el("span", { class: "dsa-ref" }, t("notice {reference}", { reference: n.reference }))),
        clock),
      facts([[t("Received"), when(n.received_at)], [t("Category"), words(CATEGORY_WORDS, n.category)],
             [t("Notifier"), notifier]]),
      el("section", { class: "dsa-explanation", "aria-label": t("The notifier's explanation") },
        el("h4", null, t("Why the notifier considers it illegal")),
        el("blockquote", { class: "dsa-text" }, n.explanation)),
      commentBlock(n.comment, titleId + "-comment"));
    card.appendChild(n.decided_at ? noticeDecided(n) : noticeForm(n, card));
    return card;
  }

  function noticeDecided(n) {
    return el("div", { class: "dsa-decided", role: "group", "aria-label": t("The decision") },
      el("p", { class: "dsa-decided-line" },
        fill(t("{action} by {who} on {when}"), { action: el("strong", null, words(ACTION_WORDS, n.decision)),
                                                who: el("strong", null, n.decided_by_name || n.decided_by || "–"),
                                                when: when(n.decided_at) }),
        n.decision_reason ? [" · ", t("reason: {reason}", { reason: reasonWords(n.decision_reason) })] : null),
      n.decision_explanation ? el("blockquote", { class: "dsa-text" }, n.decision_explanation) : null);
  }

  function radio(name, value, label, checked) {
    var id = fid(name + "-" + value);
    return el("span", { class: "dsa-choice" },
      el("input", { type: "radio", id: id, name: name, value: value, checked: !!checked }),
      el("label", { for: id }, label));
  }

  function noticeForm(n, card) {
    var reasonId = fid("reason");
    var explainId = fid("explain");
    var remove = radio("action", "remove", t("Remove the comment"));
    var keep = radio("action", "keep", t("Keep the comment"));
    var reason = el("select", { id: reasonId, name: "reason_code" },
      el("option", { value: "" }, t("Choose a reason…")),
      (reasons || []).map(function (r) { return el("option", { value: r.code }, r.label); }));
    var reasonHint = el("small", { class: "hint", id: reasonId + "-help" }, t("Needed to remove; the author is told it."));
    reason.setAttribute("aria-describedby", reasonHint.id);
    var explain = el("textarea", { id: explainId, name: "explanation", rows: 3, maxlength: 5000, required: true,
                                   "aria-required": "true" });
    var explainHint = el("small", { class: "hint", id: explainId + "-help" },
                         t("Required. Sent to the notifier with the decision."));
    explain.setAttribute("aria-describedby", explainHint.id);
    var actionSlot = errorSlot("action", null);
    var reasonSlot = errorSlot("reason_code", reason);
    var explainSlot = errorSlot("explanation", explain);
    var submit = el("button", { type: "submit", class: "primary" }, t("Decide"));
    var form = el("form", { class: "dsa-form", novalidate: true,
                            "aria-label": t("Decide notice {reference}", { reference: n.reference }) },
      el("fieldset", { class: "dsa-choices" }, el("legend", null, t("Decision")), remove, keep, actionSlot),
      el("div", { class: "field" }, el("label", { for: reasonId }, t("Reason for removal")), reason, reasonHint, reasonSlot),
      el("div", { class: "field" }, el("label", { for: explainId }, t("Explanation of your decision")), explain, explainHint, explainSlot),
      el("div", { class: "dsa-actions" }, submit));
    function sync() {
      var removing = form.elements.action.value === "remove";
      reason.disabled = !removing;
      reason.parentNode.classList.toggle("dsa-off", !removing);
    }
    form.addEventListener("change", sync);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearErrors(form);
      var action = form.elements.action.value;
      var body = { action: action, explanation: explain.value.trim() };
      if (!action) { showError(form, "action", t("Choose to remove or to keep the comment.")); return; }
      if (action === "remove") {
        if (!reason.value) { showError(form, "reason_code", t("Choose the reason for removing it.")); return; }
        body.reason_code = reason.value;
      }
      if (!body.explanation) { showError(form, "explanation", t("Explain the decision: the notifier is sent it.")); return; }
      var removing = action === "remove";
      var question = removing
        ? t("The comment is removed for readers, its author gets a statement of reasons, and the notifier is told.")
        : t("The comment stays up, and the notifier is told (they may appeal).");
      C.confirm(question, { title: removing ? t("Remove the comment (notice {reference})?", { reference: n.reference })
                                            : t("Keep the comment (notice {reference})?", { reference: n.reference }),
                            confirmLabel: removing ? t("Remove") : t("Keep"), danger: removing })
        .then(function (ok) {
          if (!ok) return;
          submit.disabled = true;
          var state = notices;
          C.api("POST", "/notices/" + n.id + "/decision", { body: body }).then(function (decided) {
            C.toast(removing ? t("Notice {reference}: comment removed.", { reference: n.reference })
                             : t("Notice {reference}: comment kept.", { reference: n.reference }));
            refreshCounts();
            if (notices !== state) return;
            var index = notices.items.indexOf(n);
            if (index >= 0) notices.items[index] = decided;
            var fresh = noticeCard(decided);
            card.replaceWith(fresh);
            fresh.querySelector("h3").focus();
          }).catch(function (err) {
            submit.disabled = false;
            var key = errorKey(err);
            if (err.code === "notice_already_decided") { fail(err); loadNotices(); return; }
            if (!(key && showError(form, key, err.detail || err.message))) fail(err);
            else C.toast(t("Not decided: {error}", { error: err.detail || err.message }), { error: true });
          });
        });
    });
    sync();
    return form;
  }

  // ================================================================== appeals
  var appeals = null;

  function renderAppeals(container) {
    stop(appeals);
    appeals = { root: container, seq: (appeals ? appeals.seq : 0) + 1, status: wanted.appeals,
                items: [], loadedAt: 0, timer: null, ui: {} };
    if (!C.site()) {
      container.appendChild(el("p", { class: "empty" }, t("Pick a site in the header to see its appeals.")));
      return;
    }
    appeals.ui.summary = el("p", { class: "dsa-summary", role: "status" }, t("Loading the appeals…"));
    appeals.ui.list = el("ol", { class: "dsa-list", "aria-label": t("Appeals") });
    container.appendChild(el("p", { class: "hint dsa-intro" }, t("Appeals against a decision (EU Digital Services Act): a person other than the one who took the first decision decides each.")));
    container.appendChild(el("div", { class: "toolbar" }, appeals.ui.summary, el("span", { class: "spacer" }),
      statusFilter("appeals", appeals, loadAppeals), el("button", { type: "button", on: { click: loadAppeals } }, t("Reload"))));
    container.appendChild(appeals.ui.list);
    startClock(appeals, drawAppealClock);
    loadAppeals();
  }

  function loadAppeals() {
    var state = appeals;
    if (!state) return;
    var mine = ++state.seq;
    Promise.all([C.api("GET", "/appeals", { params: { status: state.status } }),
                 reasonCodes().catch(function () { return []; })]).then(function (got) {
      if (appeals !== state || mine !== state.seq) return;
      var page = got[0];
      state.items = page.items;
      state.loadedAt = Date.now();
      openCounts.appeals = page.open;
      drawBadge("appeals");
      var ui = state.ui;
      ui.summary.className = "dsa-summary";
      ui.summary.textContent = page.open ? tn(page.open, "{n} appeal waits for a decision.", "{n} appeals wait for a decision.")
        : t("No appeals wait for a decision.");
      ui.list.textContent = "";
      if (!page.items.length) {
        ui.list.appendChild(el("li", { class: "empty" }, state.status === "decided" ? t("No appeal has been decided yet.")
          : state.status === "open" ? t("No appeals wait.") : t("No appeals on this site.")));
      }
      page.items.forEach(function (a) { ui.list.appendChild(appealCard(a)); });
    }).catch(function (err) {
      if (appeals !== state || mine !== state.seq) return;
      state.ui.summary.textContent = t("The appeals could not be loaded: {error}", { error: err.detail || err.message });
      state.ui.summary.className = "dsa-summary error";
    });
  }

  function drawAppealClock(node) {
    var a = node._appeal;
    if (!a || !appeals) return;
    var age = a.decided_at ? a.age_seconds : a.age_seconds + (Date.now() - appeals.loadedAt) / 1000;
    node.textContent = a.decided_at ? t("Decided in {time}", { time: duration(age) }) : t("Waiting {time}", { time: duration(age) });
  }

  function firstDecider(a) {
    var mine = C.staff && a.first_decided_by && a.first_decided_by === C.staff.id;
    var who = a.first_decided_by ? (a.first_decided_by_name || a.first_decided_by) : t("the automatic moderation");
    return el("p", { class: "dsa-first" + (mine ? " mine" : "") },
      fill(t("First decided by {who}"), { who: el("strong", null, who) }),
      mine ? el("span", { class: "dsa-first-note" }, " — ", t("that is you: another moderator or admin must decide this appeal."))
        : null);
  }

  function statementBlock(s, headingId) {
    var article = s.article_id ? el("a", { href: "#/articles/" + encodeURIComponent(s.article_id) },
                                    t("Open the comment's article thread")) : null;
    return el("section", { class: "dsa-statement", "aria-labelledby": headingId },
      el("h4", { id: headingId }, t("The decision appealed")),
      facts([[t("Restriction"), words(RESTRICTION_WORDS, s.restriction)],
             [t("Reason"), s.reason || s.reason_code || "–"],
             s.ground ? [t("The site's rule"), s.ground] : null,
             [t("Decided on"), when(s.created_at)],
             [t("Prompted by"), words(SOURCE_WORDS, s.source)],
             [t("Automated"), t("{detection}, {decision}", {
               detection: s.automated_detection ? t("detected automatically") : t("detected by a person"),
               decision: s.automated_decision ? t("decided automatically") : t("decided by a person") })],
             s.until ? [t("Until"), when(s.until)] : null,
             s.comment_id ? [t("Comment"), [t("comment {id}", { id: String(s.comment_id) }),
                                            article ? [" · ", article] : null]] : null,
             s.lifted_at ? [t("Lifted"), when(s.lifted_at)] : null,
             [t("The author was told"), s.decision]]));
  }

  function appealCard(a) {
    var titleId = fid("title");
    var clock = el("span", { class: "dsa-clock", "data-clock": "" });
    clock._appeal = a;
    var title = a.appellant === "notifier" ? t("Appeal by the notifier") : t("Appeal by the author");
    var subject = a.statement ? words(RESTRICTION_WORDS, a.statement.restriction)
      : a.notice ? t("Notice {reference} kept", { reference: a.notice.reference }) : "";
    var card = el("li", { class: "dsa-card card appeal " + (a.decided_at ? "decided" : "open"), "data-id": a.id,
                          "aria-labelledby": titleId },
      el("div", { class: "dsa-head" },
        el("h3", { id: titleId, tabindex: "-1" }, title, subject ? el("span", { class: "dsa-ref" }, " · " + subject) : null),
        clock),
      firstDecider(a),
      facts([[t("Received"), when(a.created_at)]]),
      el("section", { class: "dsa-explanation", "aria-label": t("The appellant's explanation") },
        el("h4", null, a.appellant === "notifier" ? t("Why the notifier disagrees") : t("Why the author disagrees")),
        el("blockquote", { class: "dsa-text" }, a.explanation)),
      a.statement ? statementBlock(a.statement, titleId + "-statement") : null,
      a.notice ? el("section", { class: "dsa-notice", "aria-labelledby": titleId + "-notice" },
        el("h4", { id: titleId + "-notice" }, t("The notice kept")),
        facts([[t("Category"), words(CATEGORY_WORDS, a.notice.category)], [t("Received"), when(a.notice.received_at)]]),
        el("blockquote", { class: "dsa-text" }, a.notice.explanation),
        noticeDecided(a.notice), commentBlock(a.notice.comment, titleId + "-comment")) : null);
    drawAppealClock(clock);
    card.appendChild(a.decided_at ? appealDecided(a) : appealForm(a, card));
    return card;
  }

  function appealDecided(a) {
    return el("div", { class: "dsa-decided", role: "group", "aria-label": t("The decision on the appeal") },
      el("p", { class: "dsa-decided-line" },
         fill(t("{outcome} by {who} on {when}"), { outcome: el("strong", null, words(OUTCOME_WORDS, a.outcome)),
                                                  who: el("strong", null, a.decided_by_name || a.decided_by || "–"),
                                                  when: when(a.decided_at) })),
      a.outcome_explanation ? el("blockquote", { class: "dsa-text" }, a.outcome_explanation) : null);
  }

  function appealForm(a, card) {
    var explainId = fid("explain");
    var explain = el("textarea", { id: explainId, name: "explanation", rows: 3, maxlength: 5000, required: true,
                                   "aria-required": "true" });
    var hint = el("small", { class: "hint", id: explainId + "-help" },
                  a.appellant === "notifier" ? t("Required. Sent to the notifier with the decision.")
                                             : t("Required. Sent to the author with the decision."));
    explain.setAttribute("aria-describedby", hint.id);
    var outcomeSlot = errorSlot("outcome", null);
    var explainSlot = errorSlot("explanation", explain);
    // a refusal that is about no field (another moderator must decide): said by the form, not a toast only
    var refusal = el("p", { class: "dsa-refusal error", role: "alert", hidden: true });
    var reverseLabel = a.statement ? t("Reverse: lift the restriction") : t("Reverse: remove the comment");
    var submit = el("button", { type: "submit", class: "primary" }, t("Decide the appeal"));
    var form = el("form", { class: "dsa-form", novalidate: true, "aria-label": t("Decide this appeal") },
      el("fieldset", { class: "dsa-choices" }, el("legend", null, t("Decision")),
         radio("outcome", "reverse", reverseLabel), radio("outcome", "confirm", t("Confirm the decision")), outcomeSlot),
      el("div", { class: "field" }, el("label", { for: explainId }, t("Explanation of your decision")), explain, hint, explainSlot),
      refusal,
      el("div", { class: "dsa-actions" }, submit));
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearErrors(form);
      refusal.hidden = true; refusal.textContent = "";
      var outcome = form.elements.outcome.value;
      var body = { outcome: outcome, explanation: explain.value.trim() };
      if (!outcome) { showError(form, "outcome", t("Choose to reverse or to confirm the decision.")); return; }
      if (!body.explanation) { showError(form, "explanation", t("Explain the decision: the appellant is sent it.")); return; }
      var reversing = outcome === "reverse";
      C.confirm(reversing ? t("The decision is undone now, and the appellant is told.")
                          : t("The decision stands, and the appellant is told."),
                { title: reversing ? t("Reverse the decision?") : t("Confirm the decision?"),
                  confirmLabel: reversing ? t("Reverse") : t("Confirm") })
        .then(function (ok) {
          if (!ok) return;
          submit.disabled = true;
          var state = appeals;
          C.api("POST", "/appeals/" + a.id + "/decision", { body: body }).then(function (decided) {
            C.toast(reversing ? t("Appeal upheld: the decision is reversed.") : t("Appeal rejected: the decision is confirmed."));
            refreshCounts();
            if (appeals !== state) return;
            var fresh = appealCard(decided);
            card.replaceWith(fresh);
            fresh.querySelector("h3").focus();
          }).catch(function (err) {
            submit.disabled = false;
            var key = errorKey(err);
            if (err.code === "appeal_already_decided") { fail(err); loadAppeals(); return; }
            if (key && err.code === "invalid_request" && showError(form, key, err.detail || err.message)) return;
            refusal.textContent = t("Not decided: {error}", { error: err.detail || err.message });
            refusal.hidden = false;
            refusal.setAttribute("tabindex", "-1");
            refusal.focus();
          });
        });
    });
    return form;
  }

  // ================================================================== transparency
  var report = null; // {root, seq, ui}
  var SECTIONS = [
    ["notices_by_category", function () { return t("Notices received, by category"); }, CATEGORY_WORDS],
    ["notices_decided", function () { return t("Notices decided"); }, ACTION_WORDS],
    ["actions_by_restriction", function () { return t("Restrictions imposed"); }, RESTRICTION_WORDS],
    ["actions_by_reason", function () { return t("Comments restricted, by reason"); }, null],
    ["source", function () { return t("What prompted the decisions"); }, SOURCE_WORDS],
    ["detection", function () { return t("How the content was detected"); }, HOW_WORDS],
    ["decision", function () { return t("How the decisions were taken"); }, HOW_WORDS],
    ["appeals_by_outcome", function () { return t("Appeals, by outcome"); }, OUTCOME_WORDS],
    ["bans", function () { return t("Account restrictions"); }, BAN_WORDS],
  ];

  function day(d) {
    return new Intl.DateTimeFormat(C.locale || undefined,
                                   { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" }).format(d);
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function ymd(d) { return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()); }

  // the last full calendar month (UTC): its first and last day
  function lastMonth() {
    var now = new Date();
    var first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    var last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 0));
    return [ymd(first), ymd(last)];
  }

  // from the first day's start to the end of the last day, in UTC (the report's `to` is exclusive)
  function period() {
    var from = report.ui.from.value, to = report.ui.to.value;
    if (!from || !to) return null;
    var end = new Date(to + "T00:00:00Z");
    end.setUTCDate(end.getUTCDate() + 1);
    return { from: from + "T00:00:00Z", to: end.toISOString().replace(".000Z", "Z") };
  }

  function renderTransparency(container) {
    report = { root: container, seq: report ? report.seq + 1 : 1, ui: {}, data: null };
    if (!C.site()) {
      container.appendChild(el("p", { class: "empty" }, t("Pick a site in the header to see its transparency report.")));
      return;
    }
    var ui = report.ui;
    var range = lastMonth();
    var fromId = fid("from"), toId = fid("to");
    ui.from = el("input", { type: "date", id: fromId, name: "from", value: range[0], required: true });
    ui.to = el("input", { type: "date", id: toId, name: "to", value: range[1], required: true });
    ui.error = errorSlot("period", ui.from);
    ui.summary = el("p", { class: "dsa-summary", role: "status" });
    ui.tables = el("div", { class: "dsa-report" });
    ui.csv = el("button", { type: "button", on: { click: function () { download("csv"); } } }, t("Download CSV"));
    ui.json = el("button", { type: "button", on: { click: function () { download("json"); } } }, t("Download JSON"));
    var form = el("form", { class: "dsa-period toolbar", novalidate: true, "aria-label": t("Report period"),
                            on: { submit: function (ev) { ev.preventDefault(); loadReport(); } } },
      el("span", { class: "field" }, el("label", { for: fromId }, t("From (first day)")), ui.from),
      el("span", { class: "field" }, el("label", { for: toId }, t("To (last day, included)")), ui.to),
      el("button", { type: "submit", class: "primary" }, t("Show")),
      el("span", { class: "spacer" }), ui.csv, ui.json);
    ui.form = form;
    container.appendChild(el("p", { class: "hint dsa-intro" }, t("The counts the EU Digital Services Act's transparency report needs, for site {site}. Days are whole days in UTC.", { site: C.site() })));
    container.appendChild(form);
    container.appendChild(ui.error);
    container.appendChild(ui.summary);
    container.appendChild(ui.tables);
    loadReport();
  }

  function checkPeriod() {
    clearErrors(report.root);
    var p = period();
    if (!p) { showError(report.root, "period", t("Choose the first and the last day of the period.")); return null; }
    if (p.from >= p.to) { showError(report.root, "period", t("The first day must come before the last.")); return null; }
    return p;
  }

  function loadReport() {
    var state = report;
    var p = checkPeriod();
    if (!p) return;
    var mine = ++state.seq;
    state.ui.summary.textContent = t("Loading the report…");
    Promise.all([C.api("GET", "/transparency", { params: { from: p.from, to: p.to, format: "json" } }),
                 reasonCodes().catch(function () { return []; })]).then(function (got) {
      if (report !== state || mine !== state.seq) return;
      var data = got[0];
      state.data = data;
      drawReport(data);
    }).catch(function (err) {
      if (report !== state || mine !== state.seq) return;
      state.ui.summary.textContent = "";
      state.ui.tables.textContent = "";
      if (!(err.code === "invalid_request" && showError(state.root, "period", err.detail || err.message))) fail(err);
    });
  }

  function countTable(key, title, table, names) {
    var keys = Object.keys(table || {}).sort(function (a, b) { return table[b] - table[a] || (a < b ? -1 : 1); });
    var captionId = fid("caption");
    return el("section", { class: "dsa-table card", "data-section": key, "aria-labelledby": captionId },
      el("h3", { id: captionId }, title),
      keys.length ? el("table", null,
        el("thead", null, el("tr", null, el("th", { scope: "col" }, t("What")), el("th", { scope: "col", class: "num" }, t("Count")))),
        el("tbody", null, keys.map(function (k) {
          var label = names ? words(names, k) : reasonWords(k);
          return el("tr", { "data-key": k }, el("th", { scope: "row" }, label), el("td", { class: "num" }, num(table[k])));
        }))) : el("p", { class: "muted" }, t("None in this period.")));
  }

  function drawReport(data) {
    var ui = report.ui;
    var received = Object.keys(data.notices_by_category || {}).reduce(function (n, k) {
      return n + data.notices_by_category[k];
    }, 0);
    var last = new Date(new Date(data.period_to).getTime() - 1);
    ui.summary.textContent = t("Site {site}, {from} to {to} (whole days, UTC).",
                               { site: data.site_id, from: day(new Date(data.period_from)), to: day(last) });
    ui.tables.textContent = "";
    var totals = el("dl", { class: "dsa-totals" },
      [["notices_received", t("Notices received"), num(received)],
       ["median_notice_to_decision_seconds", t("Median time to decide a notice"), duration(data.median_notice_to_decision_seconds, true)],
       ["appeals_received", t("Appeals received"), num(data.appeals_received)],
       ["median_appeal_handling_seconds", t("Median time to decide an appeal"), duration(data.median_appeal_handling_seconds, true)]]
        .map(function (row) {
          return el("div", { class: "stat", "data-stat": row[0] }, el("dt", null, row[1]), el("dd", null, row[2]));
        }));
    ui.tables.appendChild(totals);
    SECTIONS.forEach(function (s) { ui.tables.appendChild(countTable(s[0], s[1](), data[s[0]], s[2])); });
  }

  // The file as the server writes it (GET with the session's cookie, like every console call),
  // saved through a Blob: no token in an address, nothing opened in another tab.
  function download(format) {
    var p = checkPeriod();
    if (!p) return;
    var q = new URLSearchParams({ site: C.site(), from: p.from, to: p.to, format: format });
    var button = format === "csv" ? report.ui.csv : report.ui.json;
    button.disabled = true;
    fetch(API + "/transparency?" + q.toString(), { credentials: "same-origin",
                                                   headers: { Accept: format === "csv" ? "text/csv" : "application/json",
                                                              "Accept-Language": C.locale } })
      .then(function (r) {
        if (!r.ok) {
          return r.json().catch(function () { return {}; }).then(function (body) {
            throw new Error(body.detail || body.title || t("HTTP error {status}", { status: r.status }));
          });
        }
        return r.blob();
      }).then(function (blob) {
        var name = "transparency-" + C.site() + "-" + p.from.slice(0, 10) + "-to-" + report.ui.to.value + "." + format;
        var url = URL.createObjectURL(blob);
        var a = el("a", { href: url, download: name, hidden: true });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
        C.toast(t("Saved {file}.", { file: name }));
      }).catch(fail).then(function () { button.disabled = false; });
  }

  // ================================================================== registration
  C.view("notices", { title: function () { return t("Notices"); }, order: 1.3, key: "g n", render: renderNotices,
                      leave: function () { stop(notices); notices = null; } });
  C.view("appeals", { title: function () { return t("Appeals"); }, order: 1.6, key: "g c", render: renderAppeals,
                      leave: function () { stop(appeals); appeals = null; } });
  C.view("transparency", { title: function () { return t("Transparency"); }, order: 67, key: "g x", admin: true,
                           render: renderTransparency, leave: function () { report = null; } });

  C.keys("notices", [
    ["j", function () { return t("Next notice"); }, function () { moveFocus(notices, 1); }],
    ["k", function () { return t("Previous notice"); }, function () { moveFocus(notices, -1); }],
    ["e", function () { return t("Write the explanation of the notice's decision"); }, function () { focusExplanation(notices); }],
    ["r", function () { return t("Reload the notices"); }, function () { loadNotices(); }],
  ]);
  C.keys("appeals", [
    ["j", function () { return t("Next appeal"); }, function () { moveFocus(appeals, 1); }],
    ["k", function () { return t("Previous appeal"); }, function () { moveFocus(appeals, -1); }],
    ["e", function () { return t("Write the explanation of the appeal's decision"); }, function () { focusExplanation(appeals); }],
    ["r", function () { return t("Reload the appeals"); }, function () { loadAppeals(); }],
  ]);
})();
