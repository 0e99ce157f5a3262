// The console, live: one EventSource to /api/v1/moderation/events for the site the console works on,
// turned into Console events ("queue:new", "queue:decided", "counts", "presence", "featured"; and "live:ready"
// {reconnected} each time the stream opens, so a view can reload what it may have missed), and
// presence: which comment this moderator has in view, told to the others (Console.looking).
(function () {
  "use strict";
  var C = window.Console;
  var EVENTS = ["queue:new", "queue:decided", "counts", "presence", "featured"];
  var BACKOFF_MIN_MS = 1000;
  var BACKOFF_MAX_MS = 60000;
  var LOOK_DEBOUNCE_MS = 250;   // j/k through a list tells the others only where the moderator stops
  var LOOK_REFRESH_MS = 15000;  // the server forgets a look after 30 s without a refresh

  var source = null;            // the EventSource, while one is open or connecting
  var streamSite = null;        // the site it watches
  var opened = 0;               // how many times a stream has said "ready" since sign-in
  var backoff = BACKOFF_MIN_MS;
  var retryTimer = null;
  var look = { want: null, sent: undefined, site: null, timer: null, refresh: null, blockedUntil: 0 };

  function url(site) {
    return "/api/v1/moderation/events" + (site ? "?site=" + encodeURIComponent(site) : "");
  }

  function connect() {
    disconnect();
    if (!C.staff) return;
    streamSite = C.site();
    var es = source = new EventSource(url(streamSite));
    es.addEventListener("ready", function () {
      if (es !== source) return;
      backoff = BACKOFF_MIN_MS;
      opened++;
      C.emit("live:ready", { reconnected: opened > 1 });
      // a stream that ended (a deploy, its lifetime) may have taken this moderator's look with it
      if (look.want != null) sendLook(true);
    });
    EVENTS.forEach(function (type) {
      es.addEventListener(type, function (ev) {
        if (es !== source) return;
        var detail;
        try { detail = JSON.parse(ev.data); } catch (e) { return; }
        C.emit(type, detail);
      });
    });
    es.onerror = function () {
      if (es !== source) return;
      // CONNECTING: the browser retries by itself (the stream's "retry"); CLOSED: it was refused
      // (429 too many streams, 503 unavailable, 401 session over) and only we can try again
      if (es.readyState === EventSource.CLOSED) scheduleRetry();
    };
  }

  function disconnect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (source) { source.close(); source = null; }
  }

  function scheduleRetry() {
    disconnect();
    var wait = backoff / 2 + Math.random() * backoff / 2;
    backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
    retryTimer = setTimeout(function () {
      if (!C.staff) return;
      // a cheap call first: a session that ended sends the console to sign-in (core.js) instead of
      // retrying a stream that can only be refused; the counts keep the tab title right meanwhile
      C.api("GET", "/counts").then(function (counts) {
        C.emit("counts", counts);
        connect();
      }).catch(function (err) {
        if (err.status !== 401) scheduleRetry();
      });
    }, wait);
  }

  // ------------------------------------------------------------------ presence
  function looking(commentId) {
    look.want = commentId == null ? null : Number(commentId);
    clearTimeout(look.timer);
    look.timer = setTimeout(function () { sendLook(false); }, LOOK_DEBOUNCE_MS);
  }

  function sendLook(force) {
    clearTimeout(look.timer);
    clearTimeout(look.refresh);
    if (!C.staff) return;
    var want = look.want;
    var site = C.site();
    if (!force && want === look.sent && site === look.site) { scheduleRefresh(); return; }
    if (want == null && look.sent == null) return;  // never looked: nothing to take back
    var wait = look.blockedUntil - Date.now();
    if (wait > 0) { look.timer = setTimeout(function () { sendLook(force); }, wait); return; }
    look.sent = want;
    look.site = site;
    C.api("POST", "/presence", { body: { comment_id: want } }).then(function (res) {
      if (res && res.comment_id != null) {
        C.emit("presence", { comment_id: res.comment_id, site_id: res.site_id, viewers: res.viewers || [] });
      }
    }).catch(function (err) {
      look.sent = undefined;  // not told: the next call tries again
      if (err.status === 429) {
        look.blockedUntil = Date.now() + 1000 * ((err.body && err.body.retry_after) || 1);
        look.timer = setTimeout(function () { sendLook(false); }, look.blockedUntil - Date.now());
      }
    });
    scheduleRefresh();
  }

  function scheduleRefresh() {
    clearTimeout(look.refresh);
    if (look.want == null) return;
    look.refresh = setTimeout(function () {
      if (document.visibilityState !== "hidden") sendLook(true);
    }, LOOK_REFRESH_MS);
  }

  // a moderator who switched to another tab is not looking; back on it, they are again
  document.addEventListener("visibilitychange", function () {
    if (!C.staff || look.want == null) return;
    if (document.visibilityState === "hidden") {
      clearTimeout(look.refresh);
      look.sent = null;
      C.api("POST", "/presence", { body: { comment_id: null } }).catch(function () { /* it lapses */ });
    } else {
      sendLook(true);
    }
  });

  C.provide("looking", looking);

  C.on("signin", function () { opened = 0; backoff = BACKOFF_MIN_MS; connect(); });
  C.on("signout", function () {
    disconnect();
    clearTimeout(look.timer);
    clearTimeout(look.refresh);
    look = { want: null, sent: undefined, site: null, timer: null, refresh: null, blockedUntil: 0 };
  });
  C.on("site", function (site) {
    if (site === streamSite) return;
    // what this moderator looked at on the other site is over
    if (look.sent != null && look.site) {
      C.api("POST", "/presence", { params: { site: look.site }, body: { comment_id: null } }).catch(function () {});
    }
    look.sent = undefined;
    look.want = null;
    opened = 0;
    connect();
  });
  window.addEventListener("pagehide", disconnect);
})();
