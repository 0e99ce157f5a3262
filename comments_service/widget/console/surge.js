// The surge banner: while any article of the site is in a surge of new accounts (services/surge.py),
// a banner above every view names it and links to its held comments. No view: it asks
// GET /surges at sign-in, on a change of site or view, and every half minute.
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var t = C.t, tn = C.tn;
  var POLL_MS = 30000;
  var MIN_GAP_MS = 5000;   // a burst of view changes asks once
  var timer = null;
  var asked = 0;
  var banner = null;

  function ensureBanner() {
    if (banner && banner.isConnected) return banner;
    var host = document.getElementById("console");
    if (!host) return null;
    banner = el("div", { id: "surge-banner", class: "surge-banner", role: "status", hidden: true });
    host.insertBefore(banner, host.firstChild);
    return banner;
  }

  function show(surges) {
    var box = ensureBanner();
    if (!box) return;
    box.textContent = "";
    box.hidden = !surges.length;
    if (!surges.length) return;
    box.appendChild(el("strong", null, tn(surges.length, "Surge of new accounts", "{n} surges of new accounts")));
    box.appendChild(el("span", null, " — " + t("comments from new accounts wait for a moderator on:") + " "));
    surges.forEach(function (s, i) {
      if (i) box.appendChild(document.createTextNode(t(", ")));
      box.appendChild(el("a", { href: "#/queue/held/" + encodeURIComponent(s.article_id),
                                title: t("Held comments of this article; the surge ends {time}", { time: C.fmt.time(s.until) }) },
                         s.title + " (" + s.article_id + ")"));
      if (s.held) box.appendChild(el("span", { class: "surge-held" }, " " + t("{n} held", { n: new Intl.NumberFormat(C.locale).format(s.held) })));
    });
  }

  function refresh(force) {
    if (!C.staff || !C.site()) { show([]); return; }
    if (!force && Date.now() - asked < MIN_GAP_MS) return;
    asked = Date.now();
    C.api("GET", "/surges").then(function (data) { show((data && data.surges) || []); })
      .catch(function () { /* the banner keeps what it showed: the next poll tries again */ });
  }

  function start() {
    clearInterval(timer);
    timer = setInterval(function () { refresh(true); }, POLL_MS);
    refresh(true);
  }

  C.on("signin", start);
  C.on("site", function () { refresh(true); });
  C.on("route", function () { refresh(false); });
  C.on("signout", function () { clearInterval(timer); timer = null; show([]); });
})();
