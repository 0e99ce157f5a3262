// The audit view: every moderation action on the site, newest first, filtered by moderator, action,
// reader, article, comment and date range; each entry links to what it is about (the comment in its
// article's thread, the article, the reader's drawer), and "Export CSV" downloads the same filtered
// view (a plain GET link: the session cookie goes with it). The filters live in the address
// (#/audit/<query>), so a filtered view can be reloaded, bookmarked or linked from another view.
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var t = C.t, tn = C.tn;
  var API = "/api/v1/moderation";
  var PAGE = 50;
  // the actions the service writes, in the order the filter offers them; an action not listed
  // here still shows by its code
  var ACTIONS = [
    "approve", "reject", "undo", "ban", "suspend", "unban", "trust", "untrust", "premoderate", "unpremoderate",
    "shadow_restrict", "lift_shadow_restriction", "note", "feature", "unfeature", "pin", "unpin", "article_settings",
    "site_created", "site_updated", "sso_secret_rotated", "site_deleted", "token_created", "token_revoked",
    "webhook_created", "webhook_updated", "webhook_deleted", "webhook_secret_rotated", "webhook_disabled",
    "surge_started", "surge_ended", "campaign_hold"
  ];

  function actionWord(action) {
    switch (action) {
      case "approve": return t("Approved a comment");
      case "reject": return t("Rejected a comment");
      case "undo": return t("Undid a decision");
      case "ban": return t("Banned a reader");
      case "suspend": return t("Suspended a reader");
      case "unban": return t("Lifted a ban");
      case "trust": return t("Trusted a reader");
      case "untrust": return t("Stopped trusting a reader");
      case "premoderate": return t("Put a reader on premoderation");
      case "unpremoderate": return t("Took a reader off premoderation");
      case "shadow_restrict": return t("Shadow-restricted a reader");
      case "lift_shadow_restriction": return t("Lifted a shadow restriction");
      case "note": return t("Added a note on a reader");
      case "feature": return t("Featured a comment");
      case "unfeature": return t("Unfeatured a comment");
      case "pin": return t("Pinned a comment");
      case "unpin": return t("Unpinned a comment");
      case "article_settings": return t("Changed an article");
      case "site_created": return t("Created the site");
      case "site_updated": return t("Changed site settings");
      case "sso_secret_rotated": return t("Rotated the SSO secret");
      case "site_deleted": return t("Deleted the site");
      case "token_created": return t("Created a staff token");
      case "token_revoked": return t("Revoked a staff token");
      case "webhook_created": return t("Added a webhook");
      case "webhook_updated": return t("Changed a webhook");
      case "webhook_deleted": return t("Removed a webhook");
      case "webhook_secret_rotated": return t("Rotated a webhook's secret");
      case "webhook_disabled": return t("A failing webhook was turned off");
      case "surge_started": return t("A surge of new accounts began on an article");
      case "surge_ended": return t("A surge of new accounts passed");
      case "campaign_hold": return t("A copy campaign's published comment went back to the queue");
      default: return String(action).replace(/_/g, " ");
    }
  }

  // a reason code (a rejection, an automatic hold) in a moderator's words; a code not listed here
  // shows as itself
  var reasonWord = C.reasonWord;

  // filter fields: [name, input type]; their labels are in fieldLabel()
  var FIELDS = [["user_id", "number"], ["article_id", "text"], ["comment_id", "number"], ["from", "date"], ["to", "date"]];

  function fieldLabel(name) {
    switch (name) {
      case "user_id": return t("Reader id");
      case "article_id": return t("Article id");
      case "comment_id": return t("Comment id");
      case "from": return t("From");
      case "to": return t("To");
      default: return name;
    }
  }

  var state = null; // {filters, entries, cursor, current, ui}

  // ------------------------------------------------------------------ filters and the address
  function readFilters(arg) {
    var q = new URLSearchParams(arg || "");
    var f = {};
    ["moderator", "action"].concat(FIELDS.map(function (x) { return x[0]; })).forEach(function (name) {
      var v = q.get(name);
      if (v) f[name] = v;
    });
    return f;
  }

  function filterQuery(f) {
    var q = new URLSearchParams();
    Object.keys(f).forEach(function (k) { if (f[k]) q.set(k, f[k]); });
    return q.toString();
  }

  // the dates are the moderator's local days: "to" includes its whole day
  function localDay(value, plusDays) {
    var parts = value.split("-").map(Number);
    return new Date(parts[0], parts[1] - 1, parts[2] + (plusDays || 0)).toISOString();
  }

  function apiParams(f) {
    var p = {};
    if (f.moderator) p.moderator = f.moderator;
    if (f.action) p.action = f.action;
    if (f.user_id) p.user_id = f.user_id;
    if (f.article_id) p.article_id = f.article_id;
    if (f.comment_id) p.comment_id = f.comment_id;
    if (f.from) p.since = localDay(f.from);
    if (f.to) p.until = localDay(f.to, 1);
    return p;
  }

  function csvHref(f) {
    var p = apiParams(f);
    if (C.site()) p.site = C.site();
    var q = new URLSearchParams(p).toString();
    return API + "/audit.csv" + (q ? "?" + q : "");
  }

  // ------------------------------------------------------------------ the form
  function buildForm() {
    var ui = state.ui;
    var f = state.filters;
    ui.moderator = el("select", { id: "audit-moderator", name: "moderator" }, el("option", { value: "" }, t("Anyone")));
    if (f.moderator) ui.moderator.appendChild(el("option", { value: f.moderator }, f.moderator));
    ui.moderator.value = f.moderator || "";
    ui.action = el("select", { id: "audit-action", name: "action" }, el("option", { value: "" }, t("Any action")),
                   ACTIONS.map(function (a) { return el("option", { value: a }, actionWord(a)); }));
    if (f.action && ACTIONS.indexOf(f.action) < 0) ui.action.appendChild(el("option", { value: f.action }, f.action));
    ui.action.value = f.action || "";
    var inputs = FIELDS.map(function (x) {
      var input = el("input", { id: "audit-" + x[0], name: x[0], type: x[1], value: f[x[0]] || null,
                                min: x[1] === "number" ? 1 : null, inputmode: x[1] === "number" ? "numeric" : null,
                                autocomplete: "off", spellcheck: x[1] === "text" ? "false" : null });
      ui[x[0]] = input;
      return el("div", { class: "audit-field" }, el("label", { for: input.id, text: fieldLabel(x[0]) }), input);
    });
    ui.csv = el("a", { class: "button", id: "audit-csv", href: csvHref(f), download: "" }, t("Export CSV"));
    ui.form = el("form", { class: "audit-filters", role: "search", "aria-label": t("Filter the audit log"),
                           on: { submit: function (ev) { ev.preventDefault(); apply(); } } },
      el("div", { class: "audit-field" }, el("label", { for: "audit-moderator", text: t("Moderator") }), ui.moderator),
      el("div", { class: "audit-field" }, el("label", { for: "audit-action", text: t("Action") }), ui.action),
      inputs,
      el("div", { class: "audit-buttons" },
        el("button", { type: "submit", class: "primary" }, t("Filter")),
        el("button", { type: "button", on: { click: clear } }, t("Clear")),
        ui.csv));
    return ui.form;
  }

  function loadActors() {
    C.api("GET", "/audit/actors").then(function (r) {
      if (!state) return;
      var select = state.ui.moderator;
      var wanted = state.filters.moderator || "";
      select.textContent = "";
      select.appendChild(el("option", { value: "" }, t("Anyone")));
      var known = false;
      r.actors.forEach(function (a) {
        known = known || a.id === wanted;
        select.appendChild(el("option", { value: a.id }, a.name + " (" + a.id + ")"));
      });
      if (wanted && !known) select.appendChild(el("option", { value: wanted }, wanted));
      select.value = wanted;
    }).catch(function () { /* the list is a convenience: the filter still takes the current value */ });
  }

  function collect() {
    var ui = state.ui;
    var f = {};
    if (ui.moderator.value) f.moderator = ui.moderator.value;
    if (ui.action.value) f.action = ui.action.value;
    FIELDS.forEach(function (x) {
      var v = ui[x[0]].value.trim();
      if (v) f[x[0]] = v;
    });
    return f;
  }

  function apply() {
    var ui = state.ui;
    if (!ui.form.reportValidity()) return;
    state.filters = collect();
    var q = filterQuery(state.filters);
    history.replaceState(history.state, "", location.pathname + location.search + "#/audit" + (q ? "/" + encodeURIComponent(q) : ""));
    ui.csv.setAttribute("href", csvHref(state.filters));
    load(false);
  }

  function clear() {
    var ui = state.ui;
    ui.moderator.value = "";
    ui.action.value = "";
    FIELDS.forEach(function (x) { ui[x[0]].value = ""; });
    apply();
  }

  function filterBy(name, value) {
    var ui = state.ui;
    if (name === "moderator" && !Array.prototype.some.call(ui.moderator.options, function (o) { return o.value === value; })) {
      ui.moderator.appendChild(el("option", { value: value }, value));
    }
    ui[name].value = String(value);
    apply();
  }

  // ------------------------------------------------------------------ the entries
  function load(more) {
    var ui = state.ui;
    var params = Object.assign({ limit: PAGE }, apiParams(state.filters));
    if (more && state.cursor) params.cursor = state.cursor;
    ui.more.disabled = true;
    ui.status.textContent = t("Loading…");
    return C.api("GET", "/audit", { params: params }).then(function (page) {
      if (!state || state.ui !== ui) return;
      if (!more) { state.entries = []; state.current = 0; ui.rows.textContent = ""; }
      page.entries.forEach(function (e) { state.entries.push(e); ui.rows.appendChild(row(e, state.entries.length - 1)); });
      state.cursor = page.next_cursor;
      ui.more.hidden = !page.next_cursor;
      ui.more.disabled = false;
      ui.table.hidden = !state.entries.length;
      ui.empty.hidden = !!state.entries.length;
      var n = state.entries.length;
      ui.status.textContent = page.next_cursor ? tn(n, "{n}+ entry", "{n}+ entries") : tn(n, "{n} entry", "{n} entries");
      if (!more) setCurrent(0, false);
    }).catch(function (err) {
      ui.more.disabled = false;
      ui.status.textContent = "";
      C.toast(t("Could not load the audit log: {error}", { error: err.message }), { error: true });
    });
  }

  function articleHref(externalId) { return "#/articles/" + encodeURIComponent(externalId); }

  function change(e) {
    var parts = [];
    if (e.before_status || e.after_status) {
      parts.push(C.fmt.status(e.before_status || "–") + " → " + C.fmt.status(e.after_status || "–"));
    }
    if (e.reason) parts.push(t("reason: {reason}", { reason: reasonWord(e.reason) }));
    var d = e.details || {};
    if (d.until) parts.push(t("until {time}", { time: C.fmt.time(d.until) }));
    if (e.action === "article_settings" || e.action === "site_updated") {
      Object.keys(d).slice(0, 4).forEach(function (k) {
        var v = d[k];
        parts.push(k.replace(/_/g, " ") + (Array.isArray(v) && v.length === 2 ? ": " + v[0] + " → " + v[1] : ""));
      });
    }
    return parts.join(" · ");
  }

  function about(e) {
    var links = [];
    if (e.comment_id) {
      links.push(e.article_external_id
        ? el("a", { href: articleHref(e.article_external_id), "data-kind": "comment",
                    title: t("Open the comment in its article's thread") }, t("Comment #{id}", { id: e.comment_id }))
        : el("span", null, t("Comment #{id}", { id: e.comment_id })));
    }
    if (e.article_external_id) {
      links.push(el("a", { href: articleHref(e.article_external_id), "data-kind": "article" },
                    t("Article {id}", { id: e.article_external_id })));
    }
    if (e.user_id) {
      links.push(el("button", { type: "button", class: "link", "data-kind": "user",
                                on: { click: function () { C.openUser(e.user_id); } } },
                    (e.user_name || t("Reader")) + " (#" + e.user_id + ")"));
    }
    return links.length ? links.reduce(function (acc, node, i) { return acc.concat(i ? [" · ", node] : [node]); }, [])
                        : el("span", { class: "muted" }, e.site_id);
  }

  function row(e, index) {
    var tr = el("tr", { tabindex: "-1", "data-id": e.id, on: { click: function (ev) {
      if (ev.target.closest("a, button")) return;
      setCurrent(index, false);
    } } },
      el("td", null, el("time", { datetime: e.created_at, title: e.created_at }, C.fmt.time(e.created_at))),
      el("td", null, el("button", { type: "button", class: "link", title: t("Show only this moderator's actions"),
                                   on: { click: function () { filterBy("moderator", e.actor_id); } } }, e.actor_name)),
      el("td", null, actionWord(e.action)),
      el("td", null, about(e)),
      el("td", null, change(e)),
      el("td", { class: "audit-note" }, e.note || ""));
    return tr;
  }

  function setCurrent(i, focus) {
    var rows = state.ui.rows.children;
    if (!rows.length) return;
    i = Math.max(0, Math.min(rows.length - 1, i));
    if (rows[state.current]) rows[state.current].classList.remove("current");
    state.current = i;
    rows[i].classList.add("current");
    if (focus) { rows[i].focus(); rows[i].scrollIntoView({ block: "nearest" }); }
  }

  // Enter on an entry opens what it is about: the comment's thread, else the article, else the reader
  function open() {
    var r = state && state.ui.rows.children[state.current];
    if (!r) return;
    var target = r.querySelector("[data-kind=comment][href], [data-kind=article], [data-kind=user]");
    if (target) target.click();
  }

  // ------------------------------------------------------------------ the view
  function render(container, arg) {
    state = { filters: readFilters(arg), entries: [], cursor: null, current: 0, ui: {} };
    var ui = state.ui;
    ui.status = el("p", { class: "hint", role: "status" });
    ui.rows = el("tbody");
    ui.table = el("div", { class: "table-wrap", hidden: true },
      el("table", { class: "audit-table" },
        el("caption", { class: "sr-only" }, t("Audit log entries, newest first")),
        el("thead", null, el("tr", null, [t("When"), t("Moderator"), t("Action"), t("About"), t("Change"), t("Note")]
          .map(function (h) { return el("th", { scope: "col" }, h); }))),
        ui.rows));
    ui.empty = el("p", { class: "empty", hidden: true }, t("No audit entries match these filters."));
    ui.more = el("button", { type: "button", class: "more", hidden: true, on: { click: function () { load(true); } } },
                 t("More entries") + " ", el("kbd", { text: "m" }));
    container.appendChild(el("h3", { class: "sr-only" }, t("Filters")));
    container.appendChild(buildForm());
    container.appendChild(el("div", { class: "toolbar" }, ui.status, el("span", { class: "spacer" }),
      el("span", { class: "hint" }, t("/ filters · j/k move · Enter open · m more · x export"))));
    container.appendChild(el("h3", { class: "sr-only" }, t("Entries")));
    container.appendChild(ui.table);
    container.appendChild(ui.empty);
    container.appendChild(ui.more);
    loadActors();
    load(false);
  }

  C.view("audit", { title: function () { return t("Audit log"); }, order: 4, render: render, leave: function () { state = null; } });

  function inView(fn) { return function (ev) { if (state) fn(ev); }; }
  C.keys("audit", [
    ["/", function () { return t("Filter the audit log"); }, inView(function () { state.ui.moderator.focus(); })],
    ["j", function () { return t("Next entry"); }, inView(function () { setCurrent(state.current + 1, true); })],
    ["k", function () { return t("Previous entry"); }, inView(function () { setCurrent(state.current - 1, true); })],
    ["Enter", function () { return t("Open what the entry is about"); }, inView(function (ev) {
      var target = ev && ev.target;
      if (target && (target.tagName === "BUTTON" || target.tagName === "A")) { target.click(); return; }
      open();
    })],
    ["o", function () { return t("Open the entry's reader"); }, inView(function () {
      var r = state.ui.rows.children[state.current];
      var b = r && r.querySelector("[data-kind=user]");
      if (b) b.click();
    })],
    ["m", function () { return t("More entries"); }, inView(function () { if (state.cursor) load(true); })],
    ["x", function () { return t("Export the filtered log as CSV"); }, inView(function () { state.ui.csv.click(); })],
    ["c", function () { return t("Clear the filters"); }, inView(function () { clear(); })],
  ]);
})();
