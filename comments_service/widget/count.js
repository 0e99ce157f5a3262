/* comments_service counts for article lists: <span data-cs-count-article="ARTICLE-ID"></span> elements get
   "N comments" from one POST /api/v1/counts. <script src=".../count.js" data-site="SITE" async></script>.
   Optional data-cs-count-format="{n} comments" / data-cs-count-one="1 comment" on the script or element. */
(() => {
  const s = document.currentScript || document.querySelector('script[src*="count.js"][data-site]');
  if (!s) return;
  const base = new URL(s.src, location.href).origin;
  const els = [...document.querySelectorAll('[data-cs-count-article]')];
  const ids = [...new Set(els.map((e) => e.dataset.csCountArticle).filter(Boolean))].slice(0, 200);
  if (!ids.length) return;
  fetch(base + '/api/v1/counts?site=' + encodeURIComponent(s.dataset.site), {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({article_ids: ids}),
  }).then((r) => (r.ok ? r.json() : null)).then((j) => {
    if (!j) return;
    for (const e of els) {
      const n = j.counts[e.dataset.csCountArticle];
      if (n == null) continue;
      const fmt = n === 1 ? e.dataset.csCountOne || s.dataset.csCountOne || '1 comment'
        : e.dataset.csCountFormat || s.dataset.csCountFormat || '{n} comments';
      e.textContent = fmt.replace('{n}', n.toLocaleString());
    }
  }, () => {});
})();
