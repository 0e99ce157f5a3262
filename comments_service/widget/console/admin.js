// The admin view (#/admin, admins): the sites this admin manages (create one, edit its origins,
// rotate its SSO secret: the new secret is shown once) and the moderator and admin API tokens (list
// with last use, create: shown once, revoke). Every change is audited by the server.
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;

  var root = null;
  var sites = [];
  var tokens = [];
  var rows = [];       // the focusable rows, sites first: {kind: "site"|"token", item, tr}
  var current = -1;
  var seq = 0;
  var onceDialog = null;

  function fail(err) {
    if (err) C.toast(err.detail || err.message || String(err), { error: true });
  }

  function everySite() { return C.staff && C.staff.site_id == null; }

  // ------------------------------------------------------------------ a secret, shown once
  function showOnce(title, secret, note) {
    if (!onceDialog) {
      onceDialog = el("dialog", { id: "admin-once", class: "once", "aria-labelledby": "admin-once-title" });
      document.body.appendChild(onceDialog);
    }
    var d = onceDialog;
    d.textContent = "";
    var field = el("input", { id: "admin-once-value", readonly: true, value: secret, spellcheck: "false",
                              autocomplete: "off", class: "once-value", "aria-describedby": "admin-once-note" });
    var copied = el("span", { class: "muted", role: "status" });
    var opener = document.activeElement;
    d.appendChild(el("div", { class: "ask" },
      el("h2", { id: "admin-once-title" }, title),
      el("p", { id: "admin-once-note" }, note + " It is shown this once: copy it now. Only its hash (or, for an SSO " +
         "secret, its sealed form) is kept."),
      el("label", { for: "admin-once-value" }, "Secret"), field,
      el("div", { class: "ask-buttons" }, copied,
         el("button", { type: "button", on: { click: function () {
           field.select();
           var done = function () { copied.textContent = "Copied."; };
           if (navigator.clipboard && navigator.clipboard.writeText) {
             navigator.clipboard.writeText(secret).then(done, function () { copied.textContent = "Select it and copy."; });
           } else { copied.textContent = "Select it and copy."; }
         } } }, "Copy"),
         el("button", { type: "button", class: "primary", on: { click: function () { d.close(); forget(); } } },
            "Done"))));
    // gone from the page once closed: at once on Done (the "close" event comes a task later), and on
    // Escape with that event
    function forget() { field.value = ""; d.textContent = ""; }
    d.addEventListener("close", function closed() {
      d.removeEventListener("close", closed);
      forget();
      if (opener && opener.focus && document.contains(opener)) opener.focus();
    });
    d.showModal();
    field.focus();
    field.select();
  }

  // ------------------------------------------------------------------ layout
  function render(container) {
    root = container;
    var mine = ++seq;
    rows = []; current = -1;
    container.appendChild(el("p", { class: "muted" }, "Loading…"));
    Promise.all([C.api("GET", "/sites", { params: { site: null } }), C.api("GET", "/tokens", { params: { site: null } })])
      .then(function (got) {
        if (mine !== seq) return;
        sites = got[0]; tokens = got[1];
        draw();
      }).catch(function (err) {
        if (mine !== seq) return;
        container.textContent = "";
        container.appendChild(el("p", { class: "error", role: "alert" }, "Could not load: " + (err.detail || err.message)));
      });
  }

  function reload(focusKind, focusId) {
    var mine = ++seq;
    return Promise.all([C.api("GET", "/sites", { params: { site: null } }),
                        C.api("GET", "/tokens", { params: { site: null } })])
      .then(function (got) {
        if (mine !== seq || !root) return;
        sites = got[0]; tokens = got[1];
        draw();
        var at = rows.findIndex(function (r) { return r.kind === focusKind && String(r.item.id) === String(focusId); });
        if (at >= 0) select(at);
      }).catch(fail);
  }

  function draw() {
    root.textContent = "";
    rows = [];
    root.appendChild(el("div", { class: "toolbar" },
      everySite() ? el("button", { type: "button", "aria-keyshortcuts": "Shift+N", on: { click: newSite } },
                       "New site ", el("kbd", { text: "N" })) : null,
      el("button", { type: "button", "aria-keyshortcuts": "n", on: { click: newToken } }, "New token ", el("kbd", { text: "n" })),
      el("span", { class: "spacer" }),
      el("span", { class: "hint" }, "j/k: move · o: edit origins · r: rotate SSO secret · x: revoke token")));
    root.appendChild(sitesTable());
    root.appendChild(tokensTable());
  }

  function rowFor(kind, item, cells) {
    var index = rows.length;
    var tr = el("tr", { tabindex: "-1", "data-kind": kind, "data-id": String(item.id),
                        on: { focus: function () { mark(index); } } }, cells);
    rows.push({ kind: kind, item: item, tr: tr });
    return tr;
  }

  function sitesTable() {
    var body = el("tbody", null, sites.map(function (s) {
      return rowFor("site", s, [
        el("th", { scope: "row" }, el("span", { class: "site-name" }, s.name), el("br"), el("code", null, s.id)),
        el("td", null, el("ul", { class: "plain origins" }, s.origins.map(function (o) { return el("li", null, o); }))),
        el("td", null, (s.guests ? "guests welcome" : "signed-in only") + (s.sso ? " · SSO" : " · no SSO") +
                       (s.images ? " · images" : "")),
        el("td", { class: "num" }, String(s.comments)),
        el("td", { class: "row-actions" },
           el("button", { type: "button", on: { click: function () { editOrigins(s); } } }, "Edit origins"),
           el("button", { type: "button", on: { click: function () { rotate(s); } } }, "Rotate SSO secret")),
      ]);
    }));
    return el("section", { class: "admin-section", "aria-labelledby": "admin-sites" },
      el("h3", { id: "admin-sites" }, everySite() ? "Sites" : "Your site"),
      el("div", { class: "table-wrap" }, el("table", { class: "admin-table" },
        el("thead", null, el("tr", null, ["Site", "Origins", "Readers", "Comments", "Actions"].map(function (h) {
          return el("th", { scope: "col" }, h);
        }))), body)));
  }

  function tokensTable() {
    var body = el("tbody", null, tokens.map(function (t) {
      var state = t.revoked_at ? "revoked " + C.fmt.ago(t.revoked_at) : "active";
      return rowFor("token", t, [
        el("th", { scope: "row" }, t.name, el("br"), el("span", { class: "muted" }, "#" + t.id)),
        el("td", null, t.role),
        el("td", null, t.site_id ? el("code", null, t.site_id) : "every site"),
        el("td", null, el("time", { datetime: t.created_at, title: C.fmt.time(t.created_at) }, C.fmt.ago(t.created_at))),
        el("td", null, t.last_used_at ? el("time", { datetime: t.last_used_at, title: C.fmt.time(t.last_used_at) },
                                           C.fmt.ago(t.last_used_at)) : "never"),
        el("td", { class: t.revoked_at ? "muted" : null }, state),
        el("td", { class: "row-actions" }, t.revoked_at ? null :
           el("button", { type: "button", class: "danger", on: { click: function () { revoke(t); } } }, "Revoke")),
      ]);
    }));
    return el("section", { class: "admin-section", "aria-labelledby": "admin-tokens" },
      el("h3", { id: "admin-tokens" }, "API tokens"),
      el("p", { class: "hint" }, "Moderators and admins sign in to this console with a token. Revoking one ends its " +
         "sessions at once."),
      tokens.length ? el("div", { class: "table-wrap" }, el("table", { class: "admin-table" },
        el("thead", null, el("tr", null, ["Name", "Role", "Site", "Created", "Last used", "State", "Actions"].map(function (h) {
          return el("th", { scope: "col" }, h);
        }))), body)) : el("p", { class: "empty" }, "No tokens yet."));
  }

  // ------------------------------------------------------------------ selection
  function mark(index) {
    current = index;
    rows.forEach(function (r, i) { r.tr.classList.toggle("current", i === index); });
  }

  function select(index) {
    if (!rows.length) return;
    index = Math.max(0, Math.min(rows.length - 1, index));
    mark(index);
    rows[index].tr.focus();
  }

  function selected(kind) {
    var r = rows[current];
    if (!r || r.kind !== kind) {
      C.toast(kind === "site" ? "Select a site first (j/k)." : "Select a token first (j/k).");
      return null;
    }
    return r.item;
  }

  // ------------------------------------------------------------------ actions
  function lines(text) {
    return String(text || "").split(/[\s,]+/).map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function newSite() {
    if (!everySite()) { C.toast("Only an admin of every site creates sites.", { error: true }); return; }
    C.prompt("New site", [
      { name: "id", label: "Site id (lowercase letters, digits, - and _)", required: true, maxlength: 63 },
      { name: "name", label: "Name", maxlength: 200 },
      { name: "origins", label: "Origins the widget is embedded on, one per line", type: "textarea",
        placeholder: "https://news.example" },
      { name: "guests", label: "Guests may comment", type: "checkbox" },
      { name: "sso", label: "Generate an SSO secret (shown once)", type: "checkbox", value: true },
    ], { submitLabel: "Create" }).then(function (v) {
      if (!v) return;
      C.api("POST", "/sites", { params: { site: null }, body: {
        id: v.id, name: v.name || null, origins: lines(v.origins), guests: v.guests } })
        .then(function (made) {
          C.toast("Site " + made.id + " created.");
          if (!v.sso) return reload("site", made.id);
          return C.api("POST", "/sites/" + encodeURIComponent(made.id) + "/sso-secret", { params: { site: null } })
            .then(function (r) {
              return reload("site", made.id).then(function () {
                showOnce("SSO secret of " + made.id, r.sso_secret, "The host site signs its readers' tokens with " +
                         "this secret (HS256).");
              });
            });
        }).catch(fail);
    });
  }

  function editOrigins(s) {
    C.prompt("Origins of " + s.name, [
      { name: "origins", label: "Origins, one per line (scheme://host[:port])", type: "textarea",
        value: s.origins.join("\n"), help: "The whole list: an origin left out may no longer embed the widget." },
    ], { submitLabel: "Save origins" }).then(function (v) {
      if (!v) return;
      C.api("PATCH", "/sites/" + encodeURIComponent(s.id), { params: { site: null }, body: { origins: lines(v.origins) } })
        .then(function () { C.toast("Origins of " + s.id + " saved."); return reload("site", s.id); })
        .catch(fail);
    });
  }

  function rotate(s) {
    C.confirm("Readers' tokens signed with the old secret stop working at once: give the new one to the host site " +
              "right away. The new secret is shown once.",
              { title: "Rotate the SSO secret of " + s.name + "?", danger: true, confirmLabel: "Rotate" })
      .then(function (ok) {
        if (!ok) return;
        C.api("POST", "/sites/" + encodeURIComponent(s.id) + "/sso-secret", { params: { site: null } })
          .then(function (r) {
            return reload("site", s.id).then(function () {
              showOnce("New SSO secret of " + s.id, r.sso_secret, "The host site signs its readers' tokens with this " +
                       "secret (HS256) from now on.");
            });
          }).catch(fail);
      });
  }

  function newToken() {
    var own = C.staff && C.staff.site_id;
    var options = own ? [{ value: own, label: own }]
      : [{ value: "", label: "Every site" }].concat(sites.map(function (s) { return { value: s.id, label: s.name + " (" + s.id + ")" }; }));
    C.prompt("New API token", [
      { name: "name", label: "Whose token (a name for the list)", required: true, maxlength: 100 },
      { name: "role", label: "Role", type: "select", options: [{ value: "moderator", label: "Moderator" },
                                                             { value: "admin", label: "Admin" }], value: "moderator" },
      { name: "site", label: "Site", type: "select", options: options, value: own || C.site() || "" },
    ], { submitLabel: "Create token" }).then(function (v) {
      if (!v) return;
      C.api("POST", "/tokens", { params: { site: null }, body: { name: v.name, role: v.role, site_id: v.site || null } })
        .then(function (made) {
          return reload("token", made.info.id).then(function () {
            showOnce("Token for " + made.info.name, made.token, "Give it to its holder to sign in to this console.");
          });
        }).catch(fail);
    });
  }

  function revoke(t) {
    C.confirm("Its holder is signed out at once and cannot sign in with it again.",
              { title: "Revoke the token “" + t.name + "”?", danger: true, confirmLabel: "Revoke" })
      .then(function (ok) {
        if (!ok) return;
        C.api("DELETE", "/tokens/" + t.id, { params: { site: null } })
          .then(function () { C.toast("Token " + t.name + " revoked."); return reload("token", t.id); })
          .catch(fail);
      });
  }

  function leave() { root = null; seq++; }

  C.view("admin", { title: "Admin", order: 70, render: render, leave: leave });
  C.keys("admin", [
    ["j", "Next site or token", function () { select(current + 1); }],
    ["k", "Previous site or token", function () { select(current - 1); }],
    ["n", "New API token (shown once)", newToken],
    ["Shift+N", "New site", newSite],
    ["o", "Edit the selected site's origins", function () { var s = selected("site"); if (s) editOrigins(s); }],
    ["r", "Rotate the selected site's SSO secret", function () { var s = selected("site"); if (s) rotate(s); }],
    ["x", "Revoke the selected token", function () {
      var t = selected("token");
      if (t && !t.revoked_at) revoke(t); else if (t) C.toast("That token is already revoked.");
    }],
  ]);
})();
