// The moderator page: sign in with a token (kept in sessionStorage, gone when the tab closes),
// work through a queue by keyboard, undo the last decision for a few seconds, watch the count.
(function () {
  "use strict";
  var API = "/api/v1/moderation";
  var KEY = "comments.moderation";
  var UNDO_MS = 8000;
  var POLL_MS = 10000;

  var $ = function (id) { return document.getElementById(id); };
  var session = load();
  var view = { state: "held", sort: "oldest", article: "", cursor: null };
  var items = [];        // queue items on screen, in order
  var current = 0;       // index of the focused item
  var selected = {};     // comment id -> true
  var lastDecision = null; // {item, index, timer}
  var holdLabels = {};
  var pending = 0;       // decisions in flight

  function load() {
    try { return JSON.parse(sessionStorage.getItem(KEY)) || null; } catch (e) { return null; }
  }

  function save(value) {
    if (value) sessionStorage.setItem(KEY, JSON.stringify(value)); else sessionStorage.removeItem(KEY);
    session = value;
  }

  function url(path, params) {
    var q = new URLSearchParams();
    if (session.site) q.set("site", session.site);
    Object.keys(params || {}).forEach(function (k) { if (params[k] !== "" && params[k] != null) q.set(k, params[k]); });
    var s = q.toString();
    return API + path + (s ? "?" + s : "");
  }

  function call(method, path, params, body) {
    return fetch(url(path, params), {
      method: method,
      headers: Object.assign({ Authorization: "Bearer " + session.token },
                             body ? { "Content-Type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var err = new Error(data.detail || data.title || ("HTTP " + r.status));
          err.status = r.status; err.code = data.code;
          throw err;
        }
        return data;
      });
    });
  }

  function status(text, isError) {
    var el = $("status");
    el.textContent = text || "";
    el.className = "status" + (isError ? " error" : "");
  }

  // ------------------------------------------------------------------ sign in
  function showLogin(message) {
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("login-token").focus();
  }

  $("login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    save({ token: $("login-token").value.trim(), site: $("login-site").value.trim() });
    $("login-token").value = "";
    start();
  });

  $("logout").addEventListener("click", function () { save(null); showLogin(); });

  function start() {
    call("GET", "/reason-codes").then(function (codes) {
      var select = $("reason");
      select.textContent = "";
      codes.reject.forEach(function (c) {
        var o = document.createElement("option");
        o.value = c.code; o.textContent = c.label;
        select.appendChild(o);
      });
      codes.hold.forEach(function (c) { holdLabels[c.code] = c.label; });
      $("login").hidden = true;
      $("app").hidden = false;
      reload();
      refreshCounts();
    }).catch(function (err) {
      save(null);
      showLogin(err.status === 401 || err.status === 403 ? "That token may not moderate here: " + err.message
                                                         : err.message);
    });
  }

  // ------------------------------------------------------------------ queue
  function reload() {
    items = []; current = 0; selected = {}; view.cursor = null;
    $("queue").textContent = "";
    fetchPage();
  }

  function fetchPage() {
    var params = { state: view.state, sort: view.sort, article_id: view.article, limit: 25 };
    if (view.cursor) params.cursor = view.cursor;
    return call("GET", "/queue", params).then(function (page) {
      var known = {};
      items.forEach(function (it) { known[it.comment.id] = true; });
      page.items.forEach(function (it) { if (!known[it.comment.id]) items.push(it); });
      view.cursor = page.next_cursor;
      render();
    }).catch(function (err) { status(err.message, true); });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function renderItem(it, index) {
    var c = it.comment;
    var li = el("li", "item");
    li.tabIndex = -1;
    li.dataset.id = c.id;
    if (index === current) li.classList.add("current");
    if (selected[c.id]) li.classList.add("selected");

    var meta = el("div", "meta");
    meta.appendChild(el("span", null, "#" + c.id));
    meta.appendChild(el("span", null, it.article.title + " (" + it.article.id + ")"));
    meta.appendChild(el("span", null, new Date(c.created_at).toLocaleString()));
    if (c.status_reason) meta.appendChild(el("span", "reason", holdLabels[c.status_reason] || c.status_reason));
    if (view.state !== "held") meta.appendChild(el("span", null, c.status));
    li.appendChild(meta);

    if (it.parent) {
      var parent = el("div", "parent");
      parent.appendChild(el("strong", null, "In reply to " + it.parent.author_name + ": "));
      var pb = el("span");
      pb.innerHTML = it.parent.body_html; // sanitised by the service when it was written
      parent.appendChild(pb);
      li.appendChild(parent);
    }
    var body = el("div", "body");
    body.innerHTML = c.body_html; // sanitised by the service when it was written
    li.appendChild(body);

    var a = it.author;
    var history = el("div", "history");
    history.appendChild(el("strong", null, a.name));
    history.appendChild(document.createTextNode(" (" + a.kind + ") · " + a.published + " published · " + a.held +
                                                " held · " + a.rejected + " rejected"));
    if (a.banned) history.appendChild(el("span", "banned", " · banned"));
    if (a.trusted) history.appendChild(document.createTextNode(" · trusted"));
    if (a.premoderate) history.appendChild(document.createTextNode(" · premoderated"));
    li.appendChild(history);

    if (c.scores) {
      var scores = el("div", "scores");
      Object.keys(c.scores).sort(function (x, y) { return c.scores[y] - c.scores[x]; }).forEach(function (label) {
        var s = el("span", "score");
        s.appendChild(document.createTextNode(label));
        var m = document.createElement("meter");
        m.min = 0; m.max = 1; m.value = c.scores[label]; m.high = 0.6; m.optimum = 0;
        s.appendChild(m);
        s.appendChild(document.createTextNode(c.scores[label].toFixed(2)));
        scores.appendChild(s);
      });
      li.appendChild(scores);
    }
    if (it.reports) {
      var parts = Object.keys(it.reports.reasons).map(function (r) { return r + " ×" + it.reports.reasons[r]; });
      var rep = el("div", "reports", it.reports.count + " report(s): " + parts.join(", "));
      if (it.reports.notes.length) rep.appendChild(el("div", null, "“" + it.reports.notes.join("” “") + "”"));
      li.appendChild(rep);
    }
    var actions = el("div", "actions");
    var approve = el("button", "approve", "Approve (a)");
    approve.type = "button";
    approve.addEventListener("click", function () { focus(items.indexOf(it)); decide("approve"); });
    var reject = el("button", "reject", "Reject (r)");
    reject.type = "button";
    reject.addEventListener("click", function () { focus(items.indexOf(it)); decide("reject"); });
    var pick = el("button", "pick", selected[c.id] ? "Unselect (x)" : "Select (x)");
    pick.type = "button";
    pick.addEventListener("click", function () { focus(items.indexOf(it)); toggleSelect(); });
    actions.appendChild(approve); actions.appendChild(reject); actions.appendChild(pick);
    li.appendChild(actions);
    return li;
  }

  function render() {
    var list = $("queue");
    list.textContent = "";
    if (current >= items.length) current = Math.max(0, items.length - 1);
    items.forEach(function (it, i) { list.appendChild(renderItem(it, i)); });
    $("empty").hidden = items.length > 0;
    $("more").hidden = !view.cursor;
    $("selection").textContent = Object.keys(selected).length + " selected";
    var cur = list.children[current];
    if (cur && cur.scrollIntoView) cur.scrollIntoView({ block: "nearest" });
  }

  function focus(index) {
    if (index < 0 || index >= items.length) return;
    current = index;
    var list = $("queue");
    Array.prototype.forEach.call(list.children, function (li, i) { li.classList.toggle("current", i === current); });
    if (list.children[current].scrollIntoView) list.children[current].scrollIntoView({ block: "nearest" });
  }

  function toggleSelect() {
    var it = items[current];
    if (!it) return;
    if (selected[it.comment.id]) delete selected[it.comment.id]; else selected[it.comment.id] = true;
    render();
  }

  function override() { return view.state === "approved" || view.state === "rejected"; }

  // ------------------------------------------------------------------ decisions
  function decide(action) {
    var it = items[current];
    if (!it) return;
    var index = current;
    // optimistic: the item leaves the list at once so the next key acts on the next comment
    items.splice(index, 1);
    delete selected[it.comment.id];
    render();
    pending++;
    var body = { action: action, override: override() };
    if (action === "reject") body.reason = $("reason").value;
    call("POST", "/comments/" + it.comment.id + "/decision", null, body).then(function (res) {
      status((res.outcome === "unchanged" ? "Already " + res.status : res.outcome[0].toUpperCase() +
              res.outcome.slice(1)) + " #" + it.comment.id);
      offerUndo(it, index, res);
    }).catch(function (err) {
      if (err.code === "already_decided" || err.code === "comment_not_found" || err.code === "not_decidable") {
        status("#" + it.comment.id + ": " + err.message, true); // someone else got there first
      } else {
        items.splice(Math.min(index, items.length), 0, it); // put it back
        render();
        status("#" + it.comment.id + " not decided: " + err.message, true);
      }
    }).then(afterDecision);
  }

  function afterDecision() {
    pending--;
    refreshCounts();
    if (!items.length && pending === 0) {
      if (view.cursor) fetchPage(); else reload();
    }
  }

  function offerUndo(it, index, res) {
    if (!res.changed) return;
    if (lastDecision) clearTimeout(lastDecision.timer);
    lastDecision = { item: it, index: index, timer: setTimeout(hideUndo, UNDO_MS) };
    $("undo-text").textContent = res.outcome[0].toUpperCase() + res.outcome.slice(1) + " #" + it.comment.id + ".";
    $("undo").hidden = false;
  }

  function hideUndo() {
    $("undo").hidden = true;
    lastDecision = null;
  }

  function undo() {
    var last = lastDecision;
    if (!last) return;
    clearTimeout(last.timer);
    hideUndo();
    call("POST", "/comments/" + last.item.comment.id + "/decision", null, { action: "undo" }).then(function () {
      items.splice(Math.min(last.index, items.length), 0, last.item);
      current = Math.min(last.index, items.length - 1);
      render();
      status("Undone #" + last.item.comment.id);
      refreshCounts();
    }).catch(function (err) { status("Could not undo: " + err.message, true); });
  }

  function bulk(action) {
    var ids = Object.keys(selected).map(Number);
    if (!ids.length) { status("Select comments with x first.", true); return; }
    var body = { comment_ids: ids, action: action, override: override() };
    if (action === "reject") body.reason = $("reason").value;
    pending++;
    call("POST", "/decisions", null, body).then(function (res) {
      var done = {};
      res.results.forEach(function (r) { if (!r.error) done[r.comment_id] = true; });
      items = items.filter(function (it) { return !done[it.comment.id]; });
      selected = {};
      render();
      status(res.succeeded + " " + (action === "approve" ? "approved" : "rejected") +
             (res.failed ? ", " + res.failed + " failed" : ""), res.failed > 0);
    }).catch(function (err) { status(err.message, true); }).then(afterDecision);
  }

  // ------------------------------------------------------------------ counts
  function refreshCounts() {
    if (!session) return;
    call("GET", "/counts").then(function (c) {
      var show = function (n) { return n >= c.cap ? c.cap + "+" : String(n); };
      $("count-held").textContent = show(c.held);
      $("count-reported").textContent = show(c.reported);
    }).catch(function () { /* the next poll tries again */ });
  }

  setInterval(function () {
    if (!session || $("app").hidden) return;
    refreshCounts();
    if (!items.length && pending === 0 && $("problems").hidden) reload();
  }, POLL_MS);

  // ------------------------------------------------------------------ problem reports
  // Readers' "having issues with commenting?" reports, with what the troubleshooter found for them.
  function showProblems(on) {
    $("problems").hidden = !on;
    $("queue").hidden = on;
    $("empty").hidden = true;
    $("more").hidden = on || !view.cursor;
    $("problems-tab").setAttribute("aria-pressed", String(on));
    if (on) {
      Array.prototype.forEach.call($("states").querySelectorAll("button"), function (o) {
        o.setAttribute("aria-pressed", "false");
      });
      loadProblems();
    }
  }

  function loadProblems() {
    call("GET", "/problem-reports", { status: "open" }).then(function (page) {
      var list = $("problem-list");
      list.textContent = "";
      page.reports.forEach(function (report) { list.appendChild(renderProblem(report)); });
      $("problems-empty").hidden = page.reports.length > 0;
    }).catch(function (err) { status(err.message, true); });
  }

  function renderProblem(report) {
    var li = el("li", "item problem");
    var head = el("div", "meta");
    head.appendChild(el("strong", null, report.reference));
    head.appendChild(el("span", null, " · " + new Date(report.created_at).toLocaleString() + " · " +
      (report.reader ? report.reader.name || ("reader #" + report.reader.id) : "not signed in") +
      (report.article_id ? " · article " + report.article_id : "") +
      (report.comment_id ? " · comment #" + report.comment_id : "")));
    li.appendChild(head);
    li.appendChild(el("p", "body", report.description));
    if (report.summary) {
      var summary = el("p", "reason", "Troubleshooter: ");
      summary.appendChild(statusWord(report.summary));
      li.appendChild(summary);
    }
    var details = el("details");
    details.appendChild(el("summary", null, "What the troubleshooter found"));
    var checks = el("ul");
    report.checks.slice().sort(function (a, b) { return rank(a.status) - rank(b.status); }).forEach(function (c) {
      var line = el("li", "check " + c.status);
      line.appendChild(statusWord(c.status));
      line.appendChild(document.createTextNode(" " + c.title + " — " + localTimes(c.explanation)));
      checks.appendChild(line);
    });
    details.appendChild(checks);
    details.appendChild(el("p", "meta", "Browser: " + (report.user_agent || "unknown") +
                                        " · request id " + (report.request_id || "–")));
    li.appendChild(details);
    var resolution = el("input");
    resolution.setAttribute("aria-label", "Resolution for " + report.reference);
    resolution.placeholder = "What was done (optional)";
    var close = el("button", null, "Close");
    close.type = "button";
    close.addEventListener("click", function () {
      call("POST", "/problem-reports/" + report.id + "/close", null,
           { resolution: resolution.value.trim() || null }).then(function () {
        li.remove();
        status("Closed " + report.reference);
        $("problems-empty").hidden = $("problem-list").children.length > 0;
      }).catch(function (err) { status(err.message, true); });
    });
    var actions = el("div", "actions");
    actions.appendChild(resolution);
    actions.appendChild(close);
    li.appendChild(actions);
    return li;
  }

  // The troubleshooter's status codes as the reader's widget shows them: a word, in its colour.
  var STATUS_WORDS = { ok: "OK", warn: "Warning", problem: "Problem", info: "Info" };
  // The troubleshooter names times in ISO 8601 (a ban's end): shown as this browser writes dates.
  function localTimes(text) {
    return String(text).replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g,
      function (iso) { return new Date(iso).toLocaleString(); });
  }
  function statusWord(checkStatus) {
    return el("span", "st st-" + checkStatus, STATUS_WORDS[checkStatus] || checkStatus);
  }
  function rank(checkStatus) { return { problem: 0, warn: 1, info: 2, ok: 3 }[checkStatus] || 4; }

  $("problems-tab").addEventListener("click", function () { showProblems($("problems").hidden); });

  // ------------------------------------------------------------------ controls
  Array.prototype.forEach.call($("states").querySelectorAll("button"), function (b) {
    b.addEventListener("click", function () {
      showProblems(false);
      view.state = b.dataset.state;
      Array.prototype.forEach.call($("states").querySelectorAll("button"), function (o) {
        o.setAttribute("aria-pressed", String(o === b));
      });
      reload();
    });
  });
  $("sort").addEventListener("change", function () { view.sort = $("sort").value; reload(); });
  $("article").addEventListener("change", function () { view.article = $("article").value.trim(); reload(); });
  $("more").addEventListener("click", fetchPage);
  $("bulk-approve").addEventListener("click", function () { bulk("approve"); });
  $("bulk-reject").addEventListener("click", function () { bulk("reject"); });
  $("undo-button").addEventListener("click", undo);

  document.addEventListener("keydown", function (ev) {
    if ($("app").hidden || !$("problems").hidden || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var tag = (ev.target && ev.target.tagName) || "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    var handled = true;
    switch (ev.key) {
      case "j": focus(current + 1); break;
      case "k": focus(current - 1); break;
      case "a": decide("approve"); break;
      case "r": decide("reject"); break;
      case "x": toggleSelect(); break;
      case "u": undo(); break;
      case "A": bulk("approve"); break;
      case "R": bulk("reject"); break;
      default: handled = false;
    }
    if (handled) ev.preventDefault();
  });

  if (session && session.token) start(); else showLogin();
})();
