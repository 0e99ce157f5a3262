// The queue view: held, reported, approved and rejected comments, decided by keyboard, with bulk
// decisions, a short undo, readers' problem reports, and what other moderators do meanwhile (live
// events from live.js: new items, decisions made elsewhere, who is looking at what).
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var t = C.t, tn = C.tn;
  var UNDO_MS = 8000;
  var POLL_MS = 15000;       // counts, when live.js has said nothing for a while
  var GONE_MS = 5000;        // how long "approved by X" stays where the item was
  var STATES = [["held", function () { return t("Held"); }], ["reported", function () { return t("Reported"); }],
                ["approved", function () { return t("Approved"); }], ["rejected", function () { return t("Rejected"); }],
                ["problems", function () { return t("Problem reports"); }]];
  // the server's reason codes in the moderator's language (its own labels are English): a code
  // this table does not know yet shows the server's label
  var REASONS = {
    hold: {
      banned_word: function () { return t("Contains a banned word or phrase"); },
      suspect_word: function () { return t("Contains a suspect word or phrase"); },
      toxicity_reject: function () { return t("Model score above the reject threshold"); },
      toxicity_hold: function () { return t("Model score above the hold threshold"); },
      premoderation: function () { return t("The article is premoderated"); },
      user_premoderated: function () { return t("The author is on premoderation"); },
      user_recent_rejections: function () { return t("The author had several comments rejected recently"); },
      new_account: function () { return t("One of a new account's first comments"); },
      guest_premoderated: function () { return t("Guest comments are premoderated on this site"); },
      model_unavailable: function () { return t("The toxicity model was unavailable"); },
      banned_user: function () { return t("The author is banned"); },
      spam_link: function () { return t("A link the site's link rules refuse or hold (denied domain, shortener, IP address, too many links, or a new account's link)"); },
      copy_campaign: function () { return t("Nearly the same text as other authors' recent comments (a copy-paste campaign)"); },
      surge_premoderation: function () { return t("A new account's comment while many new accounts flood the article"); },
      shadow_restricted: function () { return t("The author is shadow-restricted: their comments are shown to them alone"); },
      language_unscored: function () { return t("Written in a language no toxicity model here reads (the site's languages rule)"); },
    },
    reject: {
      offensive: function () { return t("Offensive or abusive"); },
      harassment: function () { return t("Harassment or personal attack"); },
      hate: function () { return t("Hate speech"); },
      spam: function () { return t("Spam or advertising"); },
      off_topic: function () { return t("Off topic"); },
      personal_information: function () { return t("Shares personal information"); },
      misinformation: function () { return t("Misleading or false"); },
      illegal: function () { return t("Illegal content"); },
      other: function () { return t("Other (see note)"); },
    },
    report: {
      offensive: function () { return t("Offensive or abusive"); },
      spam: function () { return t("Spam"); },
      off_topic: function () { return t("Off topic"); },
      other: function () { return t("Something else"); },
    },
  };
  function reasonLabel(kind, code, serverLabel) {
    var known = REASONS[kind][code];
    return known ? known() : serverLabel || code;
  }
  // the model's labels (toxicity/base.py), shown beside their scores
  function scoreLabel(label) {
    switch (label) {
      case "toxicity": return t("toxicity");
      case "severe_toxicity": return t("severe toxicity");
      case "obscene": return t("obscene");
      case "identity_attack": return t("identity attack");
      case "insult": return t("insult");
      case "threat": return t("threat");
      case "sexual_explicit": return t("sexually explicit");
      default: return label.replace(/_/g, " ");
    }
  }
  var languageNames = null;
  // the comment's language as the scoring worker detected it, named in the moderator's language
  function languageBadge(c) {
    if (!c.language) return null;
    var name = c.language;
    try {
      if (!languageNames || languageNames.locale !== C.locale) {
        languageNames = { locale: C.locale, names: new Intl.DisplayNames([C.locale], { type: "language" }) };
      }
      name = languageNames.names.of(c.language) || c.language;
    } catch (e) { /* a code Intl does not take: show the code */ }
    var title = c.language_confidence == null ? t("Detected language")
      : t("Detected language, confidence {confidence}", { confidence: new Intl.NumberFormat(C.locale, {
          style: "percent", maximumFractionDigits: 0 }).format(c.language_confidence) });
    return el("span", { class: "lang-badge", "data-language": c.language, title: title }, name);
  }

  var view = { state: "held", sort: "oldest", article: "", cursor: null };
  var root = null;           // the view's container while it shows, else null
  var ui = {};
  var items = [];            // queue items on screen, in order; a decided-elsewhere one has .gone
  var current = 0;
  var selected = {};         // comment id -> true
  var lastDecision = null;   // {item, index, timer}
  var holdLabels = {};
  var rejectCodes = [];
  var pending = 0;           // decisions in flight
  var fresh = {};            // ids announced by live.js, not on screen yet
  var presence = {};         // comment id -> [names]
  var mine = {};             // ids this console decided: their live echo is not news
  var lastLiveCounts = 0;
  var loaded = false;        // the first page has come: only then may "nothing waiting" show
  var generation = 0;        // a reload's pages: an answer for an older list is dropped
  var timers = [];

  function awaiting() { return view.state === "held" || view.state === "reported"; }
  function override() { return view.state === "approved" || view.state === "rejected"; }
  function live() { return items.filter(function (it) { return !it.gone; }); }
  // a decision's author in words: live events and decision answers carry both an id and a name
  function who(id, name) {
    if (id && C.staff && id === C.staff.id) return t("you");
    return name || id || t("the automatic moderation");
  }

  // ------------------------------------------------------------------ layout
  function render(container, arg) {
    root = container;
    var parts = String(arg || "").split("/");
    if (parts[0] && STATES.some(function (s) { return s[0] === parts[0]; })) view.state = parts[0];
    if (parts.length > 1) view.article = parts.slice(1).join("/");
    fresh = {}; presence = {};

    var tabs = el("div", { class: "segmented", role: "group", "aria-label": t("Queue") }, STATES.map(function (s) {
      return el("button", { type: "button", "data-state": s[0], "aria-pressed": String(view.state === s[0]),
                            on: { click: function () { C.go("queue", s[0] + (view.article ? "/" + view.article : "")); } } },
                s[1](), s[0] === "held" || s[0] === "reported" ? el("span", { class: "count", "data-count": s[0] }) : null);
    }));
    ui.sort = el("select", { id: "queue-sort", on: { change: function () { view.sort = ui.sort.value; reload(); } } },
                 el("option", { value: "oldest" }, t("oldest first")),
                 el("option", { value: "score" }, t("highest score")));
    ui.sort.value = view.sort;
    ui.article = el("input", { id: "queue-article", size: 14, placeholder: t("all articles"), value: view.article || null,
                               on: { change: function () { view.article = ui.article.value.trim(); reload(); } } });
    ui.reason = el("select", { id: "queue-reason" });
    fillReasons();
    ui.selection = el("span", { class: "muted", "aria-live": "polite" }, tn(0, "{n} selected", "{n} selected"));
    ui.bulkApprove = el("button", { type: "button", on: { click: function () { bulk("approve"); } } },
                        t("Approve selected"), " ", el("kbd", { text: "A" }));
    ui.bulkReject = el("button", { type: "button", on: { click: function () { bulk("reject"); } } },
                       t("Reject selected"), " ", el("kbd", { text: "R" }));
    ui.queueTools = el("div", { class: "toolbar" },
      el("label", { for: "queue-sort" }, t("Sort")), ui.sort,
      el("label", { for: "queue-article" }, t("Article")), ui.article,
      el("label", { for: "queue-reason" }, t("Reject as")), ui.reason,
      el("span", { class: "spacer" }), el("span", { class: "bulk" }, ui.selection, ui.bulkApprove, ui.bulkReject));
    ui.newBar = el("button", { type: "button", class: "new-bar", hidden: true, on: { click: loadNew } });
    ui.list = el("ol", { class: "queue", "aria-label": t("Comments") });
    ui.empty = el("p", { class: "empty", hidden: true }, t("Nothing waiting here."));
    ui.more = el("button", { type: "button", class: "more", hidden: true, on: { click: fetchPage } }, t("Load more"));
    ui.problems = el("div", { hidden: true },
      ui.problemList = el("ol", { class: "queue", "aria-label": t("Problem reports") }),
      ui.problemsEmpty = el("p", { class: "empty", hidden: true }, t("No open problem reports.")));
    ui.undoText = el("span");
    ui.undo = el("div", { class: "undo", role: "status", hidden: true }, ui.undoText,
                 el("button", { type: "button", on: { click: undo } }, t("Undo"), " ", el("kbd", { text: "u" })));
    container.appendChild(el("div", { class: "toolbar" }, tabs));
    append(container, [ui.queueTools, ui.newBar, ui.list, ui.empty, ui.more, ui.problems, ui.undo]);

    if (view.state === "problems") { ui.queueTools.hidden = true; ui.problems.hidden = false; loadProblems(); }
    else reload();
    refreshCounts();
    timers.push(setInterval(function () {
      if (Date.now() - lastLiveCounts > POLL_MS) refreshCounts();
      if (!live().length && pending === 0 && view.state !== "problems") reload();
    }, POLL_MS));
  }

  function append(node, children) { children.forEach(function (c) { node.appendChild(c); }); }

  function leave() {
    timers.forEach(clearInterval);
    timers = [];
    if (lastDecision) clearTimeout(lastDecision.timer);
    lastDecision = null;
    root = null;
    C.looking(null);
  }

  function fillReasons() {
    if (!ui.reason) return;
    var chosen = ui.reason.value;
    ui.reason.textContent = "";
    rejectCodes.forEach(function (c) {
      ui.reason.appendChild(el("option", { value: c.code }, reasonLabel("reject", c.code, c.label)));
    });
    if (chosen) ui.reason.value = chosen;
  }

  function loadReasons() {
    C.api("GET", "/reason-codes").then(function (codes) {
      rejectCodes = codes.reject;
      codes.hold.forEach(function (c) { holdLabels[c.code] = c.label; });
      fillReasons();
      if (root) draw();
    }).catch(function () { /* the list still shows; rejecting then says what failed */ });
  }

  // ------------------------------------------------------------------ the queue
  function reload() {
    var keep = items[current] && items[current].comment.id;
    items = []; current = 0; selected = {}; view.cursor = null; fresh = {};
    loaded = false;
    generation++;
    return fetchPage().then(function () {
      var again = items.map(function (it) { return it.comment.id; }).indexOf(keep);
      if (again > 0) focusItem(again, false);
    });
  }

  function fetchPage() {
    if (!root) return Promise.resolve();
    var mineRoot = root;
    var gen = generation;
    var params = { state: view.state, sort: view.sort, article_id: view.article, limit: 25 };
    if (view.cursor) params.cursor = view.cursor;
    return C.api("GET", "/queue", { params: params }).then(function (page) {
      if (root !== mineRoot || gen !== generation || view.state === "problems") return;
      var known = {};
      items.forEach(function (it) { known[it.comment.id] = true; });
      page.items.forEach(function (it) {
        if (!known[it.comment.id]) items.push(it);
        delete fresh[it.comment.id];
      });
      view.cursor = page.next_cursor;
      loaded = true;
      draw();
      announceLooking();
    }).catch(function (err) { C.toast(err.message, { error: true }); });
  }

  function loadNew() {
    fresh = {};
    reload();
  }

  function draw() {
    if (!root) return;
    ui.list.textContent = "";
    if (current >= items.length) current = Math.max(0, items.length - 1);
    if (items[current] && items[current].gone) current = nextLive(current, 1, true);
    items.forEach(function (it, i) { ui.list.appendChild(it.gone ? goneItem(it) : renderItem(it, i)); });
    ui.empty.hidden = !loaded || items.length > 0;
    ui.more.hidden = !view.cursor;
    var count = Object.keys(selected).length;
    ui.selection.textContent = tn(count, "{n} selected", "{n} selected");
    drawNewBar();
    var cur = ui.list.children[current];
    if (cur && cur.scrollIntoView) cur.scrollIntoView({ block: "nearest" });
  }

  function drawNewBar() {
    var n = Object.keys(fresh).length;
    ui.newBar.hidden = n === 0;
    ui.newBar.textContent = "";
    if (n) {
      // the key sits where the sentence puts it: "{key}" splits the translated text around it
      var words = tn(n, "{n} new — press {key} to load", "{n} new — press {key} to load", { key: "\u0000" })
        .split("\u0000");
      ui.newBar.appendChild(document.createTextNode(words[0]));
      ui.newBar.appendChild(el("kbd", { text: "n" }));
      if (words[1]) ui.newBar.appendChild(document.createTextNode(words[1]));
    }
  }

  function goneItem(it) {
    return el("li", { class: "item gone", "data-id": it.comment.id },
              el("span", { class: "decided-note" }, "#" + it.comment.id + " " + it.gone));
  }

  function renderItem(it, index) {
    var c = it.comment;
    var li = el("li", { class: "item" + (index === current ? " current" : "") + (selected[c.id] ? " selected" : ""),
                        tabindex: "-1", "data-id": c.id, "aria-label": t("Comment {id} by {author}", { id: c.id, author: it.author.name }),
                        on: { focus: function () { if (current !== items.indexOf(it)) focusItem(items.indexOf(it), false); } } });
    li.appendChild(el("div", { class: "meta" },
      el("span", null, "#" + c.id),
      el("span", null, it.article.title + " (" + it.article.id + ")"),
      el("time", { datetime: c.created_at, title: C.fmt.time(c.created_at) }, C.fmt.ago(c.created_at)),
      languageBadge(c),
      c.status_reason ? el("span", { class: "reason" }, reasonLabel("hold", c.status_reason, holdLabels[c.status_reason]))
                      : null,
      awaiting() ? null : el("span", null, c.moderated_by
        ? t("{status} by {who}", { status: C.fmt.status(c.status), who: who(c.moderated_by) }) : C.fmt.status(c.status)),
      presenceNode(c.id)));
    if (it.parent) {
      li.appendChild(el("div", { class: "parent" }, el("strong", null, t("In reply to {author}:", { author: it.parent.author_name }) + " "),
                        C.html(el("span", { dir: "auto" }), it.parent.body_html))); // sanitised by the service when written
    }
    // a comment runs in its own direction (Arabic in an English console, English in an Arabic one)
    li.appendChild(C.html(el("div", { class: "body", dir: "auto", lang: c.language || null }), c.body_html)); // sanitised by the service when written

    var a = it.author;
    li.appendChild(el("div", { class: "history" },
      el("button", { type: "button", class: "link author", title: t("Open the author (o)"),
                     on: { click: function () { C.openUser(a.id); } } }, a.name),
      el("span", { class: "muted" }, [authorKind(a.kind), t("{n} published", { n: num(a.published) }),
                                      t("{n} held", { n: num(a.held) }),
                                      t("{n} rejected", { n: num(a.rejected) })].join(" · ")),
      a.banned ? el("span", { class: "flag bad" }, a.banned_until
        ? t("banned until {time}", { time: C.fmt.time(a.banned_until) }) : t("banned")) : null,
      a.trusted ? el("span", { class: "flag ok" }, t("trusted")) : null,
      a.premoderate ? el("span", { class: "flag" }, t("premoderated")) : null));

    if (c.campaign_id) {
      // nearly the same text from several authors: one decision for all of it
      li.appendChild(el("div", { class: "campaign" },
        el("span", { class: "flag bad" }, t("Copy campaign #{id}", { id: c.campaign_id })),
        el("span", { class: "muted" }, tn(campaignSize(c.campaign_id), "{n} of its comments in this list",
                                          "{n} of its comments in this list")),
        el("button", { type: "button", class: "reject", "data-campaign": c.campaign_id,
                       on: { click: function () { rejectCampaign(c.campaign_id); } } }, t("Reject the whole campaign…"))));
    }
    if (c.scores) {
      li.appendChild(el("div", { class: "scores" }, Object.keys(c.scores)
        .sort(function (x, y) { return c.scores[y] - c.scores[x]; })
        .map(function (label) {
          return el("span", { class: "score" }, scoreLabel(label),
                    el("meter", { min: 0, max: 1, value: c.scores[label], high: 0.6, optimum: 0,
                                  "aria-label": t("{label} score", { label: scoreLabel(label) }) }),
                    C.fmt.score(c.scores[label]));
        })));
    }
    if (it.reports) {
      var parts = Object.keys(it.reports.reasons).map(function (r) {
        return reasonLabel("report", r, r) + " ×" + it.reports.reasons[r];
      });
      li.appendChild(el("div", { class: "reports" },
        t("{count} report(s): {reasons}", { count: it.reports.count, reasons: parts.join(", ") }),
        it.reports.notes.length ? el("div", null, "“" + it.reports.notes.join("” “") + "”") : null));
    }
    var pick = function (fn) { return function () { focusItem(items.indexOf(it), false); fn(); }; };
    li.appendChild(el("div", { class: "actions" },
      el("button", { type: "button", class: "approve", on: { click: pick(function () { decide("approve"); }) } },
         t("Approve"), " ", el("kbd", { text: "a" })),
      el("button", { type: "button", class: "reject", on: { click: pick(function () { decide("reject"); }) } },
         t("Reject"), " ", el("kbd", { text: "r" })),
      el("button", { type: "button", "aria-pressed": String(!!selected[c.id]), on: { click: pick(toggleSelect) } },
         t("Select"), " ", el("kbd", { text: "x" })),
      C.featureControls(it)));
    return li;
  }

  function num(n) { return new Intl.NumberFormat(C.locale).format(n); }

  function authorKind(kind) {
    switch (kind) {
      case "guest": return t("guest");
      case "sso": return t("signed-in reader");
      case "imported": return t("imported");
      default: return kind;
    }
  }

  function campaignSize(id) {
    return items.filter(function (x) { return !x.gone && x.comment.campaign_id === id; }).length;
  }

  function rejectCampaign(id) {
    C.prompt(t("Reject copy campaign #{id}", { id: id }), [
      { name: "ban_authors", type: "checkbox", label: t("Also ban every author of the campaign"),
        help: t("Its comments waiting in the queue for being part of it are rejected as spam.") },
    ], { submitLabel: t("Reject the campaign"), danger: true }).then(function (v) {
      if (!v) return;
      C.api("POST", "/campaigns/" + id + "/decision",
            { params: { site: null }, body: { action: "reject", reason: "spam", ban_authors: !!v.ban_authors } })
        .then(function (res) {
          // only what the decision covered leaves the list: the campaign's original (perhaps the
          // comment the others copied) and a copy held for another reason wait to be decided alone
          var decided = {};
          res.comments.results.forEach(function (r) { if (r.outcome !== "error") decided[r.comment_id] = true; });
          items = items.filter(function (x) { return !decided[x.comment.id]; });
          current = Math.max(0, Math.min(current, items.length - 1));
          draw();
          refreshCounts();
          C.toast(res.banned.length
            ? t("Campaign #{id}: {rejected} comment(s) rejected, {banned} author(s) banned.",
                { id: id, rejected: res.comments.succeeded, banned: res.banned.length })
            : t("Campaign #{id}: {rejected} comment(s) rejected.", { id: id, rejected: res.comments.succeeded }));
        }).catch(function (err) {
          C.toast(t("Campaign #{id} not rejected: {reason}", { id: id, reason: err.message }), { error: true });
        });
    });
  }

  function presenceNode(id) {
    var me = C.staff && C.staff.name;
    var others = (presence[id] || []).filter(function (n) { return n !== me; });
    if (!others.length) return null;
    var names = window.Intl && Intl.ListFormat ? new Intl.ListFormat(C.locale, { type: "conjunction" }).format(others)
      : others.join(", ");
    return el("span", { class: "presence" }, tn(others.length, "{names} is looking", "{names} are looking", { names: names }));
  }

  function nextLive(from, step, allowSame) {
    for (var i = allowSame ? from : from + step; i >= 0 && i < items.length; i += step) {
      if (!items[i].gone) return i;
    }
    if (step > 0 && from < items.length) return nextLive(from, -1, true);
    return from;
  }

  function focusItem(index, moveFocus) {
    if (index < 0 || index >= items.length || items[index].gone) return;
    current = index;
    Array.prototype.forEach.call(ui.list.children, function (li, i) { li.classList.toggle("current", i === current); });
    var li = ui.list.children[current];
    if (moveFocus && li) li.focus({ preventScroll: true });
    if (li && li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
    announceLooking();
  }

  function announceLooking() {
    var it = items[current];
    C.looking(it && !it.gone && root ? it.comment.id : null);
  }

  function keepFocus() {
    // a redraw replaces the focused item's element: give focus to its successor, not to <body>
    var active = document.activeElement;
    if (active === document.body || (active && active.classList && active.classList.contains("item"))) {
      var li = ui.list.children[current];
      if (li && !items[current].gone) li.focus({ preventScroll: true });
    }
  }

  function toggleSelect() {
    var it = items[current];
    if (!it || it.gone) return;
    if (selected[it.comment.id]) delete selected[it.comment.id]; else selected[it.comment.id] = true;
    draw();
    keepFocus();
  }

  // ------------------------------------------------------------------ decisions
  function decide(action) {
    var it = items[current];
    if (!it || it.gone) return;
    var index = current;
    var id = it.comment.id;
    // optimistic: the item leaves the list at once so the next key acts on the next comment
    items.splice(index, 1);
    delete selected[id];
    mine[id] = true;
    draw();
    keepFocus();
    announceLooking();
    pending++;
    var body = { action: action, override: override() };
    if (action === "reject") body.reason = ui.reason.value || "other";
    C.api("POST", "/comments/" + id + "/decision", { params: { site: null }, body: body }).then(function (res) {
      if (res.outcome === "unchanged") {
        C.toast(t("#{id} was already {status}: already decided by {who}.", {
          id: id, status: C.fmt.status(res.status).toLowerCase(), who: who(res.decided_by, res.decided_by_name) }),
          { error: true });
      } else {
        C.toast(outcomeText(res.outcome, id));
        offerUndo(it, index, res);
      }
    }).catch(function (err) {
      if (err.code === "already_decided" || err.code === "comment_not_found" || err.code === "not_decidable") {
        C.toast("#" + id + ": " + err.message, { error: true }); // someone else got there first
      } else {
        delete mine[id];
        if (root) { items.splice(Math.min(index, items.length), 0, it); draw(); }
        C.toast(t("#{id} not decided: {reason}", { id: id, reason: err.message }), { error: true });
      }
    }).then(afterDecision);
  }

  function cap(word) { return word.charAt(0).toUpperCase() + word.slice(1); }

  // "Approved #12": a decision's outcome (an API code) as the toast and the undo bar say it
  function outcomeText(outcome, id) {
    switch (outcome) {
      case "approved": return t("Approved #{id}", { id: id });
      case "rejected": return t("Rejected #{id}", { id: id });
      case "undone": return t("Undone #{id}", { id: id });
      default: return cap(String(outcome)) + " #" + id;
    }
  }

  // "approved by Ana": what a decision made elsewhere leaves where its comment was
  function decidedBy(outcome, status, by) {
    switch (outcome) {
      case "approved": return t("approved by {who}", { who: by });
      case "rejected": return t("rejected by {who}", { who: by });
      default: return t("{status} by {who}", { status: C.fmt.status(status).toLowerCase(), who: by });
    }
  }

  function afterDecision() {
    pending--;
    refreshCounts();
    if (root && !live().length && pending === 0) {
      if (view.cursor) fetchPage(); else reload();
    }
  }

  function offerUndo(it, index, res) {
    if (!res.changed || !root) return;
    if (lastDecision) clearTimeout(lastDecision.timer);
    lastDecision = { item: it, index: index, timer: setTimeout(hideUndo, UNDO_MS) };
    ui.undoText.textContent = outcomeText(res.outcome, it.comment.id) + ".";
    ui.undo.hidden = false;
  }

  function hideUndo() {
    if (ui.undo) ui.undo.hidden = true;
    lastDecision = null;
  }

  function undo() {
    var last = lastDecision;
    if (!last) return;
    clearTimeout(last.timer);
    hideUndo();
    C.api("POST", "/comments/" + last.item.comment.id + "/decision", { params: { site: null }, body: { action: "undo" } })
      .then(function () {
        if (root) {
          items.splice(Math.min(last.index, items.length), 0, last.item);
          current = Math.min(last.index, items.length - 1);
          draw();
          keepFocus();
        }
        C.toast(outcomeText("undone", last.item.comment.id));
        refreshCounts();
      }).catch(function (err) { C.toast(t("Could not undo: {reason}", { reason: err.message }), { error: true }); });
  }

  function bulk(action) {
    var ids = Object.keys(selected).map(Number);
    if (!ids.length) { C.toast(t("Select comments with x first."), { error: true }); return; }
    var asked = action === "reject"
      ? C.confirm(tn(ids.length, "Reject {n} selected comment? This has no undo.",
                     "Reject {n} selected comments? This has no undo."),
                  { danger: true, confirmLabel: tn(ids.length, "Reject {n}", "Reject {n}") })
      : Promise.resolve(true);
    asked.then(function (ok) {
      if (!ok) return;
      var body = { comment_ids: ids, action: action, override: override() };
      if (action === "reject") body.reason = ui.reason.value || "other";
      ids.forEach(function (id) { mine[id] = true; });
      pending++;
      C.api("POST", "/decisions", { body: body }).then(function (res) {
        var done = {};
        res.results.forEach(function (r) { if (!r.error) done[r.comment_id] = true; });
        items = items.filter(function (it) { return !done[it.comment.id]; });
        selected = {};
        draw();
        keepFocus();
        var done = action === "approve" ? t("{n} approved", { n: num(res.succeeded) })
          : t("{n} rejected", { n: num(res.succeeded) });
        C.toast(res.failed ? t("{done}, {failed} failed", { done: done, failed: res.failed }) : done,
                { error: res.failed > 0 });
      }).catch(function (err) { C.toast(err.message, { error: true }); }).then(afterDecision);
    });
  }

  // ------------------------------------------------------------------ counts and live events
  function refreshCounts() {
    if (!C.staff) return;
    C.api("GET", "/counts").then(function (c) { C.emit("counts", c); }).catch(function () { /* next poll */ });
  }

  C.on("counts", function (c) {
    lastLiveCounts = Date.now();
    if (!root) return;
    var show = function (n) { return c.cap && n >= c.cap ? c.cap + "+" : String(n); };
    Array.prototype.forEach.call(root.querySelectorAll("[data-count]"), function (span) {
      var n = c[span.getAttribute("data-count")];
      span.textContent = n == null ? "" : " " + show(n);
    });
  });

  C.on("queue:new", function (ev) {
    if (!root || !awaiting() || (ev.site_id && ev.site_id !== C.site())) return;
    if (ev.state && ev.state !== view.state) return;
    if (items.some(function (it) { return it.comment.id === ev.comment_id; })) return;
    // an empty screen loads at once; a moderator in the middle of a list is not moved under their keys
    if (!live().length && pending === 0) { reload(); return; }
    fresh[ev.comment_id] = true;
    drawNewBar();
  });

  C.on("queue:decided", function (ev) {
    if (!root) return;
    if (mine[ev.comment_id]) { delete mine[ev.comment_id]; return; }
    if (ev.outcome === "undone") {  // back in a queue: news like a new item
      if (awaiting() && ev.status === "held") C.emit("queue:new", { comment_id: ev.comment_id, state: "held" });
      return;
    }
    delete fresh[ev.comment_id];
    var index = -1;
    items.forEach(function (it, i) { if (it.comment.id === ev.comment_id && !it.gone) index = i; });
    if (index < 0) { drawNewBar(); return; }
    var it = items[index];
    it.gone = decidedBy(ev.outcome, ev.status, who(ev.decided_by_id, ev.decided_by));
    delete selected[it.comment.id];
    if (lastDecision && lastDecision.item === it) hideUndo();
    draw();
    keepFocus();
    announceLooking();
    setTimeout(function () {
      var at = items.indexOf(it);
      if (at < 0) return;
      items.splice(at, 1);
      if (current > at) current--;
      if (root) { draw(); keepFocus(); }
    }, GONE_MS);
  });

  C.on("presence", function (ev) {
    presence[ev.comment_id] = ev.viewers || [];
    if (!root) return;
    var li = ui.list.querySelector('li[data-id="' + Number(ev.comment_id) + '"] .meta');
    if (!li) return;
    var old = li.querySelector(".presence");
    if (old) old.remove();
    var node = presenceNode(ev.comment_id);
    if (node) li.appendChild(node);
  });

  // a stream that was down (a deploy, a network blip) missed whatever happened meanwhile
  C.on("live:ready", function (ev) {
    if (root && ev && ev.reconnected && awaiting() && pending === 0) reload();
  });

  C.on("site", function () { items = []; selected = {}; fresh = {}; presence = {}; });
  C.on("signin", loadReasons);

  // ------------------------------------------------------------------ problem reports
  // Readers' "having issues with commenting?" reports, with what the troubleshooter found for them.
  function loadProblems() {
    C.api("GET", "/problem-reports", { params: { status: "open" } }).then(function (page) {
      if (!root) return;
      ui.problemList.textContent = "";
      page.reports.forEach(function (report) { ui.problemList.appendChild(renderProblem(report)); });
      ui.problemsEmpty.hidden = page.reports.length > 0;
    }).catch(function (err) { C.toast(err.message, { error: true }); });
  }

  function renderProblem(report) {
    var li = el("li", { class: "item problem" });
    li.appendChild(el("div", { class: "meta" }, el("strong", null, report.reference),
      el("span", null, " · " + [C.fmt.time(report.created_at),
        report.reader ? report.reader.name || t("reader #{id}", { id: report.reader.id }) : t("not signed in"),
        report.article_id ? t("article {id}", { id: report.article_id }) : null,
        report.comment_id ? t("comment #{id}", { id: report.comment_id }) : null]
        .filter(function (x) { return x != null; }).join(" · "))));
    li.appendChild(el("p", { class: "body" }, report.description));
    if (report.summary) li.appendChild(el("p", { class: "reason" }, t("Troubleshooter:") + " ", statusWord(report.summary)));
    var checks = el("ul");
    report.checks.slice().sort(function (a, b) { return rank(a.status) - rank(b.status); }).forEach(function (c) {
      checks.appendChild(el("li", { class: "check " + c.status }, statusWord(c.status),
                            " " + c.title + " — " + localTimes(c.explanation)));
    });
    li.appendChild(el("details", null, el("summary", null, t("What the troubleshooter found")), checks,
      el("p", { class: "meta" }, t("Browser: {browser} · request id {request}", {
        browser: report.user_agent || t("unknown"), request: report.request_id || "–" }))));
    var resolution = el("input", { "aria-label": t("Resolution for {reference}", { reference: report.reference }),
                                   placeholder: t("What was done (optional)") });
    var close = el("button", { type: "button", on: { click: function () {
      C.api("POST", "/problem-reports/" + report.id + "/close", { body: { resolution: resolution.value.trim() || null } })
        .then(function () {
          li.remove();
          C.toast(t("Closed {reference}", { reference: report.reference }));
          ui.problemsEmpty.hidden = ui.problemList.children.length > 0;
        }).catch(function (err) { C.toast(err.message, { error: true }); });
    } } }, t("Close"));
    li.appendChild(el("div", { class: "actions" }, resolution, close));
    return li;
  }

  // The troubleshooter's status codes as the reader's widget shows them: a word, in its colour.
  var STATUS_WORDS = {
    ok: function () { return t("OK"); }, warn: function () { return t("Warning"); },
    problem: function () { return t("Problem"); }, info: function () { return t("Info"); },
  };
  // The troubleshooter names times in ISO 8601 (a ban's end): shown as this browser writes dates.
  function localTimes(text) {
    return String(text).replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g,
      function (iso) { return new Date(iso).toLocaleString(C.locale); });
  }
  function statusWord(checkStatus) {
    return el("span", { class: "st st-" + checkStatus },
              STATUS_WORDS[checkStatus] ? STATUS_WORDS[checkStatus]() : checkStatus);
  }
  function rank(checkStatus) { return { problem: 0, warn: 1, info: 2, ok: 3 }[checkStatus] || 4; }

  // ------------------------------------------------------------------ registration
  function onQueue(fn) { return function () { if (root && view.state !== "problems") fn(); }; }

  C.view("queue", { title: function () { return t("Queue"); }, order: 1, render: render, leave: leave });
  C.keys("queue", [
    ["j", function () { return t("Next comment"); }, onQueue(function () { focusItem(nextLive(current, 1), true); })],
    ["k", function () { return t("Previous comment"); }, onQueue(function () { focusItem(nextLive(current, -1), true); })],
    ["a", function () { return t("Approve the comment"); }, onQueue(function () { decide("approve"); })],
    ["r", function () { return t("Reject the comment (with the reason picked in “Reject as”)"); },
     onQueue(function () { decide("reject"); })],
    ["x", function () { return t("Select or unselect the comment"); }, onQueue(toggleSelect)],
    ["Shift+A", function () { return t("Approve the selected comments"); }, onQueue(function () { bulk("approve"); })],
    ["Shift+R", function () { return t("Reject the selected comments"); }, onQueue(function () { bulk("reject"); })],
    ["u", function () { return t("Undo the last decision (for a few seconds)"); }, onQueue(undo)],
    ["o", function () { return t("Open the author of the comment"); }, onQueue(function () {
      var it = items[current];
      if (it && !it.gone) C.openUser(it.author.id);
    })],
    ["n", function () { return t("Load new comments"); }, onQueue(loadNew)],
  ]);
  C.keys("global", [
    ["g h", function () { return t("Go to the held comments"); }, function () { C.go("queue", "held"); }],
    ["g r", function () { return t("Go to the reported comments"); }, function () { C.go("queue", "reported"); }],
  ]);
})();
