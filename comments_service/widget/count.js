/* comments_service counts for article lists: <span data-cs-count-article="ARTICLE-ID"></span> elements get
   "N comments" from one GET (or, for very many ids, POST) /api/v1/counts. <script src=".../count.js" data-site="SITE" async></script>.
   Optional data-cs-count-format="{n} comments" / data-cs-count-one="1 comment" on the script or element. */
(() => {
  const s = document.currentScript || document.querySelector('script[src*="count.js"][data-site]');
  if (!s) return;
  const base = new URL(s.src, location.href).origin;
  const els = [...document.querySelectorAll('[data-cs-count-article]')];
  const ids = [...new Set(els.map((e) => e.dataset.csCountArticle).filter(Boolean))].slice(0, 200);
  if (!ids.length) return;
  const url = base + '/api/v1/counts?site=' + encodeURIComponent(s.dataset.site);
  // a GET a CDN can cache (ids one per line, sorted so that pages listing the same articles share
  // one entry); a POST where that address would be longer than caches and proxies take
  const get = url + '&article_ids=' + encodeURIComponent([...ids].sort().join('\n'));
  (get.length <= 4000 ? fetch(get) : fetch(url, {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({article_ids: ids}),
  })).then((r) => (r.ok ? r.json() : null)).then((j) => {
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
