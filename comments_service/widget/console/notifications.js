// Two views of what the service sends out about a site.
//
// "Email alerts" (#/alerts, every moderator): the signed-in moderator's own alerts on the current
// site (GET/PUT/DELETE /alerts): where they go, an email per problem report, one when a comment's
// open reports reach a threshold, a digest of the held queue every N minutes. The server checks the
// values and names a bad one: it is shown by its field.
//
// "Webhooks" (#/webhooks, admins): the site's endpoints (GET /webhooks), a form to add one (its
// signing secret is shown once), and per endpoint: enable or disable, rotate the secret (shown
// once), delete (after a confirmation), send a test event, and the delivery log (GET .../attempts).
// An endpoint the service disabled for failing is marked as such, with since when it failed.
//
// Everything from the server is inserted as text (Console.el), never as HTML.
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var t = C.t, tn = C.tn;

  // the event types an endpoint may subscribe to (domain/webhook_events.EVENT_TYPES), in case the
  // schema (GET /webhooks/events/schema, which lists them) cannot be read
  var KNOWN_TYPES = ["comment.published", "comment.held", "comment.rejected", "report.created",
                     "problem_report.created", "moderation.decision"];
  var TEST_TYPE = "webhook.test";
  // said in the console's language when shown (the locale loads after this runs)
  var TYPE_WORDS = {
    "comment.published": function () { return t("A comment became visible to readers"); },
    "comment.held": function () { return t("A comment waits for a moderator"); },
    "comment.rejected": function () { return t("A comment was rejected"); },
    "report.created": function () { return t("A reader reported a comment"); },
    "problem_report.created": function () { return t("A reader sent a problem report"); },
    "moderation.decision": function () { return t("A moderation decision (the audit log)"); },
    "webhook.test": function () { return t("A test event"); },
  };
  var LOG_LIMIT = 50;
  var WATCH_MS = 1000;       // after "Send test event", the log is read again this often…
  var WATCH_TRIES = 20;      // …until the attempt shows, or this many times

  var fieldSeq = 0;
  function fid(name) { return "nt-" + name + "-" + (++fieldSeq); }

  function fail(err) {
    if (err) C.toast(err.detail || err.message || String(err), { error: true });
  }

  function when(iso) {
    return iso ? el("time", { datetime: iso, title: C.fmt.time(iso) }, C.fmt.ago(iso)) : t("never");
  }

  // A translated sentence with elements in it: each {placeholder} of the template is replaced by the
  // node (or text) given for it, so that addresses and times stay elements in any language.
  function fill(template, parts) {
    return template.split(/\{(\w+)\}/).map(function (piece, i) {
      if (!(i % 2)) return piece || null;
      return Object.prototype.hasOwnProperty.call(parts, piece) ? parts[piece] : "{" + piece + "}";
    });
  }

  // a number in the console's digits; the limits of a field are written as typed (1000, not 1,000)
  function num(n, asTyped) {
    return window.Intl ? new Intl.NumberFormat(C.locale || undefined, { useGrouping: !asTyped }).format(n) : String(n);
  }

  // ------------------------------------------------------------------ errors by their field
  // a slot for the server's message under a field; data-key names the field as the server does
  // ``expect``: what the field takes, said instead of the server's terse "Expected `int` >= 1"
  function errorSlot(key, inputs, expect) {
    var slot = el("p", { class: "field-error error", id: fid("err"), "data-key": key, hidden: true });
    slot._inputs = inputs || [];
    slot._expect = expect || null;
    return slot;
  }

  function clearErrors(scope) {
    Array.prototype.forEach.call(scope.querySelectorAll(".field-error"), function (slot) {
      slot.hidden = true; slot.textContent = "";
      (slot._inputs || []).forEach(function (i) { i.removeAttribute("aria-invalid"); });
    });
  }

  // The field a refusal is about: errors[0].key ("report_threshold", "$.url", "body.email"), a
  // "`$.field`" in the message, or what the error's code is about
  function errorKey(err, byCode) {
    var e = err.body && err.body.errors && err.body.errors[0];
    var key = e && e.key && e.key !== "None" && e.key !== "body" ? String(e.key) : null;
    if (!key) {
      var m = /`\$\.([A-Za-z0-9_]+)/.exec((e && e.message) || err.detail || "");
      if (m) key = m[1];
    }
    if (!key && byCode) key = byCode[err.code] || null;
    return key ? key.replace(/^\$\./, "").replace(/^body\./, "").split(/[.[]/)[0] : null;
  }

  // shows the refusal under its field (and says it in the alert); false when no field matches
  function showFieldError(scope, err, byCode) {
    var key = errorKey(err, byCode);
    var slot = key ? scope.querySelector('.field-error[data-key="' + key + '"]') : null;
    if (!slot) return false;
    var said = String(err.detail || err.message).replace(new RegExp("^\\$?\\.?" + key + ": "), "");
    slot.textContent = err.code === "invalid_request" && slot._expect ? slot._expect + " (" + said + ")" : said;
    slot.hidden = false;
    var inputs = slot._inputs || [];
    inputs.forEach(function (i) { i.setAttribute("aria-invalid", "true"); });
    var target = inputs[0];
    if (!target) { slot.setAttribute("tabindex", "-1"); target = slot; }
    target.focus();
    C.toast(t("Not saved: {error}", { error: err.detail || err.message }), { error: true });
    return true;
  }

  function describe(input, ids) {
    input.setAttribute("aria-describedby", ids.filter(Boolean).join(" "));
  }

  // ================================================================== email alerts
  var alerts = { root: null, seq: 0, saved: null, ui: {} };

  function renderAlerts(container) {
    alerts.root = container;
    alerts.ui = {};
    var mine = ++alerts.seq;
    var site = C.site();
    if (!site) {
      container.appendChild(el("p", { class: "empty" }, t("Pick a site in the header to set your email alerts for it.")));
      return;
    }
    container.appendChild(el("p", { class: "muted" }, t("Loading your email alerts…")));
    C.api("GET", "/alerts").then(function (got) {
      if (mine !== alerts.seq) return;
      alerts.saved = got;
      drawAlerts();
    }).catch(function (err) {
      if (mine !== alerts.seq) return;
      container.textContent = "";
      container.appendChild(el("p", { class: "error", role: "alert" },
                               t("Your email alerts could not be loaded: {error}", { error: err.detail || err.message })));
    });
  }

  function numberField(name, label, help, value, opts) {
    var id = fid(name);
    var input = el("input", { type: "number", id: id, name: name, min: opts.min, max: opts.max, step: 1,
                              inputmode: "numeric", placeholder: t("off"), value: value == null ? null : value });
    var hint = el("small", { class: "hint", id: id + "-help" }, help);
    var slot = errorSlot(name, [input], t("Give a whole number from {min} to {max}, or leave it empty.",
                                          { min: num(opts.min, true), max: num(opts.max, true) }));
    describe(input, [hint.id, slot.id]);
    return { input: input, row: el("div", { class: "field" }, el("label", { for: id }, label), input, hint, slot) };
  }

  function drawAlerts() {
    var root = alerts.root;
    var now = alerts.saved;
    var ui = alerts.ui = {};
    root.textContent = "";
    var emailId = fid("email");
    ui.email = el("input", { type: "email", id: emailId, name: "email", autocomplete: "email", maxlength: 254,
                             spellcheck: "false", value: now ? now.email : null, placeholder: "name@example.org" });
    var emailSlot = errorSlot("email", [ui.email]);
    describe(ui.email, [emailSlot.id]);
    var problemsId = fid("problems");
    ui.problems = el("input", { type: "checkbox", id: problemsId, name: "problem_reports",
                                checked: !!(now && now.problem_reports) });
    var problemsHint = el("small", { class: "hint", id: problemsId + "-help" },
                          t("Readers send these from the troubleshooter under the comments."));
    describe(ui.problems, [problemsHint.id]);
    var threshold = numberField("report_threshold", t("Email me when a comment's open reports reach"),
                                t("Once per comment, {min} to {max} reports. Empty: no such email.",
                                  { min: num(1, true), max: num(1000, true) }),
                                now && now.report_threshold, { min: 1, max: 1000 });
    var digest = numberField("held_digest_minutes", t("Send a digest of the held queue every (minutes)"),
                             t("Only while something waits, every {min} to {max} minutes. Empty: no digest.",
                               { min: num(5, true), max: num(1440, true) }),
                             now && now.held_digest_minutes, { min: 5, max: 1440 });
    ui.threshold = threshold.input;
    ui.digest = digest.input;
    ui.state = el("p", { class: "alerts-state", role: "status" }, now
      ? fill(t("Alerts on this site go to {email} (saved {when})."),
             { email: el("strong", null, now.email), when: when(now.updated_at) })
      : t("You get no email alerts for this site."));
    ui.save = el("button", { type: "submit", class: "primary" }, now ? t("Save alerts") : t("Turn alerts on"));
    ui.off = now ? el("button", { type: "button", class: "danger", on: { click: turnOff } }, t("Turn alerts off")) : null;
    var form = el("form", { class: "alerts-form card", novalidate: true, "aria-labelledby": "alerts-title",
                            on: { submit: function (ev) { ev.preventDefault(); saveAlerts(); } } },
      el("h3", { id: "alerts-title" }, t("Your email alerts for site {site}", { site: C.site() })),
      el("p", { class: "hint" }, t("These are yours alone: each moderator sets their own. Every email has a link that turns them off.")),
      ui.state,
      el("div", { class: "field" }, el("label", { for: emailId }, t("Send them to")), ui.email, emailSlot),
      el("div", { class: "field field-checkbox" }, ui.problems,
         el("label", { for: problemsId }, t("An email for each problem report a reader sends")), problemsHint),
      threshold.row,
      digest.row,
      el("div", { class: "alerts-actions" }, ui.save, ui.off));
    ui.form = form;
    root.appendChild(form);
  }

  function numberOf(input) {
    var v = input.value.trim();
    return v === "" ? null : Number(v);
  }

  function saveAlerts() {
    var ui = alerts.ui;
    if (!ui.form) return;
    clearErrors(ui.form);
    var body = { email: ui.email.value.trim(), problem_reports: ui.problems.checked,
                 report_threshold: numberOf(ui.threshold), held_digest_minutes: numberOf(ui.digest) };
    // a number field holding something that is no number reads as "": say so rather than send off
    [[ui.threshold, "report_threshold"], [ui.digest, "held_digest_minutes"]].forEach(function (pair) {
      if (pair[0].validity && pair[0].validity.badInput) body[pair[1]] = pair[0].value || "not a number";
    });
    var mine = alerts.seq;
    ui.save.disabled = true;
    C.api("PUT", "/alerts", { body: body }).then(function (got) {
      if (mine !== alerts.seq) return;
      alerts.saved = got;
      drawAlerts();
      C.toast(t("Email alerts saved."));
    }).catch(function (err) {
      if (mine !== alerts.seq) return;
      ui.save.disabled = false;
      if (!showFieldError(ui.form, err, { invalid_email: "email", email_required: "email" })) fail(err);
    });
  }

  function turnOff() {
    C.confirm(alerts.saved ? t("No more alert emails for this site go to {email}.", { email: alerts.saved.email })
                           : t("No more alert emails for this site go to you."),
              { title: t("Turn your email alerts off?"), danger: true, confirmLabel: t("Turn off") })
      .then(function (ok) {
        if (!ok) return;
        var mine = alerts.seq;
        C.api("DELETE", "/alerts").then(function () {
          if (mine !== alerts.seq) return;
          alerts.saved = null;
          drawAlerts();
          C.toast(t("Email alerts turned off."));
        }).catch(fail);
      });
  }

  C.view("alerts", { title: function () { return t("Email alerts"); }, order: 58, key: "g e", render: renderAlerts,
                     leave: function () { alerts.root = null; alerts.seq++; } });

  // ================================================================== webhooks
  var hooks = { root: null, seq: 0, list: [], types: null, open: {}, watch: null, once: null };

  function renderWebhooks(container) {
    hooks.root = container;
    hooks.open = {};
    var mine = ++hooks.seq;
    if (!C.site()) {
      container.appendChild(el("p", { class: "empty" }, t("Pick a site in the header to see its webhooks.")));
      return;
    }
    container.appendChild(el("p", { class: "muted" }, t("Loading the site's webhooks…")));
    var types = hooks.types ? Promise.resolve(hooks.types)
      : C.api("GET", "/webhooks/events/schema").then(function (examples) {
        var seen = [];
        (examples || []).forEach(function (e) { if (e.type !== TEST_TYPE && seen.indexOf(e.type) < 0) seen.push(e.type); });
        return seen.length ? seen : KNOWN_TYPES;
      }).catch(function () { return KNOWN_TYPES; });
    Promise.all([C.api("GET", "/webhooks"), types]).then(function (got) {
      if (mine !== hooks.seq) return;
      hooks.list = got[0];
      hooks.types = got[1];
      drawWebhooks();
    }).catch(function (err) {
      if (mine !== hooks.seq) return;
      container.textContent = "";
      container.appendChild(el("p", { class: "error", role: "alert" },
                               t("The webhooks could not be loaded: {error}", { error: err.detail || err.message })));
    });
  }

  function reloadWebhooks(focusId) {
    var mine = hooks.seq;
    return C.api("GET", "/webhooks").then(function (list) {
      if (mine !== hooks.seq || !hooks.root) return;
      hooks.list = list;
      drawList();
      if (focusId != null) {
        var card = hooks.root.querySelector('.webhook[data-id="' + focusId + '"] h4');
        if (card) card.focus();
      }
    }).catch(fail);
  }

  function drawWebhooks() {
    var root = hooks.root;
    root.textContent = "";
    hooks.listBox = el("div", { class: "webhook-list" });
    root.appendChild(el("section", { class: "webhooks-section", "aria-labelledby": "webhooks-title" },
      el("h3", { id: "webhooks-title" }, t("Webhook endpoints of site {site}", { site: C.site() })),
      el("p", { class: "hint" }, t("The service POSTs each event an endpoint subscribes to, signed with the endpoint's secret (Standard Webhooks), and retries what fails. An endpoint failing for a day is disabled.")),
      hooks.listBox));
    root.appendChild(addForm());
    drawList();
  }

  function drawList() {
    var box = hooks.listBox;
    if (!box) return;
    box.textContent = "";
    if (!hooks.list.length) {
      box.appendChild(el("p", { class: "empty webhooks-none" }, t("No webhook endpoints yet: add one below.")));
      return;
    }
    hooks.list.forEach(function (w) { box.appendChild(endpointCard(w)); });
  }

  function stateOf(w) {
    if (w.enabled && w.failing_since) {
      return { cls: "failing", label: t("Failing"),
               text: fill(t("Enabled, but failing since {when}: the service retries, and disables it after a day of failures."),
                          { when: when(w.failing_since) }) };
    }
    if (w.enabled) return { cls: "enabled", label: t("Enabled"), text: null };
    if (w.disabled_at) {
      var parts = { when: when(w.disabled_at), reason: w.disabled_reason || t("failing"), since: when(w.failing_since) };
      return { cls: "auto-disabled", label: t("Disabled by the service"),
               text: w.failing_since
                 ? fill(t("Disabled automatically {when} ({reason}), failing since {since}. Nothing is delivered to it; enable it once the receiver works again."), parts)
                 : fill(t("Disabled automatically {when} ({reason}). Nothing is delivered to it; enable it once the receiver works again."), parts) };
    }
    return { cls: "disabled", label: t("Disabled"), text: t("Disabled by an admin: nothing is delivered to it.") };
  }

  function endpointCard(w) {
    var state = stateOf(w);
    var titleId = fid("wh-title");
    var logId = fid("wh-log");
    var logBox = el("div", { class: "webhook-log", id: logId, hidden: !hooks.open[w.id] });
    var logButton = el("button", { type: "button", "aria-expanded": hooks.open[w.id] ? "true" : "false",
                                   "aria-controls": logId, on: { click: function () {
                                     var show = logButton.getAttribute("aria-expanded") !== "true";
                                     hooks.open[w.id] = show;
                                     logButton.setAttribute("aria-expanded", show ? "true" : "false");
                                     logBox.hidden = !show;
                                     if (show) loadLog(w, logBox);
                                   } } }, t("Delivery log"));
    var card = el("article", { class: "webhook card state-" + state.cls, "data-id": String(w.id),
                               "data-state": state.cls, "aria-labelledby": titleId },
      el("div", { class: "webhook-head" },
         el("h4", { id: titleId, tabindex: "-1" }, el("code", { class: "webhook-url" }, w.url)),
         el("span", { class: "webhook-state" }, state.label)),
      state.text ? el("p", { class: "webhook-note" }, state.text) : null,
      w.description ? el("p", { class: "webhook-description" }, w.description) : null,
      el("dl", { class: "webhook-facts" },
         el("dt", null, t("Events")),
         el("dd", null, el("ul", { class: "webhook-types" }, w.event_types.map(function (type) {
           return el("li", null, el("code", null, type));
         }))),
         el("dt", null, t("Last success")), el("dd", null, when(w.last_success_at)),
         el("dt", null, t("Added")), el("dd", null, w.created_by
           ? fill(t("{when} by {who}"), { when: when(w.created_at), who: w.created_by }) : when(w.created_at))),
      el("div", { class: "webhook-actions" },
         el("button", { type: "button", disabled: !w.enabled,
                        title: w.enabled ? null : t("Enable the endpoint to send it a test event"),
                        on: { click: function () { sendTest(w, logBox, logButton); } } }, t("Send test event")),
         logButton,
         el("button", { type: "button", on: { click: function () { setEnabled(w, !w.enabled); } } },
            w.enabled ? t("Disable") : t("Enable")),
         el("button", { type: "button", on: { click: function () { rotate(w); } } }, t("Rotate secret")),
         el("button", { type: "button", class: "danger", on: { click: function () { remove(w); } } }, t("Delete"))),
      logBox);
    if (hooks.open[w.id]) loadLog(w, logBox);
    return card;
  }

  // ------------------------------------------------------------------ the delivery log
  function loadLog(w, box, quiet) {
    if (!quiet) {
      box.setAttribute("aria-busy", "true");
      if (!box.firstChild) box.appendChild(el("p", { class: "muted" }, t("Loading the delivery log…")));
    }
    return C.api("GET", "/webhooks/" + w.id + "/attempts", { params: { limit: LOG_LIMIT } }).then(function (rows) {
      drawLog(w, box, rows);
      return rows;
    }).catch(function (err) {
      box.removeAttribute("aria-busy");
      box.textContent = "";
      box.appendChild(el("p", { class: "error", role: "alert" },
                         t("The delivery log could not be loaded: {error}", { error: err.detail || err.message })));
      return null;
    });
  }

  function drawLog(w, box, rows) {
    box.removeAttribute("aria-busy");
    box.textContent = "";
    var refresh = el("button", { type: "button", class: "link", on: { click: function () { loadLog(w, box); } } },
                     t("Refresh"));
    var head = el("p", { class: "webhook-log-head" }, el("strong", null, t("Delivery log")),
                  " · ", tn(LOG_LIMIT, "the last {n} attempt, newest first", "the last {n} attempts, newest first"),
                  " · ", refresh);
    box.appendChild(head);
    if (!rows.length) {
      box.appendChild(el("p", { class: "muted webhook-log-empty" }, t("No delivery attempts yet.")));
      return;
    }
    box.appendChild(el("div", { class: "table-wrap" }, el("table", { class: "webhook-attempts" },
      el("caption", { class: "sr-only" }, t("Delivery attempts to {url}", { url: w.url })),
      el("thead", null, el("tr", null, [t("Time"), t("Event"), t("Attempt"), t("Status"), t("Latency (ms)"), t("Error")].map(function (h) {
        return el("th", { scope: "col" }, h);
      }))),
      el("tbody", null, rows.map(function (a) {
        var ok = !a.error;
        return el("tr", { class: ok ? "ok" : "failed", "data-attempt-id": String(a.id) },
          el("td", null, el("time", { datetime: a.created_at, title: C.fmt.ago(a.created_at) }, C.fmt.time(a.created_at))),
          el("td", null, el("code", null, a.event_type)),
          el("td", { class: "num" }, num(a.attempt)),
          el("td", { class: "num" }, a.status == null ? "–" : String(a.status)),
          el("td", { class: "num" }, num(a.latency_ms)),
          el("td", { class: ok ? "muted" : "error" }, ok ? "–" : a.error));
      })))));
  }

  // ------------------------------------------------------------------ actions
  // the test events already in the log are read first, so that the watch below knows the new one
  function testIds(w) {
    return C.api("GET", "/webhooks/" + w.id + "/attempts", { params: { limit: LOG_LIMIT } }).then(function (rows) {
      return rows.filter(function (a) { return a.event_type === TEST_TYPE; }).map(function (a) { return a.id; });
    }, function () { return []; });
  }

  function sendTest(w, box, logButton) {
    var mine = hooks.seq;
    testIds(w).then(function (before) {
      return C.api("POST", "/webhooks/" + w.id + "/test").then(function (queued) {
        C.toast(t("Test event queued (webhook-id {id}): the notifier sends it within seconds.", { id: queued.webhook_id }));
        if (mine !== hooks.seq) return;
        hooks.open[w.id] = true;
        logButton.setAttribute("aria-expanded", "true");
        box.hidden = false;
        watch(w, before);
      });
    }).catch(function (err) {
      fail(err);
      if (err.code === "webhook_disabled" || err.code === "webhook_not_found") reloadWebhooks();
    });
  }

  // the log read again until the test event's attempt is in it (or a while has passed); the
  // endpoint's health is drawn again then. The card is looked up each turn: a redraw replaces it.
  function watch(w, before) {
    clearTimeout(hooks.watch);
    var mine = hooks.seq;
    var tries = 0;
    function turn() {
      var box = hooks.root && hooks.root.querySelector('.webhook[data-id="' + w.id + '"] .webhook-log');
      if (mine !== hooks.seq || !box) return;
      loadLog(w, box, tries > 0).then(function (rows) {
        if (mine !== hooks.seq) return;
        var fresh = (rows || []).filter(function (a) { return a.event_type === TEST_TYPE && before.indexOf(a.id) < 0; });
        if (fresh.length) {
          var error = fresh[0].error;
          C.toast(error ? t("The test event could not be delivered ({error}): see the delivery log.", { error: error })
                        : t("The test event was delivered: see the delivery log."), error ? { error: true } : undefined);
          refreshEndpoint(w.id);
          return;
        }
        if (++tries < WATCH_TRIES) hooks.watch = setTimeout(turn, WATCH_MS);
      });
    }
    turn();
  }

  // one endpoint's card drawn again from the list as it now stands, its log kept open
  function refreshEndpoint(id) {
    var mine = hooks.seq;
    C.api("GET", "/webhooks").then(function (list) {
      if (mine !== hooks.seq || !hooks.root) return;
      hooks.list = list;
      var fresh = list.filter(function (w) { return w.id === id; })[0];
      var old = hooks.root.querySelector('.webhook[data-id="' + id + '"]');
      if (!fresh || !old) { drawList(); return; }
      var focused = old.contains(document.activeElement) ? document.activeElement.textContent : null;
      var card = endpointCard(fresh);
      old.replaceWith(card);
      if (focused) {
        var again = Array.prototype.filter.call(card.querySelectorAll("button"), function (b) {
          return b.textContent === focused;
        })[0];
        if (again) again.focus();
      }
    }).catch(fail);
  }

  function setEnabled(w, enabled) {
    var go = enabled ? Promise.resolve(true)
      : C.confirm(t("Events waiting for it are dropped, and nothing more is sent until it is enabled again."),
                  { title: t("Disable the endpoint {url}?", { url: w.url }), danger: true, confirmLabel: t("Disable") });
    go.then(function (ok) {
      if (!ok) return;
      C.api("PATCH", "/webhooks/" + w.id, { body: { enabled: enabled } }).then(function () {
        C.toast(enabled ? t("Endpoint enabled.") : t("Endpoint disabled."));
        return reloadWebhooks(w.id);
      }).catch(fail);
    });
  }

  function rotate(w) {
    C.confirm(t("Every delivery from now on, retries included, is signed with the new secret: give it to the receiver right away. The new secret is shown once."),
              { title: t("Rotate the signing secret of {url}?", { url: w.url }), danger: true, confirmLabel: t("Rotate") })
      .then(function (ok) {
        if (!ok) return;
        C.api("POST", "/webhooks/" + w.id + "/rotate-secret").then(function (made) {
          return reloadWebhooks(w.id).then(function () {
            showOnce(t("New signing secret"), made.secret, made.endpoint.url,
                     t("The receiver checks each delivery's webhook-signature with this secret from now on."));
          });
        }).catch(fail);
      });
  }

  function remove(w) {
    C.confirm(t("Its delivery log and the events still waiting for it go with it. This cannot be undone."),
              { title: t("Delete the endpoint {url}?", { url: w.url }), danger: true, confirmLabel: t("Delete") })
      .then(function (ok) {
        if (!ok) return;
        C.api("DELETE", "/webhooks/" + w.id).then(function () {
          delete hooks.open[w.id];
          C.toast(t("Endpoint deleted."));
          return reloadWebhooks();
        }).catch(fail);
      });
  }

  // ------------------------------------------------------------------ a secret, shown once
  function showOnce(title, secret, url, note) {
    if (!hooks.once) {
      hooks.once = el("dialog", { id: "webhook-once", class: "once", "aria-labelledby": "webhook-once-title" });
      document.body.appendChild(hooks.once);
    }
    var d = hooks.once;
    d.textContent = "";
    var field = el("input", { id: "webhook-once-value", readonly: true, value: secret, spellcheck: "false",
                              autocomplete: "off", class: "once-value", "aria-describedby": "webhook-once-note" });
    var copied = el("span", { class: "muted", role: "status" });
    var opener = document.activeElement;
    function forget() { field.value = ""; d.textContent = ""; }
    d.appendChild(el("div", { class: "ask" },
      el("h2", { id: "webhook-once-title" }, title),
      el("p", null, fill(t("Endpoint {url}"), { url: el("code", null, url) })),
      el("p", { id: "webhook-once-note" }, note + " " + t("It is shown this once: copy it now. The service keeps it sealed and never shows it again; rotate it if it is lost.")),
      el("label", { for: "webhook-once-value" }, t("Signing secret")), field,
      el("div", { class: "ask-buttons" }, copied,
         el("button", { type: "button", on: { click: function () {
           field.select();
           var done = function () { copied.textContent = t("Copied."); };
           if (navigator.clipboard && navigator.clipboard.writeText) {
             navigator.clipboard.writeText(secret).then(done, function () { copied.textContent = t("Select it and copy (Ctrl+C)."); });
           } else { copied.textContent = t("Select it and copy (Ctrl+C)."); }
         } } }, t("Copy")),
         el("button", { type: "button", class: "primary", on: { click: function () { d.close(); forget(); } } },
            t("Done")))));
    d.addEventListener("close", function closed() {
      d.removeEventListener("close", closed);
      forget();
      var back = opener && document.contains(opener) ? opener
        : hooks.root && hooks.root.querySelector(".webhook h4");
      if (back && back.focus) back.focus();
    });
    d.showModal();
    field.focus();
    field.select();
  }

  // ------------------------------------------------------------------ the form to add an endpoint
  function addForm() {
    var urlId = fid("wh-url"), descId = fid("wh-desc"), legendId = fid("wh-types");
    var url = el("input", { type: "url", id: urlId, name: "url", required: true, maxlength: 2048, spellcheck: "false",
                            autocomplete: "off", placeholder: "https://hooks.example/comments" });
    var urlHint = el("small", { class: "hint", id: urlId + "-help" },
                     t("https:// on a public host, without a user name, password or #fragment."));
    var urlSlot = errorSlot("url", [url]);
    describe(url, [urlHint.id, urlSlot.id]);
    var boxes = hooks.types.map(function (type) {
      var id = fid("wh-type");
      var box = el("input", { type: "checkbox", id: id, name: "event_types", value: type });
      return { type: type, input: box, row: el("li", { class: "field-checkbox" }, box,
        el("label", { for: id }, el("code", null, type),
           Object.prototype.hasOwnProperty.call(TYPE_WORDS, type) ? " " + TYPE_WORDS[type]() : null)) };
    });
    var typesSlot = errorSlot("event_types", boxes.length ? [boxes[0].input] : [], t("Choose at least one event."));
    var desc = el("input", { type: "text", id: descId, name: "description", maxlength: 500, autocomplete: "off" });
    var descSlot = errorSlot("description", [desc]);
    describe(desc, [descSlot.id]);
    var submit = el("button", { type: "submit", class: "primary" }, t("Add endpoint"));
    var form = el("form", { class: "webhook-add card", novalidate: true, "aria-labelledby": "webhook-add-title",
                            on: { submit: function (ev) {
                              ev.preventDefault();
                              create(form, submit, url, boxes, desc);
                            } } },
      el("h3", { id: "webhook-add-title" }, t("Add an endpoint")),
      el("div", { class: "field" }, el("label", { for: urlId }, t("URL")), url, urlHint, urlSlot),
      el("fieldset", { class: "webhook-types-field", "aria-describedby": typesSlot.id },
         el("legend", { id: legendId }, t("Events to send")),
         el("ul", { class: "webhook-type-choices" }, boxes.map(function (b) { return b.row; })), typesSlot),
      el("div", { class: "field" }, el("label", { for: descId }, t("Description"), " ",
                                       el("span", { class: "muted" }, t("(optional: what it is for)"))), desc, descSlot),
      el("div", { class: "webhook-add-actions" }, submit));
    return form;
  }

  function create(form, submit, url, boxes, desc) {
    clearErrors(form);
    var types = boxes.filter(function (b) { return b.input.checked; }).map(function (b) { return b.type; });
    var body = { url: url.value.trim(), event_types: types };
    if (desc.value.trim()) body.description = desc.value.trim();
    submit.disabled = true;
    var mine = hooks.seq;
    C.api("POST", "/webhooks", { body: body }).then(function (made) {
      submit.disabled = false;
      if (mine !== hooks.seq) return;
      url.value = ""; desc.value = "";
      boxes.forEach(function (b) { b.input.checked = false; });
      C.toast(t("Endpoint added."));
      return reloadWebhooks(made.endpoint.id).then(function () {
        showOnce(t("Signing secret of the new endpoint"), made.secret, made.endpoint.url,
                 t("The receiver checks each delivery's webhook-signature with this secret."));
      });
    }).catch(function (err) {
      submit.disabled = false;
      // "no event type" is refused as a malformed request: the message says so
      var byCode = { invalid_webhook_url: "url", unknown_event_type: "event_types" };
      if (!showFieldError(form, err, byCode)) {
        if (/event type/i.test(err.detail || "") && showFieldError(form, err, { invalid_request: "event_types" })) return;
        if (/description/i.test(err.detail || "") && showFieldError(form, err, { invalid_request: "description" })) return;
        fail(err);
      }
    });
  }

  function leaveWebhooks() {
    clearTimeout(hooks.watch);
    hooks.root = null;
    hooks.listBox = null;
    hooks.seq++;
  }

  C.view("webhooks", { title: function () { return t("Webhooks"); }, order: 65, key: "g w", admin: true, render: renderWebhooks,
                       leave: leaveWebhooks });
  C.keys("webhooks", [
    ["n", function () { return t("Add an endpoint (focus its URL field)"); }, function () {
      var field = hooks.root && hooks.root.querySelector(".webhook-add input[name=url]");
      if (field) field.focus();
    }],
  ]);
  C.keys("alerts", [
    ["e", function () { return t("Focus the email address"); }, function () { if (alerts.ui.email) alerts.ui.email.focus(); }],
  ]);
})();
