// Mina bokningar (/bookings): the signed-in person's bookings and those of the associations
// they represent, from every booking system they were made at (GET /v1/me/bookings), upcoming
// by default. A booking system that could not be asked is named, and its bookings are marked
// as the registry's last known state. Per booking: its details and history, cancelling,
// rebooking (same length), answering a completion request, reminders, and an iCal file; and
// the person's calendar feed (a secret URL). Loaded by app.js only for this view; everything
// goes through the registry's REST API (docs/web.md).

import { t } from '/web/i18n.js';
import {
  TZ, view, h, announce, account, api, json, ApiError, signInLinks, problemBox, problemText, pageLink, locale,
  field, clearErrors, showErrors, busy, stockholmParts, stockholmTime, clock, dateTime,
} from '/web/ui.js';

const ACTIVE = ['confirmed', 'pending', 'needs_completion'];
const DAY = 86400000;
const pad = (n) => String(n).padStart(2, '0');
const statusText = (s) => t('bookingStatus')[s] || s;
const fullDay = (iso) => new Intl.DateTimeFormat(locale(), { timeZone: TZ, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(iso));
const whenText = (b) => t('bookWhen', { day: fullDay(b.start), from: clock(b.start), to: clock(b.end) });
const dayValue = (iso) => { const p = stockholmParts(new Date(iso)); return `${p.y}-${pad(p.m)}-${pad(p.d)}`; };
const timeValue = (iso) => { const p = stockholmParts(new Date(iso)); return `${pad(p.hh)}:${pad(p.mm)}`; };
const money = (minor, currency) => new Intl.NumberFormat(locale(), { style: 'currency', currency: currency || 'SEK' }).format(minor / 100);

function lengthText(ms) {
  const min = Math.round(ms / 60000);
  return [Math.floor(min / 60) ? t('hoursN', { n: Math.floor(min / 60) }) : '', min % 60 ? t('minutesN', { n: min % 60 }) : ''].filter(Boolean).join(' ');
}

// Whether a reminder is on: the registry's answer when it says, else what this browser last
// set, else on (the registry's default).
function remindersOn(b) {
  if (typeof b.reminders === 'boolean') return b.reminders;
  try {
    const v = localStorage.getItem(`reminders:${b.id}`);
    return v === null ? true : v === 'on';
  } catch {
    return true;
  }
}

function rememberReminders(b, on) {
  try { localStorage.setItem(`reminders:${b.id}`, on ? 'on' : 'off'); } catch { /* private mode: not remembered */ }
}

// A booking system's refusal (409): what it means, in the page's language where the page knows
// the rule, and the registry's own words (which name, e.g., the cancellation deadline).
function refusal(err, headline) {
  const rule = err.problem?.errors?.[0]?.rule;
  const known = t('bookingRefusals')[rule];
  const detail = err.problem?.detail || err.problem?.errors?.[0]?.message || problemText(err);
  return h('div', { class: 'notice error', role: 'alert', tabindex: '-1', 'data-rule': rule || null },
    h('strong', {}, headline),
    known ? h('p', {}, known) : null,
    detail ? h('p', { lang: 'en' }, detail) : null);
}

function showRefusal(box, err, headline) {
  box.replaceChildren(refusal(err, headline));
  box.firstChild.focus();
  announce(box.textContent);
}

// ---- the view ----

export async function renderBookings(moved) {
  document.title = `${t('myBookings')} – ${t('brand')}`;
  const heading = h('h1', { id: 'page-title', tabindex: '-1' }, t('myBookings'));
  if (!account.me) {
    const links = signInLinks();
    view.replaceChildren(heading, h('p', {}, t('bookingsSignIn')),
      links.length ? h('p', { class: 'actions sign-in' }, links) : h('p', { class: 'hint' }, t('signInUnavailable')));
    if (moved) heading.focus();
    return;
  }
  const past = new URLSearchParams(location.search).get('show') === 'past';
  const tabs = h('nav', { class: 'tabs', 'aria-label': t('bookingsWhich') }, h('ul', {},
    h('li', {}, pageLink('/bookings', t('upcoming'), { 'aria-current': past ? null : 'page' })),
    h('li', {}, pageLink('/bookings?show=past', t('earlier'), { 'aria-current': past ? 'page' : null }))));
  const body = h('div', { id: 'my-bookings', 'aria-busy': 'true' }, h('p', {}, t('loading')));
  view.replaceChildren(heading, h('p', {}, t('bookingsIntro')), tabs, body, feedSection());
  if (moved) heading.focus();
  await loadBookings(body, past);
}

async function loadBookings(body, past) {
  const now = Date.now();
  const [from, to] = past ? [now - 365 * DAY, now] : [now, now + 365 * DAY];
  const q = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  let mine;
  try {
    mine = await api(`/v1/me/bookings?${q}`);
  } catch (err) {
    body.setAttribute('aria-busy', 'false');
    body.replaceChildren(problemBox(err, () => loadBookings(body, past)));
    announce(`${t('errorTitle')}: ${body.textContent}`);
    return;
  }
  const list = mine.bookings.filter((b) => (past ? Date.parse(b.end) <= now : Date.parse(b.end) > now));
  if (past) list.reverse();
  const n = list.length;
  const summary = past
    ? (n === 0 ? t('noEarlier') : n === 1 ? t('earlier1') : t('earlierN', { n }))
    : (n === 0 ? t('noUpcoming') : n === 1 ? t('upcoming1') : t('upcomingN', { n }));
  const notices = mine.vendors.filter((v) => v.status !== 'ok').map((v) => {
    const key = { timeout: 'myVendorTimeout', error: 'myVendorError', unavailable: 'myVendorUnavailable', rate_limited: 'myVendorRateLimited', not_supported: 'myVendorNotSupported' }[v.status] || 'myVendorSkipped';
    return h('p', { class: 'notice warn', 'data-vendor-status': v.status, 'data-vendor': v.vendorId }, `${t(key, { vendor: v.vendorName })} ${t('myVendorStale')}`);
  });
  body.setAttribute('aria-busy', 'false');
  body.replaceChildren(
    h('h2', { class: 'summary', id: 'bookings-summary' }, summary),
    ...notices,
    n ? h('ol', { class: 'bookings', 'aria-labelledby': 'bookings-summary' }, list.map((b) => bookingItem(b))) : null);
  announce([summary, ...notices.map((p) => p.textContent)].join(' '));
}

function bookingItem(b) {
  const li = h('li', { class: 'booking' });
  drawBooking(li, b);
  return li;
}

// Draws booking `b` in `li` (again, after a change), with `notice` (which gets focus and is
// announced) at its top.
function drawBooking(li, b, { notice, kind = 'ok' } = {}) {
  const P = `bk-${b.id}`;
  li.dataset.booking = b.id;
  li.dataset.vendorBooking = b.bookingId;
  li.dataset.status = b.status;
  if (b.stale) li.dataset.stale = 'true'; else delete li.dataset.stale;
  const when = whenText(b);
  const upcoming = Date.parse(b.start) > Date.now();
  const active = ACTIVE.includes(b.status) && upcoming;
  const named = (label) => [label, h('span', { class: 'visually-hidden' }, `: ${b.unitName}, ${when}`)];
  const top = notice ? h('p', { class: `notice ${kind} booking-notice`, tabindex: '-1' }, notice) : null;
  const rebook = active && b.status !== 'needs_completion' ? rebookControls(li, b, P, named) : null;
  const cancel = active ? cancelControls(li, b, P, named) : null;
  li.replaceChildren(...[
    h('h3', { id: `${P}-h`, tabindex: '-1' }, `${b.facilityName} – ${b.unitName}`),
    h('p', { class: 'when' }, h('time', { datetime: b.start }, when)),
    h('p', { class: 'meta' },
      h('span', { class: `status ${b.status}` }, statusText(b.status)),
      b.associationName ? ` · ${t('forAssociation', { name: b.associationName })}` : '',
      ` · ${t('viaVendor', { vendor: b.vendorName })}`,
      b.stale ? [' ', h('span', { class: 'badge stale' }, t('staleBadge'))] : null),
    b.stale ? h('p', { class: 'hint' }, t('staleHint', { vendor: b.vendorName })) : null,
    b.statusMessage && b.status !== 'needs_completion'
      ? h('p', { class: 'vendor-message' }, h('strong', {}, t('vendorSays', { vendor: b.vendorName })), ' ', b.statusMessage)
      : null,
    top,
    b.status === 'needs_completion' && upcoming ? completionForm(li, b, P) : null,
    active ? remindersControl(b, P) : null,
    ACTIVE.includes(b.status) ? h('p', { class: 'calendar-link' }, h('a', { href: `/v1/bookings/${encodeURIComponent(b.id)}/calendar.ics`, download: `bokning-${dayValue(b.start)}.ics` }, named(t('addToCalendar')))) : null,
    rebook || cancel ? h('div', { class: 'actions booking-actions' }, rebook?.opener, cancel?.opener) : null,
    rebook?.form,
    cancel?.form,
    panel('details', t('detailsTitle'), (box) => detailsPanel(b, box)),
  ].filter(Boolean));
}

// A booking changed: drawn from the registry's answer, the notice focused and announced.
function redraw(li, b, notice) {
  drawBooking(li, b, { notice });
  li.querySelector('.booking-notice')?.focus();
  announce(notice);
}

// A disclosure whose content is fetched when it first opens.
function panel(key, summary, content) {
  const body = h('div', { class: 'panel' });
  const details = h('details', { 'data-panel': key }, h('summary', {}, summary), body);
  let made = false;
  details.addEventListener('toggle', () => {
    if (!details.open || made) return;
    made = true;
    body.replaceChildren(h('p', {}, t('loading')));
    content(body);
  });
  return details;
}

async function detailsPanel(b, body) {
  let full;
  try {
    full = await api(`/v1/bookings/${encodeURIComponent(b.id)}`);
  } catch (err) {
    body.replaceChildren(problemBox(err, () => detailsPanel(b, body)));
    return;
  }
  const fact = (label, value) => (value ? [h('dt', {}, label), h('dd', {}, value)] : null);
  body.replaceChildren(
    h('dl', { class: 'facts' },
      fact(t('bookingNumber'), full.bookingId),
      fact(t('statusLabel'), statusText(full.status)),
      fact(t('bookingSystem'), full.vendorName),
      fact(t('accessCode'), full.accessCode ? h('span', { class: 'code' }, full.accessCode) : null),
      fact(t('amountLabel'), full.amountMinor != null ? money(full.amountMinor, full.currency) : null),
      fact(t('atVendor'), full.bookingUrl
        ? h('a', { href: full.bookingUrl, rel: 'noopener', target: '_blank' }, t('openAtVendor', { vendor: full.vendorName }), h('span', { class: 'visually-hidden' }, ` ${t('opensNewPage')}`))
        : null)),
    h('h4', {}, t('history')),
    full.history?.length
      ? h('ol', { class: 'events' }, full.history.map((s) => h('li', { 'data-status': s.status },
        h('time', { datetime: s.at }, dateTime(s.at)), ' ',
        h('strong', {}, statusText(s.status)), ` (${t('actors')[s.actor] || s.actor})`,
        s.message ? h('blockquote', {}, s.message) : null,
        s.note ? h('p', { class: 'hint' }, s.note) : null)))
      : h('p', { class: 'hint' }, t('noHistory')));
}

// A form that opens under its button: `make(close)` gives its fields and buttons.
function disclosureForm(id, openerLabel, make) {
  const form = h('form', { class: 'form-grid booking-form', id, hidden: true, novalidate: true });
  const opener = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false', 'aria-controls': id }, openerLabel);
  const toggle = (show) => {
    form.hidden = !show;
    opener.setAttribute('aria-expanded', String(show));
    if (show) form.querySelector('input, textarea, select, button')?.focus(); else opener.focus();
  };
  opener.addEventListener('click', () => toggle(form.hidden));
  form.append(...make(() => toggle(false)));
  return { opener, form };
}

// ---- cancelling ----

function cancelControls(li, b, P, named) {
  const id = `${P}-reason`;
  const box = h('div', {});
  const submit = h('button', { type: 'submit', class: 'danger' }, t('cancelConfirm'));
  const c = disclosureForm(`${P}-cancel`, named(t('cancelOpen')), (close) => [
    box,
    field(id, t('cancelReason'), { rows: '2', maxlength: '1000' }, { tag: 'textarea', optional: true, hint: t('cancelReasonHint') }),
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'secondary', onclick: close }, t('keepBooking'))),
  ]);
  c.form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(c.form, box);
    const reason = c.form.querySelector(`#${id}`).value.trim();
    const q = reason ? `?${new URLSearchParams({ reason })}` : '';
    try {
      const done = await busy(submit, () => api(`/v1/bookings/${encodeURIComponent(b.id)}${q}`, { method: 'DELETE' }));
      redraw(li, done, t('cancelledNotice'));
    } catch (err) {
      if (err.status === 409) showRefusal(box, err, t('cancelRefused'));
      else showErrors(c.form, box, err, (f) => (f === 'reason' ? id : null));
    }
  });
  return c;
}

// ---- rebooking: another day and start, the same length ----

function rebookControls(li, b, P, named) {
  const length = Date.parse(b.end) - Date.parse(b.start);
  const dayId = `${P}-day`;
  const timeId = `${P}-time`;
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, t('rebookSubmit'));
  const today = dayValue(new Date().toISOString());
  const c = disclosureForm(`${P}-rebook`, named(t('rebookOpen')), (close) => [
    box,
    h('p', { class: 'hint' }, t('rebookHint', { d: lengthText(length) })),
    h('div', { class: 'row' },
      field(dayId, t('rebookDate'), { type: 'date', required: true, min: today, value: dayValue(b.start) }),
      field(timeId, t('rebookTime'), { type: 'time', required: true, step: '900', value: timeValue(b.start) })),
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'secondary', onclick: close }, t('cancel'))),
  ]);
  // One Idempotency-Key per attempt (a day and time), kept when the same attempt is sent again
  // after an answer that does not say whether it was done (a lost connection, a timeout).
  let attempt = null;
  c.form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(c.form, box);
    const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(c.form.querySelector(`#${dayId}`).value);
    const time = /^(\d{2}):(\d{2})/.exec(c.form.querySelector(`#${timeId}`).value);
    if (!day || !time) {
      const missing = [!day ? dayId : null, !time ? timeId : null].filter(Boolean);
      const err = new ApiError({ errors: missing.map((f) => ({ field: f, rule: 'required', message: t('requiredField') })) }, 400);
      showErrors(c.form, box, err, (f) => f);
      return;
    }
    const start = stockholmTime(+day[1], +day[2], +day[3], +time[1], +time[2]);
    const end = new Date(start.getTime() + length);
    const target = `${start.toISOString()}/${end.toISOString()}`;
    if (attempt?.target !== target) attempt = { target, key: crypto.randomUUID() };
    try {
      const moved = await busy(submit, () => api(`/v1/bookings/${encodeURIComponent(b.id)}/move`,
        json('POST', { start: start.toISOString(), end: end.toISOString() }, { 'idempotency-key': attempt.key })));
      attempt = null;
      redraw(li, moved, t('movedNotice', { when: whenText(moved) }));
    } catch (err) {
      const unsure = !(err instanceof ApiError) || err.status >= 500 || err.status === 408 || err.status === 429;
      if (!unsure) attempt = null;
      if (err.status === 409) showRefusal(box, err, t('moveRefused'));
      else showErrors(c.form, box, err, (f) => ({ start: dayId, end: timeId })[f] || null);
    }
  });
  return c;
}

// ---- answering a completion request ----

function completionForm(li, b, P) {
  const id = `${P}-completion`;
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, t('completionSubmit'));
  const form = h('form', { class: 'form-grid', novalidate: true },
    box,
    field(id, t('completionAnswer'), { rows: '3', maxlength: '2000', required: true }, { tag: 'textarea', hint: t('completionHint') }),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const message = form.querySelector(`#${id}`).value.trim();
    try {
      const done = await busy(submit, () => api(`/v1/bookings/${encodeURIComponent(b.id)}/complete`, json('POST', { message })));
      redraw(li, done, t('completedNotice'));
    } catch (err) {
      if (err.status === 409) showRefusal(box, err, t('completeRefused'));
      else {
        // Named as the booking's answer, so that its texts are not the association pages'.
        const errors = (err.problem?.errors || []).map((v) => (v.field === 'message' ? { ...v, field: 'completionMessage' } : v));
        const named = err instanceof ApiError ? new ApiError({ ...err.problem, errors }, err.status) : err;
        showErrors(form, box, named, (f) => (f === 'completionMessage' ? id : null));
      }
    }
  });
  return h('div', { class: 'notice warn completion', 'data-completion': b.id },
    h('p', {}, h('strong', {}, t('completionAsked')), ' ', b.statusMessage || ''),
    form);
}

// ---- reminders ----

function remindersControl(b, P) {
  const id = `${P}-reminders`;
  const box = h('div', {});
  const input = h('input', { type: 'checkbox', id, checked: remindersOn(b) });
  input.addEventListener('change', async () => {
    const on = input.checked;
    box.replaceChildren();
    input.disabled = true;
    try {
      await api(`/v1/bookings/${encodeURIComponent(b.id)}/reminders`, json('PUT', { enabled: on }));
      rememberReminders(b, on);
      announce(on ? t('remindersOn') : t('remindersOff'));
    } catch (err) {
      input.checked = !on;
      box.replaceChildren(problemBox(err));
      announce(`${t('errorTitle')}: ${box.textContent}`);
    } finally {
      input.disabled = false;
      input.focus();
    }
  });
  return h('div', { class: 'reminders' }, h('label', { class: 'check', for: id }, input, t('reminders')), box);
}

// ---- the calendar feed ----

function feedSection() {
  const box = h('div', {});
  const out = h('div', {});
  const create = h('button', { type: 'button', 'aria-describedby': 'feed-create-hint' }, t('feedCreate'));
  const revoke = h('button', { type: 'button', class: 'secondary' }, t('feedRevoke'));
  const failed = (err) => {
    box.replaceChildren(problemBox(err));
    box.firstChild.focus();
    announce(`${t('errorTitle')}: ${box.textContent}`);
  };
  create.addEventListener('click', async () => {
    box.replaceChildren();
    let feed;
    try {
      feed = await busy(create, () => api('/v1/me/calendar-feed', { method: 'POST' }));
    } catch (err) {
      failed(err);
      return;
    }
    const input = h('input', { id: 'feed-url', type: 'text', readonly: true, value: feed.url, 'aria-describedby': 'feed-warning', spellcheck: 'false' });
    const copied = h('span', { class: 'hint copy-status' });
    const copy = h('button', { type: 'button', class: 'secondary' }, t('copyLink'));
    copy.addEventListener('click', async () => {
      let ok = false;
      try {
        await navigator.clipboard.writeText(input.value);
        ok = true;
      } catch {
        input.select();
        try { ok = document.execCommand('copy'); } catch { ok = false; }
      }
      copied.textContent = ok ? t('copied') : t('copyFailed');
      announce(copied.textContent);
    });
    out.replaceChildren(
      h('p', { class: 'notice ok feed-notice', tabindex: '-1' }, t('feedCreated')),
      h('div', { class: 'field feed-url' }, h('label', { for: 'feed-url' }, t('feedUrl')), h('div', { class: 'copy-row' }, input, copy), copied),
      h('p', { class: 'notice warn', id: 'feed-warning' }, t('feedWarning')));
    out.querySelector('.feed-notice').focus();
    announce(t('feedCreated'));
  });
  revoke.addEventListener('click', async () => {
    box.replaceChildren();
    try {
      await busy(revoke, () => api('/v1/me/calendar-feed', { method: 'DELETE' }));
    } catch (err) {
      failed(err);
      return;
    }
    out.replaceChildren(h('p', { class: 'notice ok feed-notice', tabindex: '-1' }, t('feedRevoked')));
    out.firstChild.focus();
    announce(t('feedRevoked'));
  });
  return h('section', { class: 'feed', 'aria-labelledby': 'feed-h' },
    h('h2', { id: 'feed-h' }, t('feedTitle')),
    h('p', {}, t('feedIntro')),
    box,
    out,
    h('div', { class: 'actions' }, create, revoke),
    h('p', { class: 'hint', id: 'feed-create-hint' }, t('feedCreateHint')));
}
