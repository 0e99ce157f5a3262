// Feature (an editor's pick) and pin buttons for one comment, used by the queue and the articles
// view through Console.featureControls(item). Readers see a pick or a pin at once, above the thread.
// An item is a queue item ({comment, article}) or {comment, article: {id}}, or a comment that names
// its article ({id, status, article_id}). Only a published comment gets the buttons.
(function () {
  "use strict";
  var C = window.Console;
  var el = C.el;
  var t = C.t;
  var states = {}; // article id -> Promise of GET /articles/{id}/featured, while it is fresh
  var FRESH_MS = 10000;

  function parts(item) {
    var c = item && (item.comment || item);
    var article = item && (item.article ? item.article.id : item.article_id || (c && c.article_id));
    return c && c.id != null && article != null ? { id: c.id, status: c.status, article: String(article) } : null;
  }

  function state(article) {
    var known = states[article];
    if (known && Date.now() - known.at < FRESH_MS) return known.promise;
    var promise = C.api("GET", "/articles/" + encodeURIComponent(article) + "/featured");
    states[article] = { at: Date.now(), promise: promise };
    promise.catch(function () { delete states[article]; });
    return promise;
  }

  function remember(article, found) {
    states[article] = { at: Date.now(), promise: Promise.resolve(found) };
    refreshAll(article);
  }

  function picked(found, id) {
    return found.featured.some(function (p) { return p.comment_id === id; });
  }

  // every set of buttons of the article on the page shows the state as it now is
  function refreshAll(article) {
    Array.prototype.forEach.call(document.querySelectorAll(".feature-controls"), function (node) {
      if (node._article === article && node._refresh) node._refresh();
    });
  }

  function controls(item) {
    var it = parts(item);
    if (!it || (it.status && it.status !== "published")) return null;
    var feature = el("button", { type: "button", class: "feature", "aria-pressed": "false", disabled: true,
                                 title: t("Feature this comment: readers see it under Featured (f)") },
                     t("Feature"), " ", el("kbd", { text: "f" }));
    var pin = el("button", { type: "button", class: "pin", "aria-pressed": "false", disabled: true,
                             title: t("Pin this comment to the top of the article (Shift+P)") },
                 t("Pin"), " ", el("kbd", { text: "Shift+P" }));
    var node = el("span", { class: "feature-controls", role: "group",
                            "aria-label": t("Featuring of comment {id}", { id: it.id }),
                            "data-comment": it.id }, feature, " ", pin);
    node._article = it.article;
    var current = null;

    function show(found) {
      current = found;
      feature.setAttribute("aria-pressed", String(picked(found, it.id)));
      pin.setAttribute("aria-pressed", String(found.pinned_comment_id === it.id));
      feature.disabled = pin.disabled = false;
    }
    node._refresh = function () { state(it.article).then(show, function () { /* the buttons stay off */ }); };
    node._refresh();

    function failed(err) {
      C.toast(err.code === "featured_limit" || err.code === "not_featurable" ? (err.body.help || err.message)
        : t("Could not change the featuring: {reason}", { reason: err.message }), { error: true });
      delete states[it.article];
      refreshAll(it.article);
    }

    function toggleFeature() {
      if (!current || feature.disabled) return;
      var on = !picked(current, it.id);
      feature.disabled = true;
      C.api(on ? "POST" : "DELETE", "/comments/" + it.id + "/feature", on ? { body: {} } : {}).then(function () {
        delete states[it.article];
        refreshAll(it.article);
        C.toast(on ? t("Featured: readers see it under Featured.") : t("No longer featured."));
        C.emit("featured", { article_id: it.article, comment_id: it.id, featured: on });
      }, failed);
    }

    function togglePin() {
      if (!current || pin.disabled) return;
      var on = current.pinned_comment_id !== it.id;
      var replacing = on && current.pinned_comment_id != null;
      var asked = replacing ? C.confirm(t("Comment #{id} is pinned now. Pin this one instead?",
                                          { id: current.pinned_comment_id }),
                                        { title: t("Replace the pinned comment?"), confirmLabel: t("Pin this one") })
                            : Promise.resolve(true);
      asked.then(function (yes) {
        if (!yes) return;
        pin.disabled = true;
        var path = "/articles/" + encodeURIComponent(it.article) + "/pin";
        C.api(on ? "PUT" : "DELETE", path, on ? { body: { comment_id: it.id } } : {}).then(function (found) {
          remember(it.article, found);
          C.toast(on ? t("Pinned to the top of the article.") : t("Unpinned."));
          C.emit("featured", { article_id: it.article, comment_id: it.id, featured: picked(found, it.id),
                               pinned: on });
        }, failed);
      });
    }

    feature.addEventListener("click", toggleFeature);
    pin.addEventListener("click", togglePin);
    node._feature = toggleFeature;
    node._pin = togglePin;
    return node;
  }

  // The buttons of the comment the moderator is on: the focused item's, else the current one's.
  function target() {
    var at = document.activeElement;
    for (var n = at; n && n !== document.body; n = n.parentElement) {
      var inside = n.querySelectorAll ? n.querySelectorAll(".feature-controls") : [];
      if (inside.length === 1) return inside[0];
      if (inside.length > 1) break; // a list, not one comment
    }
    return document.querySelector(".view .current .feature-controls");
  }

  function onTarget(name) {
    return function () {
      var node = target();
      if (node) node[name](); else C.toast(t("Move to a published comment first."), { error: true });
    };
  }

  // another moderator's (or another view's) change: show it
  C.on("featured", function (detail) {
    if (!detail || detail.article_id == null) return;
    delete states[String(detail.article_id)];
    refreshAll(String(detail.article_id));
  });

  C.provide("featureControls", controls);
  ["articles", "queue"].forEach(function (scope) {
    C.keys(scope, [
      ["f", function () { return t("Feature or unfeature the comment (readers see it under Featured)"); },
       onTarget("_feature")],
      ["Shift+P", function () { return t("Pin or unpin the comment at the top of the article"); }, onTarget("_pin")],
    ]);
  });
})();
