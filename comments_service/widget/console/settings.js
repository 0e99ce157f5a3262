// The settings view (#/settings, admins): the site's moderation policy and what readers may do, as a
// form with the current values (per-label thresholds, fail closed, word lists, guests, new accounts,
// images, the edit window, allowed origins), saved in one PATCH /sites/{site} (the server checks it
// whole and names a bad value: it is shown by its field). "Try a text" runs a text through the
// form's unsaved values (POST /sites/{site}/try: a dry run, nothing stored) and says what would
// happen and why; after each change of the form the last text is tried again.
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var t = C.t, tn = C.tn;
  var RETRY_MS = 700;  // after the last change of the form, the last text is tried again
  // domain/policy.LinkRules' defaults: the policy view does not send them
  var LINK_DEFAULTS = { max_links: 2, hold_new_authors: true };
  // domain/policy.SurgeRules' defaults, likewise
  var SURGE_DEFAULTS = { enabled: true, new_accounts: 10, window_minutes: 10, new_account_hours: 24,
                         cooldown_minutes: 30 };
  var SURGE_NUMBERS = ["new_accounts", "window_minutes", "new_account_hours", "cooldown_minutes"];

  var root = null;
  var site = null;     // GET /sites/{id}
  var policy = null;   // GET /sites/{id}/policy
  var state = null;    // the form's values
  var saved = null;    // JSON of the values last loaded or saved
  var ui = {};
  var retryTimer = null;
  var trySeq = 0;
  var seq = 0;         // a re-render drops the answers of the one before

  function fail(err) {
    if (err) C.toast(err.detail || err.message || String(err), { error: true });
  }

  function copy(x) { return JSON.parse(JSON.stringify(x)); }

  function outcomeWord(outcome) {
    switch (outcome) {
      case "published": return t("Published");
      case "held": return t("Held for a moderator");
      case "rejected": return t("Rejected");
      default: return outcome;
    }
  }

  // the model's label codes (domain/policy.DEFAULT_THRESHOLDS), in words; an unknown one as it is
  function labelName(label) {
    switch (label) {
      case "toxicity": return t("toxicity");
      case "severe_toxicity": return t("severe toxicity");
      case "obscene": return t("obscene");
      case "threat": return t("threat");
      case "insult": return t("insult");
      case "identity_attack": return t("identity attack");
      case "sexual_explicit": return t("sexual explicit");
      default: return label.replace(/_/g, " ");
    }
  }

  function num(n) { return new Intl.NumberFormat(C.locale).format(n); }

  // ------------------------------------------------------------------ values
  function thresholdsOf(defaults, stored) {
    var out = {};
    Object.keys(defaults).forEach(function (label) { out[label] = { hold: defaults[label].hold, reject: defaults[label].reject }; });
    Object.keys(stored || {}).forEach(function (label) {
      var v = stored[label];
      if (v === null) { out[label] = { hold: null, reject: null }; return; }
      var base = out[label] || { hold: null, reject: null };
      out[label] = { hold: "hold" in v ? v.hold : base.hold, reject: "reject" in v ? v.reject : base.reject };
    });
    return out;
  }

  function valuesOf(info, view) {
    var s = info.settings || {};
    var m = s.moderation || {};
    var d = view.defaults;
    var th = thresholdsOf(d.thresholds, m.thresholds);
    view.labels.forEach(function (label) { if (!th[label]) th[label] = { hold: null, reject: null }; });
    return {
      thresholds: th,
      fallback: thresholdsOf(d.fallback_thresholds, m.fallback_thresholds),
      failClosed: typeof m.fail_closed === "boolean" ? m.fail_closed : d.fail_closed,
      banned: (m.banned_words || []).slice(),
      suspect: (m.suspect_words || []).slice(),
      defaultLists: m.default_word_lists !== false,
      guests: !!info.guests,
      premodGuests: !!m.premoderate_guests,
      newAccount: typeof m.new_account_hold_first === "number" ? m.new_account_hold_first : d.new_account_hold_first,
      recentRejections: typeof m.hold_after_recent_rejections === "number" ? m.hold_after_recent_rejections
        : d.hold_after_recent_rejections,
      images: !!info.images,
      editWindow: typeof s.edit_window_seconds === "number" ? s.edit_window_seconds : null,
      origins: (info.origins || []).slice(),
      linksDeny: ((m.links || {}).deny_domains || []).slice(),
      linksAllow: ((m.links || {}).allow_domains || []).slice(),
      linksMax: typeof (m.links || {}).max_links === "number" ? m.links.max_links : LINK_DEFAULTS.max_links,
      linksHoldNew: typeof (m.links || {}).hold_new_authors === "boolean" ? m.links.hold_new_authors
        : LINK_DEFAULTS.hold_new_authors,
      surge: Object.assign({}, SURGE_DEFAULTS, m.surge || {}),
    };
  }

  // the surge rule's object, or null where it says what the defaults say (domain/policy.SurgeRules)
  function surgeDraft() {
    var out = {};
    Object.keys(SURGE_DEFAULTS).forEach(function (k) {
      if (state.surge[k] !== SURGE_DEFAULTS[k]) out[k] = state.surge[k];
    });
    return Object.keys(out).length ? out : null;
  }

  // the link rules' object, or null where it says what the defaults say (domain/policy.LinkRules)
  function linksDraft() {
    var out = {};
    if (state.linksDeny.length) out.deny_domains = state.linksDeny.slice();
    if (state.linksAllow.length) out.allow_domains = state.linksAllow.slice();
    if (state.linksMax !== LINK_DEFAULTS.max_links) out.max_links = state.linksMax;
    if (state.linksHoldNew !== LINK_DEFAULTS.hold_new_authors) out.hold_new_authors = state.linksHoldNew;
    return Object.keys(out).length ? out : null;
  }

  function thresholdDiff(current, defaults) {
    var out = {};
    Object.keys(current).forEach(function (label) {
      var c = current[label], d = defaults[label] || { hold: null, reject: null };
      if (c.hold !== d.hold || c.reject !== d.reject) out[label] = { hold: c.hold, reject: c.reject };
    });
    return Object.keys(out).length ? out : null;
  }

  // The moderation object as PATCH /sites/{site} merges it: every key the form shows, null where
  // the form says what the default says (the stored key goes, the default applies)
  function moderationDraft() {
    var d = policy.defaults;
    return {
      thresholds: thresholdDiff(state.thresholds, d.thresholds),
      fallback_thresholds: thresholdDiff(state.fallback, d.fallback_thresholds),
      fail_closed: state.failClosed === d.fail_closed ? null : state.failClosed,
      banned_words: state.banned.length ? state.banned.slice() : null,
      suspect_words: state.suspect.length ? state.suspect.slice() : null,
      default_word_lists: state.defaultLists ? null : false,
      premoderate_guests: state.premodGuests ? true : null,
      new_account_hold_first: state.newAccount === d.new_account_hold_first ? null : state.newAccount,
      hold_after_recent_rejections: state.recentRejections === d.hold_after_recent_rejections ? null
        : state.recentRejections,
      links: linksDraft(),
      surge: surgeDraft(),
    };
  }

  // what a save sends: a policy key the site never set and the form leaves at its default is not
  // sent, so that saving something else writes no empty policy
  function patchBody() {
    var stored = (site.settings && site.settings.moderation) || {};
    var draft = moderationDraft();
    Object.keys(draft).forEach(function (k) { if (draft[k] === null && !(k in stored)) delete draft[k]; });
    var body = { guests: state.guests, images: state.images, origins: state.origins.slice() };
    if (Object.keys(draft).length) body.moderation = draft;
    if (state.editWindow !== null || "edit_window_seconds" in (site.settings || {})) {
      body.edit_window_seconds = state.editWindow;
    }
    return body;
  }

  function dirty() { return state && JSON.stringify(state) !== saved; }

  function changed() {
    clearErrors();
    ui.unsaved.textContent = dirty() ? t("Unsaved changes: the try box uses them.") : t("All changes saved.");
    ui.discard.disabled = ui.save.disabled = !dirty();
    clearTimeout(retryTimer);
    if (ui.tryText && ui.tryText.value.trim() && ui.lastTried) retryTimer = setTimeout(runTry, RETRY_MS);
  }

  // ------------------------------------------------------------------ layout
  // Ctrl+S saves, in a field too (the shell's shortcuts stay quiet in fields and ignore Ctrl)
  function onCtrlS(ev) {
    if (!(ev.ctrlKey || ev.metaKey) || ev.altKey || (ev.key !== "s" && ev.key !== "S")) return;
    if (document.querySelector("dialog[open]")) return;
    ev.preventDefault();
    save();
  }

  function render(container) {
    root = container;
    document.removeEventListener("keydown", onCtrlS);
    document.addEventListener("keydown", onCtrlS);
    var mine = ++seq;
    ui = {};
    state = null;
    container.appendChild(el("p", { class: "muted" }, t("Loading the site's settings…")));
    var siteId = C.site();
    if (!siteId) {
      container.textContent = "";
      container.appendChild(el("p", { class: "empty" }, t("Pick a site in the header to see its settings.")));
      return;
    }
    Promise.all([C.api("GET", "/sites/" + encodeURIComponent(siteId), { params: { site: null } }),
                 C.api("GET", "/sites/" + encodeURIComponent(siteId) + "/policy", { params: { site: null } })])
      .then(function (got) {
        if (mine !== seq || root !== container) return;
        site = got[0]; policy = got[1];
        state = valuesOf(site, policy);
        saved = JSON.stringify(state);
        draw(container);
      }).catch(function (err) {
        if (mine !== seq) return;
        container.textContent = "";
        container.appendChild(el("p", { class: "error", role: "alert" }, t("The settings could not be loaded: {error}",
                                                                         { error: err.detail || err.message })));
      });
  }

  function draw(container) {
    // the try box keeps its text across a redraw (a save, a discard) and tries it again
    var kept = ui.tryText ? { text: ui.tryText.value, who: ui.tryWho.value } : null;
    container.textContent = "";
    var form = el("form", { class: "settings-form", novalidate: true, "aria-labelledby": "settings-title",
                            on: { submit: function (ev) { ev.preventDefault(); save(); } } });
    form.appendChild(el("h3", { id: "settings-title" },
                        t("Settings of {name} ({id})", { name: site.name, id: site.id })));
    if (site.settings_problem) {
      form.appendChild(el("p", { class: "error", role: "alert" },
        t("The stored settings are not valid: {problem}. Correct them here and save.", { problem: site.settings_problem })));
    }
    form.appendChild(thresholdSection());
    form.appendChild(wordSection());
    form.appendChild(linkSection());
    form.appendChild(surgeSection());
    form.appendChild(readerSection());
    form.appendChild(originSection());
    ui.save = el("button", { type: "submit", class: "primary", "aria-keyshortcuts": "Control+S s", disabled: true },
                 t("Save"), " ", el("kbd", { text: "s" }));
    ui.discard = el("button", { type: "button", disabled: true, on: { click: discard } }, t("Discard changes"));
    ui.unsaved = el("span", { class: "muted", role: "status" }, t("All changes saved."));
    form.appendChild(el("div", { class: "settings-actions" }, ui.save, ui.discard, ui.unsaved));
    ui.form = form;
    container.appendChild(el("div", { class: "settings-layout" }, form, tryPanel()));
    if (kept) {
      ui.tryText.value = kept.text;
      ui.tryWho.value = kept.who;
      if (kept.text.trim()) runTry();
    }
  }

  var fieldSeq = 0;
  function fid(name) { return "set-" + name.replace(/[^a-z0-9]+/gi, "-") + "-" + (++fieldSeq); }

  // a field's place for the server's message: data-key names the setting as the server names it
  function errorSlot(key, describes) {
    var id = fid("err");
    var slot = el("p", { class: "field-error error", id: id, "data-key": key, hidden: true });
    slot._inputs = describes;
    return slot;
  }

  function check(name, label, help, get, set) {
    var id = fid(name);
    var input = el("input", { type: "checkbox", id: id, checked: get(),
                              on: { change: function () { set(input.checked); changed(); } } });
    var hint = help ? el("small", { class: "hint", id: id + "-help" }, help) : null;
    if (hint) input.setAttribute("aria-describedby", hint.id);
    return el("div", { class: "field field-checkbox" }, input, el("label", { for: id }, label), hint);
  }

  function number(name, key, label, help, opts, get, set) {
    var id = fid(name);
    var input = el("input", { type: "number", id: id, min: opts.min, max: opts.max, step: opts.step || 1,
                              value: get() == null ? null : get(), placeholder: opts.placeholder, inputmode: "numeric",
                              on: { input: function () { set(input.value === "" ? null : Number(input.value)); changed(); } } });
    var slot = errorSlot(key, [input]);
    var hint = help ? el("small", { class: "hint", id: id + "-help" }, help) : null;
    input.setAttribute("aria-describedby", [hint && hint.id, slot.id].filter(Boolean).join(" "));
    return el("div", { class: "field" }, el("label", { for: id }, label), input, hint, slot);
  }

  function thresholdTable(caption, key, values, labels) {
    var rows = labels.map(function (label) {
      var cells = ["hold", "reject"].map(function (kind) {
        var id = fid(label + "-" + kind);
        var input = el("input", { type: "number", id: id, min: 0, max: 1, step: 0.01, inputmode: "decimal",
                                  class: "threshold", value: values[label][kind] == null ? null : values[label][kind],
                                  placeholder: t("off"),
                                  "aria-label": kind === "hold" ? t("{label} hold threshold", { label: labelName(label) })
                                    : t("{label} reject threshold", { label: labelName(label) }),
                                  "data-label": label, "data-kind": kind,
                                  on: { input: function () {
                                    values[label][kind] = input.value === "" ? null : Number(input.value);
                                    changed();
                                  } } });
        return el("td", null, input);
      });
      var slot = errorSlot(key + "." + label, []);
      slot._inputs = [cells[0].firstChild, cells[1].firstChild];
      return el("tr", null, el("th", { scope: "row" }, labelName(label)), cells, el("td", { class: "slot" }, slot));
    });
    var slot = errorSlot(key, []);
    return el("div", { class: "table-wrap" }, el("table", { class: "thresholds" },
      el("caption", null, caption),
      el("thead", null, el("tr", null, el("th", { scope: "col" }, t("Label")), el("th", { scope: "col" }, t("Hold at")),
                                el("th", { scope: "col" }, t("Reject at")),
                                el("th", { scope: "col" }, el("span", { class: "sr-only" }, t("Problems"))))),
      el("tbody", null, rows)), slot);
  }

  function section(title, hint, children) {
    var id = fid("sec");
    return el("section", { class: "settings-section card", "aria-labelledby": id },
              el("h4", { id: id }, title), hint ? el("p", { class: "hint" }, hint) : null, children);
  }

  function thresholdSection() {
    var modelLine = t("No scoring worker has reported in the last two minutes.");
    if (policy.model_id && policy.model_is_fallback) {
      modelLine = t("The scoring workers use {model} (the offline fallback).", { model: policy.model_id });
    } else if (policy.model_id) {
      modelLine = t("The scoring workers use {model}.", { model: policy.model_id });
    }
    var fallbackLabels = Object.keys(state.fallback).sort();
    return section(t("Toxicity thresholds"),
      t("A comment whose score for a label reaches its reject threshold is rejected; one reaching its hold threshold waits for a moderator. Empty: off.") +
      " " + modelLine, [
      thresholdTable(t("The model's labels"), "moderation.thresholds", state.thresholds, policy.labels),
      thresholdTable(t("When only the offline fallback can score (fail closed off)"), "moderation.fallback_thresholds",
                     state.fallback, fallbackLabels),
      check("fail-closed", t("Fail closed: hold every comment the model cannot score"),
            t("Off: the offline fallback's scores are judged with the fallback thresholds instead."),
            function () { return state.failClosed; }, function (v) { state.failClosed = v; }),
      errorSlot("moderation.fail_closed", []),
    ]);
  }

  // ------------------------------------------------------------------ word lists (chips)
  function chips(name, key, label, list, help) {
    var id = fid(name);
    var listEl = el("ul", { class: "chips", "aria-label": t("{list}: current entries", { list: label }) });
    var input = el("input", { id: id, type: "text", maxlength: 200, autocomplete: "off", spellcheck: "false",
                              "aria-describedby": id + "-help",
                              on: { keydown: function (ev) { if (ev.key === "Enter") { ev.preventDefault(); add(); } } } });
    var slot = errorSlot(key, [input]);
    input.setAttribute("aria-describedby", id + "-help " + slot.id);
    function draw() {
      listEl.textContent = "";
      if (!list.length) listEl.appendChild(el("li", { class: "muted chip-none" }, t("none")));
      list.forEach(function (word, i) {
        listEl.appendChild(el("li", { class: "chip" }, el("span", null, word),
          el("button", { type: "button", class: "chip-remove", "aria-label": t("Remove {entry}", { entry: word }),
                         title: t("Remove"),
                         on: { click: function () {
                           list.splice(i, 1); draw(); changed();
                           var next = listEl.querySelectorAll(".chip-remove")[Math.min(i, list.length - 1)];
                           (next || input).focus();
                         } } }, "×")));
      });
    }
    function add() {
      var word = input.value.trim();
      if (!word) return;
      if (list.indexOf(word) < 0) list.push(word);
      input.value = "";
      draw(); changed();
    }
    draw();
    return el("div", { class: "field chips-field" }, el("label", { for: id }, label),
      el("div", { class: "chip-add" }, input, el("button", { type: "button", on: { click: add } }, t("Add"))),
      el("small", { class: "hint", id: id + "-help" }, help), listEl, slot);
  }

  function wordSection() {
    return section(t("Word lists"), t("The site's own entries, added to the built-in lists.") + " " +
      t("Matched as the policy matches: whole words, case and accents ignored, through spacing and look-alike letters; a trailing * matches any ending (idiot* matches idiots)."), [
      chips("banned", "moderation.banned_words", t("Banned (rejects the comment)"), state.banned,
            t("Type an entry and press Enter or Add.")),
      chips("suspect", "moderation.suspect_words", t("Suspect (holds it for a moderator)"), state.suspect,
            t("Type an entry and press Enter or Add.")),
      check("default-lists", t("Also use the built-in lists ({banned} banned, {suspect} suspect entries: slurs, incitement, profanity, threats)",
                               { banned: num(policy.defaults.banned_words.length),
                                 suspect: num(policy.defaults.suspect_words.length) }), null,
            function () { return state.defaultLists; }, function (v) { state.defaultLists = v; }),
    ]);
  }

  function linkSection() {
    return section(t("Links"),
      t("Links to a denied domain (or a look-alike spelling of it) are rejected for everyone but moderators. From readers who are not trusted, links to URL shorteners or raw addresses, more links than the limit, and any link from a new account wait for a moderator. Allowed domains and the site's own origins never count; a domain covers its subdomains."), [
      chips("links-deny", "moderation.links.deny_domains", t("Denied domains (reject)"), state.linksDeny,
            t("A domain such as casino.example; press Enter or Add.")),
      chips("links-allow", "moderation.links.allow_domains", t("Allowed domains (never held for their links)"),
            state.linksAllow, t("Your usual sources, such as a news agency or a ministry.")),
      number("links-max", "moderation.links.max_links", t("Most links before a comment waits"),
             t("0: any link that counts holds the comment."), { min: 0, max: 50 },
             function () { return state.linksMax; },
             function (v) { state.linksMax = v == null ? LINK_DEFAULTS.max_links : v; }),
      check("links-new", t("Hold every link from a new account"), null,
            function () { return state.linksHoldNew; }, function (v) { state.linksHoldNew = v; }),
    ]);
  }

  function surgeSection() {
    var words = { new_accounts: [t("New accounts that start a surge"),
                                 t("Distinct new accounts (guests, and accounts younger than below) commenting on one article within the window."), 2, 1000],
                  window_minutes: [t("Within (minutes)"), null, 1, 1440],
                  new_account_hours: [t("An account is new for (hours)"), null, 1, 8760],
                  cooldown_minutes: [t("The surge ends after (quiet minutes)"), null, 1, 1440] };
    return section(t("Surges of new accounts"),
      t("When many new accounts comment on one article at once, new accounts' comments there wait for a moderator until it has been quiet for a while. Moderators with email alerts are told, and the console shows a banner."), [
      check("surge-enabled", t("Hold new accounts' comments on an article in a surge"), null,
            function () { return state.surge.enabled; }, function (v) { state.surge.enabled = v; }),
    ].concat(SURGE_NUMBERS.map(function (k) {
      var w = words[k];
      return number("surge-" + k.replace(/_/g, "-"), "moderation.surge." + k, w[0], w[1], { min: w[2], max: w[3] },
                    function () { return state.surge[k]; },
                    function (v) { state.surge[k] = v == null ? SURGE_DEFAULTS[k] : v; });
    })));
  }

  function readerSection() {
    var win = policy.defaults.edit_window_seconds;
    return section(t("Readers"), null, [
      check("guests", t("Guests may comment without signing in"), null,
            function () { return state.guests; }, function (v) { state.guests = v; }),
      check("premod-guests", t("Hold guests' comments for a moderator"), null,
            function () { return state.premodGuests; }, function (v) { state.premodGuests = v; }),
      number("new-account", "moderation.new_account_hold_first", t("Hold a new account's first comments"),
             t("How many of a new account's comments wait for a moderator (0: none)."), { min: 0, max: 10000 },
             function () { return state.newAccount; }, function (v) { state.newAccount = v == null ? 0 : v; }),
      number("recent-rejections", "moderation.hold_after_recent_rejections", t("Hold after recent rejections"),
             t("Hold a reader's comments once this many of theirs were rejected lately (0: never)."), { min: 0, max: 10000 },
             function () { return state.recentRejections; }, function (v) { state.recentRejections = v == null ? 0 : v; }),
      check("images", t("Comments may show images"),
            t("Images load from their authors' hosts: each reader's address reaches those hosts."),
            function () { return state.images; }, function (v) { state.images = v; }),
      number("edit-window", "edit_window_seconds", t("Edit window (minutes)"),
             tn(Math.round(win / 60), "How long an author may edit or delete a comment. Empty: the service's {n} minute.",
                "How long an author may edit or delete a comment. Empty: the service's {n} minutes."),
             { min: 0, max: 10080, placeholder: String(Math.round(win / 60)) },
             function () { return state.editWindow == null ? null : Math.round(state.editWindow / 60); },
             function (v) { state.editWindow = v == null ? null : Math.round(v * 60); }),
    ]);
  }

  function originSection() {
    return section(t("Allowed origins"), t("The sites the comment widget may be embedded on, as scheme://host[:port]."), [
      chips("origins", "origins", t("Origins"), state.origins, t("For example https://news.example. Type and press Enter.")),
    ]);
  }

  // ------------------------------------------------------------------ errors by their field
  function clearErrors() {
    if (!root) return;
    Array.prototype.forEach.call(root.querySelectorAll(".field-error"), function (slot) {
      slot.hidden = true; slot.textContent = "";
      (slot._inputs || []).forEach(function (i) { i.removeAttribute("aria-invalid"); });
    });
  }

  // the server names the setting ("Invalid site setting moderation.thresholds.toxicity.hold: …", or
  // errors[].key "$.edit_window_seconds"): the slot whose key is the longest prefix of it shows it
  function showError(err) {
    var key = null;
    var m = /^Invalid site setting ([A-Za-z0-9_.]+)/.exec(err.detail || "");
    if (m) key = m[1];
    else if (err.body && err.body.errors && err.body.errors[0]) key = String(err.body.errors[0].key || "").replace(/^\$\./, "");
    var best = null;
    if (key) {
      Array.prototype.forEach.call(root.querySelectorAll(".field-error"), function (slot) {
        var k = slot.getAttribute("data-key");
        if ((key === k || key.indexOf(k + ".") === 0 || key.indexOf(k + "[") === 0) &&
            (!best || k.length > best.getAttribute("data-key").length)) best = slot;
      });
    }
    if (!best) { fail(err); return; }
    best.textContent = err.detail || err.message;
    best.hidden = false;
    var inputs = best._inputs || [];
    var kind = key.split(".").pop();
    var target = inputs.filter(function (i) { return i.getAttribute("data-kind") === kind; })[0] || inputs[0];
    inputs.forEach(function (i) { i.setAttribute("aria-invalid", "true"); });
    if (!target) { best.setAttribute("tabindex", "-1"); target = best; }
    target.focus();
    C.toast(t("Not saved: {error}", { error: err.detail || err.message }), { error: true });
  }

  // ------------------------------------------------------------------ save
  function save() {
    if (!state || !ui.save) return;
    if (!dirty()) { C.toast(t("Nothing to save.")); return; }
    ui.save.disabled = true;
    C.api("PATCH", "/sites/" + encodeURIComponent(site.id), { params: { site: null }, body: patchBody() })
      .then(function (answer) {
        site = Object.assign({}, site, { settings: answer.settings, origins: answer.origins, guests: answer.guests,
                                         images: answer.images, settings_problem: null });
        state = valuesOf(site, policy);
        saved = JSON.stringify(state);
        draw(root);
        C.toast(t("Settings saved."));
      }).catch(function (err) {
        ui.save.disabled = false;
        showError(err);
      });
  }

  function discard() {
    state = JSON.parse(saved);
    draw(root);
    C.toast(t("Changes discarded."));
  }

  // ------------------------------------------------------------------ try a text
  function tryPanel() {
    var textId = fid("try-text"), whoId = fid("try-who");
    ui.tryText = el("textarea", { id: textId, rows: 5, maxlength: policy.max_text_chars,
                                  "aria-keyshortcuts": "t", "aria-describedby": textId + "-help",
                                  on: { keydown: function (ev) {
                                    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); runTry(); }
                                  } } });
    ui.tryWho = el("select", { id: whoId },
                   el("option", { value: "established" }, t("an established reader")),
                   el("option", { value: "new" }, t("a new account (its first comment)")),
                   el("option", { value: "guest" }, t("a guest")));
    ui.tryResult = el("div", { class: "try-result", "aria-live": "polite" });
    ui.lastTried = null;
    var form = el("form", { class: "try card", "aria-labelledby": "try-title",
                            on: { submit: function (ev) { ev.preventDefault(); runTry(); } } },
      el("h3", { id: "try-title" }, t("Try a text")),
      el("p", { class: "hint", id: textId + "-help" },
         t("A dry run through the policy as this form sets it, saved or not: nothing is stored. Ctrl+Enter tries it.")),
      el("label", { for: textId }, t("Text")), ui.tryText,
      el("label", { for: whoId }, t("Written by")), ui.tryWho,
      el("div", null, el("button", { type: "submit", class: "primary" }, t("Try it"))),
      ui.tryResult);
    return form;
  }

  function runTry() {
    clearTimeout(retryTimer);
    var text = ui.tryText && ui.tryText.value.trim();
    if (!text) { ui.tryText && ui.tryText.focus(); return; }
    var mine = ++trySeq;
    ui.lastTried = text;
    ui.tryResult.setAttribute("aria-busy", "true");
    C.api("POST", "/sites/" + encodeURIComponent(site.id) + "/try", {
      params: { site: null }, body: { text: text, moderation: moderationDraft(), author: ui.tryWho.value } })
      .then(function (r) { if (mine === trySeq) showTry(r); })
      .catch(function (err) {
        if (mine !== trySeq) return;
        ui.tryResult.removeAttribute("aria-busy");
        ui.tryResult.textContent = "";
        ui.tryResult.appendChild(el("p", { class: "error" }, err.detail || err.message));
      });
  }

  function showTry(r) {
    var box = ui.tryResult;
    box.removeAttribute("aria-busy");
    box.textContent = "";
    box.appendChild(el("p", { class: "try-outcome outcome-" + r.outcome, "data-outcome": r.outcome },
                       el("strong", null, outcomeWord(r.outcome)), " · ", el("code", null, r.reason),
                       dirty() ? el("span", { class: "muted" }, " ", t("(with unsaved changes)")) : null));
    // the server's own words: what decided it, and a note on the scorer
    box.appendChild(el("p", { class: "try-why" }, r.explanation));
    var by = r.scored_by === "fallback" ? t("Scored by the offline fallback")
      : r.scored_by === "none" ? t("Scored by nothing (word lists and rules only)")
      : t("Scored by the model {model}", { model: r.scored_by });
    box.appendChild(el("p", { class: "hint try-by" }, by + (r.note ? ". " + r.note : "")));
    if (r.language) {
      var names = window.Intl && Intl.DisplayNames ? new Intl.DisplayNames([C.locale], { type: "language" }) : null;
      var name = (names && names.of(r.language)) || r.language;
      box.appendChild(el("p", { class: "hint try-language", "data-language": r.language },
                         r.language_unscored
                           ? t("Written in {language}, which no model here reads: the site's language rule applies, and the scores may hold it but never reject it.", { language: name })
                           : t("Written in {language}.", { language: name })));
    }
    if (r.labels_over.length) {
      box.appendChild(el("p", null, t("Over a threshold:"), " ", r.labels_over.map(function (o, i) {
        var vars = { label: labelName(o.label), score: C.fmt.score(o.score), threshold: C.fmt.score(o[o.over]) };
        return [i ? ", " : null, el("span", { class: "over-" + o.over }, o.over === "hold"
          ? t("{label} {score} ≥ hold {threshold}", vars) : t("{label} {score} ≥ reject {threshold}", vars))];
      })));
    }
    if (r.matched_words.length) {
      box.appendChild(el("p", null, t("Matched:"), " ", r.matched_words.map(function (w, i) {
        return [i ? ", " : null, el("code", null, w.term), " ",
                w.list === "banned" ? t("(banned)") : w.list === "suspect" ? t("(suspect)") : "(" + w.list + ")"];
      })));
    }
    if (r.scores) {
      box.appendChild(el("details", null, el("summary", null, t("All scores")),
        el("table", { class: "scores" }, el("tbody", null, Object.keys(r.scores).sort().map(function (label) {
          return el("tr", null, el("th", { scope: "row" }, labelName(label)), el("td", null, C.fmt.score(r.scores[label])));
        })))));
    }
  }

  function leave() {
    document.removeEventListener("keydown", onCtrlS);
    clearTimeout(retryTimer);
    root = null;
    seq++;
  }

  C.view("settings", { title: function () { return t("Settings"); }, order: 60, render: render, leave: leave });
  C.keys("settings", [
    ["t", function () { return t("Focus the “Try a text” box"); }, function () { if (ui.tryText) ui.tryText.focus(); }],
    ["s", function () { return t("Save the settings (also Ctrl+S, in a field too)"); }, save],
    ["Ctrl+S", function () { return t("Save the settings"); }, save],
  ]);
})();
