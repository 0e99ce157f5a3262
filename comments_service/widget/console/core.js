// The moderator console's core: sign-in, the API client, routing between views, shortcuts, dialogs.
// Every view is a separate script that registers itself with window.Console; this file knows none
// of them. window.Console, at the end of this file, is all a view may use: keep it stable.
(function () {
  "use strict";
  var API = "/api/v1/moderation";
  var NAV_KEYS = { queue: "g q", articles: "g a", people: "g p", audit: "g l", stats: "g s", settings: "g t",
                   admin: "g m" };
  var ADMIN_VIEWS = { settings: true, admin: true };
  var SEQUENCE_MS = 1500;

  // The CSRF token lives only in this closure: a reloaded page asks GET /session for it again, so
  // nothing a script injected later could read survives in storage.
  var csrf = null;
  var siteId = null;
  var views = {};
  var current = null;          // {name, arg, spec}
  var shortcuts = [];          // {scope, key, description, handler}
  var pendingKey = null;       // first key of a two-key sequence, with when it was pressed
  var listeners = {};
  var providers = {};
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v == null || v === false) return;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k === "on") Object.keys(v).forEach(function (type) { node.addEventListener(type, v[type]); });
      else node.setAttribute(k, v === true ? "" : String(v));
    });
    append(node, Array.prototype.slice.call(arguments, 2));
    return node;
  }

  function append(node, children) {
    children.forEach(function (child) {
      if (child == null || child === false) return;
      if (Array.isArray(child)) append(node, child);
      else node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
  }

  // ------------------------------------------------------------------ the console's language
  // English is written into the scripts; every other language is a flat JSON file of English text →
  // translation, fetched before the first render. A plural entry is keyed by its English "other"
  // form and holds one string per CLDR category of the language.
  var LANGUAGES = [["en", "English"], ["ru", "Русский"], ["uk", "Українська"], ["fr", "Français"],
                   ["de", "Deutsch"], ["es", "Español"], ["tr", "Türkçe"], ["ar", "العربية"], ["fa", "فارسی"]];
  var RTL = { ar: true, fa: true };
  var LANG_KEY = "console-lang";
  // a locale file that has not come by then is not waited for: the console draws in English
  var LOCALE_WAIT_MS = 3000;
  var messages = {};

  // "ru-RU" → "ru", "fa-AF" → "fa", "prs" (Dari, written as Persian) → "fa", "pt-BR" → null
  function supported(tag) {
    var base = String(tag || "").trim().toLowerCase().split(/[-_]/)[0];
    if (base === "prs") base = "fa";
    return LANGUAGES.some(function (l) { return l[0] === base; }) ? base : null;
  }

  function savedLanguage() {
    try { return localStorage.getItem(LANG_KEY); } catch (e) { return null; } // storage may be blocked
  }

  function chooseLanguage() {
    var asked = supported(new URLSearchParams(location.search).get("lang")) || supported(savedLanguage());
    if (asked) return asked;
    var prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    for (var i = 0; i < prefs.length; i++) {
      var have = supported(prefs[i]);
      if (have) return have;
    }
    return "en";
  }

  function useLanguage(code) {
    Console.locale = code;
    Console.dir = RTL[code] ? "rtl" : "ltr";
    document.documentElement.lang = code;
    document.documentElement.dir = Console.dir;
  }

  // resolves once the console may draw: with the translations, or in English if they fail or stall
  function loadLanguage(code) {
    if (code === "en") return Promise.resolve();
    var fetched = fetch("/console/locales/" + code + ".json", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) {
        if (!data || typeof data !== "object" || Array.isArray(data)) throw new Error("not a locale file");
        return data;
      });
    var stalled = new Promise(function (resolve) { setTimeout(resolve, LOCALE_WAIT_MS, null); });
    return Promise.race([fetched, stalled]).catch(function () { return null; }).then(function (data) {
      if (data) messages = data; else useLanguage("en");
    });
  }

  function fill(text, vars) {
    if (!vars) return text;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(vars, name) && vars[name] != null ? String(vars[name]) : whole;
    });
  }

  function t(text, vars) {
    var found = messages[text];
    return fill(typeof found === "string" && found ? found : text, vars);
  }

  var pluralRules = {};
  function tn(n, one, other, vars) {
    var locale = Console.locale;
    var rules = pluralRules[locale] || (pluralRules[locale] = new Intl.PluralRules(locale));
    var found = messages[other];
    var text;
    if (found && typeof found === "object") text = found[rules.select(n)] || found.other;
    else if (typeof found === "string") text = found;
    if (!text) text = new Intl.PluralRules("en").select(n) === "one" ? one : other;
    var all = Object.assign({ n: new Intl.NumberFormat(locale).format(n) }, vars || {});
    return fill(text, all);
  }

  // a view's title or a shortcut's description: a string, or a function that translates at use
  // (views register at load, before the translations have come)
  function label(x) { return typeof x === "function" ? x() : x; }

  // the page's own text, marked in moderation.html by its English key
  function translatePage(root) {
    [["data-i18n", null], ["data-i18n-placeholder", "placeholder"], ["data-i18n-aria-label", "aria-label"],
     ["data-i18n-title", "title"]].forEach(function (pair) {
      Array.prototype.forEach.call(root.querySelectorAll("[" + pair[0] + "]"), function (node) {
        var text = t(node.getAttribute(pair[0]));
        if (pair[1]) node.setAttribute(pair[1], text); else node.textContent = text;
      });
    });
  }

  function languagePicker(select) {
    select.textContent = "";
    LANGUAGES.forEach(function (l) {
      select.appendChild(el("option", { value: l[0], lang: l[0], dir: RTL[l[0]] ? "rtl" : "ltr",
                                        selected: l[0] === Console.locale }, l[1]));
    });
    select.value = Console.locale;
    select.addEventListener("change", function () {
      var code = supported(select.value) || "en";
      var saved = false;
      try { localStorage.setItem(LANG_KEY, code); saved = true; } catch (e) { /* blocked: the address keeps it */ }
      var params = new URLSearchParams(location.search);
      if (saved) params.delete("lang"); else params.set("lang", code);
      var search = params.toString();
      // the same address with another hash would only scroll: replace the address, then reload
      history.replaceState(history.state, "", location.pathname + (search ? "?" + search : "") + location.hash);
      location.reload();
    });
  }

  // ------------------------------------------------------------------ the API client
  function query(params) {
    var q = new URLSearchParams();
    var p = Object.assign({}, params || {});
    if (!("site" in p) && siteId) p.site = siteId;
    Object.keys(p).forEach(function (k) {
      if (p[k] !== "" && p[k] != null) q.set(k, p[k]);
    });
    var s = q.toString();
    return s ? "?" + s : "";
  }

  function api(method, path, opts) {
    opts = opts || {};
    // the server writes its problem messages in this language where it has them
    var headers = { Accept: "application/json", "Accept-Language": Console.locale };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && method !== "HEAD" && csrf) headers["X-CSRF-Token"] = csrf;
    return fetch(API + path + query(opts.params), {
      method: method, headers: headers, credentials: "same-origin",
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
    }).then(function (r) {
      if (r.status === 204) return null;
      return r.json().catch(function () { return null; }).then(function (data) {
        if (r.ok) return data;
        var body = data || {};
        var err = new Error(body.detail || body.title || t("HTTP error {status}", { status: r.status }));
        err.status = r.status; err.code = body.code; err.detail = body.detail; err.body = body;
        // a session that ended (idle, revoked token, signed out elsewhere) ends the console too;
        // the sign-in call itself answers 401 for a wrong token and must stay on the form
        if (r.status === 401 && path !== "/session" && Console.staff) signedOut(t("Your session ended. Sign in again."));
        throw err;
      });
    });
  }

  // ------------------------------------------------------------------ events and providers
  function on(type, fn) { (listeners[type] = listeners[type] || []).push(fn); }

  function emit(type, detail) {
    (listeners[type] || []).slice().forEach(function (fn) {
      try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); } // one view's bug stays its own
    });
  }

  // Views hand each other capabilities (people.js the author drawer, featured.js the feature
  // buttons, live.js presence) without load-order coupling: callers go through these wrappers.
  function provide(name, fn) { providers[name] = fn; }

  // ------------------------------------------------------------------ sign-in and the session
  function signedIn(session) {
    csrf = session.csrf;
    Console.staff = session.staff;
    Console.session = { expires_at: session.expires_at, idle_timeout_s: session.idle_timeout_s };
    $("signin").hidden = true;
    $("signin-token").value = "";
    $("top").hidden = false;
    $("console").hidden = false;
    $("who").textContent = session.staff.name + " · " + roleWord(session.staff.role);
    return chooseSite(session.staff).then(function () {
      buildNav();
      emit("signin", Console.staff);
      route();
    });
  }

  function roleWord(role) {
    switch (role) {
      case "moderator": return t("moderator");
      case "admin": return t("admin");
      default: return role;
    }
  }

  // A site-scoped token works on its own site; an admin of every site picks one from GET /sites.
  // The pick is kept in the page's address (?site=), which survives a reload without storage.
  function chooseSite(staff) {
    var wanted = new URLSearchParams(location.search).get("site") || $("signin-site").value.trim() || null;
    var picker = $("site-picker");
    picker.textContent = "";
    $("site-choose").hidden = !!staff.site_id;
    $("site-name").hidden = !staff.site_id;
    if (staff.site_id) {
      setSite(staff.site_id);
      $("site-name").textContent = t("Site {site}", { site: staff.site_id });
      return Promise.resolve();
    }
    var listed = staff.role === "admin" ? api("GET", "/sites", { params: { site: null } }) : Promise.resolve([]);
    return listed.catch(function () { return []; }).then(function (sites) {
      sites.forEach(function (s) { picker.appendChild(el("option", { value: s.id, text: s.name + " (" + s.id + ")" })); });
      if (wanted && !sites.some(function (s) { return s.id === wanted; })) {
        picker.appendChild(el("option", { value: wanted, text: wanted }));
      }
      setSite(wanted || (sites[0] && sites[0].id) || null);
      picker.value = siteId || "";
    });
  }

  function setSite(id) {
    siteId = id;
    var params = new URLSearchParams(location.search);
    if (id) params.set("site", id); else params.delete("site");
    var search = params.toString();
    history.replaceState(history.state, "", location.pathname + (search ? "?" + search : "") + location.hash);
  }

  function signedOut(message) {
    if (current && current.spec.leave) current.spec.leave();
    current = null;
    csrf = null;
    Console.staff = null;
    $("top").hidden = true;
    $("console").hidden = true;
    $("view").textContent = "";
    document.title = t("Moderation");
    $("signin").hidden = false;
    $("signin-error").textContent = message || "";
    $("signin-token").focus();
    emit("signout", {});
  }

  function signIn(ev) {
    ev.preventDefault();
    var token = $("signin-token").value.trim();
    var site = $("signin-site").value.trim() || null;
    if (!token) { $("signin-error").textContent = t("Enter your token."); return; }
    $("signin-error").textContent = "";
    api("POST", "/session", { params: { site: null }, body: { token: token, site: site } }).then(signedIn)
      .catch(function (err) {
        $("signin-error").textContent = err.status === 401 || err.status === 403
          ? t("That token may not sign in here: {reason}", { reason: err.message }) : err.message;
      });
  }

  function signOut() {
    api("DELETE", "/session", { params: { site: null } }).catch(function () { /* gone either way */ })
      .then(function () { signedOut(t("Signed out.")); });
  }

  // ------------------------------------------------------------------ views and routing
  function view(name, spec) {
    spec.name = name;
    views[name] = spec;
    if (!spec.key && NAV_KEYS[name]) spec.key = NAV_KEYS[name];
    if (spec.key) {
      keys("global", [[spec.key, function () { return t("Go to {view}", { view: titleOf(spec) }); },
                       function () { go(name); }]]);
    }
    if (Console.staff) buildNav();
  }

  function titleOf(spec) { return label(spec.title) || spec.name; }

  function allowed(spec) {
    return Console.staff && (!(spec.admin || ADMIN_VIEWS[spec.name]) || Console.staff.role === "admin");
  }

  function ordered() {
    return Object.keys(views).map(function (n) { return views[n]; }).filter(allowed)
      .sort(function (a, b) { return (a.order || 99) - (b.order || 99); });
  }

  function buildNav() {
    var list = $("nav");
    list.textContent = "";
    ordered().forEach(function (spec) {
      var link = el("a", { href: "#/" + spec.name, "data-view": spec.name }, titleOf(spec));
      if (spec.name === "queue") link.appendChild(el("span", { id: "nav-counts", class: "badge", "aria-live": "off" }));
      if (current && current.name === spec.name) link.setAttribute("aria-current", "page");
      list.appendChild(el("li", null, link));
    });
    showCounts(lastCounts);
  }

  function go(name, arg) {
    var hash = "#/" + name + (arg != null && arg !== "" ? "/" + encodeURIComponent(arg) : "");
    if (location.hash === hash) route(); else location.hash = hash;
  }

  function route() {
    if (!Console.staff) return;
    var parts = location.hash.replace(/^#\/?/, "").split("/");
    var name = parts[0];
    var arg = parts.length > 1 ? decodeURIComponent(parts.slice(1).join("/")) : undefined;
    var spec = views[name];
    if (!spec || !allowed(spec)) {
      var first = ordered()[0];
      if (!first) return;
      spec = first; name = first.name; arg = undefined;
    }
    if (current && current.spec.leave) current.spec.leave();
    current = { name: name, arg: arg, spec: spec };
    // a fresh element each time: handlers a view hung on the old one cannot fire into the new one
    var section = el("section", { id: "view", class: "view view-" + name, "aria-labelledby": "view-title" });
    $("view").replaceWith(section);
    $("view-title").textContent = titleOf(spec);
    Array.prototype.forEach.call($("nav").querySelectorAll("a"), function (a) {
      if (a.getAttribute("data-view") === name) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    emit("route", { name: name, arg: arg });
    spec.render(section, arg);
  }

  // ------------------------------------------------------------------ the tab title and counts
  var lastCounts = null;
  function showCounts(c) {
    if (!c) return;
    lastCounts = c;
    var show = function (n) { return c.cap && n >= c.cap ? c.cap + "+" : String(n); };
    document.title = t("({held}·{reported}) Moderation", { held: show(c.held), reported: show(c.reported) });
    var badge = $("nav-counts");
    if (badge) badge.textContent = show(c.held) + "·" + show(c.reported);
    if (badge) badge.setAttribute("title", t("{held} held, {reported} reported", { held: show(c.held), reported: show(c.reported) }));
  }

  // ------------------------------------------------------------------ shortcuts
  // ``title``: how "?" heads a scope that is not a view (a function, called once the locale is in)
  var scopeTitles = {};
  function keys(scope, list, title) {
    if (title) scopeTitles[scope] = title;
    list.forEach(function (k) {
      shortcuts = shortcuts.filter(function (s) { return !(s.scope === scope && s.key === k[0]); });
      shortcuts.push({ scope: scope, key: k[0], description: k[1], handler: k[2] });
    });
  }

  // "a", "Shift+A", "?", "Enter", "Shift+Enter": a shifted letter names the shift, other printable
  // keys are what they print (so "?" works on every keyboard layout)
  function keyName(ev) {
    var k = ev.key;
    if (k.length === 1) return /[a-z]/i.test(k) && ev.shiftKey ? "Shift+" + k.toUpperCase() : k;
    return (ev.shiftKey ? "Shift+" : "") + k;
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function active(s) {
    return s.scope === "global" || (current && s.scope === current.name);
  }

  function onKey(ev) {
    if (!Console.staff || ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    if (document.querySelector("dialog[open]") || typing(ev.target)) return;
    if (ev.key === "Shift" || ev.key === "Control" || ev.key === "Alt" || ev.key === "Meta") return;
    var name = keyName(ev);
    var candidates = shortcuts.filter(active);
    if (pendingKey && Date.now() - pendingKey.at < SEQUENCE_MS) {
      var seq = pendingKey.key + " " + name;
      pendingKey = null;
      var hit = find(candidates, seq);
      if (hit) { ev.preventDefault(); hit.handler(ev); return; }
    }
    pendingKey = null;
    if (candidates.some(function (s) { return s.key.indexOf(name + " ") === 0; })) {
      pendingKey = { key: name, at: Date.now() };
      ev.preventDefault();
      return;
    }
    var single = find(candidates, name);
    if (single) { ev.preventDefault(); single.handler(ev); }
  }

  // the view's own shortcut wins over a global one with the same key
  function find(list, key) {
    var hits = list.filter(function (s) { return s.key === key; });
    return hits.filter(function (s) { return s.scope !== "global"; })[0] || hits[0];
  }

  function showHelp() {
    var body = $("help-body");
    body.textContent = "";
    var scopes = ["global"].concat(ordered().map(function (v) { return v.name; }));
    shortcuts.forEach(function (s) { if (scopes.indexOf(s.scope) < 0 && s.scope !== "global") scopes.push(s.scope); });
    scopes.forEach(function (scope) {
      var mine = shortcuts.filter(function (s) { return s.scope === scope; });
      if (!mine.length) return;
      var title = scope === "global" ? t("Everywhere") : views[scope] ? titleOf(views[scope])
        : scopeTitles[scope] ? scopeTitles[scope]() : scope;
      var group = el("section", { class: "help-group", "data-scope": scope }, el("h3", { text: title }));
      var dl = el("dl");
      mine.forEach(function (s) {
        dl.appendChild(el("dt", null, s.key.split(" ").map(function (part, i) {
          return [i ? " " + t("then") + " " : null, el("kbd", { text: part })];
        })));
        dl.appendChild(el("dd", { text: label(s.description) }));
      });
      group.appendChild(dl);
      body.appendChild(group);
    });
    $("help").showModal();
  }

  // a reason code (a rejection's, a report's, a hold's) in the moderator's words; an unknown code as itself
  function reasonWord(code) {
    switch (code) {
      case "offensive": return t("offensive");
      case "harassment": return t("harassment");
      case "hate": return t("hate");
      case "spam": return t("spam");
      case "off_topic": return t("off topic");
      case "personal_information": return t("personal information");
      case "misinformation": return t("misinformation");
      case "illegal": return t("illegal");
      case "other": return t("other");
      case "banned_word": return t("banned word");
      case "suspect_word": return t("suspect word");
      case "toxicity_reject": return t("toxicity reject");
      case "toxicity_hold": return t("toxicity hold");
      case "premoderation": return t("premoderation");
      case "user_premoderated": return t("user premoderated");
      case "user_recent_rejections": return t("user recent rejections");
      case "new_account": return t("new account");
      case "guest_premoderated": return t("guest premoderated");
      case "model_unavailable": return t("model unavailable");
      case "banned_user": return t("banned user");
      case "word_lists_unchecked": return t("word lists unchecked");
      case "spam_link": return t("spam link");
      case "copy_campaign": return t("copy campaign");
      case "surge_premoderation": return t("surge premoderation");
      case "shadow_restricted": return t("shadow restricted");
      case "language_unscored": return t("language unscored");
      case "moderator_approved": return t("moderator approved");
      default: return String(code).replace(/_/g, " ");
    }
  }

  // ------------------------------------------------------------------ dialogs
  // One <dialog> serves confirm and prompt: showModal() traps focus and Escape cancels, natively.
  // Its "close" event comes a task after close(): a question asked right after another (a prompt,
  // then "are you sure?") waits for it, or it would take that event as its own cancel.
  var lastClosed = Promise.resolve();
  function ask(title, content, okLabel, danger, collect) {
    var closed;
    var previous = lastClosed;
    lastClosed = new Promise(function (resolve) { closed = resolve; });
    return previous.then(function () { return open(title, content, okLabel, danger, collect, closed); });
  }

  function open(title, content, okLabel, danger, collect, closed) {
    var dialog = $("ask");
    dialog.textContent = "";
    var form = el("form", { method: "dialog", class: "ask" });
    form.appendChild(el("h2", { id: "ask-title", text: title }));
    append(form, [content]);
    var ok = el("button", { type: "submit", value: "ok", class: danger ? "danger" : "primary", text: okLabel });
    var cancel = el("button", { type: "button", text: t("Cancel"), on: { click: function () { dialog.close("cancel"); } } });
    form.appendChild(el("div", { class: "ask-buttons" }, cancel, ok));
    dialog.appendChild(form);
    var opener = document.activeElement;
    return new Promise(function (resolve) {
      form.addEventListener("submit", function (ev) {
        if (!form.reportValidity()) { ev.preventDefault(); return; }
        ev.preventDefault();
        var value = collect ? collect(form) : true;
        dialog.close("ok");
        resolve(value);
      });
      dialog.addEventListener("close", function done() {
        dialog.removeEventListener("close", done);
        if (dialog.returnValue !== "ok") resolve(collect ? null : false);
        if (opener && opener.focus && document.contains(opener)) opener.focus();
        closed();
      });
      dialog.returnValue = "";
      dialog.showModal();
      var first = form.querySelector("input, textarea, select");
      (first || ok).focus();
    });
  }

  function confirm(text, opts) {
    opts = opts || {};
    return ask(opts.title || text, opts.title ? el("p", { text: text }) : null,
               opts.confirmLabel || t("Confirm"), !!opts.danger, null);
  }

  var fieldSeq = 0;
  function prompt(title, fields, opts) {
    opts = opts || {};
    var rows = fields.map(function (f) {
      var id = "ask-field-" + (++fieldSeq);
      var input;
      var common = { id: id, name: f.name, required: !!f.required, placeholder: f.placeholder, min: f.min, max: f.max,
                     maxlength: f.maxlength, step: f.step };
      if (f.type === "textarea") input = el("textarea", Object.assign({ rows: 3 }, common), f.value || "");
      else if (f.type === "select") {
        input = el("select", common, (f.options || []).map(function (o) {
          var opt = typeof o === "object" ? o : { value: o, label: o };
          return el("option", { value: opt.value, selected: String(opt.value) === String(f.value) }, opt.label);
        }));
      } else if (f.type === "checkbox") input = el("input", Object.assign({ type: "checkbox", checked: !!f.value }, common));
      else input = el("input", Object.assign({ type: f.type || "text", value: f.value == null ? null : f.value }, common));
      var label = el("label", { for: id, text: f.label });
      var help = f.help ? el("small", { id: id + "-help", text: f.help }) : null;
      if (help) input.setAttribute("aria-describedby", id + "-help");
      return el("div", { class: "field field-" + (f.type || "text") }, f.type === "checkbox" ? [input, label] : [label, input], help);
    });
    return ask(title, rows, opts.submitLabel || t("Save"), !!opts.danger, function (form) {
      var out = {};
      fields.forEach(function (f) {
        var input = form.elements[f.name];
        if (f.type === "checkbox") out[f.name] = input.checked;
        else if (f.type === "number") out[f.name] = input.value === "" ? null : Number(input.value);
        // a datetime-local value has no zone: read it as this browser's local time, send UTC
        else if (f.type === "datetime-local") out[f.name] = input.value ? new Date(input.value).toISOString() : null;
        else out[f.name] = input.value.trim();
      });
      return out;
    });
  }

  var toastTimer = null;
  function toast(text, opts) {
    var error = opts && opts.error;
    var target = $(error ? "alert" : "status");
    var other = $(error ? "status" : "alert");
    other.textContent = "";
    other.hidden = true;
    target.textContent = text;
    target.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { target.hidden = true; target.textContent = ""; }, error ? 10000 : 5000);
  }

  // ------------------------------------------------------------------ formatting
  var STATUS_WORDS = {
    published: function () { return t("Published"); }, held: function () { return t("Held"); },
    rejected: function () { return t("Rejected"); }, deleted: function () { return t("Deleted by author"); },
    removed: function () { return t("Removed"); }, pending_scoring: function () { return t("Being scored"); },
  };
  // made at first use: the console's language is known only once its translations have loaded
  var formats = {};
  function format(kind) {
    if (!formats[kind] || formats[kind].locale !== Console.locale) {
      formats[kind] = { locale: Console.locale, f: kind === "rtf"
        ? new Intl.RelativeTimeFormat(Console.locale, { numeric: "auto" })
        : new Intl.DateTimeFormat(Console.locale, { dateStyle: "medium", timeStyle: "short" }) };
    }
    return formats[kind].f;
  }
  var fmt = {
    time: function (iso) {
      return iso ? format("dtf").format(new Date(iso)) : "–";
    },
    ago: function (iso) {
      if (!iso) return "–";
      var s = (new Date(iso).getTime() - Date.now()) / 1000;
      var steps = [[60, "second"], [3600, "minute", 60], [86400, "hour", 3600], [2592000, "day", 86400],
                   [31536000, "month", 2592000], [Infinity, "year", 31536000]];
      for (var i = 0; i < steps.length; i++) {
        if (Math.abs(s) < steps[i][0]) {
          var n = Math.round(s / (steps[i][2] || 1));
          if (steps[i][1] === "second" && Math.abs(n) < 45) return t("just now");
          return format("rtf").format(n, steps[i][1]);
        }
      }
      return fmt.time(iso);
    },
    status: function (status) {
      return STATUS_WORDS[status] ? STATUS_WORDS[status]() : String(status || "").replace(/_/g, " ");
    },
    score: function (x) { return x == null ? "–" : Number(x).toFixed(2); },
  };

  var Console = window.Console = {
    // Translation (English text is the key; see the locale files in console/locales/). Call t()/tn()
    // while drawing, never at a script's top level: the translations load after the scripts run.
    // A view's title and a shortcut's description may be functions, called at use, for that reason
    // (a title as `function () { return t(…); }`).
    t: t,              // t(english, vars): the English text in the console's language, {name}s filled
    tn: tn,            // tn(n, one form, other form, vars): the plural form of n in the locale, {n} filled
    locale: "en",      // "ru", "ar", …: for Intl formats
    dir: "ltr",        // "rtl" for Arabic and Persian
    languages: LANGUAGES.map(function (l) { return { code: l[0], name: l[1] }; }),
    staff: null,
    session: null,
    api: api,
    site: function () { return siteId; },
    view: view,
    go: go,
    current: function () { return current ? { name: current.name, arg: current.arg } : null; },
    keys: keys,
    reasonWord: reasonWord,
    keyName: keyName,  // a keydown as the shortcut lists name it ("a", "Shift+A", "?")
    typing: typing,    // whether a key goes to a form field rather than to the shortcuts
    confirm: confirm,
    prompt: prompt,
    toast: toast,
    el: el,
    html: function (node, sanitisedHtml) { node.innerHTML = sanitisedHtml; return node; }, // body_html only
    fmt: fmt,
    on: on,
    emit: emit,
    provide: provide,
    openUser: function (userId) { if (providers.openUser) providers.openUser(userId); },
    // null until featured.js provides it: callers skip the controls then
    featureControls: function (item) { return providers.featureControls ? providers.featureControls(item) : null; },
    looking: function (commentId) {
      Console.lookingAt = commentId == null ? null : commentId;
      if (providers.looking) providers.looking(Console.lookingAt);
      emit("looking", { comment_id: Console.lookingAt });
    },
    lookingAt: null,
    showHelp: showHelp,
  };

  on("counts", showCounts);
  keys("global", [["?", function () { return t("Show these shortcuts"); }, showHelp]]);

  useLanguage(chooseLanguage());
  var languageReady = loadLanguage(Console.locale);

  document.addEventListener("DOMContentLoaded", function () {
    languageReady.then(start);
  });

  function start() {
    translatePage(document);
    document.title = t("Moderation");
    languagePicker($("lang-picker"));
    languagePicker($("signin-lang"));
    $("signin").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", signOut);
    $("help-button").addEventListener("click", showHelp);
    $("help-close").addEventListener("click", function () { $("help").close(); });
    $("site-picker").addEventListener("change", function () {
      setSite($("site-picker").value || null);
      emit("site", siteId);
      route();
    });
    document.addEventListener("keydown", onKey);
    window.addEventListener("hashchange", route);
    // every view script has run by now (they are deferred, after this one): resume the session
    api("GET", "/session", { params: { site: null } }).then(signedIn).catch(function () { signedOut(""); });
  }
})();
