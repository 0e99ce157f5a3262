// The articles view: where a site's comments are busy (open or closed, premoderation, published,
// held and reported counts, in activity order), and one article's thread as its readers see it
// with the held (and, on demand, rejected) comments in place, so that a moderator decides in
// context: approve, reject, feature, open the author. The article itself: close or reopen its
// comments, premoderation on or off, a date when comments close by themselves.
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var t = C.t, tn = C.tn;
  // activity: the article with the most recent published or held comment first
  function sorts() {
    return [["activity", t("Recent activity")], ["held", t("Most held")], ["newest", t("Newest articles")]];
  }
  var DEPTH_SHOWN = 8; // deeper replies are indented no further (a tablet keeps its width)

  var list = null;    // the list's state: {sort, q, items, cursor, current, ui}
  var thread = null;  // the thread's state: {id, article, comments, cursor, current, rejected, ui}
  var rejectReasons = null;
  var sortWanted = "activity";
  var searchWanted = "";
  var showRejected = false;

  // ------------------------------------------------------------------ shared: one article's settings
  function openWord(a) {
    if (a.comments_open) return a.closes_at ? t("Open until {time}", { time: C.fmt.time(a.closes_at) }) : t("Open");
    return a.closed_by_moderator ? t("Closed") : t("Closed on {time}", { time: C.fmt.time(a.closes_at) });
  }

  // a count in the console's language (its digits, its grouping); ids stay as they are
  function num(n) { return new Intl.NumberFormat(C.locale).format(n); }

  // a status as a word inside a sentence: only its first letter lowered (German nouns keep theirs)
  function statusWord(status) {
    var word = C.fmt.status(status);
    return word.charAt(0).toLocaleLowerCase(C.locale) + word.slice(1);
  }

  // a reason code (a rejection, an automatic hold) in a moderator's words; a code not listed here
  // shows as itself
  var reasonWord = C.reasonWord;

  // a rejection reason's label, as GET /reason-codes words it in English; a code the service
  // added later keeps the service's label
  function rejectLabel(code, label) {
    switch (code) {
      case "offensive": return t("Offensive or abusive");
      case "harassment": return t("Harassment or personal attack");
      case "hate": return t("Hate speech");
      case "spam": return t("Spam or advertising");
      case "off_topic": return t("Off topic");
      case "personal_information": return t("Shares personal information");
      case "misinformation": return t("Misleading or false");
      case "illegal": return t("Illegal content");
      case "other": return t("Other (see note)");
      default: return label;
    }
  }

  function patchArticle(a, body, done) {
    return C.api("PATCH", "/articles/" + encodeURIComponent(a.id), { body: body }).then(function (s) {
      a.comments_open = s.comments_open;
      a.premoderation = s.premoderation;
      a.close_at = s.close_at;
      a.closes_at = s.closes_at;
      if (body.comments_open !== undefined) a.closed_by_moderator = body.comments_open === false;
      done(a);
      return a;
    }).catch(function (err) {
      C.toast(t("Could not change {title}: {error}", { title: a.title, error: err.message }), { error: true });
    });
  }

  function toggleOpen(a, done) {
    if (!a) return;
    if (!a.comments_open) {
      patchArticle(a, { comments_open: true }, done).then(function (x) {
        if (x) C.toast(t("Comments reopened on {title}.", { title: a.title }));
      });
      return;
    }
    C.confirm(t("Readers can no longer comment, vote or edit on “{title}”. What was said stays.", { title: a.title }),
              { danger: true, title: t("Close comments on this article?"), confirmLabel: t("Close comments") })
      .then(function (yes) {
        if (!yes) return;
        patchArticle(a, { comments_open: false }, done).then(function (x) {
          if (x) C.toast(t("Comments closed on {title}.", { title: a.title }));
        });
      });
  }

  function togglePremoderation(a, done) {
    if (!a) return;
    var on = !a.premoderation;
    patchArticle(a, { premoderation: on }, done).then(function (x) {
      if (x) C.toast(on ? t("Premoderation on: new comments on {title} wait for a moderator.", { title: a.title })
                        : t("Premoderation off on {title}.", { title: a.title }));
    });
  }

  function localValue(iso) {
    // what a datetime-local field shows for a UTC instant, in this browser's time
    if (!iso) return null;
    var d = new Date(iso);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" +
           pad(d.getMinutes());
  }

  function closingDate(a, done) {
    if (!a) return;
    C.prompt(t("When comments on “{title}” close", { title: a.title }), [
      { name: "close_at", label: t("Close at (your local time)"), type: "datetime-local", value: localValue(a.close_at),
        help: t("Leave empty for no date. Reopening the article later lifts a date that has passed.") },
    ], { submitLabel: t("Save date") }).then(function (values) {
      if (!values) return;
      patchArticle(a, { close_at: values.close_at }, done).then(function (x) {
        if (x) C.toast(values.close_at ? t("Comments close {time}.", { time: C.fmt.time(values.close_at) }) : t("No closing date."));
      });
    });
  }

  function flags(a) {
    return [
      el("span", { class: "flag " + (a.comments_open ? "ok" : "bad") }, openWord(a)),
      a.premoderation ? el("span", { class: "flag warn" }, t("Premoderated")) : null,
    ];
  }

  // ------------------------------------------------------------------ the list
  function renderList(container) {
    thread = null;
    list = { sort: sortWanted, q: searchWanted, items: [], cursor: null, current: 0, ui: {} };
    var ui = list.ui;
    ui.sort = el("select", { id: "articles-sort", on: { change: function () { sortWanted = ui.sort.value; reloadList(); } } },
      sorts().map(function (s) { return el("option", { value: s[0], selected: s[0] === list.sort }, s[1]); }));
    ui.search = el("input", { id: "articles-search", type: "search", value: list.q, maxlength: 200,
                              placeholder: t("Title words or article id") });
    var form = el("form", { class: "articles-search", role: "search",
                            on: { submit: function (ev) { ev.preventDefault(); searchWanted = ui.search.value.trim(); reloadList(); } } },
      el("label", { for: "articles-search" }, t("Search")), ui.search,
      el("button", { type: "submit" }, t("Search")));
    container.appendChild(el("div", { class: "toolbar" },
      el("label", { for: "articles-sort" }, t("Order")), ui.sort, form,
      el("span", { class: "spacer" }),
      el("span", { class: "hint" }, t("j/k move · Enter opens · c close · p premoderation · d closing date"))));
    ui.body = el("tbody");
    ui.table = el("div", { class: "table-wrap" }, el("table", { class: "articles" },
      el("caption", { class: "sr-only" }, t("Articles of the site")),
      el("thead", null, el("tr", null,
        el("th", { scope: "col" }, t("Article")), el("th", { scope: "col" }, t("Comments")),
        el("th", { scope: "col", class: "num" }, t("Published")), el("th", { scope: "col", class: "num" }, t("Held")),
        el("th", { scope: "col", class: "num" }, t("Reported")), el("th", { scope: "col" }, t("Last comment")))),
      ui.body));
    ui.empty = el("p", { class: "empty", hidden: true }, t("No articles found."));
    ui.more = el("button", { type: "button", class: "more", hidden: true, on: { click: moreList } }, t("More articles") + " ",
                 el("kbd", { text: "m" }));
    container.appendChild(ui.table);
    container.appendChild(ui.empty);
    container.appendChild(ui.more);
    reloadList();
  }

  function reloadList() {
    if (!list) return;
    list.sort = sortWanted;
    list.q = searchWanted;
    list.items = [];
    list.cursor = null;
    list.current = 0;
    // a page asked for before this reload (another search, another sort) must not land in its list
    list.seq = (list.seq || 0) + 1;
    fetchList();
  }

  function moreList() {
    if (list && list.cursor) fetchList();
  }

  function fetchList() {
    var mine = list, ticket = list.seq;
    var params = { sort: mine.sort, limit: 25 };
    if (mine.q) params.q = mine.q;
    if (mine.cursor) params.cursor = mine.cursor;
    C.api("GET", "/articles", { params: params }).then(function (page) {
      if (list !== mine || mine.seq !== ticket) return;
      mine.items = mine.items.concat(page.items);
      mine.cursor = page.next_cursor;
      drawList();
    }).catch(function (err) {
      C.toast(t("Could not load the articles: {error}", { error: err.message }), { error: true });
    });
  }

  function drawList() {
    var ui = list.ui;
    ui.body.textContent = "";
    list.items.forEach(function (a, i) { ui.body.appendChild(listRow(a, i)); });
    ui.empty.hidden = list.items.length > 0;
    ui.table.hidden = list.items.length === 0;
    ui.more.hidden = !list.cursor;
  }

  function listRow(a, i) {
    var link = el("a", { href: "#/articles/" + encodeURIComponent(a.id) }, a.title);
    var tr = el("tr", { class: "article-row" + (i === list.current ? " current" : ""), "data-id": a.id, tabindex: "-1",
                        on: { focus: function () { setListCurrent(i, false); } } },
      el("td", null, link, el("div", { class: "muted small" }, a.id)),
      el("td", null, flags(a)),
      el("td", { class: "num" }, num(a.published)),
      el("td", { class: "num" + (a.held ? " hot" : "") }, num(a.held)),
      el("td", { class: "num" + (a.reported ? " hot" : "") }, num(a.reported)),
      el("td", null, a.last_comment_at ? el("time", { datetime: a.last_comment_at, title: C.fmt.time(a.last_comment_at) },
                                            C.fmt.ago(a.last_comment_at)) : el("span", { class: "muted" }, t("none"))));
    return tr;
  }

  function setListCurrent(i, moveFocus) {
    if (!list || i < 0 || i >= list.items.length) return;
    list.current = i;
    Array.prototype.forEach.call(list.ui.body.children, function (tr, n) { tr.classList.toggle("current", n === i); });
    var tr = list.ui.body.children[i];
    if (tr && moveFocus) tr.focus({ preventScroll: true });
    if (tr && tr.scrollIntoView) tr.scrollIntoView({ block: "nearest" });
  }

  function listArticle() { return list && list.items[list.current]; }

  function redrawListKeepingFocus() {
    var had = document.activeElement && document.activeElement.classList.contains("article-row");
    drawList();
    if (had) setListCurrent(list.current, true);
  }

  // ------------------------------------------------------------------ the thread
  function renderThread(container, id) {
    list = null;
    thread = { id: id, article: null, comments: [], cursor: null, current: 0, fresh: {}, ui: {} };
    var ui = thread.ui;
    ui.head = el("div", { class: "article-head" });
    ui.reason = el("select", { id: "thread-reason" });
    fillReasons(ui.reason);
    ui.rejected = el("input", { id: "thread-rejected", type: "checkbox", checked: showRejected,
                                on: { change: function () { showRejected = ui.rejected.checked; reloadThread(); } } });
    ui.newBar = el("button", { type: "button", class: "new-bar", hidden: true, on: { click: loadNewInThread } });
    ui.list = el("ol", { class: "thread", "aria-label": t("Comments, in the order readers see them") });
    ui.empty = el("p", { class: "empty", hidden: true }, t("No comments yet."));
    ui.more = el("button", { type: "button", class: "more", hidden: true, on: { click: moreThread } },
                 t("More comments") + " ", el("kbd", { text: "m" }));
    container.appendChild(ui.head);
    container.appendChild(el("div", { class: "toolbar" },
      el("label", { for: "thread-reason" }, t("Reason for rejections")), ui.reason,
      el("span", { class: "check" }, ui.rejected, el("label", { for: "thread-rejected" }, t("Show rejected comments"))),
      el("span", { class: "spacer" }),
      el("span", { class: "hint" }, t("j/k move · a approve · r reject · f feature · o author · b back"))));
    container.appendChild(ui.newBar);
    container.appendChild(ui.list);
    container.appendChild(ui.empty);
    container.appendChild(ui.more);
    reloadThread();
  }

  function fillReasons(select) {
    var fill = function (codes) {
      select.textContent = "";
      Object.keys(codes).forEach(function (code) {
        select.appendChild(el("option", { value: code }, rejectLabel(code, codes[code])));
      });
      if (codes.offensive) select.value = "offensive";
    };
    if (rejectReasons) { fill(rejectReasons); return; }
    fill({ other: "Other" });
    C.api("GET", "/reason-codes").then(function (r) {
      rejectReasons = {};
      (r.reject || []).forEach(function (x) { rejectReasons[x.code] = x.label; });
      if (!Object.keys(rejectReasons).length) rejectReasons = { other: "Other" };
      fill(rejectReasons);
    }).catch(function () { /* "other" stays */ });
  }

  function reloadThread() {
    if (!thread) return;
    thread.fresh = {};
    drawNewBar();
    thread.comments = [];
    thread.cursor = null;
    thread.current = 0;
    fetchThread();
  }

  function moreThread() {
    if (thread && thread.cursor) fetchThread();
  }

  function fetchThread() {
    var mine = thread;
    var params = { include: showRejected ? "held,rejected" : "held", limit: 50 };
    if (mine.cursor) params.cursor = mine.cursor;
    C.api("GET", "/articles/" + encodeURIComponent(mine.id) + "/thread", { params: params }).then(function (page) {
      if (thread !== mine) return;
      mine.article = page.article;
      mine.comments = mine.comments.concat(page.comments);
      mine.cursor = page.next_cursor;
      drawHead();
      drawThread();
    }).catch(function (err) {
      if (thread !== mine) return;
      mine.ui.head.textContent = "";
      mine.ui.head.appendChild(el("h3", null, t("Article {id}", { id: mine.id })));
      mine.ui.head.appendChild(el("p", { class: "error" }, err.code === "article_not_found"
        ? t("No article with this id on this site yet: it starts with its first comment.") : err.message));
      mine.ui.head.appendChild(backButton());
    });
  }

  function backButton() {
    return el("button", { type: "button", on: { click: function () { C.go("articles"); } } }, t("All articles") + " ",
              el("kbd", { text: "b" }));
  }

  function drawHead() {
    var a = thread.article;
    var head = thread.ui.head;
    head.textContent = "";
    var redraw = function () { drawHead(); };
    head.appendChild(el("div", { class: "article-title" },
      el("h3", null, a.title),
      el("a", { href: a.url, target: "_blank", rel: "noopener noreferrer" }, t("Open the article"))));
    head.appendChild(el("p", { class: "article-facts" }, flags(a),
      el("span", null, t("{n} published", { n: num(a.published) })),
      el("span", { class: a.held ? "hot" : "" }, t("{n} held", { n: num(a.held) })),
      el("span", { class: a.reported ? "hot" : "" }, t("{n} reported", { n: num(a.reported) })),
      a.close_at && a.comments_open ? el("span", null, t("Closing date {time}", { time: C.fmt.time(a.close_at) })) : null));
    head.appendChild(el("div", { class: "actions article-actions" },
      backButton(),
      el("button", { type: "button", class: a.comments_open ? "close" : "reopen",
                     on: { click: function () { toggleOpen(a, redraw); } } },
         (a.comments_open ? t("Close comments") : t("Reopen comments")) + " ", el("kbd", { text: "c" })),
      el("button", { type: "button", "aria-pressed": String(!!a.premoderation),
                     on: { click: function () { togglePremoderation(a, redraw); } } },
         t("Premoderation") + " ", el("kbd", { text: "p" })),
      el("button", { type: "button", on: { click: function () { closingDate(a, redraw); } } },
         (a.close_at ? t("Change closing date") : t("Set closing date")) + " ", el("kbd", { text: "d" }))));
  }

  function drawThread() {
    var ui = thread.ui;
    ui.list.textContent = "";
    thread.comments.forEach(function (c, i) { ui.list.appendChild(commentItem(c, i)); });
    ui.empty.hidden = thread.comments.length > 0;
    ui.more.hidden = !thread.cursor;
    announceLooking();
  }

  function waiting(c) { return c.status === "held" || c.status === "pending_scoring" || c.reports > 0; }

  function commentItem(c, i) {
    var depth = Math.min(c.depth, DEPTH_SHOWN);
    var li = el("li", { class: "item tc status-" + c.status + (i === thread.current ? " current" : ""), tabindex: "-1",
                        "data-id": c.id, "data-status": c.status,
                        "aria-label": t("Comment {id} by {name}, {status}", { id: c.id, name: c.author.name,
                                                                                 status: C.fmt.status(c.status) }),
                        on: { focus: function () { setThreadCurrent(thread.comments.indexOf(c), false); } } });
    li.style.setProperty("--depth", String(depth)); // through the CSSOM: the page's CSP refuses style attributes
    var a = c.author;
    li.appendChild(el("div", { class: "meta" },
      el("span", { class: "st st-" + c.status }, C.fmt.status(c.status)),
      el("span", null, "#" + c.id),
      c.depth ? el("span", null, t("reply to #{id}", { id: c.parent_id })) : null,
      el("button", { type: "button", class: "link author", title: t("Open the author (o)"),
                     on: { click: function () { C.openUser(a.id); } } }, a.name),
      a.banned ? el("span", { class: "flag bad" }, t("banned")) : null,
      a.trusted ? el("span", { class: "flag ok" }, t("trusted")) : null,
      a.premoderate ? el("span", { class: "flag" }, t("premoderated")) : null,
      el("time", { datetime: c.created_at, title: C.fmt.time(c.created_at) }, C.fmt.ago(c.created_at)),
      c.status_reason && c.status !== "published" ? el("span", { class: "reason" }, reasonWord(c.status_reason)) : null,
      c.max_score != null ? el("span", { title: scoreTitle(c.scores) }, t("score {score}", { score: C.fmt.score(c.max_score) }))
                          : null,
      c.reports ? el("span", { class: "flag bad" }, tn(c.reports, "{n} report", "{n} reports")) : null,
      c.featured ? el("span", { class: "flag ok" }, t("featured")) : null,
      c.pinned ? el("span", { class: "flag ok" }, t("pinned")) : null,
      c.moderated_by && !waiting(c) ? el("span", { class: "muted" }, t("decided {when}", { when: C.fmt.ago(c.moderated_at) }))
                                    : null));
    li.appendChild(C.html(el("div", { class: "body" }), c.body_html)); // sanitised by the service when written
    var pick = function (fn) { return function () { setThreadCurrent(thread.comments.indexOf(c), false); fn(); }; };
    var decidable = c.status !== "deleted" && c.status !== "pending_scoring";
    li.appendChild(el("div", { class: "actions" },
      decidable && c.status !== "published" || c.reports ? el("button", { type: "button", class: "approve",
        on: { click: pick(function () { decide("approve"); }) } }, t("Approve") + " ", el("kbd", { text: "a" })) : null,
      decidable && c.status !== "rejected" ? el("button", { type: "button", class: "reject",
        on: { click: pick(function () { decide("reject"); }) } }, t("Reject") + " ", el("kbd", { text: "r" })) : null,
      C.featureControls({ comment: { id: c.id, status: c.status }, article: { id: thread.id } })));
    return li;
  }

  function scoreTitle(scores) {
    if (!scores) return null;
    return Object.keys(scores).sort(function (x, y) { return scores[y] - scores[x]; })
      .map(function (k) { return k + " " + C.fmt.score(scores[k]); }).join(", ");
  }

  function setThreadCurrent(i, moveFocus) {
    if (!thread || i < 0 || i >= thread.comments.length) return;
    thread.current = i;
    Array.prototype.forEach.call(thread.ui.list.children, function (li, n) { li.classList.toggle("current", n === i); });
    var li = thread.ui.list.children[i];
    if (li && moveFocus) li.focus({ preventScroll: true });
    if (li && li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
    announceLooking();
  }

  function announceLooking() {
    var c = thread && thread.comments[thread.current];
    C.looking(c ? c.id : null);
  }

  function redrawComment(i) {
    var old = thread.ui.list.children[i];
    if (!old) return;
    var focused = document.activeElement === old;
    var fresh = commentItem(thread.comments[i], i);
    old.replaceWith(fresh);
    if (focused) fresh.focus({ preventScroll: true });
  }

  function decide(action) {
    var c = thread && thread.comments[thread.current];
    if (!c) return;
    if (c.status === "deleted" || c.status === "pending_scoring") {
      C.toast(t("#{id} is {status}: nothing to decide.", { id: c.id, status: statusWord(c.status) }), { error: true });
      return;
    }
    var body = { action: action, override: !waiting(c) };
    if (action === "reject") body.reason = thread.ui.reason.value || "other";
    var mine = thread;
    C.api("POST", "/comments/" + c.id + "/decision", { params: { site: null }, body: body }).then(function (res) {
      if (thread !== mine) return;
      if (res.outcome === "unchanged") {
        C.toast(t("#{id} was already {status}: already decided by {name}.", { id: c.id, status: statusWord(res.status),
                  name: res.decided_by_name || res.decided_by || t("another moderator") }), { error: true });
      } else {
        C.toast(action === "approve"
          ? t("Approved #{id}: now {status} in the thread.", { id: c.id, status: statusWord(res.status) })
          : t("Rejected #{id}: now {status} in the thread.", { id: c.id, status: statusWord(res.status) }));
      }
      applyStatus(c, res.status, { reports: 0, moderated_by: res.decided_by, moderated_at: res.decided_at });
    }).catch(function (err) {
      C.toast(t("#{id} not decided: {error}", { id: c.id, error: err.message }), { error: true });
    });
  }

  // a comment's new status, from this moderator's decision or another's (live): whichever of the
  // answer and the live event comes second finds the status already moved and counts nothing again
  function applyStatus(c, status, extra) {
    if (!thread || !status) return;
    var a = thread.article;
    var before = c.status;
    if (before === status) extra = Object.assign({}, extra, { reports: undefined });
    if (before === "held" && status !== "held") a.held = Math.max(0, a.held - 1);
    if (before !== "published" && status === "published") a.published += 1;
    if (before === "published" && status !== "published") a.published = Math.max(0, a.published - 1);
    if (c.reports && extra && extra.reports === 0) a.reported = Math.max(0, a.reported - 1);
    c.status = status;
    if (extra) {
      if (extra.reports !== undefined) c.reports = extra.reports;
      if (extra.moderated_by) { c.moderated_by = extra.moderated_by; c.moderated_at = extra.moderated_at; }
    }
    redrawComment(thread.comments.indexOf(c));
    drawHead();
  }

  function threadComment() { return thread && thread.comments[thread.current]; }

  // ------------------------------------------------------------------ live: new comments to moderate
  // A comment held (or reported) in the open thread while the moderator works in it: offered, not
  // pushed into the list under their keys.
  function drawNewBar() {
    var bar = thread.ui.newBar;
    var n = Object.keys(thread.fresh).length;
    bar.hidden = n === 0;
    bar.textContent = "";
    if (n) {
      // the key sits inside the sentence: the translation places it where {key} is (left unfilled here)
      var parts = tn(n, "{n} new to moderate in this thread — press {key} to load",
                     "{n} new to moderate in this thread — press {key} to load").split("{key}");
      bar.appendChild(document.createTextNode(parts[0]));
      bar.appendChild(el("kbd", { text: "n" }));
      bar.appendChild(document.createTextNode(parts.slice(1).join("")));
    }
  }

  function loadNewInThread() {
    if (thread && Object.keys(thread.fresh).length) reloadThread();
  }

  C.on("queue:new", function (ev) {
    if (!thread || !ev || ev.article_id !== thread.id || (ev.site_id && ev.site_id !== C.site())) return;
    if (thread.comments.some(function (c) { return c.id === ev.comment_id && waiting(c); })) return;
    thread.fresh[ev.comment_id] = true;
    drawNewBar();
  });

  // ------------------------------------------------------------------ live: decisions made elsewhere
  C.on("queue:decided", function (d) {
    if (!thread || !d) return;
    var c = thread.comments.filter(function (x) { return x.id === d.comment_id; })[0];
    if (c && d.status && c.status !== d.status) {
      applyStatus(c, d.status, { reports: 0, moderated_by: d.decided_by, moderated_at: d.decided_at });
    }
  });

  // ------------------------------------------------------------------ the view and its keys
  function inList(fn) { return function () { if (list) fn(); }; }
  function inThread(fn) { return function () { if (thread) fn(); }; }
  function onArticle(action) {
    return function () {
      if (list) {
        var a = listArticle();
        if (a) action(a, redrawListKeepingFocus);
      } else if (thread && thread.article) {
        action(thread.article, function () { drawHead(); });
      }
    };
  }

  C.view("articles", {
    title: function () { return t("Articles"); },
    order: 2,
    render: function (container, arg) {
      if (arg) renderThread(container, arg); else renderList(container);
    },
    leave: function () { list = null; thread = null; C.looking(null); },
  });

  C.keys("articles", [
    ["j", function () { return t("Next article or comment"); }, function () {
      if (list) setListCurrent(list.current + 1, true); else if (thread) setThreadCurrent(thread.current + 1, true);
    }],
    ["k", function () { return t("Previous article or comment"); }, function () {
      if (list) setListCurrent(list.current - 1, true); else if (thread) setThreadCurrent(thread.current - 1, true);
    }],
    ["Enter", function () { return t("Open the article's thread"); }, function (ev) {
      // on a button or a link Enter keeps its own meaning
      var target = ev && ev.target;
      if (target && (target.tagName === "BUTTON" || target.tagName === "A")) { target.click(); return; }
      var a = list && listArticle();
      if (a) C.go("articles", a.id);
    }],
    ["/", function () { return t("Search the articles"); }, inList(function () { list.ui.search.focus(); })],
    ["s", function () { return t("Change the order of the list"); }, inList(function () { list.ui.sort.focus(); })],
    ["m", function () { return t("More articles or comments"); }, function () { if (list) moreList(); else moreThread(); }],
    ["c", function () { return t("Close or reopen comments on the article"); }, onArticle(toggleOpen)],
    ["p", function () { return t("Premoderation of the article on or off"); }, onArticle(togglePremoderation)],
    ["d", function () { return t("Set when the article's comments close by themselves"); }, onArticle(closingDate)],
    ["a", function () { return t("Approve the comment (publish it in the thread)"); }, inThread(function () { decide("approve"); })],
    ["r", function () { return t("Reject the comment"); }, inThread(function () { decide("reject"); })],
    ["o", function () { return t("Open the comment's author"); }, inThread(function () { var c = threadComment(); if (c) C.openUser(c.author.id); })],
    ["Shift+R", function () { return t("Show or hide rejected comments"); }, inThread(function () {
      showRejected = !showRejected; thread.ui.rejected.checked = showRejected; reloadThread();
    })],
    ["b", function () { return t("Back to the list of articles"); }, inThread(function () { C.go("articles"); })],
    ["n", function () { return t("Load the comments that came to moderate while the thread was open"); }, inThread(loadNewInThread)],
  ]);
})();
