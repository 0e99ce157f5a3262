// The statistics view: the numbers a community editor reports weekly, per day over 7, 30 or 90
// days: comments published, held and rejected by the automatic moderation and by moderators, the
// median wait of a held comment, reports and problem reports, and the top reasons. The chart is
// drawn with plain elements and repeats the table (which screen readers read instead).
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var t = C.t, tn = C.tn;
  var PERIODS = [7, 30, 90];
  var COLUMNS = ["published_auto", "published_by_moderators", "held", "rejected_auto", "rejected_by_moderators",
                 "reports", "problem_reports"];
  // the chart's stacks: published, held, rejected (automatic and moderators' together)
  var STACKS = [["published", ["published_auto", "published_by_moderators"]],
                ["held", ["held"]],
                ["rejected", ["rejected_auto", "rejected_by_moderators"]]];

  function columnName(c) {
    switch (c) {
      case "published_auto": return t("Published automatically");
      case "published_by_moderators": return t("Published by moderators");
      case "held": return t("Held for review");
      case "rejected_auto": return t("Rejected automatically");
      case "rejected_by_moderators": return t("Rejected by moderators");
      case "reports": return t("Reader reports");
      case "problem_reports": return t("Problem reports");
      default: return c;
    }
  }

  function stackName(s) {
    switch (s) {
      case "published": return t("Published");
      case "held": return t("Held");
      case "rejected": return t("Rejected");
      default: return s;
    }
  }

  // a day's bar, in words: "3 published, 1 held, 0 rejected"
  function stackCount(s, n) {
    var vars = { n: num(n) };
    switch (s) {
      case "published": return t("{n} published", vars);
      case "held": return t("{n} held", vars);
      case "rejected": return t("{n} rejected", vars);
      default: return num(n) + " " + s;
    }
  }

  function byWords(by) {
    switch (by) {
      case "automatic": return t("automatic");
      case "moderators": return t("by moderators");
      case "readers": return t("by readers");
      default: return by;
    }
  }

  // the server's reason labels (domain/moderation's REJECT_REASONS, REPORT_REASONS, HOLD_REASONS) by
  // their English words, which are this console's keys; one not listed here shows as the server words it
  function reasonLabel(label) {
    switch (label) {
      case "Offensive or abusive": return t("Offensive or abusive");
      case "Harassment or personal attack": return t("Harassment or personal attack");
      case "Hate speech": return t("Hate speech");
      case "Spam or advertising": return t("Spam or advertising");
      case "Off topic": return t("Off topic");
      case "Shares personal information": return t("Shares personal information");
      case "Misleading or false": return t("Misleading or false");
      case "Illegal content": return t("Illegal content");
      case "Other (see note)": return t("Other (see note)");
      case "Spam": return t("Spam");
      case "Something else": return t("Something else");
      case "Contains a banned word or phrase": return t("Contains a banned word or phrase");
      case "Contains a suspect word or phrase": return t("Contains a suspect word or phrase");
      case "Model score above the reject threshold": return t("Model score above the reject threshold");
      case "Model score above the hold threshold": return t("Model score above the hold threshold");
      case "The article is premoderated": return t("The article is premoderated");
      case "The author is on premoderation": return t("The author is on premoderation");
      case "The author had several comments rejected recently": return t("The author had several comments rejected recently");
      case "One of a new account's first comments": return t("One of a new account's first comments");
      case "Guest comments are premoderated on this site": return t("Guest comments are premoderated on this site");
      case "The toxicity model was unavailable": return t("The toxicity model was unavailable");
      case "The author is banned": return t("The author is banned");
      case "A link the site's link rules refuse or hold (denied domain, shortener, IP address, too many links, or a new account's link)":
        return t("A link the site's link rules refuse or hold (denied domain, shortener, IP address, too many links, or a new account's link)");
      case "Nearly the same text as other authors' recent comments (a copy-paste campaign)":
        return t("Nearly the same text as other authors' recent comments (a copy-paste campaign)");
      case "A new account's comment while many new accounts flood the article":
        return t("A new account's comment while many new accounts flood the article");
      case "The author is shadow-restricted: their comments are shown to them alone":
        return t("The author is shadow-restricted: their comments are shown to them alone");
      case "Written in a language no toxicity model here reads (the site's languages rule)":
        return t("Written in a language no toxicity model here reads (the site's languages rule)");
      default: return label;
    }
  }

  function num(n) { return new Intl.NumberFormat(C.locale).format(n); }

  // at most one decimal, none when it is .0
  function oneDecimal(x) { return Math.round(x * 10) / 10; }

  var days = 7;
  var state = null; // {ui, data}

  function duration(s) {
    if (s == null) return "–";
    if (s < 60) return t("{n} s", { n: num(Math.round(s)) });
    if (s < 3600) return t("{n} min", { n: num(Math.round(s / 60)) });
    if (s < 86400) return t("{n} h", { n: num(oneDecimal(s / 3600)) });
    var d = oneDecimal(s / 86400);
    return tn(d, "{n} day", "{n} days");
  }

  function dayLabel(iso, long) {
    var parts = iso.split("-").map(Number);
    var d = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2]));
    return d.toLocaleDateString(C.locale, long ? { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" }
                                                : { month: "short", day: "numeric", timeZone: "UTC" });
  }

  function sum(row, names) { return names.reduce(function (n, k) { return n + row[k]; }, 0); }

  // ------------------------------------------------------------------ parts
  function totals(data) {
    var tot = data.totals;
    var cards = COLUMNS.map(function (c) {
      return el("div", { class: "stat", "data-stat": c }, el("dt", null, columnName(c)), el("dd", null, num(tot[c])));
    });
    cards.push(el("div", { class: "stat", "data-stat": "median_hold_to_decision_s" },
      el("dt", null, t("Median wait of a held comment")), el("dd", null, duration(tot.median_hold_to_decision_s))));
    return el("dl", { class: "stats-totals" }, cards);
  }

  function chart(data) {
    var max = Math.max.apply(null, data.per_day.map(function (r) {
      return STACKS.reduce(function (n, s) { return n + sum(r, s[1]); }, 0);
    }).concat([1]));
    var columns = data.per_day.map(function (r) {
      var title = t("{day}: {counts}", { day: dayLabel(r.date, true),
        counts: STACKS.map(function (s) { return stackCount(s[0], sum(r, s[1])); }).join(", ") });
      var bar = el("div", { class: "bar", title: title },
        STACKS.slice().reverse().map(function (s) {
          var n = sum(r, s[1]);
          if (!n) return null;
          // set through the CSSOM: the page's CSP refuses style attributes
          var seg = el("div", { class: "seg seg-" + s[0] });
          seg.style.height = (100 * n / max).toFixed(2) + "%";
          return seg;
        }));
      return el("div", { class: "col" }, bar, el("div", { class: "col-label" }, data.per_day.length <= 31 ? dayLabel(r.date) : ""));
    });
    var legend = el("ul", { class: "legend" }, STACKS.map(function (s) {
      return el("li", null, el("span", { class: "swatch seg-" + s[0] }), stackName(s[0]));
    }));
    // the table below holds the same numbers: the bars are hidden from screen readers
    return el("figure", { class: "stats-chart" },
      el("div", { class: "bars", "aria-hidden": "true", "data-days": data.per_day.length }, columns),
      el("figcaption", null, legend, el("span", { class: "hint" }, t("Comments per day, by outcome (the table below has the numbers)."))));
  }

  function table(data) {
    var head = el("tr", null, el("th", { scope: "col" }, t("Day")),
      COLUMNS.map(function (c) { return el("th", { scope: "col" }, columnName(c)); }),
      el("th", { scope: "col" }, t("Median wait")));
    var rows = data.per_day.slice().reverse().map(function (r) {
      return el("tr", { "data-date": r.date }, el("th", { scope: "row" }, el("time", { datetime: r.date }, dayLabel(r.date, true))),
        COLUMNS.map(function (c) { return el("td", { class: "num", "data-col": c }, num(r[c])); }),
        el("td", { class: "num", "data-col": "median_hold_to_decision_s" }, duration(r.median_hold_to_decision_s)));
    });
    return el("div", { class: "table-wrap" },
      el("table", { class: "stats-table" }, el("caption", { class: "sr-only" }, t("Per day, newest first")),
        el("thead", null, head), el("tbody", null, rows)));
  }

  function reasons(title, list, id) {
    return el("section", { class: "card reasons", "aria-labelledby": id },
      el("h4", { id: id }, title),
      list.length
        ? el("ol", null, list.map(function (r) {
            return el("li", null,
                      el("span", null, el("span", { class: "reason-label" }, reasonLabel(r.label)), " ",
                         el("span", { class: "muted" }, "(" + byWords(r.by) + ")")),
                      el("strong", { class: "reason-count" }, num(r.count)));
          }))
        : el("p", { class: "muted" }, t("None in this period.")));
  }

  function definitions(data) {
    var words = { automatic: t("Automatic"), by_moderators: t("By moderators"), held: t("Held"),
                  median_hold_to_decision_s: t("Median wait"), reports: t("Reader reports"),
                  problem_reports: t("Problem reports"), day: t("Days") };
    // the definitions themselves are the server's English words
    return el("details", { class: "stats-definitions" }, el("summary", null, t("How these numbers are counted")),
      el("dl", null, Object.keys(data.definitions).map(function (k) {
        return [el("dt", null, words[k] || k), el("dd", null, data.definitions[k])];
      })));
  }

  // ------------------------------------------------------------------ the view
  function load() {
    var ui = state.ui;
    ui.status.textContent = t("Loading…");
    return C.api("GET", "/stats", { params: { days: days } }).then(function (data) {
      if (!state || state.ui !== ui) return;
      state.data = data;
      ui.body.textContent = "";
      ui.body.appendChild(el("h3", null, tn(data.days, "Totals for the last day", "Totals for the last {n} days")));
      ui.body.appendChild(totals(data));
      ui.body.appendChild(el("h3", null, t("Per day")));
      ui.body.appendChild(chart(data));
      ui.body.appendChild(table(data));
      ui.body.appendChild(el("h3", null, t("Top reasons")));
      ui.body.appendChild(el("div", { class: "reasons-grid" },
        reasons(t("Rejections"), data.top_reasons.rejected, "reasons-rejected"),
        reasons(t("Holds"), data.top_reasons.held, "reasons-held"),
        reasons(t("Reports"), data.top_reasons.reported, "reasons-reported")));
      ui.body.appendChild(definitions(data));
      ui.status.textContent = t("Days are UTC days, {from} to {to} (today so far).", {
        from: dayLabel(data.per_day[0].date, true), to: dayLabel(data.per_day[data.per_day.length - 1].date, true) });
    }).catch(function (err) {
      ui.status.textContent = "";
      C.toast(t("Could not load the statistics: {error}", { error: err.message }), { error: true });
    });
  }

  function render(container) {
    state = { ui: {}, data: null };
    var ui = state.ui;
    ui.period = el("select", { id: "stats-period", on: { change: function () { days = Number(ui.period.value); load(); } } },
      PERIODS.map(function (n) {
        return el("option", { value: n, selected: n === days }, tn(n, "Last day", "Last {n} days"));
      }));
    ui.status = el("p", { class: "hint", role: "status" });
    ui.body = el("div", { class: "stats-body" });
    container.appendChild(el("div", { class: "toolbar" },
      el("label", { for: "stats-period" }, t("Period")), ui.period, ui.status, el("span", { class: "spacer" }),
      el("span", { class: "hint" }, t("p period · r reload"))));
    container.appendChild(ui.body);
    load();
  }

  C.view("stats", { title: function () { return t("Statistics"); }, order: 5, render: render,
                    leave: function () { state = null; } });
  C.keys("stats", [
    ["p", function () { return t("Choose the period"); }, function () { if (state) state.ui.period.focus(); }],
    ["r", function () { return t("Reload the statistics"); }, function () { if (state) load(); }],
  ]);
})();
