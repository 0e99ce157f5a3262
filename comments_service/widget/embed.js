// comments_service widget. Embed: <div id="comments"></div> + <script src=".../embed.js" async
// data-site data-article-id data-article-url data-article-title [data-sso-token] [data-theme] [data-container] [data-lang]>.
// Plain ES2017, no build step, no runtime downloads. Everything renders inside a Shadow DOM so host CSS
// and ours never meet. Comment bodies are the server's sanitised HTML; everything else goes in as text.
// (Line comments, here and below, are left out when the script is served: api/pages.py compact_script.)
(async () => {
'use strict';
// Every string a reader can see, in one table, in English: the other languages are in locales/<code>.json,
// fetched when the reader's language is one of them (below), and a host page may override any string with
// window.commentsServiceStrings = {key: "..."} before the script loads. A string whose count matters is an
// object of Intl.PluralRules categories ({one, few, many, other, ...}), picked by its {n}.
const S = Object.assign({
  heading: {one: '{n} comment', other: '{n} comments'}, heading0: 'Comments',
  sort: 'Sort by', oldest: 'Oldest first', newest: 'Newest first', top: 'Top rated',
  loading: 'Loading comments…', loadFailed: 'Comments could not be loaded.', retry: 'Try again',
  empty: 'No comments yet. Start the conversation.',
  more: 'Load more comments', moreReplies: {one: 'Show {n} more reply', other: 'Show {n} more replies'},
  continueThread: 'Continue this thread →', reply: 'Reply', edit: 'Edit', del: 'Delete', cancel: 'Cancel',
  save: 'Save', post: 'Post comment', postReply: 'Post reply', posting: 'Posting…',
  yourComment: 'Your comment', yourReply: 'Your reply', yourName: 'Your name',
  as: 'Commenting as {name}', notYou: 'Not you?', deleted: 'This comment was deleted.', edited: 'edited',
  editedAt: 'Edited {time}', pending: 'Awaiting moderation', checking: 'Being checked',
  pendingNote: 'Only you can see this until it is approved.',
  up: 'Upvote', down: 'Downvote', score: 'Score {n}',
  chars: '{n} / {max} characters', tooLong: 'Too long by {n} characters',
  help: 'Formatting help', helpText: '*italic*  **bold**  [link](https://example.com)  > quote  `code`  - list',
  nudge: 'Your comment may break our community guidelines. You can edit it or submit it for review.',
  nudgeReject: 'Your comment breaks our community guidelines and will not be published as written. Edit it to post it.',
  nudgeEdit: 'Edit my comment', nudgeSubmit: 'Submit for review',
  published: 'Your comment is published.', held: 'Your comment is awaiting moderation. Only you can see it until a moderator approves it.',
  pending_scoring: 'Your comment was received and is being checked.',
  rejected: 'Your comment was not published because it breaks the community guidelines.',
  reason: 'Reason: {r}.', retryIn: 'You can try again in {t}.', seconds: {one: '{n} second', other: '{n} seconds'},
  minutes: {one: '{n} minute', other: '{n} minutes'},
  ref: 'Reference: {id}', offline: 'Could not reach the comment service. Check your connection and try again.',
  failed: 'Something went wrong. Try again.', closed: 'Comments on this article are closed.',
  confirmDelete: 'Delete this comment? This cannot be undone.', removed: 'Your comment was deleted.',
  saved: 'Your changes are saved.', nameNeeded: 'Enter a name to comment as a guest.',
  newComments: {one: '{n} new comment — show', other: '{n} new comments — show'},
  issues: 'Having issues with commenting?',
  banned: 'You are banned from commenting on this site.', bannedUntil: 'You are banned from commenting on this site until {time}.',
  signInExpired: 'Your sign-in has expired. Reload the page to sign in again.',
  featured: 'Featured', pinned: 'Pinned',
  notify: 'Email me replies', follow: 'Follow this discussion', notifyOn: 'Replies will be emailed',
  followOn: 'Following by email', confirmSent: 'Check your inbox to confirm', stop: 'stop', email: 'Your email', send: 'Send',
  checkingBot: 'Checking you’re not a bot…',
  reasons: {language: 'offensive language', toxicity: 'offensive language', spam: 'spam', banned_words: 'words that are not allowed',
    off_topic: 'off topic', links: 'too many links', premoderation: 'all comments here are reviewed first',
    rejected_language: 'offensive language', rejected_spam: 'spam', rejected_guidelines: 'the community guidelines'},
  // the buttons that open dialogs.js's forms (their own strings are there)
  flag: 'Report', flagged: 'Reported', dsa: 'Report illegal content', myData: 'Your data',
}, window.commentsServiceStrings || {});

const script = document.currentScript || document.querySelector('script[data-site][src*="embed.js"]');
const d = script.dataset, site = d.site, articleId = d.articleId;
const base = new URL(script.src, location.href).origin, api = base + '/api/v1';
const MAX = +d.maxChars || 10000, EDIT_MS = (+d.editWindow || 900) * 1000, INDENT = 4;
const GUEST_KEY = 'cs-guest:' + site, MD_KEY = 'cs-md:' + site;
let host = document.getElementById(d.container || 'comments');
if (!host) { host = document.createElement('div'); script.parentNode.insertBefore(host, script); }
// loaded twice
if (host.shadowRoot) return;
const root = host.attachShadow({mode: 'open'});

// --- language: the first the widget has of the embed's data-lang (or lang), the page's <html lang>
// and the browser's languages, by primary subtag (Dari is Persian); else the site's default; else English ---
const LOCALES = ['en', 'ru', 'uk', 'fr', 'de', 'es', 'tr', 'ar', 'fa'];
const primary = (l) => { const c = String(l).split(/[-_]/)[0].toLowerCase(); return c === 'prs' ? 'fa' : c; };
const browserLangs = navigator.languages || [navigator.language];
// a stalled answer must not leave the thread blank: after 3 s the widget draws in English
const giveUp = window.AbortController ? new AbortController() : null, stall = giveUp && setTimeout(() => giveUp.abort(), 3000);
const wait = giveUp ? {signal: giveUp.signal} : {};
let code = [d.lang, script.getAttribute('lang'), document.documentElement.lang, ...browserLangs].map((l) => l && primary(l)).find((c) => LOCALES.includes(c))
  || await fetch(api + '/site?site=' + encodeURIComponent(site), wait).then((r) => r.ok ? r.json() : {}).then((j) => j.default_language, () => null);
if (!LOCALES.includes(code)) code = 'en';
// Times in that language, in the reader's own variant of it where they have one (en-GB: day before
// month, 24-hour clock), and always in the reader's time zone; counts in its digits and plural forms.
const lang = browserLangs.find((l) => l && primary(l) === code) || code;
const plural = window.Intl && Intl.PluralRules ? new Intl.PluralRules(code) : {select: (n) => n === 1 ? 'one' : 'other'};
const t = (k, v) => {
  let s = S[k];
  if (s && typeof s === 'object') s = s[plural.select(v && v.n)] || s.other;
  return String(s == null ? k : s).replace(/\{(\w+)\}/g, (_, n) => !v || v[n] == null ? '' : typeof v[n] === 'number' ? v[n].toLocaleString(lang) : v[n]);
};
// the locale's own strings (besides English), fetched before anything is drawn; none (English) when that fails
let L = {};
if (code !== 'en') await fetch(base + '/locales/' + code + '.json', wait).then((r) => r.ok ? r.json() : {}).then((j) => { L = j; Object.assign(S, j, window.commentsServiceStrings); }).catch(() => {});
clearTimeout(stall);

// --- storage (may be blocked: Safari private mode, strict settings) ---
const store = {
  get(k) { try { return localStorage.getItem(k); } catch (e) { return null; } },
  set(k, v) { try { v == null ? localStorage.removeItem(k) : localStorage.setItem(k, v); return true; } catch (e) { return false; } },
};
// the host page's sign-in; commentsService.setToken replaces it
let ssoToken = d.ssoToken || null;
let token = ssoToken || store.get(GUEST_KEY);
// the service said ssoToken expired: reads go without it until the page hands over a new one
let stale = false;
// {id, name} once known (id null: signed in, nothing written yet)
let me = null;
// the reader's ban, from /me: shown instead of the form
let standing = {banned: false, until: null};
// own comments' markdown, for editing without loss
const md = JSON.parse(store.get(MD_KEY) || '{}');

// --- DOM helpers: text only; the single innerHTML below takes the server's sanitised body_html ---
function h(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const k in props || {}) {
    const v = props[k];
    if (v == null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids) if (c != null && c !== false) e.append(c);
  return e;
}
let uid = 0;
const id = (p) => 'cs-' + p + '-' + (++uid);

// --- HTTP ---
function call(method, path, body) {
  const headers = {Accept: 'application/json'};
  const sent = stale && method === 'GET' ? null : token;
  if (sent) headers.Authorization = 'Bearer ' + sent;
  if (body) headers['Content-Type'] = 'application/json';
  // (lang: the service answers in the widget's language)
  const url = api + path + (path.includes('?') ? '&' : '?') + 'site=' + encodeURIComponent(site) + '&lang=' + code;
  return fetch(url, {method, headers, body: body && JSON.stringify(body), cache: 'no-cache'}).then((r) =>
    (r.status === 204 ? Promise.resolve(null) : r.json().catch(() => null)).then((j) => {
      if (r.ok) return j;
      const err = new Error('http ' + r.status);
      Object.assign(err, {status: r.status, problem: j || {}, rid: r.headers.get('X-Request-ID'), retry: r.headers.get('Retry-After')});
      // the page's sign-in ran out: tell the page, and read on without it (a write keeps its draft)
      if (r.status === 401 && sent && sent === ssoToken && err.problem.code === 'token_expired')
        return signInExpired(err, method === 'GET').then(() => { if (method === 'GET') return call(method, path, body); throw err; });
      throw err;
    }), (e) => { e.offline = true; throw e; });
}
const artPath = '/articles/' + encodeURIComponent(articleId);

function duration(s) { s = Math.max(1, Math.ceil(+s)); return s < 120 ? t('seconds', {n: s}) : t('minutes', {n: Math.ceil(s / 60)}); }
// The reader-facing explanation of an error: the server's own help text for its code, how long to
// wait when rate limited, and the request id to quote when reporting it.
function explain(err) {
  if (err.offline) return [t('offline')];
  const p = err.problem, lines = [p.help || p.detail || p.title || t('failed')];
  const retry = err.retry || p.retry_after;
  if (p.code === 'rate_limited' && retry) lines.push(t('retryIn', {t: duration(retry)}));
  const rid = err.rid || p.request_id;
  if (rid) lines.push(t('ref', {id: rid}));
  return lines;
}
function say(el, lines, kind) {
  el.textContent = '';
  el.className = 'status' + (kind ? ' ' + kind : '');
  // (dir auto: the service's words may be in another language than the widget's, English at worst)
  [].concat(lines).forEach((l, i) => el.append(h(i ? 'span' : 'strong', {class: i ? 'sub' : null, dir: 'auto', text: localDates(l)})));
}

// --- time ---
const rtf = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(lang, {numeric: 'auto'}) : null;
function ago(iso) {
  const s = (new Date(iso) - Date.now()) / 1000, a = Math.abs(s);
  if (!rtf) return new Date(iso).toLocaleString(lang);
  if (a < 45) return rtf.format(0, 'second');
  for (const [u, n] of [['minute', 60], ['hour', 3600], ['day', 86400], ['month', 2592000], ['year', 31536000]].reverse())
    if (a >= n * 0.95) return rtf.format(Math.round(s / n), u);
  return rtf.format(Math.round(s / 60), 'minute');
}
const exact = (iso) => new Date(iso).toLocaleString(lang, {dateStyle: 'full', timeStyle: 'short'});
// The service's texts name times as ISO 8601 (a ban's end, when an article closes): the reader reads
// them in their own language and time zone.
const ISO_TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g;
const localDates = (text) => String(text).replace(ISO_TIME, (m) => isNaN(new Date(m)) ? m : exact(m));
const timeEl = (iso) => h('time', {datetime: iso, title: exact(iso), text: ago(iso)});

// --- state ---
let sort = ['oldest', 'newest', 'top'].includes(d.sort) ? d.sort : 'oldest';
let article = null, nextCursor = null, known = 0;
// comment id -> rendered element
const nodes = new Map();
const votes = {};
const subs = new Map();
// published ids announced live and not yet shown
const fresh = new Set();
// reported from this page (the service refuses a second report)
const flagged = new Set();

// --- skeleton ---
const css = h('link', {rel: 'stylesheet', href: base + '/embed.css'});
const title = h('h2', {class: 'title', id: id('h'), text: t('heading0')});
const sortSel = h('select', {id: id('sort'), onchange: () => { sort = sortSel.value; load(); }},
  ...['oldest', 'newest', 'top'].map((v) => h('option', {value: v, text: t(v), selected: v === sort})));
const bar = h('div', {class: 'bar'}, title, h('label', {class: 'sortl', for: sortSel.id, text: t('sort')}), sortSel);
const liveBar = h('button', {type: 'button', class: 'live', hidden: true, onclick: () => load(true)});
const formSlot = h('div', {class: 'main-form'});
const list = h('div', {class: 'list', role: 'list'});
// The moderators' picks above the thread, the pinned comment first
const featList = h('ul'), featTitle = h('h3', {id: id('f'), text: t('featured')});
const feat = h('section', {class: 'feat', hidden: true, 'aria-labelledby': featTitle.id}, featTitle, featList);
const picked = new Set();
const moreBtn = h('button', {type: 'button', class: 'more', hidden: true, text: t('more'), onclick: () => page(nextCursor)});
const listStatus = h('p', {class: 'status', role: 'status'});
const issues = h('div', {class: 'issues'}, ...opener('issues', (m) => m.troubleshoot()));
const follow = subCtl(0);
const wrap = h('section', {class: 'cs', lang: code, dir: code === 'ar' || code === 'fa' ? 'rtl' : 'ltr', 'aria-labelledby': title.id}, bar, formSlot, follow, feat, liveBar, listStatus, list, moreBtn, issues);
root.append(css, wrap);

// Theme: data-theme (script or <html>) light or dark; else (auto) the page's colours: the background the
// widget sits on, else its color-scheme (a page declaring no dark scheme is drawn light on any system).
// embed.css reads three attributes on the host element: data-theme (light | dark); data-blend: the page's
// own background shows through (auto); data-boxed: a box of another colour than the page around it, with
// room inside. (embed.css is served as written, comments and all: its notes live here. It sets the
// font and colours again on .cs, below the host element, because the host page's rules that hit the
// container itself win over :host; and keeps a focused comment's outline inside the column.)
const darkOS = window.matchMedia && matchMedia('(prefers-color-scheme: dark)');
// shade(css): 'dark' | 'light', null when (mostly) transparent
function shade(css) {
  const p = (/\(([^)]*)/.exec(css) || ['', ''])[1].split(/[\s,/]+/).filter(Boolean).map(parseFloat);
  return p.length < 3 || p[3] < 0.5 ? null : p[0] * 0.299 + p[1] * 0.587 + p[2] * 0.114 < 128 ? 'dark' : 'light';
}
// surroundings(): 'dark' | 'light' as shade(), null: a picture, no telling
function surroundings() {
  for (let e = host; e; e = e.parentElement) {
    const s = getComputedStyle(e), c = shade(s.backgroundColor);
    if (c) return c;
    if (s.backgroundImage !== 'none') return null;
  }
  const meta = document.querySelector('meta[name="color-scheme"]');
  const scheme = getComputedStyle(document.documentElement).colorScheme + (meta ? ' ' + meta.content : '');
  return /dark/.test(scheme) && (!/light/.test(scheme) || darkOS.matches) ? 'dark' : 'light';
}
function theme() {
  const asked = d.theme || document.documentElement.dataset.theme, fixed = /^(light|dark)$/.test(asked);
  const around = surroundings(), mode = fixed ? asked : around || (darkOS.matches ? 'dark' : 'light');
  if (host.getAttribute('data-theme') !== mode) host.setAttribute('data-theme', mode);
  // auto shows the page's background through; a box unlike the page around it gets room inside
  if (host.hasAttribute('data-blend') !== (!fixed && !!around)) host.toggleAttribute('data-blend');
  if (host.hasAttribute('data-boxed') !== (fixed ? around !== mode : !around)) host.toggleAttribute('data-boxed');
}
theme();
// the page's own light/dark switch: a class, style or data-theme on <html>, <body> or the container's parent
const watch = new MutationObserver(theme), attributeFilter = ['class', 'style', 'data-theme'];
[document.documentElement, document.body, host.parentElement].forEach((e) => e && watch.observe(e, {attributes: true, attributeFilter}));
// a stylesheet or color-scheme added later
watch.observe(document.head, {childList: true});
// Safari < 14: addListener only
if (darkOS.addEventListener) darkOS.addEventListener('change', theme);
addEventListener('load', theme);

// --- rendering ---
function heading() {
  const n = article ? article.comment_count : 0;
  title.textContent = !article ? t('heading0') : t('heading', {n});
  follow.hidden = !(token && n && article.comments_open);
}
function mine(c) { return me && c.author && c.author.id === me.id; }
function editable(c) { return mine(c) && !c.deleted && Date.now() - new Date(c.created_at) < EDIT_MS; }
// Whether the reader may write here now: a closed article or a ban shows before they write, not after
// (deleting one's own comment stays offered; the service says where a site does not allow it).
function writable() { return !!article && article.comments_open && !standing.banned; }

function comment(c) {
  const el = h('article', {class: 'c', role: 'listitem', id: 'comment-' + c.id, 'data-id': c.id, 'data-depth': c.depth});
  const replies = h('div', {class: 'replies' + (c.depth + 1 >= INDENT ? ' flat' : ''), role: 'list'});
  fill(el, c, replies);
  (c.replies || []).forEach((r) => replies.append(comment(r)));
  if (c.replies_cursor != null) replies.append(moreReplies(c, c.replies_cursor));
  nodes.set(c.id, el);
  el._c = c;
  return el;
}

// The comment's own parts; its replies container survives re-rendering after an edit.
function fill(el, c, replies) {
  replies = replies || el.querySelector(':scope > .replies');
  el._flag = el._flag || h('div'); el._dsa = el._dsa || h('div');
  // an open reply or edit form survives re-rendering (a vote, another reader's edit): no draft is lost
  const slot = el.querySelector(':scope > .slot') || h('div', {class: 'slot'});
  if (c.deleted) slot.textContent = '';
  el.textContent = '';
  el.classList.toggle('deleted', !!c.deleted);
  const held = !c.restricted && (c.status === 'held' || c.status === 'pending_scoring');
  el.classList.toggle('held', held);
  const head = h('header', null,
    h('bdi', {class: 'author', text: c.author ? c.author.name : ''}), ' ', timeEl(c.created_at),
    c.edited_at && h('span', {class: 'edited', title: t('editedAt', {time: exact(c.edited_at)}), text: ' · ' + t('edited')}),
    held && h('span', {class: 'badge', title: t('pendingNote'), text: t(c.status === 'held' ? 'pending' : 'checking')}));
  const body = bodyOf(c);
  const foot = h('footer');
  if (!c.deleted && c.status === 'published') {
    const score = h('span', {class: 'score', 'aria-label': t('score', {n: c.score}), text: String(c.score)});
    const vote = (v) => h('button', {type: 'button', class: 'vote' + (votes[c.id] === v ? ' on' : ''), 'aria-label': t(v > 0 ? 'up' : 'down'),
      'aria-pressed': String(votes[c.id] === v), text: v > 0 ? '▲' : '▼', disabled: !writable(), onclick: () => castVote(el, v)});
    foot.append(vote(1), score, vote(-1));
    if (writable()) foot.append(h('button', {type: 'button', class: 'link', text: t('reply'), onclick: () => openReply(el)}));
  }
  if (editable(c)) {
    if (writable()) foot.append(h('button', {type: 'button', class: 'link', text: t('edit'), onclick: () => openEdit(el)}));
    foot.append(h('button', {type: 'button', class: 'link', text: t('del'), onclick: () => remove(el)}));
  }
  const done = flagged.has(c.id);
  const tog = (k, build) => toggler(el['_' + k], () => el.querySelector(':scope > footer .' + k), build);
  if (!c.deleted && c.status === 'published' && !mine(c) && !standing.banned) foot.append(h('button', {type: 'button', class: 'link flag',
    text: t(done ? 'flagged' : 'flag'), disabled: done, 'aria-expanded': String(!done && !!el._flag.firstChild), onclick: tog('flag', (m, x, b) => m.flag(el, x, b))}));
  if (!c.deleted && c.status === 'published') foot.append(h('button', {type: 'button', class: 'link dsa', text: t('dsa'),
    'aria-expanded': String(!!el._dsa.firstChild), onclick: tog('dsa', (m, x, b) => m.notice(el, x, b))}));
  const note = mine(c) && !c.deleted && c.status === 'published' && (el.querySelector(':scope > .notify') || subCtl(c.id));
  if (note && !note._asking) note._paint();
  if (c.deleted) el._flag.textContent = el._dsa.textContent = '';
  el.append(head, body, foot, note || '', c.status === 'held' && el._why || '', h('p', {class: 'status', role: 'status'}), el._flag, el._dsa, slot, replies);
}

function bodyOf(c) {
  // each comment in its own writing's direction, whatever the widget's
  const body = h('div', {class: 'body', dir: 'auto'});
  if (c.deleted) body.append(h('em', {text: t('deleted')}));
  // sanitised by the server (nh3) when the comment was written
  else body.innerHTML = c.body_html;
  return body;
}
// The first page's picks and pin (a pinned pick shows once, as pinned)
function picks(p) {
  const shown = (p.pinned ? [p.pinned] : []).concat((p.featured || []).filter((c) => !p.pinned || c.id !== p.pinned.id));
  featList.textContent = ''; picked.clear();
  shown.forEach((c) => {
    picked.add(c.id);
    featList.append(h('li', {class: 'pick'}, h('header', null, h('bdi', {class: 'author', text: c.author ? c.author.name : ''}), ' ', timeEl(c.created_at),
      c === p.pinned && h('span', {class: 'badge pin', text: t('pinned')})), bodyOf(c)));
  });
  feat.hidden = !shown.length;
}
const firstPage = () => call('GET', artPath + '/comments?sort=' + sort + '&limit=1&replies=0');
function moreReplies(c, cursor) {
  const shown = (c.replies || []).length, left = Math.max(1, c.reply_count - shown);
  const deep = c.depth + 1 >= INDENT && !shown;
  const btn = h('button', {type: 'button', class: 'more small', text: deep ? t('continueThread') : t('moreReplies', {n: left})});
  // (a list item of the replies' list, as the comments are)
  const li = h('div', {role: 'listitem'}, btn);
  btn.onclick = () => {
    btn.disabled = true;
    call('GET', '/comments/' + c.id + '/replies' + (cursor ? '?cursor=' + encodeURIComponent(cursor) : '')).then((p) => {
      p.replies.forEach((r) => { if (!nodes.has(r.id)) li.before(comment(r)); });
      c.replies = (c.replies || []).concat(p.replies);
      if (p.next_cursor) { cursor = p.next_cursor; btn.disabled = false; btn.textContent = t('moreReplies', {n: Math.max(1, c.reply_count - c.replies.length)}); } else li.remove();
    }, (e) => { btn.disabled = false; say(statusOf(btn.closest('.c')), explain(e), 'error'); });
  };
  return li;
}
const statusOf = (el) => el.querySelector(':scope > .status');

// --- loading ---
function load(fromLive) {
  fresh.clear(); liveBar.hidden = true;
  if (!fromLive) say(listStatus, t('loading'));
  return call('GET', artPath + '/comments?sort=' + sort).then((p) => {
    list.textContent = ''; nodes.clear();
    render(p); picks(p);
    const own = p.own_pending || [];
    own.forEach(placeOwn);
    // a held comment of the reader's: the statement of reasons for holding it, under Why?
    if (own.length) dialogs().then((m) => m.statements().then((l) => l.forEach((s) => {
      const el = !s.lifted_at && nodes.get(s.comment_id);
      if (el && !el._why) { el._why = m.why(s); fill(el, el._c); }
    }))).catch(() => {});
    if (!list.children.length) say(listStatus, t('empty')); else say(listStatus, '');
  }, (e) => {
    say(listStatus, [t('loadFailed')].concat(explain(e)), 'error');
    listStatus.append(h('button', {type: 'button', class: 'link', text: t('retry'), onclick: () => load()}));
  });
}
function page(cursor) {
  moreBtn.disabled = true;
  return call('GET', artPath + '/comments?sort=' + sort + '&cursor=' + encodeURIComponent(cursor)).then((p) => { render(p); moreBtn.disabled = false; },
    (e) => { moreBtn.disabled = false; say(listStatus, explain(e), 'error'); });
}
function render(p) {
  const first = !article;
  article = p.article; known = article.comment_count; heading();
  if (first || !formSlot.firstChild || formSlot._open !== article.comments_open) mainForm();
  p.comments.forEach((c) => { if (!nodes.has(c.id)) list.append(comment(c)); });
  nextCursor = p.next_cursor; moreBtn.hidden = !nextCursor;
}
// The reader's own held comments: shown where they would appear, visible only to them.
function placeOwn(c) {
  if (nodes.has(c.id)) return;
  const parent = c.parent_id && nodes.get(c.parent_id);
  const el = comment(c);
  if (parent) parent.querySelector(':scope > .replies').append(el); else list.prepend(el);
}
function mainForm() {
  formSlot.textContent = '';
  formSlot._open = article.comments_open; formSlot._banned = standing.banned;
  formSlot.append(!article.comments_open ? h('p', {class: 'notice', text: t('closed')}) : standing.banned
    ? h('p', {class: 'notice error', role: 'status', text: standing.until ? t('bannedUntil', {time: exact(standing.until)}) : t('banned')})
    : form({}));
}
// The article or the reader's standing may have changed while the page was open: look again when the
// reader starts writing (the first time, then at most once a minute), not after they have written.
let lookedAt = 0;
formSlot.addEventListener('focusin', () => {
  if (!article || Date.now() - lookedAt < 60000) return;
  lookedAt = Date.now();
  Promise.all([whoAmI(), firstPage().catch(() => null)]).then(([, p]) => {
    if (p) article.comments_open = p.article.comments_open;
    if (formSlot._open === article.comments_open && formSlot._banned === standing.banned) return;
    mainForm();
    // replies, edits and votes follow
    nodes.forEach((el) => fill(el, el._c));
  });
});

// --- writing ---
function form(o) {
  // o: {parent: element} for a reply, {edit: element} for an edit, {} for a new comment
  const f = h('form', {class: 'form', novalidate: true});
  const ta = h('textarea', {id: id('ta'), rows: o.parent || o.edit ? 3 : 4, dir: 'auto'});
  const count = h('span', {class: 'count', id: id('n'), 'aria-live': 'polite'});
  const status = h('p', {class: 'status', role: 'status'});
  const nudge = h('div', {class: 'nudge', role: 'alert', hidden: true});
  const submit = h('button', {type: 'submit', class: 'primary', text: t(o.edit ? 'save' : o.parent ? 'postReply' : 'post')});
  ta.setAttribute('aria-describedby', count.id);
  let nameIn = null, nudged = null, hp = null;
  f.append(h('label', {for: ta.id, text: t(o.parent ? 'yourReply' : 'yourComment')}), ta);
  if (!o.edit) {
    // guests: a field people never see (form-filling bots fill it), and the proof of work solved as they write
    if (!ssoToken) { f.append(hp = h('input', {class: 'hp', name: 'website', tabindex: -1, autocomplete: 'off', 'aria-hidden': 'true'})); ta.addEventListener('focus', () => pow(), {once: true}); }
    if (token) {
      f.prepend(who());
    } else {
      nameIn = h('input', {id: id('name'), autocomplete: 'nickname', maxlength: 80, value: store.get(GUEST_KEY + ':name') || ''});
      f.prepend(h('div', {class: 'name'}, h('label', {for: nameIn.id, text: t('yourName')}), nameIn));
    }
  }
  const tally = () => {
    const n = [...ta.value.trim()].length, over = n - MAX;
    count.textContent = over > 0 ? t('tooLong', {n: over}) : t('chars', {n: n.toLocaleString(lang), max: MAX.toLocaleString(lang)});
    count.classList.toggle('over', over > 0); submit.disabled = over > 0;
    if (nudged !== null && nudged !== ta.value) { nudge.hidden = true; nudged = null; }
  };
  ta.addEventListener('input', tally);
  if (o.edit) ta.value = md[o.edit._c.id] || '';
  tally();
  if (o.edit && md[o.edit._c.id] == null) ownSource(o.edit, ta, status);
  const helpBox = h('details', {class: 'help'}, h('summary', {text: t('help')}), h('code', {text: t('helpText')}));
  const actions = h('div', {class: 'actions'}, submit);
  if (o.parent || o.edit) actions.append(h('button', {type: 'button', text: t('cancel'), onclick: () => { const b = (o.parent || o.edit).querySelector('footer button'); f.remove(); b && b.focus(); }}));
  f.append(h('div', {class: 'meta'}, count, helpBox), nudge, actions, status);

  function send(skipNudge) {
    const text = ta.value.trim();
    if (!text) { say(status, t('failed')); return; }
    if (nameIn && !nameIn.value.trim()) { say(status, t('nameNeeded'), 'error'); nameIn.focus(); return; }
    submit.disabled = true; say(status, t('posting'));
    const check = o.edit || skipNudge ? Promise.resolve(null) : call('POST', '/toxicity/check', {body: text}).catch(() => null);
    check.then((r) => {
      // the nudge: the reader decides, nothing is sent yet
      if (r && (r.likely_held || r.likely_rejected)) {
        nudged = ta.value; submit.disabled = false; say(status, '');
        nudge.textContent = '';
        // text that would be rejected is not offered for review: it would not be published
        nudge.append(h('p', {text: r.message || t(r.likely_rejected ? 'nudgeReject' : 'nudge')}),
          h('button', {type: 'button', text: t('nudgeEdit'), onclick: () => { nudge.hidden = true; ta.focus(); }}));
        if (!r.likely_rejected) nudge.append(h('button', {type: 'button', class: 'primary', text: t('nudgeSubmit'),
          onclick: () => { nudge.hidden = true; submit.focus(); send(true); }}));
        nudge.hidden = false; nudge.querySelector('button').focus();
        return;
      }
      return (o.edit ? editSend(o.edit, text) : postSend(o, text, nameIn, hp, status)).then((done) => {
        say(status, done.lines, done.kind);
        if (done.clear) { ta.value = ''; tally(); if (o.parent || o.edit) setTimeout(() => f.remove(), 0); } else ta.focus();
        submit.disabled = false;
      });
    }).catch((e) => { submit.disabled = false; say(status, explain(e), 'error'); });
  }
  f.addEventListener('submit', (ev) => { ev.preventDefault(); send(false); });
  f._ta = ta;
  return f;
}

// Scripts of the widget's own, each fetched the first time it is needed, once: what it sets on window
const scripts = {};
const lazy = (name, global) => scripts[name] = scripts[name] || (window[global] ? Promise.resolve(window[global]) : new Promise((ok, no) => document.head.append(h('script',
  {src: base + '/' + name, onload: () => window[global] ? ok(window[global]) : no(), onerror: no}))).catch((e) => { delete scripts[name]; throw e; }));
// the guests' proof of work (challenge.js): not asked for where the thread says guests may not comment
// (article.guest_commenting false), as the service would refuse it there
const pow = (take, slow) => article && article.guest_commenting === false ? Promise.resolve(null)
  : lazy('challenge.js', 'csPow').then((f) => f(api, site, take, slow)).catch(() => null);
function postSend(o, text, nameIn, hp, st) {
  const body = {body: text, article_url: d.articleUrl || location.href, article_title: d.articleTitle || document.title};
  if (o.parent) body.parent_id = o.parent._c.id;
  if (nameIn) { body.author_name = nameIn.value.trim(); store.set(GUEST_KEY + ':name', body.author_name); }
  if (hp && hp.value) body.website = hp.value;
  return (ssoToken ? Promise.resolve() : pow(1, () => say(st, t('checkingBot')))).then((p) => { if (p) body.challenge = p; return call('POST', artPath + '/comments', body); }).then((res) => {
    if (res.guest_token) { token = res.guest_token; store.set(GUEST_KEY, token); }
    if (res.user) me = res.user;
    const c = res.comment, st = res.status;
    if (st !== 'rejected') { md[c.id] = text; remember(); }
    if (res.article) article = res.article;
    const lines = [res.message || t(st) || t('published')];
    if (st === 'rejected') {
      const r = res.reason_category;
      if (r) lines.push(t('reason', {r: S.reasons[r] || r}));
      return {lines, kind: 'error', clear: false};
    }
    // its live event may have come first
    if (st === 'published') { known += 1; fresh.delete(c.id); announce(); }
    c.status = st;
    const el = comment(c), kind = st === 'published' ? 'ok' : 'info';
    if (o.parent) o.parent.querySelector(':scope > .replies').append(el);
    // it belongs on a later page; the count says it is there
    else if (sort === 'oldest' && nextCursor) {}
    else if (sort === 'oldest') list.append(el); else list.prepend(el);
    heading(); emptyNote();
    // a first guest comment made the reader known: the name field becomes "Commenting as"
    if (nameIn && me) { nameIn.parentNode.replaceWith(asLine()); if (o.parent) mainForm(); }
    // a reply's form goes away: its outcome stays with it
    if (o.parent) say(statusOf(el), lines, kind);
    if (el.isConnected) focusOn(el);
    return {lines, kind, clear: true};
  });
}
function editSend(el, text) {
  return call('PATCH', '/comments/' + el._c.id, {body: text}).then((c) => {
    md[c.id] = text; remember();
    const was = el._c.status;
    el._c = Object.assign(el._c, c, {replies: el._c.replies}); fill(el, el._c);
    // hidden from others until checked again
    if (was === 'published' && c.status !== 'published') dropped(c.id);
    say(statusOf(el), t('saved'), 'ok'); focusOn(el);
    return {lines: t('saved'), kind: 'ok', clear: true};
  });
}
// Keyboard and screen-reader users land on the comment they just wrote, saved or deleted, rather than
// on a form that went away.
function focusOn(el) {
  el.setAttribute('tabindex', '-1');
  el.focus({preventScroll: true});
  if (el.scrollIntoView) el.scrollIntoView({block: 'nearest'});
}
// The author's own markdown when this browser does not hold it (written in another browser, storage
// cleared or blocked): only the author gets it from the server, never in the shared thread pages.
function ownSource(el, ta, status) {
  ta.readOnly = true;
  call('GET', '/comments/' + el._c.id + '/source').then((r) => { md[el._c.id] = r.body; remember(); return r.body; }, (e) => {
    say(status, explain(e), 'error');
    // better than nothing to start from
    return el.querySelector(':scope > .body').innerText.trim();
  }).then((text) => { if (!ta.value) ta.value = text; ta.readOnly = false; ta.dispatchEvent(new Event('input')); });
}
// "No comments yet" only while there are none to show.
function emptyNote() {
  if (!list.children.length) say(listStatus, t('empty'));
  else if (listStatus.textContent === t('empty')) { listStatus.textContent = ''; listStatus.className = 'status'; }
}
// The article's count as readers see it, moved by live news; the page's own reads set it outright.
function counted(n) { if (article) { article.comment_count = Math.max(0, article.comment_count + n); heading(); } }
// A published comment left the thread (deleted, removed, or back to scoring after an edit): the count
// and the new-comments bar follow, whether it was shown, announced or on a page not loaded.
function dropped(cid) {
  if (fresh.delete(cid)) announce(); else known -= 1;
  counted(-1);
}
// Deleted by its author: it keeps its place while replies hang under it.
function tombstone(el) {
  if (el._c.status === 'published') dropped(el._c.id);
  fill(el, Object.assign(el._c, {deleted: true, status: 'deleted', author: null, body_html: '', edited_at: null}));
}
// Removed by a moderator, or hidden while an edit is checked: gone from this page with its replies.
function hide(el) {
  if (el._c.status === 'published') dropped(el._c.id);
  el.querySelectorAll('article.c').forEach((r) => nodes.delete(+r.dataset.id));
  nodes.delete(el._c.id); el.remove(); emptyNote();
}
// the newest few are enough: older ones are past the edit window
function remember() {
  Object.keys(md).sort((a, b) => b - a).slice(20).forEach((k) => delete md[k]);
  store.set(MD_KEY, JSON.stringify(md));
}
function openReply(el) {
  const slot = el.querySelector(':scope > .slot');
  if (!slot.firstChild) slot.append(form({parent: el}));
  slot.firstChild._ta.focus();
}
function openEdit(el) {
  const slot = el.querySelector(':scope > .slot');
  slot.textContent = '';
  const f = form({edit: el});
  slot.append(f); f._ta.focus();
}
function remove(el) {
  if (!confirm(t('confirmDelete'))) return;
  call('DELETE', '/comments/' + el._c.id).then(() => {
    // unless its live event came first
    if (!el._c.deleted) tombstone(el);
    say(statusOf(el), t('removed'), 'ok'); focusOn(el);
  }, (e) => say(statusOf(el), explain(e), 'error'));
}
function castVote(el, v) {
  const c = el._c, value = votes[c.id] === v ? 0 : v;
  call('POST', '/comments/' + c.id + '/votes', {value}).then((r) => {
    votes[c.id] = r.your_vote; Object.assign(c, {score: r.score, upvotes: r.upvotes, downvotes: r.downvotes});
    fill(el, c);
    el.querySelectorAll(':scope > footer .vote')[v > 0 ? 0 : 1].focus();
  }, (e) => say(statusOf(el), explain(e), 'error'));
}
// --- the forms readers seldom open live in dialogs.js, fetched the first time one opens; w is all it
// gets of the widget ---
const w = {t, h, id, call, say, explain, exact, timeEl, localDates, lang, site, articleId, root, formSlot, nodes, flagged, fill, mine, opener,
  get token() { return token; },
  // its own strings join the table, under the host page's (window.commentsServiceStrings)
  strings: (more) => Object.assign(S, more, L, window.commentsServiceStrings),
  // the reader's data was erased: what this browser kept of theirs goes too
  forget() { forgetMd(); store.set(GUEST_KEY + ':name', null); if (!ssoToken) signOut(); return load(); }};
let dialogs = () => lazy('dialogs.js', 'csDialogs').then((f) => { const m = f(w); dialogs = () => Promise.resolve(m); return m; });
// A button (btn() finds it: a comment's footer is drawn again) that opens build(dialogs, close, box) in box,
// and closes it. Each press counts in turn, however soon after the last (the first waits for dialogs.js).
function toggler(box, btn, build) {
  const toggle = (ev) => dialogs().catch(() => null).then((m) => {
    const open = !box.firstChild;
    box.textContent = ''; btn().setAttribute('aria-expanded', open);
    if (open) {
      box.append(m ? build(m, toggle, box) : h('p', {class: 'status error', role: 'alert', text: t('offline')}));
      (box.querySelector('p[tabindex],input,select,textarea,button') || btn()).focus();
    } else if (ev) btn().focus();
  });
  return toggle;
}
function opener(label, build) {
  const box = h('div'), b = h('button', {type: 'button', class: 'link', 'aria-expanded': 'false', text: t(label)});
  b.onclick = toggler(box, () => b, build);
  return [b, box];
}
function asLine() {
  const [b, box] = opener('myData', (m, x) => m.dataPane(x));
  return h('div', null, h('p', {class: 'as'}, t('as', {name: me.name}) + ' ', ssoToken ? null : h('button', {type: 'button', class: 'link', text: t('notYou'), onclick: signOut}), ' ', b), box);
}
function forgetMd() { for (const k in md) delete md[k]; store.set(MD_KEY, null); }
function signOut() { token = null; me = null; store.set(GUEST_KEY, null); mainForm(); loadSubs(); }

// --- identity ---
function whoAmI() {
  if (!token) return Promise.resolve();
  return call('GET', '/me').then((r) => { me = r.user; standing = {banned: !!r.banned, until: r.banned_until}; }, (e) => {
    // a guest token from another deployment or an expired one: start again as a new guest
    if (e.status === 401 && !ssoToken) { token = null; store.set(GUEST_KEY, null); }
  });
}
// Above each new comment's box: who the reader is, or that their sign-in has expired.
function who() { const el = h('div', {class: 'who'}); paintWho(el); return el; }
function paintWho(el) {
  el.textContent = '';
  if (stale) el.append(h('p', {class: 'notice warn', role: 'status', text: expiredHelp || t('signInExpired')}));
  else if (me) el.append(asLine());
}
const repaintWho = () => root.querySelectorAll('.who').forEach(paintWho);
// Refresh hook: an event on the container (it bubbles to document) a minute before the token's exp and
// when the service refuses it as expired; the page answers with commentsService.setToken(newToken).
const askForToken = (reason) => host.dispatchEvent(new CustomEvent('comments-service:token-expired',
  {bubbles: true, composed: true, detail: {reason, site, articleId}}));
let expiredHelp = null, codes = null, expiryTimer = null, askedAt = 0;
function signInExpired(err, read) {
  stale = true; clearTimeout(expiryTimer);
  // a page whose new tokens come expired (its clock is off) must not be asked in a loop: reads ask at
  // most twice a minute, a reader's own write every time
  if (!read || Date.now() - askedAt > 30000) { askedAt = Date.now(); askForToken('expired'); }
  codes = codes || call('GET', '/troubleshoot/codes').then((r) => r.codes, () => { codes = null; return {}; });
  // the catalogue's own words, as the troubleshooter shows them
  return codes.then((c) => {
    err.problem.help = expiredHelp = (c.token_expired || {}).help || t('signInExpired');
    repaintWho();
  });
}
function watchExpiry() {
  clearTimeout(expiryTimer);
  let exp = 0;
  try { exp = +JSON.parse(atob(ssoToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp; } catch (e) { return; }
  // by this browser's clock: the service's answer is what counts
  const ms = exp * 1000 - Date.now() - 60000;
  if (ms > 0 && ms < 2 ** 31) expiryTimer = setTimeout(() => askForToken('expiring'), ms);
}
// A new sign-in from the page (null: signed out). The reader's draft stays where it is.
function setToken(next) {
  // signed out (a shared computer): the reader's own markdown leaves this browser's storage; the
  // service still gives it back to its author for editing
  if (!next && ssoToken) forgetMd();
  ssoToken = next || null; stale = false; me = null; standing = {banned: false, until: null};
  token = ssoToken || store.get(GUEST_KEY);
  watchExpiry();
  return whoAmI().then(() => {
    loadSubs();
    const ta = formSlot.querySelector('textarea'), draft = ta ? ta.value : '';
    if (article) mainForm();
    const again = formSlot.querySelector('textarea');
    if (again && draft) { again.value = draft; again.dispatchEvent(new Event('input')); }
    repaintWho();
  });
}

// --- email notifications (key: one's own comment's id, 0: the whole discussion) ---
function loadSubs() {
  subs.clear();
  return Promise.resolve(token && !stale && call('GET', '/me/notifications').then((l) => l.forEach(keep), () => {})).then(() => {
    nodes.forEach((el) => fill(el, el._c)); follow._paint(); heading();
  });
}
function keep(s) { if (s.article_id === articleId) subs.set(s.comment_id || 0, s); }
function subCtl(key) {
  const ctl = h('span'), status = h('p', {class: 'status', role: 'status'}), box = h('div', {class: 'notify'}, ctl, status);
  const act = (p) => p.then(() => paint(1), (e) => (e.problem || {}).code === 'email_required' && !box._asking ? askEmail() : say(status, explain(e), 'error'));
  const ask = (email) => act(call('POST', '/me/notifications', {article_id: articleId, comment_id: key || null, email}).then(keep));
  const askEmail = () => {
    box._asking = true; ctl.textContent = '';
    const inp = h('input', {type: 'email', id: id('em'), autocomplete: 'email'});
    ctl.append(h('form', {novalidate: true, onsubmit: (e) => { e.preventDefault(); ask(inp.value.trim()); }},
      h('label', {for: inp.id, text: t('email')}), inp, ' ', h('button', {class: 'primary', text: t('send')}), ' ', h('button', {type: 'button', class: 'link', text: t('cancel'), onclick: () => paint(1)})));
    inp.focus();
  };
  const paint = box._paint = (focus) => {
    box._asking = false; ctl.textContent = '';
    const s = subs.get(key), on = s && t(s.confirmed ? key ? 'notifyOn' : 'followOn' : 'confirmSent') + ' — ';
    ctl.append(on || '', h('button', {type: 'button', class: 'link', text: t(on ? 'stop' : key ? 'notify' : 'follow'), 'aria-label': on && on + t('stop'),
      onclick: () => !on ? ssoToken ? ask() : askEmail() : act(call('DELETE', '/me/notifications/' + s.id).catch((e) => { if (e.status !== 404) throw e; }).then(() => subs.delete(key)))}));
    if (focus) { status.textContent = ''; ctl.querySelector('button').focus(); }
  };
  return box;
}
// a reply email's link, #comment-<id>: that comment, scrolled to and marked
function reveal() {
  const m = /^#comment-(\d+)$/.exec(location.hash), el = m && nodes.get(+m[1]);
  if (el) { el.classList.add('target'); el.scrollIntoView({block: 'center'}); }
}

// --- live updates: SSE, with polling and reconnection when the stream is unavailable ---
let es = null, backoff = 2000, pollTimer = null, streamed = false;
function announce() {
  const n = fresh.size;
  liveBar.hidden = !n;
  liveBar.textContent = t('newComments', {n});
}
function onEvent(m) {
  let ev; try { ev = JSON.parse(m.data); } catch (e) { return; }
  const cid = ev.comment_id, el = nodes.get(cid);
  if (ev.type === 'comment.published') {
    // our own comment just cleared scoring or moderation
    if (el) {
      if (el._c.status !== 'published' && !el._c.deleted) { known += 1; el._c.status = 'published'; fill(el, el._c); counted(1); }
    } else if (!fresh.has(cid)) { fresh.add(cid); announce(); counted(1); }
  } else if (ev.type === 'comment.edited') {
    // the new text, as every reader sees it
    if (ev.comment) {
      if (el) { el._c = Object.assign(el._c, ev.comment, {replies: el._c.replies, replies_cursor: el._c.replies_cursor}); fill(el, el._c); }
    // back to scoring: hidden from readers until it is published again
    } else if (!el) dropped(cid);
    // (its author still sees it, marked as being checked)
    else if (!mine(el._c)) hide(el);
  } else if (ev.type === 'comment.deleted') {
    if (!el) dropped(cid); else if (!el._c.deleted) tombstone(el);
  } else if (ev.type === 'comment.removed') {
    if (!el) dropped(cid); else hide(el);
  }
  if (/^comment\.(un)?(featured|pinned)$/.test(ev.type) || picked.has(cid)) firstPage().then(picks, () => {});
}
// Polling is the fallback: the published count tells how many comments arrived meanwhile.
function poll() {
  firstPage().then((p) => {
    picks(p);
    if (article) { article.comment_count = p.article.comment_count; heading(); }
    // placeholders for the comments the count says arrived: fewer when some were deleted meanwhile
    const n = p.article.comment_count - known;
    [...fresh].filter((k) => typeof k === 'string').forEach((k) => fresh.delete(k));
    for (let i = 0; fresh.size < n; i++) fresh.add('p' + i);
    announce();
  }, () => {});
}
function live() {
  if (!window.EventSource) { pollTimer = pollTimer || setInterval(poll, 30000); return; }
  const url = api + artPath + '/events?site=' + encodeURIComponent(site);
  es = new EventSource(url);
  es.addEventListener('ready', () => {
    backoff = 2000;
    // a reconnection: count what arrived while the stream was down
    if (streamed || pollTimer) poll();
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
    streamed = true;
  });
  es.onmessage = onEvent;
  es.onerror = () => {
    // CONNECTING: the stream ended (its lifetime is capped, or the server restarted) and the browser
    // reconnects after the server's retry hint. CLOSED: the server refused (429 over its stream caps,
    // 503 without Redis). EventSource does not say why, so a HEAD asks for the Retry-After; poll
    // meanwhile and try the stream again after that, backing off, spread out.
    if (es.readyState !== 2) return;
    es.close(); es = null;
    pollTimer = pollTimer || setInterval(poll, 30000);
    fetch(url, {method: 'HEAD', cache: 'no-store'}).then((r) => +r.headers.get('Retry-After') || 0, () => 0).then((s) => {
      setTimeout(live, Math.max(backoff, s * 1000) * (1 + Math.random() / 2)); backoff = Math.min(backoff * 2, 120000);
    });
  };
}
document.addEventListener('visibilitychange', () => { if (!document.hidden && !es) poll(); });
setInterval(() => root.querySelectorAll('time').forEach((e) => { e.textContent = ago(e.getAttribute('datetime')); }), 60000);

whoAmI().then(() => { loadSubs(); return load(); }).then(() => { reveal(); live(); });
watchExpiry();
// lets a host page refresh after its own sign-in, and hand over a fresh token (the refresh hook above)
window.commentsService = {reload: load, setToken};
})();
