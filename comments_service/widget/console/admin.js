// The admin view (#/admin, admins): the sites this admin manages (create one, edit its origins,
// rotate its SSO secret: the new secret is shown once) and the moderator and admin API tokens (list
// with last use, create: shown once, revoke). Every change is audited by the server.
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var t = C.t, tn = C.tn;

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

  function roleName(role) {
    switch (role) {
      case "moderator": return t("moderator");
      case "admin": return t("admin");
      default: return role;
    }
  }

  function num(n) { return new Intl.NumberFormat(C.locale).format(n); }

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
      el("p", { id: "admin-once-note" }, note + " " +
         t("It is shown this once: copy it now. Only its hash (or, for an SSO secret, its sealed form) is kept.")),
      el("label", { for: "admin-once-value" }, t("Secret")), field,
      el("div", { class: "ask-buttons" }, copied,
         el("button", { type: "button", on: { click: function () {
           field.select();
           var done = function () { copied.textContent = t("Copied."); };
           if (navigator.clipboard && navigator.clipboard.writeText) {
             navigator.clipboard.writeText(secret).then(done, function () { copied.textContent = t("Select it and copy."); });
           } else { copied.textContent = t("Select it and copy."); }
         } } }, t("Copy")),
         el("button", { type: "button", class: "primary", on: { click: function () { d.close(); forget(); } } },
            t("Done")))));
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
    container.appendChild(el("p", { class: "muted" }, t("Loading…")));
    Promise.all([C.api("GET", "/sites", { params: { site: null } }), C.api("GET", "/tokens", { params: { site: null } })])
      .then(function (got) {
        if (mine !== seq) return;
        sites = got[0]; tokens = got[1];
        draw();
      }).catch(function (err) {
        if (mine !== seq) return;
        container.textContent = "";
        container.appendChild(el("p", { class: "error", role: "alert" },
                                 t("Could not load: {error}", { error: err.detail || err.message })));
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
                       t("New site"), " ", el("kbd", { text: "N" })) : null,
      el("button", { type: "button", "aria-keyshortcuts": "n", on: { click: newToken } },
         t("New token"), " ", el("kbd", { text: "n" })),
      el("span", { class: "spacer" }),
      el("span", { class: "hint" }, t("j/k: move · o: edit origins · r: rotate SSO secret · x: revoke token"))));
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
        el("td", null, [s.guests ? t("guests welcome") : t("signed-in only"), s.sso ? t("SSO") : t("no SSO"),
                        s.images ? t("images") : null].filter(Boolean).join(" · ")),
        el("td", { class: "num" }, num(s.comments)),
        el("td", { class: "row-actions" },
           el("button", { type: "button", on: { click: function () { editOrigins(s); } } }, t("Edit origins")),
           el("button", { type: "button", on: { click: function () { rotate(s); } } }, t("Rotate SSO secret"))),
      ]);
    }));
    return el("section", { class: "admin-section", "aria-labelledby": "admin-sites" },
      el("h3", { id: "admin-sites" }, everySite() ? t("Sites") : t("Your site")),
      el("div", { class: "table-wrap" }, el("table", { class: "admin-table" },
        el("thead", null, el("tr", null, [t("Site"), t("Origins"), t("Readers"), t("Comments"),
                                          t("Actions")].map(function (h) {
          return el("th", { scope: "col" }, h);
        }))), body)));
  }

  function tokensTable() {
    var body = el("tbody", null, tokens.map(function (tok) {
      var state = tok.revoked_at ? t("revoked {ago}", { ago: C.fmt.ago(tok.revoked_at) }) : t("active");
      return rowFor("token", tok, [
        el("th", { scope: "row" }, tok.name, el("br"), el("span", { class: "muted" }, "#" + tok.id)),
        el("td", null, roleName(tok.role)),
        el("td", null, tok.site_id ? el("code", null, tok.site_id) : t("every site")),
        el("td", null, el("time", { datetime: tok.created_at, title: C.fmt.time(tok.created_at) }, C.fmt.ago(tok.created_at))),
        el("td", null, tok.last_used_at ? el("time", { datetime: tok.last_used_at, title: C.fmt.time(tok.last_used_at) },
                                             C.fmt.ago(tok.last_used_at)) : t("never")),
        el("td", { class: tok.revoked_at ? "muted" : null }, state),
        el("td", { class: "row-actions" }, tok.revoked_at ? null :
           el("button", { type: "button", class: "danger", on: { click: function () { revoke(tok); } } }, t("Revoke"))),
      ]);
    }));
    return el("section", { class: "admin-section", "aria-labelledby": "admin-tokens" },
      el("h3", { id: "admin-tokens" }, t("API tokens")),
      el("p", { class: "hint" },
         t("Moderators and admins sign in to this console with a token. Revoking one ends its sessions at once.")),
      tokens.length ? el("div", { class: "table-wrap" }, el("table", { class: "admin-table" },
        el("thead", null, el("tr", null, [t("Name"), t("Role"), t("Site"), t("Created"), t("Last used"), t("State"),
                                          t("Actions")].map(function (h) {
          return el("th", { scope: "col" }, h);
        }))), body)) : el("p", { class: "empty" }, t("No tokens yet.")));
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
      C.toast(kind === "site" ? t("Select a site first (j/k).") : t("Select a token first (j/k)."));
      return null;
    }
    return r.item;
  }

  // ------------------------------------------------------------------ actions
  function lines(text) {
    return String(text || "").split(/[\s,]+/).map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function newSite() {
    if (!everySite()) { C.toast(t("Only an admin of every site creates sites."), { error: true }); return; }
    C.prompt(t("New site"), [
      { name: "id", label: t("Site id (lowercase letters, digits, - and _)"), required: true, maxlength: 63 },
      { name: "name", label: t("Name"), maxlength: 200 },
      { name: "origins", label: t("Origins the widget is embedded on, one per line"), type: "textarea",
        placeholder: "https://news.example" },
      { name: "guests", label: t("Guests may comment"), type: "checkbox" },
      { name: "sso", label: t("Generate an SSO secret (shown once)"), type: "checkbox", value: true },
    ], { submitLabel: t("Create") }).then(function (v) {
      if (!v) return;
      C.api("POST", "/sites", { params: { site: null }, body: {
        id: v.id, name: v.name || null, origins: lines(v.origins), guests: v.guests } })
        .then(function (made) {
          C.toast(t("Site {id} created.", { id: made.id }));
          if (!v.sso) return reload("site", made.id);
          return C.api("POST", "/sites/" + encodeURIComponent(made.id) + "/sso-secret", { params: { site: null } })
            .then(function (r) {
              return reload("site", made.id).then(function () {
                showOnce(t("SSO secret of {id}", { id: made.id }), r.sso_secret,
                         t("The host site signs its readers' tokens with this secret (HS256)."));
              });
            });
        }).catch(fail);
    });
  }

  function editOrigins(s) {
    C.prompt(t("Origins of {name}", { name: s.name }), [
      { name: "origins", label: t("Origins, one per line (scheme://host[:port])"), type: "textarea",
        value: s.origins.join("\n"), help: t("The whole list: an origin left out may no longer embed the widget.") },
    ], { submitLabel: t("Save origins") }).then(function (v) {
      if (!v) return;
      C.api("PATCH", "/sites/" + encodeURIComponent(s.id), { params: { site: null }, body: { origins: lines(v.origins) } })
        .then(function () { C.toast(t("Origins of {id} saved.", { id: s.id })); return reload("site", s.id); })
        .catch(fail);
    });
  }

  function rotate(s) {
    C.confirm(
      t("Readers' tokens signed with the old secret stop working at once: give the new one to the host site right away. The new secret is shown once."),
      { title: t("Rotate the SSO secret of {name}?", { name: s.name }), danger: true, confirmLabel: t("Rotate") })
      .then(function (ok) {
        if (!ok) return;
        C.api("POST", "/sites/" + encodeURIComponent(s.id) + "/sso-secret", { params: { site: null } })
          .then(function (r) {
            return reload("site", s.id).then(function () {
              showOnce(t("New SSO secret of {id}", { id: s.id }), r.sso_secret,
                       t("The host site signs its readers' tokens with this secret (HS256) from now on."));
            });
          }).catch(fail);
      });
  }

  function newToken() {
    var own = C.staff && C.staff.site_id;
    var options = own ? [{ value: own, label: own }]
      : [{ value: "", label: t("Every site") }].concat(sites.map(function (s) { return { value: s.id, label: s.name + " (" + s.id + ")" }; }));
    C.prompt(t("New API token"), [
      { name: "name", label: t("Whose token (a name for the list)"), required: true, maxlength: 100 },
      { name: "role", label: t("Role"), type: "select", options: [{ value: "moderator", label: t("Moderator") },
                                                                { value: "admin", label: t("Admin") }], value: "moderator" },
      { name: "site", label: t("Site"), type: "select", options: options, value: own || C.site() || "" },
    ], { submitLabel: t("Create token") }).then(function (v) {
      if (!v) return;
      C.api("POST", "/tokens", { params: { site: null }, body: { name: v.name, role: v.role, site_id: v.site || null } })
        .then(function (made) {
          return reload("token", made.info.id).then(function () {
            showOnce(t("Token for {name}", { name: made.info.name }), made.token,
                     t("Give it to its holder to sign in to this console."));
          });
        }).catch(fail);
    });
  }

  function revoke(tok) {
    C.confirm(t("Its holder is signed out at once and cannot sign in with it again."),
              { title: t("Revoke the token “{name}”?", { name: tok.name }), danger: true, confirmLabel: t("Revoke") })
      .then(function (ok) {
        if (!ok) return;
        C.api("DELETE", "/tokens/" + tok.id, { params: { site: null } })
          .then(function () { C.toast(t("Token {name} revoked.", { name: tok.name })); return reload("token", tok.id); })
          .catch(fail);
      });
  }

  function leave() { root = null; seq++; }

  C.view("admin", { title: function () { return t("Admin"); }, order: 70, render: render, leave: leave });
  C.keys("admin", [
    ["j", function () { return t("Next site or token"); }, function () { select(current + 1); }],
    ["k", function () { return t("Previous site or token"); }, function () { select(current - 1); }],
    ["n", function () { return t("New API token (shown once)"); }, newToken],
    ["Shift+N", function () { return t("New site"); }, newSite],
    ["o", function () { return t("Edit the selected site's origins"); },
     function () { var s = selected("site"); if (s) editOrigins(s); }],
    ["r", function () { return t("Rotate the selected site's SSO secret"); },
     function () { var s = selected("site"); if (s) rotate(s); }],
    ["x", function () { return t("Revoke the selected token"); }, function () {
      var tok = selected("token");
      if (tok && !tok.revoked_at) revoke(tok); else if (tok) C.toast(t("That token is already revoked."));
    }],
  ]);
})();
