// What every view of the page shares: building elements, the live region, the registry's REST
// API (with the signed-in person's CSRF token), the code lists, links that keep the language,
// and showing the registry's errors (problem+json) next to the fields they name.

import { t, getLang } from '/web/i18n.js';

export const TZ = 'Europe/Stockholm';
export const view = document.getElementById('view');
const announcer = document.getElementById('announcer');

export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

export function announce(text) {
  // Cleared first so that the same text is announced again.
  announcer.textContent = '';
  setTimeout(() => { announcer.textContent = text; }, 50);
}

export class ApiError extends Error {
  constructor(problem, status) {
    super(problem?.detail || `HTTP ${status}`);
    this.problem = problem || {};
    this.status = status;
  }
}

// The signed-in person (as GET /v1/me shows them), if any, and the identity providers to sign
// in with otherwise. `account.ready` settles once /auth/session has answered.
export const account = { me: null, providers: null, ready: null };

export async function api(path, options = {}) {
  const headers = { accept: 'application/json', ...(options.headers || {}) };
  const method = (options.method || 'GET').toUpperCase();
  // A browser session's requests that change something carry its CSRF token.
  const csrf = account.me?.session?.csrfToken;
  if (csrf && !['GET', 'HEAD', 'OPTIONS'].includes(method)) headers['x-csrf-token'] = csrf;
  const res = await fetch(path, { ...options, headers });
  const body = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(body, res.status);
  return body;
}

// A JSON request body with its content type.
export function json(method, body, headers = {}) {
  return { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export let codes = null;

export async function loadCodes() {
  if (!codes) codes = await api('/web/codes.json');
  return codes;
}

export const codeName = (list, code) => {
  const c = list.find((x) => x.code === code);
  return c ? c[getLang()] || c.sv : code;
};

export function municipality(code) {
  return codes.municipalities.find((m) => m.code === code);
}

export const municipalityName = (code) => municipality(code)?.name || code;

export const locale = () => (getLang() === 'sv' ? 'sv-SE' : 'en-GB');

// Times: the registry's facilities are all in Europe/Stockholm.
export function stockholmParts(date) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  }).formatToParts(date);
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  return { y: get('year'), m: get('month'), d: get('day'), hh: get('hour'), mm: get('minute') };
}

function offsetMinutes(date) {
  const p = stockholmParts(date);
  return Math.round((Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm) - Math.floor(date.getTime() / 60000) * 60000) / 60000);
}

// The instant of a Stockholm wall-clock time.
export function stockholmTime(y, m, d, hh = 0, mm = 0) {
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  let at = guess - offsetMinutes(new Date(guess)) * 60000;
  at = guess - offsetMinutes(new Date(at)) * 60000;
  return new Date(at);
}

// A time of day and a weekday with its date, in Stockholm.
export const clock = (iso) => new Intl.DateTimeFormat(locale(), { timeZone: TZ, hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
export const longDay = (iso) => new Intl.DateTimeFormat(locale(), { timeZone: TZ, weekday: 'long', day: 'numeric', month: 'long' }).format(new Date(iso));

// A date and time, or a date, as people in Sweden read them.
export const dateTime = (iso) => new Intl.DateTimeFormat(locale(), { timeZone: TZ, dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
export const dateOnly = (iso) => new Intl.DateTimeFormat(locale(), { timeZone: TZ, dateStyle: 'medium' }).format(new Date(iso));
export const thisYear = () => Number(new Intl.DateTimeFormat('en-US', { timeZone: TZ, year: 'numeric' }).format(new Date()));

export function withLang(path) {
  const u = new URL(path, location.origin);
  if (getLang() !== 'sv') u.searchParams.set('lang', getLang()); else u.searchParams.delete('lang');
  return u.pathname + u.search;
}

let router = () => {};

// app.js tells which function draws the view for the current URL.
export function setRouter(fn) {
  router = fn;
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path); else history.pushState(null, '', path);
  router();
}

// A link within the page: followed without reloading it (a new tab still works).
export function pageLink(path, label, attrs = {}) {
  const href = withLang(path);
  return h('a', { href, ...attrs, onclick: (e) => { if (e.ctrlKey || e.metaKey || e.shiftKey) return; e.preventDefault(); navigate(href); } }, label);
}

// The sign-in links (one per identity provider), coming back to `back`; `label` names the
// link when there is one provider (else each says which provider it is).
export function signInLinks(back = location.pathname + location.search, { label, withProvider = 'signInWith' } = {}) {
  const providers = account.providers || [];
  return providers.map((p) => h('a', {
    href: `/auth/login?provider=${encodeURIComponent(p.name)}&returnTo=${encodeURIComponent(back)}`,
  }, providers.length === 1 ? label || t('signIn') : t(withProvider, { provider: p.displayName })));
}

export function problemBox(err, retry) {
  const p = err instanceof ApiError ? err.problem : {};
  // Each broken rule in the page's language; the field named where there is no such text.
  const list = (p.errors || []).map((e) => {
    const text = errorText(e);
    return h('li', {}, e.field && text === e.message ? `${e.field}: ${text}` : text);
  });
  return h('div', { class: 'notice error', role: 'alert', tabindex: '-1' },
    h('strong', {}, t('errorTitle')), list.length ? null : [' ', err instanceof ApiError ? problemText(err) : err.message],
    list.length ? h('ul', {}, list) : null,
    retry ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: retry }, t('errorRetry'))) : null);
}

// What a broken rule means, in the page's language: by field and rule, else by rule, else the
// registry's own (English) message.
export function errorText(v) {
  const texts = t('ruleTexts');
  const field = (v.field || '').replace(/\[\d+\]/g, '');
  return texts[`${field}.${v.rule}`] || texts[v.rule] || v.message;
}

// A problem without field errors, in the page's language where the status says enough.
export function problemText(err) {
  if (err.status === 412) return t('staleVersion');
  if (err.status === 401) return t('signInAgain');
  if (err.status === 403) return t('notAllowed');
  if (err.status === 429) return t('tooManyRequests');
  return err.message;
}

// ---- forms whose fields the registry's errors name ----

// A labelled input with a hint and a place for its error: the input is `#id`, its error
// `#id-error` (both tied to it through aria-describedby).
export function field(id, label, attrs = {}, { hint, optional, tag = 'input', children = [] } = {}) {
  const described = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ');
  return h('div', { class: 'field' },
    h('label', { for: id }, label, optional ? h('span', { class: 'hint' }, ` ${t('optional')}`) : null),
    hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null,
    h(tag, { id, name: id, 'aria-describedby': described, ...attrs }, ...children),
    h('span', { class: 'field-error', id: `${id}-error` }));
}

// A group of checkboxes (a fieldset) whose error is `#id-error`.
export function checkGroup(id, legend, items, checked, { hint } = {}) {
  return h('fieldset', { class: 'checkgroup', id, 'aria-describedby': [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ') },
    h('legend', {}, legend, ' ', h('span', { class: 'hint' }, t('optional'))),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
    h('div', { class: 'checklist' }, items.map((x) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: id, value: x.code, checked: checked.includes(x.code) }), x[getLang()] || x.sv))),
    h('span', { class: 'field-error', id: `${id}-error` }));
}

export function clearErrors(form, box) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  box?.replaceChildren();
}

// Shows the registry's answer to a form: each field error at its field (`idOf(field)` names
// the element: an input, or a fieldset), the rest in `box`. Focus moves to the first field in
// error (in the order of the form), else to the box, and the errors are announced.
export function showErrors(form, box, err, idOf) {
  const rest = [];
  const marked = [];
  for (const v of err.problem?.errors || []) {
    const id = v.field ? idOf(v.field) : null;
    const el = id && form.querySelector(`#${CSS.escape(id)}`);
    if (!el) { rest.push(v); continue; }
    const target = el.tagName === 'FIELDSET' ? el.querySelector('input, select, textarea') : el;
    if (el.tagName !== 'FIELDSET') el.setAttribute('aria-invalid', 'true');
    const msg = form.querySelector(`#${CSS.escape(id)}-error`);
    if (msg) msg.textContent = msg.textContent ? `${msg.textContent} ${errorText(v)}` : errorText(v);
    marked.push(target);
  }
  if (!marked.length || rest.length) {
    box.replaceChildren(problemBox(err instanceof ApiError ? new ApiError({ ...err.problem, errors: rest }, err.status) : err));
  }
  marked.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  const first = marked[0] || box.querySelector('[role="alert"]');
  first?.focus();
  announce(marked.length ? t('fieldErrorsAnnounce', { n: marked.length }) : `${t('errorTitle')}: ${box.textContent}`);
  return first;
}

// A form's submit button while its request runs.
export async function busy(button, work) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = t('sending');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

// The municipalities as a select's options, grouped by county.
export function municipalityOptions(selected, only) {
  const counties = new Map();
  for (const m of codes.municipalities) {
    if (only && !only.includes(m.code)) continue;
    if (!counties.has(m.county)) counties.set(m.county, []);
    counties.get(m.county).push(m);
  }
  return [...counties.entries()].map(([county, ms]) => h('optgroup', { label: county },
    ms.map((m) => h('option', { value: m.code, selected: m.code === selected }, m.name))));
}
