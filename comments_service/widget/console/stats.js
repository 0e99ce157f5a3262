// The statistics view: the numbers a community editor reports weekly, per day over 7, 30 or 90
// days: comments published, held and rejected by the automatic moderation and by moderators, the
// median wait of a held comment, reports and problem reports, and the top reasons. The chart is
// drawn with plain elements and repeats the table (which screen readers read instead).
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var PERIODS = [7, 30, 90];
  var COLUMNS = [
    ["published_auto", "Published automatically"], ["published_by_moderators", "Published by moderators"],
    ["held", "Held for review"], ["rejected_auto", "Rejected automatically"],
    ["rejected_by_moderators", "Rejected by moderators"], ["reports", "Reader reports"],
    ["problem_reports", "Problem reports"],
  ];
  // the chart's stacks: published, held, rejected (automatic and moderators' together)
  var STACKS = [["published", "Published", ["published_auto", "published_by_moderators"]],
                ["held", "Held", ["held"]],
                ["rejected", "Rejected", ["rejected_auto", "rejected_by_moderators"]]];
  var BY_WORDS = { automatic: "automatic", moderators: "by moderators", readers: "by readers" };

  var days = 7;
  var state = null; // {ui, data}

  function duration(s) {
    if (s == null) return "–";
    if (s < 60) return Math.round(s) + " s";
    if (s < 3600) return Math.round(s / 60) + " min";
    if (s < 86400) return (s / 3600).toFixed(1).replace(/\.0$/, "") + " h";
    return (s / 86400).toFixed(1).replace(/\.0$/, "") + " days";
  }

  function dayLabel(iso, long) {
    var parts = iso.split("-").map(Number);
    var d = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2]));
    return d.toLocaleDateString(undefined, long ? { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" }
                                                : { month: "short", day: "numeric", timeZone: "UTC" });
  }

  function sum(row, names) { return names.reduce(function (n, k) { return n + row[k]; }, 0); }

  // ------------------------------------------------------------------ parts
  function totals(data) {
    var t = data.totals;
    var cards = COLUMNS.map(function (c) {
      return el("div", { class: "stat", "data-stat": c[0] }, el("dt", null, c[1]), el("dd", null, String(t[c[0]])));
    });
    cards.push(el("div", { class: "stat", "data-stat": "median_hold_to_decision_s" },
      el("dt", null, "Median wait of a held comment"), el("dd", null, duration(t.median_hold_to_decision_s))));
    return el("dl", { class: "stats-totals" }, cards);
  }

  function chart(data) {
    var max = Math.max.apply(null, data.per_day.map(function (r) {
      return STACKS.reduce(function (n, s) { return n + sum(r, s[2]); }, 0);
    }).concat([1]));
    var columns = data.per_day.map(function (r) {
      var title = dayLabel(r.date, true) + ": " + STACKS.map(function (s) { return sum(r, s[2]) + " " + s[1].toLowerCase(); })
        .join(", ");
      var bar = el("div", { class: "bar", title: title },
        STACKS.slice().reverse().map(function (s) {
          var n = sum(r, s[2]);
          if (!n) return null;
          // set through the CSSOM: the page's CSP refuses style attributes
          var seg = el("div", { class: "seg seg-" + s[0] });
          seg.style.height = (100 * n / max).toFixed(2) + "%";
          return seg;
        }));
      return el("div", { class: "col" }, bar, el("div", { class: "col-label" }, data.per_day.length <= 31 ? dayLabel(r.date) : ""));
    });
    var legend = el("ul", { class: "legend" }, STACKS.map(function (s) {
      return el("li", null, el("span", { class: "swatch seg-" + s[0] }), s[1]);
    }));
    // the table below holds the same numbers: the bars are hidden from screen readers
    return el("figure", { class: "stats-chart" },
      el("div", { class: "bars", "aria-hidden": "true", "data-days": data.per_day.length }, columns),
      el("figcaption", null, legend, el("span", { class: "hint" }, "Comments per day, by outcome (the table below has the numbers).")));
  }

  function table(data) {
    var head = el("tr", null, el("th", { scope: "col" }, "Day"),
      COLUMNS.map(function (c) { return el("th", { scope: "col" }, c[1]); }),
      el("th", { scope: "col" }, "Median wait"));
    var rows = data.per_day.slice().reverse().map(function (r) {
      return el("tr", { "data-date": r.date }, el("th", { scope: "row" }, el("time", { datetime: r.date }, dayLabel(r.date, true))),
        COLUMNS.map(function (c) { return el("td", { class: "num", "data-col": c[0] }, String(r[c[0]])); }),
        el("td", { class: "num", "data-col": "median_hold_to_decision_s" }, duration(r.median_hold_to_decision_s)));
    });
    return el("div", { class: "table-wrap" },
      el("table", { class: "stats-table" }, el("caption", { class: "sr-only" }, "Per day, newest first"),
        el("thead", null, head), el("tbody", null, rows)));
  }

  function reasons(title, list, id) {
    return el("section", { class: "card reasons", "aria-labelledby": id },
      el("h4", { id: id }, title),
      list.length
        ? el("ol", null, list.map(function (r) {
            return el("li", null,
                      el("span", null, el("span", { class: "reason-label" }, r.label), " ",
                         el("span", { class: "muted" }, "(" + BY_WORDS[r.by] + ")")),
                      el("strong", { class: "reason-count" }, String(r.count)));
          }))
        : el("p", { class: "muted" }, "None in this period."));
  }

  function definitions(data) {
    var words = { automatic: "Automatic", by_moderators: "By moderators", held: "Held",
                  median_hold_to_decision_s: "Median wait", reports: "Reader reports",
                  problem_reports: "Problem reports", day: "Days" };
    return el("details", { class: "stats-definitions" }, el("summary", null, "How these numbers are counted"),
      el("dl", null, Object.keys(data.definitions).map(function (k) {
        return [el("dt", null, words[k] || k), el("dd", null, data.definitions[k])];
      })));
  }

  // ------------------------------------------------------------------ the view
  function load() {
    var ui = state.ui;
    ui.status.textContent = "Loading…";
    return C.api("GET", "/stats", { params: { days: days } }).then(function (data) {
      if (!state || state.ui !== ui) return;
      state.data = data;
      ui.body.textContent = "";
      ui.body.appendChild(el("h3", null, "Totals for the last " + data.days + " days"));
      ui.body.appendChild(totals(data));
      ui.body.appendChild(el("h3", null, "Per day"));
      ui.body.appendChild(chart(data));
      ui.body.appendChild(table(data));
      ui.body.appendChild(el("h3", null, "Top reasons"));
      ui.body.appendChild(el("div", { class: "reasons-grid" },
        reasons("Rejections", data.top_reasons.rejected, "reasons-rejected"),
        reasons("Holds", data.top_reasons.held, "reasons-held"),
        reasons("Reports", data.top_reasons.reported, "reasons-reported")));
      ui.body.appendChild(definitions(data));
      ui.status.textContent = "Days are UTC days, " + dayLabel(data.per_day[0].date, true) + " to " +
        dayLabel(data.per_day[data.per_day.length - 1].date, true) + " (today so far).";
    }).catch(function (err) {
      ui.status.textContent = "";
      C.toast("Could not load the statistics: " + err.message, { error: true });
    });
  }

  function render(container) {
    state = { ui: {}, data: null };
    var ui = state.ui;
    ui.period = el("select", { id: "stats-period", on: { change: function () { days = Number(ui.period.value); load(); } } },
      PERIODS.map(function (n) { return el("option", { value: n, selected: n === days }, "Last " + n + " days"); }));
    ui.status = el("p", { class: "hint", role: "status" });
    ui.body = el("div", { class: "stats-body" });
    container.appendChild(el("div", { class: "toolbar" },
      el("label", { for: "stats-period" }, "Period"), ui.period, ui.status, el("span", { class: "spacer" }),
      el("span", { class: "hint" }, "p period · r reload")));
    container.appendChild(ui.body);
    load();
  }

  C.view("stats", { title: "Statistics", order: 5, render: render, leave: function () { state = null; } });
  C.keys("stats", [
    ["p", "Choose the period", function () { if (state) state.ui.period.focus(); }],
    ["r", "Reload the statistics", function () { if (state) load(); }],
  ]);
})();
