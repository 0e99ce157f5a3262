// comments_service widget: the forms readers seldom open. embed.js fetches this the first time one
// opens (or a reader's held comment needs its Why?): reporting a comment to the moderators, the EU
// Digital Services Act's notice of illegal content, statement of reasons and appeal, the reader's own
// data, and the "having issues with commenting?" check. It sets window.csDialogs(w): given w, what
// embed.js lends it (the list where embed.js builds it), it answers the forms, each built into the
// box embed.js opens for it.
// (Line comments are left out when the script is served: api/pages.py compact_script.)
(() => {
'use strict';
window.csDialogs = (w) => {
const {t, h, id, call, say, explain, exact, timeEl, localDates, lang, nodes, opener} = w;
// these forms' strings, added to embed.js's table
const S = w.strings({
  checkingIssues: 'Checking…', issuesTitle: 'Commenting check', ok: 'OK', warn: 'Warning', fail: 'Problem', info: 'Info',
  storageOk: 'Your browser lets this page remember you.', storageBad: 'Your browser blocks storage for this page, so you will be asked for your name each time. Allow site data for this site, or leave private browsing.',
  cookieOk: 'Cookies are enabled.', cookieBad: 'Cookies are blocked in this browser. Commenting works without them, but your news site\'s sign-in may not.',
  localChecks: 'This browser', troubleUnavailable: 'The automatic check is not available right now.',
  report: 'Still stuck? Describe the problem', reportSend: 'Send report', reportThanks: 'Thank you. Your reference number is {id}.',
  flagWhy: 'Why report this comment?', flagNote: 'Note for the moderators (optional, up to {max} characters)',
  flagDone: 'Thanks — the moderators will look at it', flagAgain: 'You already reported this',
  flagAuth: 'Sign in, or post a comment as a guest where guests may comment, to report comments.',
  // the service's reader-report codes (domain/moderation.py REPORT_REASONS; a browser test keeps them in step)
  flags: {offensive: 'Offensive or abusive', spam: 'Spam', off_topic: 'Off topic', other: 'Something else'},
  // EU Digital Services Act: notices of illegal content (Art. 16), statements of reasons (Art. 17), appeals (Art. 20)
  dsaPick: 'Comment', dsaOf: '#{id} {name}: {text}',
  dsaCat: 'Kind of illegal content', dsaWhy: 'Why is it illegal?',
  dsaWho: 'Your name and email (optional only for child sexual abuse material)',
  dsaFaith: 'I declare in good faith that this notice is accurate and complete', dsaSend: 'Send notice',
  dsaRef: 'Keep this reference: {ref}', dsaMail: 'The decision will be emailed to you.', dsaKey: 'Appeal key: {key}',
  // the service's notice categories (domain/dsa_models.py NoticeCategory; a browser test keeps them in step)
  cats: {illegal_hate_speech: 'Illegal hate speech', terrorist_content: 'Terrorist content', child_sexual_abuse_material: 'Child sexual abuse material',
    defamation: 'Defamation', privacy_violation: 'Privacy violation', intellectual_property: 'Intellectual property infringement',
    fraud_or_scam: 'Fraud or scam', other_illegal: 'Other illegal content'},
  why: 'Why?', decisions: 'Decisions about your comments', noDecisions: 'None.', stOn: '#{id}',
  found: {automated: 'Found automatically', notice: 'Notified as illegal', reader_report: 'Reported by readers', own_initiative: 'Found by moderators'},
  byMachine: 'decided automatically on {time}', byPerson: 'decided by a person on {time}', lifted: 'No longer in force.',
  redress: 'You may appeal until {time}; a person decides.', appeal: 'Appeal', appealWhy: 'Why should it change?',
  appealed: 'Appeal received; a person will decide.', outcomes: {reverse: 'Appeal upheld: decision reversed.', confirm: 'Appeal rejected: decision stands.'},
  // the reader's data (PRIVACY.md)
  download: 'Download my data', erase: 'Delete my data', erased: 'Your data was deleted.',
  eraseWhat: 'Your comments become “deleted” placeholders (or go, if the site says so); your name, email, votes and subscriptions go. This cannot be undone.',
});

// --- small forms, all in one manner: Escape or Cancel closes one and gives the focus back to what opened
// it (embed.js's toggler); a refusal is read out as an alert (explain()); the outcome takes the form's
// place, focused ---
const field = (k, props, tag) => { const e = h(tag || 'input', Object.assign({id: id(k), name: k, required: true}, props)); return [h('label', {for: e.id, text: t(k)}), e]; };
const radios = (legend, name, map) => h('fieldset', null, h('legend', {text: t(legend)}), ...Object.keys(map).map((k) =>
  h('label', null, h('input', {type: 'radio', name, value: k, required: true}), ' ' + map[k])));
// submit(form.elements) sends, and answers the lines to show in the form's place
function miniForm(label, kids, sendText, submit, close, box) {
  const alert = h('p', {class: 'status', role: 'alert'}), send = h('button', {class: 'primary', text: t(sendText)});
  const f = h('form', {class: 'form', 'aria-label': t(label), onkeydown: (ev) => { if (ev.key === 'Escape') { ev.stopPropagation(); close(ev); } }, onsubmit: (ev) => {
    ev.preventDefault(); send.disabled = true; alert.textContent = '';
    submit(f.elements).then((lines) => {
      const p = h('p', {role: 'status', tabindex: -1});
      // (an erasure signs a guest out: the form it came from is gone)
      box.textContent = ''; (box.isConnected ? box : w.formSlot).append(p); say(p, lines.filter(Boolean), 'ok'); p.focus();
    }, (e) => { send.disabled = false; say(alert, explain(e), 'error'); });
  }}, ...[].concat(...kids), h('div', {class: 'actions'}, send, h('button', {type: 'button', text: t('cancel'), onclick: close})), alert);
  return f;
}
const excerpt = (el, n) => { const s = el.querySelector(':scope > .body').textContent.trim(); return s.length > n ? s.slice(0, n - 1) + '…' : s; };
const author = (el) => el._c.author ? el._c.author.name : '';

// Reporting to the moderators: a reason and an optional note, inline under the comment. The service takes
// reports from signed-in readers and from guests once they have commented: others are told so.
function flag(el, close, box) {
  const c = el._c, note = h('textarea', {id: id('fn'), name: 'fn', rows: 2, maxlength: 1000});
  return !w.token ? h('p', {class: 'notice', role: 'status', text: t('flagAuth')}) : miniForm('flag', [radios('flagWhy', 'r', S.flags),
    h('label', {for: note.id, text: t('flagNote', {max: (1000).toLocaleString(lang)})}), note], 'reportSend',
  (e) => call('POST', '/comments/' + c.id + '/reports', {reason: e.r.value, note: note.value.trim() || null}).then(() => 'flagDone', (err) => {
    if ((err.problem || {}).code !== 'already_reported') throw err;
    return 'flagAgain';
  }).then((k) => { w.flagged.add(c.id); w.fill(el, c); return [t(k)]; }), close, box);
}

// --- EU Digital Services Act ---
// A notice of illegal content (Art. 16) about el's comment, or, from the troubleshooter (el null), about one of
// the comments on the page. Anyone may send one, signed in or not. Name and email are required except for
// child sexual abuse material, whose notifier may stay anonymous (Art. 16(2)(c)): the browser holds to it as
// the service does. The service trims and bounds what is typed, and explains a refusal.
function notice(el, close, box) {
  const f = miniForm('dsa', [
    el ? h('p', {class: 'notice', text: t('dsaOf', {id: String(el._c.id), name: author(el), text: excerpt(el, 300)})})
      : [h('label', {for: 'cs-pick', text: t('dsaPick')}), h('select', {id: 'cs-pick', name: 'pick', required: true}, h('option'),
        ...[...nodes.values()].filter((e) => e._c.status === 'published').map((e) => h('option', {value: e._c.id, text: author(e) + ': ' + excerpt(e, 60)})))],
    radios('dsaCat', 'cat', S.cats), field('dsaWhy', {rows: 3}, 'textarea'),
    h('fieldset', null, h('legend', {text: t('dsaWho')}), ...field('yourName', {autocomplete: 'name'}), ...field('email', {type: 'email', autocomplete: 'email'})),
    h('label', {class: 'gf'}, h('input', {type: 'checkbox', name: 'gf', required: true}), ' ' + t('dsaFaith')),
  ], 'dsaSend', (e) => call('POST', '/notices', {comment_id: el ? el._c.id : +e.pick.value, category: e.cat.value, explanation: e.dsaWhy.value,
    good_faith: true, name: e.yourName.value || null, email: e.email.value || null})
    .then((r) => [t('dsaRef', {ref: r.reference}), e.email.value && t('dsaMail'), t('dsaKey', {key: r.appeal_key})]), close, box);
  f.onchange = () => { const e = f.elements; e.yourName.required = e.email.required = e.cat.value !== 'child_sexual_abuse_material'; };
  return f;
}
const statements = () => call('GET', '/me/statements').then((r) => r.items);
// A statement of reasons (Art. 17) as its author reads it, with an appeal (Art. 20) while one may be made:
// within six months, once, while the restriction lasts.
function why(s) {
  const ap = h('div'), a = s.appeal, r = s.redress, p = (x) => x && h('p', {text: x});
  if (a) ap.append(h('p', {class: 'notice', text: a.outcome ? S.outcomes[a.outcome] : t('appealed')}), p(a.explanation) || '');
  else if (!s.lifted_at && new Date(s.appeal_until) > Date.now()) ap.append(p(t('redress', {time: exact(s.appeal_until)})),
    ...opener('appeal', (m, x, b) => miniForm('appeal', field('appealWhy', {rows: 3}, 'textarea'), 'send', (e) => call('POST', '/me/statements/' + s.id + '/appeal',
      {explanation: e.appealWhy.value}).then(() => { s.appeal = {}; b.previousSibling.remove(); return [t('appealed')]; }), x, b)));
  return h('details', {class: 'why'}, h('summary', {text: t('why')}), h('strong', {text: s.decision}),
    ...[s.until && t('bannedUntil', {time: exact(s.until)}), s.reason && t('reason', {r: s.reason}), s.ground !== s.reason && s.ground,
      S.found[s.source] + ', ' + t(s.automated_decision ? 'byMachine' : 'byPerson', {time: exact(s.created_at)}), s.lifted_at && t('lifted')].map(p),
    ap, p(r.out_of_court), p(r.judicial));
}
// The reader's statements, each with Why?: a rejected comment is not in the thread, so its author reads about it here.
function decisions() {
  const d = h('div');
  statements().then((l) => l.length ? d.append(h('ul', {class: 'checks'}, ...l.map((s) => h('li', {class: 'check'},
    s.comment_id ? t('stOn', {id: String(s.comment_id)}) + ' · ' : '', timeEl(s.created_at), why(s))))) : say(d, t('noDecisions')), (e) => say(d, explain(e), 'error'));
  return d;
}
// "Your data": the reader's copy of everything the site holds about them, and its erasure.
function dataPane(close) {
  const st = h('p', {class: 'status', role: 'status'});
  return h('div', {class: 'panel', role: 'region', 'aria-label': t('myData'), onkeydown: (ev) => ev.key === 'Escape' && close(ev)},
    h('button', {type: 'button', class: 'link', text: t('download'), onclick: () => call('GET', '/me/data').then((j) => {
      const a = h('a', {download: 'my-data-' + w.site + '.json', href: URL.createObjectURL(new Blob([JSON.stringify(j, null, 2)], {type: 'application/json'}))});
      w.root.append(a); a.click(); a.remove(); setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    }, (e) => say(st, explain(e), 'error'))}), st,
    h('div', null, ...opener('erase', (m, x, b) => miniForm('erase', [h('p', {tabindex: -1, text: t('eraseWhat')})], 'erase',
      () => call('DELETE', '/me/data', {confirm: 'erase'}).then(w.forget).then(() => [t('erased')]), x, b))),
    h('div', null, ...opener('decisions', decisions)));
}

// --- "having issues with commenting?" ---
function selfCheck() {
  let storage = false, cookies = false;
  try { localStorage.setItem('cs-check', '1'); storage = localStorage.getItem('cs-check') === '1'; localStorage.removeItem('cs-check'); } catch (e) {}
  try { document.cookie = 'cs_check=1; SameSite=Lax; path=/'; cookies = navigator.cookieEnabled && document.cookie.includes('cs_check=1'); document.cookie = 'cs_check=; max-age=0; path=/'; } catch (e) {}
  return {storage, cookies};
}
// The service's checks for this reader, article and their newest comment here, with this browser's own
function troubleshoot() {
  const local = selfCheck(), client = 'cookies=' + (local.cookies ? 'ok' : 'blocked') + ',local_storage=' + (local.storage ? 'ok' : 'blocked');
  const out = h('ul', {class: 'checks'}), status = h('p', {class: 'status', role: 'status', text: t('checkingIssues')});
  const panel = h('div', {class: 'panel', role: 'region', 'aria-label': t('issuesTitle')}, h('h3', {text: t('issuesTitle')}), status, out);
  const row = (st, title, text, action) => out.append(h('li', {class: 'check ' + st},
    h('span', {class: 'st', text: t({pass: 'ok', ok: 'ok', warn: 'warn', problem: 'fail', fail: 'fail'}[st] || 'info')}), ' ',
    h('strong', {dir: 'auto', text: title}), text && h('p', {dir: 'auto', text: localDates(text)}), action && h('p', {class: 'action', dir: 'auto', text: localDates(action)})));
  const own = [...nodes.values()].filter((el) => w.mine(el._c)).map((el) => el._c.id).sort((a, b) => b - a)[0];
  const q = {article_id: w.articleId, comment_id: own, client_check: client, client_time: Date.now()};
  call('GET', '/troubleshoot?' + Object.keys(q).filter((k) => q[k] != null).map((k) => k + '=' + encodeURIComponent(q[k])).join('&')).then((r) => {
    say(status, ''); (r.checks || []).forEach((c) => row(c.status, c.title, c.explanation, c.action));
  // the server's check is unavailable: still show what this browser found
  }, (e) => {
    say(status, e.status === 404 && e.problem.code !== 'unknown_site' ? t('troubleUnavailable') : explain(e), 'error');
    row(local.storage ? 'ok' : 'problem', t('localChecks'), t(local.storage ? 'storageOk' : 'storageBad'));
    row(local.cookies ? 'ok' : 'warn', t('localChecks'), t(local.cookies ? 'cookieOk' : 'cookieBad'));
  }).then(() => panel.append(reportForm(q), h('div', null, ...opener('dsa', (m, x, b) => notice(null, x, b)), ...w.token ? opener('decisions', decisions) : [])));
  return panel;
}
function reportForm(q) {
  const ta = h('textarea', {id: id('rep'), rows: 3}), status = h('p', {class: 'status', role: 'status'});
  return h('form', {class: 'form', onsubmit: (ev) => {
    ev.preventDefault();
    if (!ta.value.trim()) return;
    call('POST', '/troubleshoot/reports', Object.assign({description: ta.value.trim()}, q, {client_time: Date.now()}))
      .then((res) => { say(status, res.message || t('reportThanks', {id: res.reference}), 'ok'); ta.value = ''; }, (e) => say(status, explain(e), 'error'));
  }}, h('label', {for: ta.id, text: t('report')}), ta, h('div', {class: 'actions'}, h('button', {type: 'submit', text: t('reportSend')})), status);
}

return {flag, notice, why, statements, dataPane, troubleshoot};
};
})();
