// The queue view: held, reported, approved and rejected comments, decided by keyboard, with bulk
// decisions, a short undo, readers' problem reports, and what other moderators do meanwhile (live
// events from live.js: new items, decisions made elsewhere, who is looking at what).
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var UNDO_MS = 8000;
  var POLL_MS = 15000;       // counts, when live.js has said nothing for a while
  var GONE_MS = 5000;        // how long "approved by X" stays where the item was
  var STATES = [["held", "Held"], ["reported", "Reported"], ["approved", "Approved"], ["rejected", "Rejected"],
                ["problems", "Problem reports"]];

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
    if (id && C.staff && id === C.staff.id) return "you";
    return name || id || "the automatic moderation";
  }

  // ------------------------------------------------------------------ layout
  function render(container, arg) {
    root = container;
    var parts = String(arg || "").split("/");
    if (parts[0] && STATES.some(function (s) { return s[0] === parts[0]; })) view.state = parts[0];
    if (parts.length > 1) view.article = parts.slice(1).join("/");
    fresh = {}; presence = {};

    var tabs = el("div", { class: "segmented", role: "group", "aria-label": "Queue" }, STATES.map(function (s) {
      return el("button", { type: "button", "data-state": s[0], "aria-pressed": String(view.state === s[0]),
                            on: { click: function () { C.go("queue", s[0] + (view.article ? "/" + view.article : "")); } } },
                s[1], s[0] === "held" || s[0] === "reported" ? el("span", { class: "count", "data-count": s[0] }) : null);
    }));
    ui.sort = el("select", { id: "queue-sort", on: { change: function () { view.sort = ui.sort.value; reload(); } } },
                 el("option", { value: "oldest" }, "oldest first"), el("option", { value: "score" }, "highest score"));
    ui.sort.value = view.sort;
    ui.article = el("input", { id: "queue-article", size: 14, placeholder: "all articles", value: view.article || null,
                               on: { change: function () { view.article = ui.article.value.trim(); reload(); } } });
    ui.reason = el("select", { id: "queue-reason" });
    fillReasons();
    ui.selection = el("span", { class: "muted", "aria-live": "polite" }, "0 selected");
    ui.bulkApprove = el("button", { type: "button", on: { click: function () { bulk("approve"); } } },
                        "Approve selected ", el("kbd", { text: "A" }));
    ui.bulkReject = el("button", { type: "button", on: { click: function () { bulk("reject"); } } },
                       "Reject selected ", el("kbd", { text: "R" }));
    ui.queueTools = el("div", { class: "toolbar" },
      el("label", { for: "queue-sort" }, "Sort"), ui.sort,
      el("label", { for: "queue-article" }, "Article"), ui.article,
      el("label", { for: "queue-reason" }, "Reject as"), ui.reason,
      el("span", { class: "spacer" }), el("span", { class: "bulk" }, ui.selection, ui.bulkApprove, ui.bulkReject));
    ui.newBar = el("button", { type: "button", class: "new-bar", hidden: true, on: { click: loadNew } });
    ui.list = el("ol", { class: "queue", "aria-label": "Comments" });
    ui.empty = el("p", { class: "empty", hidden: true }, "Nothing waiting here.");
    ui.more = el("button", { type: "button", class: "more", hidden: true, on: { click: fetchPage } }, "Load more");
    ui.problems = el("div", { hidden: true },
      ui.problemList = el("ol", { class: "queue", "aria-label": "Problem reports" }),
      ui.problemsEmpty = el("p", { class: "empty", hidden: true }, "No open problem reports."));
    ui.undoText = el("span");
    ui.undo = el("div", { class: "undo", role: "status", hidden: true }, ui.undoText,
                 el("button", { type: "button", on: { click: undo } }, "Undo ", el("kbd", { text: "u" })));
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
    rejectCodes.forEach(function (c) { ui.reason.appendChild(el("option", { value: c.code }, c.label)); });
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
    ui.selection.textContent = Object.keys(selected).length + " selected";
    drawNewBar();
    var cur = ui.list.children[current];
    if (cur && cur.scrollIntoView) cur.scrollIntoView({ block: "nearest" });
  }

  function drawNewBar() {
    var n = Object.keys(fresh).length;
    ui.newBar.hidden = n === 0;
    ui.newBar.textContent = "";
    if (n) {
      ui.newBar.appendChild(document.createTextNode(n + " new — press "));
      ui.newBar.appendChild(el("kbd", { text: "n" }));
      ui.newBar.appendChild(document.createTextNode(" to load"));
    }
  }

  function goneItem(it) {
    return el("li", { class: "item gone", "data-id": it.comment.id },
              el("span", { class: "decided-note" }, "#" + it.comment.id + " " + it.gone));
  }

  function renderItem(it, index) {
    var c = it.comment;
    var li = el("li", { class: "item" + (index === current ? " current" : "") + (selected[c.id] ? " selected" : ""),
                        tabindex: "-1", "data-id": c.id, "aria-label": "Comment " + c.id + " by " + it.author.name,
                        on: { focus: function () { if (current !== items.indexOf(it)) focusItem(items.indexOf(it), false); } } });
    li.appendChild(el("div", { class: "meta" },
      el("span", null, "#" + c.id),
      el("span", null, it.article.title + " (" + it.article.id + ")"),
      el("time", { datetime: c.created_at, title: C.fmt.time(c.created_at) }, C.fmt.ago(c.created_at)),
      c.status_reason ? el("span", { class: "reason" }, holdLabels[c.status_reason] || c.status_reason) : null,
      awaiting() ? null : el("span", null, C.fmt.status(c.status) +
                             (c.moderated_by ? " by " + who(c.moderated_by) : "")),
      presenceNode(c.id)));
    if (it.parent) {
      li.appendChild(el("div", { class: "parent" }, el("strong", null, "In reply to " + it.parent.author_name + ": "),
                        C.html(el("span"), it.parent.body_html))); // sanitised by the service when written
    }
    li.appendChild(C.html(el("div", { class: "body" }), c.body_html)); // sanitised by the service when written

    var a = it.author;
    li.appendChild(el("div", { class: "history" },
      el("button", { type: "button", class: "link author", title: "Open the author (o)",
                     on: { click: function () { C.openUser(a.id); } } }, a.name),
      el("span", { class: "muted" }, a.kind + " · " + a.published + " published · " + a.held + " held · " +
                                     a.rejected + " rejected"),
      a.banned ? el("span", { class: "flag bad" }, a.banned_until ? "banned until " + C.fmt.time(a.banned_until) : "banned") : null,
      a.trusted ? el("span", { class: "flag ok" }, "trusted") : null,
      a.premoderate ? el("span", { class: "flag" }, "premoderated") : null));

    if (c.campaign_id) {
      // nearly the same text from several authors: one decision for all of it
      li.appendChild(el("div", { class: "campaign" },
        el("span", { class: "flag bad" }, "Copy campaign #" + c.campaign_id),
        el("span", { class: "muted" }, campaignSize(c.campaign_id) + " of its comments in this list"),
        el("button", { type: "button", class: "reject", "data-campaign": c.campaign_id,
                       on: { click: function () { rejectCampaign(c.campaign_id); } } }, "Reject the whole campaign…")));
    }
    if (c.scores) {
      li.appendChild(el("div", { class: "scores" }, Object.keys(c.scores)
        .sort(function (x, y) { return c.scores[y] - c.scores[x]; })
        .map(function (label) {
          return el("span", { class: "score" }, label,
                    el("meter", { min: 0, max: 1, value: c.scores[label], high: 0.6, optimum: 0, "aria-label": label + " score" }),
                    C.fmt.score(c.scores[label]));
        })));
    }
    if (it.reports) {
      var parts = Object.keys(it.reports.reasons).map(function (r) { return r + " ×" + it.reports.reasons[r]; });
      li.appendChild(el("div", { class: "reports" }, it.reports.count + " report(s): " + parts.join(", "),
        it.reports.notes.length ? el("div", null, "“" + it.reports.notes.join("” “") + "”") : null));
    }
    var pick = function (fn) { return function () { focusItem(items.indexOf(it), false); fn(); }; };
    li.appendChild(el("div", { class: "actions" },
      el("button", { type: "button", class: "approve", on: { click: pick(function () { decide("approve"); }) } },
         "Approve ", el("kbd", { text: "a" })),
      el("button", { type: "button", class: "reject", on: { click: pick(function () { decide("reject"); }) } },
         "Reject ", el("kbd", { text: "r" })),
      el("button", { type: "button", "aria-pressed": String(!!selected[c.id]), on: { click: pick(toggleSelect) } },
         "Select ", el("kbd", { text: "x" })),
      C.featureControls(it)));
    return li;
  }

  function campaignSize(id) {
    return items.filter(function (x) { return !x.gone && x.comment.campaign_id === id; }).length;
  }

  function rejectCampaign(id) {
    C.prompt("Reject copy campaign #" + id, [
      { name: "ban_authors", type: "checkbox", label: "Also ban every author of the campaign",
        help: "Its comments waiting in the queue for being part of it are rejected as spam." },
    ], { submitLabel: "Reject the campaign", danger: true }).then(function (v) {
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
          C.toast("Campaign #" + id + ": " + res.comments.succeeded + " comment(s) rejected" +
                  (res.banned.length ? ", " + res.banned.length + " author(s) banned." : "."));
        }).catch(function (err) { C.toast("Campaign #" + id + " not rejected: " + err.message, { error: true }); });
    });
  }

  function presenceNode(id) {
    var me = C.staff && C.staff.name;
    var others = (presence[id] || []).filter(function (n) { return n !== me; });
    if (!others.length) return null;
    return el("span", { class: "presence" }, others.join(", ") + (others.length > 1 ? " are" : " is") + " looking");
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
        C.toast("#" + id + " was already " + C.fmt.status(res.status).toLowerCase() + ": already decided by " +
                who(res.decided_by, res.decided_by_name) + ".", { error: true });
      } else {
        C.toast(cap(res.outcome) + " #" + id);
        offerUndo(it, index, res);
      }
    }).catch(function (err) {
      if (err.code === "already_decided" || err.code === "comment_not_found" || err.code === "not_decidable") {
        C.toast("#" + id + ": " + err.message, { error: true }); // someone else got there first
      } else {
        delete mine[id];
        if (root) { items.splice(Math.min(index, items.length), 0, it); draw(); }
        C.toast("#" + id + " not decided: " + err.message, { error: true });
      }
    }).then(afterDecision);
  }

  function cap(word) { return word.charAt(0).toUpperCase() + word.slice(1); }

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
    ui.undoText.textContent = cap(res.outcome) + " #" + it.comment.id + ".";
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
        C.toast("Undone #" + last.item.comment.id);
        refreshCounts();
      }).catch(function (err) { C.toast("Could not undo: " + err.message, { error: true }); });
  }

  function bulk(action) {
    var ids = Object.keys(selected).map(Number);
    if (!ids.length) { C.toast("Select comments with x first.", { error: true }); return; }
    var asked = action === "reject"
      ? C.confirm("Reject " + ids.length + " selected comment" + (ids.length > 1 ? "s" : "") + "? This has no undo.",
                  { danger: true, confirmLabel: "Reject " + ids.length })
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
        C.toast(res.succeeded + " " + (action === "approve" ? "approved" : "rejected") +
                (res.failed ? ", " + res.failed + " failed" : ""), { error: res.failed > 0 });
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
    it.gone = (ev.outcome || C.fmt.status(ev.status)).toLowerCase() + " by " + who(ev.decided_by_id, ev.decided_by);
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
      el("span", null, " · " + C.fmt.time(report.created_at) + " · " +
        (report.reader ? report.reader.name || ("reader #" + report.reader.id) : "not signed in") +
        (report.article_id ? " · article " + report.article_id : "") +
        (report.comment_id ? " · comment #" + report.comment_id : ""))));
    li.appendChild(el("p", { class: "body" }, report.description));
    if (report.summary) li.appendChild(el("p", { class: "reason" }, "Troubleshooter: ", statusWord(report.summary)));
    var checks = el("ul");
    report.checks.slice().sort(function (a, b) { return rank(a.status) - rank(b.status); }).forEach(function (c) {
      checks.appendChild(el("li", { class: "check " + c.status }, statusWord(c.status),
                            " " + c.title + " — " + localTimes(c.explanation)));
    });
    li.appendChild(el("details", null, el("summary", null, "What the troubleshooter found"), checks,
      el("p", { class: "meta" }, "Browser: " + (report.user_agent || "unknown") + " · request id " + (report.request_id || "–"))));
    var resolution = el("input", { "aria-label": "Resolution for " + report.reference, placeholder: "What was done (optional)" });
    var close = el("button", { type: "button", on: { click: function () {
      C.api("POST", "/problem-reports/" + report.id + "/close", { body: { resolution: resolution.value.trim() || null } })
        .then(function () {
          li.remove();
          C.toast("Closed " + report.reference);
          ui.problemsEmpty.hidden = ui.problemList.children.length > 0;
        }).catch(function (err) { C.toast(err.message, { error: true }); });
    } } }, "Close");
    li.appendChild(el("div", { class: "actions" }, resolution, close));
    return li;
  }

  // The troubleshooter's status codes as the reader's widget shows them: a word, in its colour.
  var STATUS_WORDS = { ok: "OK", warn: "Warning", problem: "Problem", info: "Info" };
  // The troubleshooter names times in ISO 8601 (a ban's end): shown as this browser writes dates.
  function localTimes(text) {
    return String(text).replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g,
      function (iso) { return new Date(iso).toLocaleString(); });
  }
  function statusWord(checkStatus) { return el("span", { class: "st st-" + checkStatus }, STATUS_WORDS[checkStatus] || checkStatus); }
  function rank(checkStatus) { return { problem: 0, warn: 1, info: 2, ok: 3 }[checkStatus] || 4; }

  // ------------------------------------------------------------------ registration
  function onQueue(fn) { return function () { if (root && view.state !== "problems") fn(); }; }

  C.view("queue", { title: "Queue", order: 1, render: render, leave: leave });
  C.keys("queue", [
    ["j", "Next comment", onQueue(function () { focusItem(nextLive(current, 1), true); })],
    ["k", "Previous comment", onQueue(function () { focusItem(nextLive(current, -1), true); })],
    ["a", "Approve the comment", onQueue(function () { decide("approve"); })],
    ["r", "Reject the comment (with the reason picked in “Reject as”)", onQueue(function () { decide("reject"); })],
    ["x", "Select or unselect the comment", onQueue(toggleSelect)],
    ["Shift+A", "Approve the selected comments", onQueue(function () { bulk("approve"); })],
    ["Shift+R", "Reject the selected comments", onQueue(function () { bulk("reject"); })],
    ["u", "Undo the last decision (for a few seconds)", onQueue(undo)],
    ["o", "Open the author of the comment", onQueue(function () {
      var it = items[current];
      if (it && !it.gone) C.openUser(it.author.id);
    })],
    ["n", "Load new comments", onQueue(loadNew)],
  ]);
  C.keys("global", [
    ["g h", "Go to the held comments", function () { C.go("queue", "held"); }],
    ["g r", "Go to the reported comments", function () { C.go("queue", "reported"); }],
  ]);
})();
