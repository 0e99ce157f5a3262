/* comments_service widget (minimal foundation version; the full widget replaces it). */
(function () {
  var script = document.currentScript || document.querySelector('script[data-site][src*="embed.js"]');
  var base = new URL(script.src).origin, d = script.dataset;
  var root = document.getElementById(d.container || 'comments');
  var q = '?site=' + encodeURIComponent(d.site);
  var api = base + '/api/v1';
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function render(c) {
    var li = el('li', 'cs-comment');
    li.appendChild(el('strong', null, c.author ? c.author.name : '[deleted]'));
    var body = el('div', 'cs-body');
    body.innerHTML = c.body_html; /* sanitised on the server */
    li.appendChild(body);
    if (c.replies && c.replies.length) { var ul = el('ul'); c.replies.forEach(function (r) { ul.appendChild(render(r)); }); li.appendChild(ul); }
    return li;
  }
  function load() {
    fetch(api + '/articles/' + encodeURIComponent(d.articleId) + '/comments' + q).then(function (r) { return r.json(); }).then(function (page) {
      list.textContent = '';
      page.comments.forEach(function (c) { list.appendChild(render(c)); });
      count.textContent = page.article.comment_count + ' comments';
    });
  }
  var count = el('h2', 'cs-count', 'Comments');
  var form = el('form', 'cs-form');
  var name = el('input'); name.placeholder = 'Your name'; name.setAttribute('aria-label', 'Your name');
  var text = el('textarea'); text.setAttribute('aria-label', 'Your comment');
  var submit = el('button', null, 'Post'); submit.type = 'submit';
  var status = el('p', 'cs-status'); status.setAttribute('role', 'status');
  form.append(name, text, submit, status);
  var list = el('ul', 'cs-list');
  root.append(count, form, list);
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var headers = { 'Content-Type': 'application/json' };
    var token = localStorage.getItem('cs-guest-' + d.site);
    if (token) headers.Authorization = 'Bearer ' + token;
    fetch(api + '/articles/' + encodeURIComponent(d.articleId) + '/comments' + q, {
      method: 'POST', headers: headers,
      body: JSON.stringify({ body: text.value, author_name: token ? null : name.value, article_url: d.articleUrl, article_title: d.articleTitle })
    }).then(function (r) { return r.json(); }).then(function (res) {
      if (res.guest_token) localStorage.setItem('cs-guest-' + d.site, res.guest_token);
      status.textContent = res.message || res.detail; if (res.comment) { text.value = ''; load(); }
    });
  });
  load();
})();
