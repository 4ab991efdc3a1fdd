// Mina föreningar (/associations): the associations the signed-in person represents, with each
// registration's status and the municipality's latest message; registering a new association;
// and per association: its details, answering a completion request, member statistics per
// year, representatives, registering with more municipalities, withdrawing.
// The staff inbox (/staff): a municipality's pending registrations, oldest first, with each
// association's details and history, to approve, reject or send back for completion.
// Loaded by app.js only for these two views. Everything goes through the registry's REST API
// (docs/associations.md).

import { t, getLang } from '/web/i18n.js';
import {
  view, h, announce, account, api, json, codes, codeName, municipalityName, dateTime, dateOnly, thisYear, signInLinks, problemBox,
  field, checkGroup, clearErrors, showErrors, busy, municipalityOptions,
} from '/web/ui.js';

const AGE_BANDS = ['AGE_BAND_0_TO_6', 'AGE_BAND_7_TO_12', 'AGE_BAND_13_TO_20', 'AGE_BAND_21_TO_25', 'AGE_BAND_26_TO_64', 'AGE_BAND_65_PLUS'];
const GENDERS = ['GENDER_FEMALE', 'GENDER_MALE', 'GENDER_OTHER'];
const PENDING = 'REGISTRATION_STATUS_PENDING';
const APPROVED = 'REGISTRATION_STATUS_APPROVED';
const REJECTED = 'REGISTRATION_STATUS_REJECTED';
const NEEDS_COMPLETION = 'REGISTRATION_STATUS_NEEDS_COMPLETION';
const WITHDRAWN = 'REGISTRATION_STATUS_WITHDRAWN';

const orgDisplay = (s) => (/^\d{10}$/.test(s) ? `${s.slice(0, 6)}-${s.slice(6)}` : s);
const statusText = (s) => t('registrationStatus')[s] || s;
const ifMatch = (version) => ({ 'if-match': `"${version}"` });
const byName = (list) => [...list].sort((a, b) => (a[getLang()] || a.sv).localeCompare(b[getLang()] || b.sv, getLang()));
const isStaff = (me) => Boolean(me?.name && me.role === 'editor' && me.municipalityCode);

function signInPrompt(heading, text) {
  const links = signInLinks();
  view.replaceChildren(heading, h('p', {}, text),
    links.length ? h('p', { class: 'actions sign-in' }, links) : h('p', { class: 'hint' }, t('signInUnavailable')));
}

// The municipality's latest message on a registration (a rejection's reason, what to
// complete), from its history; else the one the registration carries.
function latestMessage(reg, detail) {
  const said = (detail?.events || []).filter((e) => e.by !== 'representative' && e.message);
  const last = said[said.length - 1];
  if (last) return { text: last.message, at: last.at };
  return reg.message ? { text: reg.message, at: reg.decidedAt } : null;
}

function eventList(events) {
  return h('ol', { class: 'events' }, events.map((e) => h('li', {},
    h('time', { datetime: e.at }, dateTime(e.at)), ' ',
    h('strong', {}, t('eventKind')[e.kind] || e.kind), ` (${t('eventBy')[e.by] || e.by})`,
    e.message ? h('blockquote', {}, e.message) : null)));
}

// ---- Mina föreningar ----

export async function renderAssociations(moved, { notice } = {}) {
  document.title = `${t('myAssociations')} – ${t('brand')}`;
  const heading = h('h1', { id: 'page-title', tabindex: '-1' }, t('myAssociations'));
  if (!account.me) {
    signInPrompt(heading, t('associationsSignIn'));
    if (moved) heading.focus();
    return;
  }
  view.replaceChildren(heading, h('p', {}, t('loading')));
  let mine;
  try {
    mine = (await api('/v1/me/associations')).associations;
  } catch (err) {
    view.replaceChildren(heading, problemBox(err, () => renderAssociations(true)));
    return;
  }
  const histories = await Promise.all(mine.map((a) => registrationsOf(a.id)));
  const top = notice ? h('p', { class: 'notice ok', tabindex: '-1' }, notice) : null;
  view.replaceChildren(...[
    heading,
    h('p', {}, t('associationsIntro')),
    top,
    h('p', { class: 'summary', id: 'associations-summary' }, mine.length === 0 ? t('noAssociations') : mine.length === 1 ? t('associations1') : t('associationsN', { n: mine.length })),
    h('div', { id: 'my-associations' }, mine.map((a, i) => associationSection(a, histories[i]))),
    registerSection(mine.length === 0),
  ].filter(Boolean));
  if (top) { top.focus(); announce(notice); } else if (moved) heading.focus();
}

async function registrationsOf(id) {
  return api(`/v1/associations/${id}/registrations`).then((r) => r.registrations).catch(() => []);
}

// Draws association `id` again (after a change), with `open` panel open and `notice` (which
// gets focus and is announced) in it, or at the top of the association.
async function refresh(id, { open, notice, kind = 'ok' } = {}) {
  const old = document.querySelector(`section.assoc[data-association="${id}"]`);
  let a;
  let regs;
  try {
    [a, regs] = await Promise.all([api(`/v1/associations/${id}`), registrationsOf(id)]);
  } catch (err) {
    old?.prepend(problemBox(err));
    old?.querySelector('[role="alert"]')?.focus();
    return;
  }
  const section = associationSection(a, regs, { open, notice, kind });
  if (old) old.replaceWith(section); else document.getElementById('my-associations')?.append(section);
  await Promise.all([...section.querySelectorAll('details')].map((d) => d.ready));
  const target = section.querySelector('.panel-notice') || section.querySelector('h2');
  target.focus();
  if (notice) announce(notice);
}

function associationSection(a, regs, { open, notice, kind } = {}) {
  const P = `as-${a.id}`;
  const note = (key) => (notice && open === key ? h('p', { class: `notice ${kind} panel-notice`, tabindex: '-1' }, notice) : null);
  const detailOf = (code) => regs.find((r) => r.registration.municipalityCode === code);
  const meta = [
    `${t('orgNumber')} ${orgDisplay(a.orgNumber)}`,
    a.associationType ? codeName(codes.associationTypes, a.associationType) : null,
    t('seatIn', { m: municipalityName(a.municipalityCode) }),
  ].filter(Boolean).join(' · ');
  const completions = a.registrations.filter((r) => r.status === NEEDS_COMPLETION).map((r) => completionForm(a, r, latestMessage(r, detailOf(r.municipalityCode))));
  return h('section', { class: 'assoc', 'data-association': a.id, 'data-org-number': a.orgNumber, 'aria-labelledby': `${P}-h` },
    h('h2', { id: `${P}-h`, tabindex: '-1' }, a.name),
    h('p', { class: 'meta' }, meta),
    note('top'),
    h('h3', { id: `${P}-regs-h` }, t('registrationsTitle')),
    registrationsTable(a, regs, P),
    completions,
    panel('edit', t('editDetails'), open === 'edit', () => [note('edit'), editForm(a, P)]),
    panel('stats', t('memberStatistics'), open === 'stats', (box) => statsPanel(a, P, box, note('stats'))),
    panel('reps', t('representatives'), open === 'reps', (box) => representativesPanel(a, P, box, note('reps'))),
    panel('more', t('moreMunicipalities'), open === 'more', () => [note('more'), addRegistrationForm(a, P)]),
    regs.length ? panel('history', t('history'), open === 'history', () => regs.map((r) => h('div', { class: 'history' },
      h('p', {}, h('strong', {}, municipalityName(r.registration.municipalityCode)), ` – ${statusText(r.registration.status)}`),
      eventList(r.events)))) : null);
}

// A disclosure whose content is made when it first opens (some of it is fetched then);
// `details.ready` settles once an open one has its content.
function panel(key, summary, open, content) {
  const body = h('div', { class: 'panel' });
  const details = h('details', { 'data-panel': key, open }, h('summary', {}, summary), body);
  let ready = null;
  const make = () => {
    if (ready) return ready;
    const out = content(body);
    if (out instanceof Promise) {
      body.replaceChildren(h('p', {}, t('loading')));
      ready = out;
    } else {
      body.replaceChildren(...[out].flat().filter(Boolean));
      ready = Promise.resolve();
    }
    return ready;
  };
  details.addEventListener('toggle', () => { if (details.open) make(); });
  if (open) details.ready = make();
  return details;
}

function registrationsTable(a, regs, P) {
  const rows = a.registrations.map((r) => {
    const said = latestMessage(r, regs.find((x) => x.registration.municipalityCode === r.municipalityCode));
    const m = municipalityName(r.municipalityCode);
    const actions = h('td', { class: 'row-actions' });
    if ([PENDING, APPROVED, NEEDS_COMPLETION].includes(r.status)) {
      actions.append(h('button', { type: 'button', class: 'secondary small', 'aria-label': t('withdrawIn', { m }), onclick: () => confirmWithdraw(a, r, actions) }, t('withdraw')));
    } else if ([REJECTED, WITHDRAWN].includes(r.status)) {
      actions.append(h('button', { type: 'button', class: 'secondary small', 'aria-label': t('registerAgainIn', { m }), onclick: (e) => registerAgain(a, r.municipalityCode, e.currentTarget, actions) }, t('registerAgain')));
    }
    return h('tr', { 'data-municipality': r.municipalityCode, 'data-status': r.status },
      h('th', { scope: 'row' }, m),
      h('td', {}, h('span', { class: `status ${r.status.replace('REGISTRATION_STATUS_', '').toLowerCase()}` }, statusText(r.status)),
        h('div', { class: 'hint' }, r.decidedAt ? t('decidedAt', { d: dateOnly(r.decidedAt) }) : t('submittedAt', { d: dateOnly(r.submittedAt) }))),
      h('td', { class: 'message' }, said ? [h('span', {}, said.text), said.at ? h('div', { class: 'hint' }, dateOnly(said.at)) : null] : '–'),
      actions);
  });
  return h('table', { class: 'registrations', 'aria-labelledby': `${P}-regs-h` },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, t('municipalityLabel')), h('th', { scope: 'col' }, t('statusLabel')),
      h('th', { scope: 'col' }, t('latestMessage')), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('actions'))))),
    h('tbody', {}, rows));
}

function confirmWithdraw(a, r, cell) {
  const m = municipalityName(r.municipalityCode);
  const before = [...cell.childNodes];
  const box = h('div', {});
  const yes = h('button', { type: 'button', class: 'small danger', onclick: async () => {
    try {
      await busy(yes, () => api(`/v1/associations/${a.id}/registrations/${r.municipalityCode}/withdraw`, { method: 'POST', headers: ifMatch(a.version) }));
      await refresh(a.id, { open: 'top', notice: t('withdrawn', { m }) });
    } catch (err) {
      if (err.status === 412) { await refresh(a.id, { open: 'top', notice: t('staleReloaded'), kind: 'warn' }); return; }
      box.replaceChildren(problemBox(err));
      box.firstChild.focus();
    }
  } }, t('withdrawConfirm'));
  const no = h('button', { type: 'button', class: 'small secondary', onclick: () => { cell.replaceChildren(...before); cell.querySelector('button')?.focus(); } }, t('cancel'));
  cell.replaceChildren(h('p', { class: 'confirm' }, t('withdrawQuestion', { m })), h('div', { class: 'actions' }, yes, no), box);
  yes.focus();
}

async function registerAgain(a, code, button, cell) {
  try {
    await busy(button, () => api(`/v1/associations/${a.id}/registrations`, json('POST', { municipalityCode: code }, ifMatch(a.version))));
    await refresh(a.id, { open: 'top', notice: t('registeredWith', { m: municipalityName(code) }) });
  } catch (err) {
    if (err.status === 412) { await refresh(a.id, { open: 'top', notice: t('staleReloaded'), kind: 'warn' }); return; }
    cell.append(problemBox(err));
    cell.lastChild.focus();
  }
}

// The municipality asked for completion: its message, and the association's answer.
function completionForm(a, r, said) {
  const P = `as-${a.id}-c${r.municipalityCode}`;
  const m = municipalityName(r.municipalityCode);
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, t('resubmit'));
  const form = h('form', { class: 'form-grid', novalidate: true },
    box,
    field(`${P}-message`, t('answerLabel', { m }), { rows: '3', maxlength: '2000' }, { tag: 'textarea', optional: true, hint: t('answerHint') }),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const message = form.querySelector(`#${P}-message`).value.trim();
    try {
      await busy(submit, () => api(`/v1/associations/${a.id}/registrations/${r.municipalityCode}/resubmit`, json('POST', { message }, ifMatch(a.version))));
      await refresh(a.id, { open: 'top', notice: t('resubmitted', { m }) });
    } catch (err) {
      if (err.status === 412) { await refresh(a.id, { open: 'top', notice: t('staleReloaded'), kind: 'warn' }); return; }
      showErrors(form, box, err, (f) => (f === 'message' ? `${P}-message` : null));
    }
  });
  return h('div', { class: 'notice warn completion', 'data-completion': r.municipalityCode },
    h('p', {}, h('strong', {}, t('registrationCompletionAsked', { m })), ' ', said?.text || ''),
    form);
}

// ---- the association's details: a new one, or changing one ----

const FIELD_IDS = {
  orgNumber: 'orgNumber', name: 'name', municipalityCode: 'municipalityCode', associationType: 'associationType',
  foundedYear: 'foundedYear', activities: 'activities', federations: 'federations', contact: 'email',
  'contact.email': 'email', 'contact.phone': 'phone', 'contact.website': 'website',
  postalAddress: 'street', 'postalAddress.street': 'street', 'postalAddress.postalCode': 'postalCode', 'postalAddress.city': 'city',
};

function associationFields(P, a, { edit } = {}) {
  const seats = edit ? a.registrations.filter((r) => r.status !== WITHDRAWN).map((r) => r.municipalityCode) : null;
  const typeOptions = [h('option', { value: '' }, t('chooseNone')), byName(codes.associationTypes).map((x) => h('option', { value: x.code, selected: x.code === a?.associationType }, x[getLang()] || x.sv))];
  return [
    edit
      ? h('p', {}, `${t('orgNumber')}: `, h('strong', {}, orgDisplay(a.orgNumber)))
      : field(`${P}-orgNumber`, t('orgNumber'), { type: 'text', inputmode: 'numeric', autocomplete: 'off', required: true }, { hint: t('orgHintLong') }),
    field(`${P}-name`, t('assocName'), { type: 'text', autocomplete: 'organization', required: true, value: a?.name, maxlength: '200' }),
    field(`${P}-municipalityCode`, edit ? t('seatLabel') : t('registerIn'), { required: true }, {
      tag: 'select',
      hint: edit ? t('seatHint') : t('registerInHint'),
      children: [edit ? null : h('option', { value: '' }, t('chooseMunicipality')), municipalityOptions(a?.municipalityCode || '', seats)],
    }),
    h('div', { class: 'row' },
      field(`${P}-associationType`, t('assocType'), {}, { tag: 'select', optional: true, children: typeOptions }),
      field(`${P}-foundedYear`, t('foundedYear'), { type: 'number', inputmode: 'numeric', min: '1600', max: String(thisYear()), step: '1', value: a?.foundedYear }, { optional: true })),
    checkGroup(`${P}-activities`, t('activitiesLabel'), byName(codes.activities), a?.activities || []),
    checkGroup(`${P}-federations`, t('federationsLabel'), byName(codes.federations), a?.federations || []),
    h('fieldset', { class: 'group' },
      h('legend', {}, t('publicContact'), ' ', h('span', { class: 'hint' }, t('optional'))),
      h('p', { class: 'hint' }, t('publicContactHint')),
      h('div', { class: 'row' },
        field(`${P}-email`, t('email'), { type: 'email', autocomplete: 'off', value: a?.contact?.email }),
        field(`${P}-phone`, t('phone'), { type: 'tel', autocomplete: 'off', value: a?.contact?.phone }),
        field(`${P}-website`, t('website'), { type: 'url', autocomplete: 'off', value: a?.contact?.website }, { hint: t('websiteHint') }))),
    h('fieldset', { class: 'group' },
      h('legend', {}, t('postalAddress'), ' ', h('span', { class: 'hint' }, t('optional'))),
      h('div', { class: 'row' },
        field(`${P}-street`, t('street'), { type: 'text', autocomplete: 'off', value: a?.postalAddress?.street }),
        field(`${P}-postalCode`, t('postalCode'), { type: 'text', inputmode: 'numeric', autocomplete: 'off', value: a?.postalAddress?.postalCode }, { hint: t('postalCodeHint') }),
        field(`${P}-city`, t('city'), { type: 'text', autocomplete: 'off', value: a?.postalAddress?.city }))),
  ];
}

function readAssociation(form, P, { edit } = {}) {
  const v = (n) => form.querySelector(`#${P}-${n}`)?.value.trim() ?? '';
  const checked = (n) => [...form.querySelectorAll(`input[name="${P}-${n}"]:checked`)].map((x) => x.value);
  const year = v('foundedYear');
  const address = { street: v('street'), postalCode: v('postalCode'), city: v('city') };
  const body = {
    name: v('name'),
    municipalityCode: v('municipalityCode'),
    associationType: v('associationType') || null,
    foundedYear: year === '' ? null : Number(year),
    activities: checked('activities'),
    federations: checked('federations'),
    contact: { email: v('email') || null, phone: v('phone') || null, website: v('website') || null },
    postalAddress: address.street || address.postalCode || address.city ? address : null,
  };
  return edit ? body : { orgNumber: v('orgNumber'), ...body };
}

const fieldId = (P) => (f) => {
  const key = f.replace(/\[\d+\].*$/, '');
  return FIELD_IDS[key] ? `${P}-${FIELD_IDS[key]}` : null;
};

function registerSection(open) {
  const P = 'new';
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, t('registerSubmit'));
  const form = h('form', { class: 'form-grid assoc-form', id: 'register-form', novalidate: true },
    h('p', { class: 'hint' }, t('registerIntro')),
    box,
    associationFields(P, null),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const body = readAssociation(form, P);
    try {
      const a = await busy(submit, () => api('/v1/associations', json('POST', body)));
      await renderAssociations(true, { notice: t('registered', { name: a.name, m: municipalityName(a.municipalityCode) }) });
    } catch (err) {
      showErrors(form, box, err, fieldId(P));
    }
  });
  return h('section', { 'aria-labelledby': 'register-h', class: 'register' },
    h('h2', { id: 'register-h' }, t('newAssociation')),
    h('details', { 'data-panel': 'register', open }, h('summary', {}, t('registerOpen')), h('div', { class: 'panel' }, form)));
}

function editForm(a, P) {
  const E = `${P}-e`;
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, t('save'));
  const waiting = a.registrations.some((r) => r.status === NEEDS_COMPLETION);
  const form = h('form', { class: 'form-grid assoc-form', novalidate: true },
    waiting ? h('p', { class: 'hint' }, t('editResubmits')) : null,
    box,
    associationFields(E, a, { edit: true }),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const body = readAssociation(form, E, { edit: true });
    try {
      const updated = await busy(submit, () => api(`/v1/associations/${a.id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json', ...ifMatch(a.version) },
        body: JSON.stringify(body),
      }));
      const resubmitted = a.registrations.filter((r) => r.status === NEEDS_COMPLETION).map((r) => municipalityName(r.municipalityCode));
      const notice = resubmitted.length ? `${t('saved')} ${t('savedResubmitted', { m: resubmitted.join(', ') })}` : t('saved');
      await refresh(updated.id, { open: 'edit', notice });
    } catch (err) {
      if (err.status === 412) { await refresh(a.id, { open: 'edit', notice: t('staleReloaded'), kind: 'warn' }); return; }
      showErrors(form, box, err, fieldId(E));
    }
  });
  return form;
}

function addRegistrationForm(a, P) {
  const taken = a.registrations.filter((r) => ![REJECTED, WITHDRAWN].includes(r.status)).map((r) => r.municipalityCode);
  const free = codes.municipalities.map((m) => m.code).filter((c) => !taken.includes(c));
  const id = `${P}-addMunicipality`;
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, t('registerWith'));
  const form = h('form', { class: 'form-grid', novalidate: true },
    h('p', { class: 'hint' }, t('moreMunicipalitiesHint')),
    box,
    field(id, t('municipalityLabel'), { required: true }, { tag: 'select', children: [h('option', { value: '' }, t('chooseMunicipality')), municipalityOptions('', free)] }),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const code = form.querySelector(`#${id}`).value;
    try {
      await busy(submit, () => api(`/v1/associations/${a.id}/registrations`, json('POST', { municipalityCode: code }, ifMatch(a.version))));
      await refresh(a.id, { open: 'more', notice: t('registeredWith', { m: municipalityName(code) }) });
    } catch (err) {
      if (err.status === 412) { await refresh(a.id, { open: 'more', notice: t('staleReloaded'), kind: 'warn' }); return; }
      showErrors(form, box, err, (f) => (f === 'municipalityCode' ? id : null));
    }
  });
  return form;
}

// ---- member statistics per year ----

async function statsPanel(a, P, body, note) {
  const S = `${P}-s`;
  let reports;
  try {
    reports = (await api(`/v1/associations/${a.id}/member-statistics`)).reports;
  } catch (err) {
    body.replaceChildren(problemBox(err));
    return;
  }
  const current = new Map(reports.filter((r) => r.current).map((r) => [r.year, r]));
  const years = [...current.values()].sort((x, y) => y.year - x.year);
  const reported = years.length
    ? h('table', { class: 'reported' },
      h('caption', {}, t('reportedYears')),
      h('thead', {}, h('tr', {}, [t('year'), t('members'), t('reportVersion'), t('reportedAt')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, years.map((r) => h('tr', { 'data-year': r.year },
        h('th', { scope: 'row' }, String(r.year)), h('td', {}, String(r.total)), h('td', {}, String(r.version)), h('td', {}, dateOnly(r.reportedAt))))))
    : h('p', { class: 'hint' }, t('noReports'));

  const box = h('div', {});
  const yearInput = h('input', { id: `${S}-year`, type: 'number', inputmode: 'numeric', min: '1900', max: String(thisYear()), step: '1', value: String(thisYear() - 1), 'aria-describedby': `${S}-year-hint ${S}-year-error` });
  const yearHint = h('span', { class: 'hint', id: `${S}-year-hint` });
  const cell = (band, gender) => `${S}-${band.slice(9)}-${gender.slice(7)}`.toLowerCase();
  const caption = h('caption', {});
  const total = h('output', { id: `${S}-total`, for: AGE_BANDS.flatMap((b) => GENDERS.map((g) => cell(b, g))).join(' ') }, '0');
  const grid = h('table', { class: 'counts' },
    caption,
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', id: `${S}-age` }, t('ageBand')), GENDERS.map((g) => h('th', { scope: 'col', id: `${S}-${g.slice(7).toLowerCase()}` }, t('genders')[g])))),
    h('tbody', {}, AGE_BANDS.map((b) => h('tr', {},
      h('th', { scope: 'row', id: `${S}-${b.slice(9).toLowerCase()}` }, t('ageBands')[b]),
      GENDERS.map((g) => h('td', {}, h('input', {
        id: cell(b, g), type: 'number', inputmode: 'numeric', min: '0', step: '1', class: 'count',
        'aria-labelledby': `${S}-${b.slice(9).toLowerCase()} ${S}-${g.slice(7).toLowerCase()}`,
        'aria-describedby': `${cell(b, g)}-error`,
      }), h('span', { class: 'field-error', id: `${cell(b, g)}-error` })))))));
  const submit = h('button', { type: 'submit' });
  const sum = () => { total.textContent = String([...grid.querySelectorAll('input.count')].reduce((n, x) => n + (Number(x.value) || 0), 0)); };
  const fill = () => {
    const year = Number(yearInput.value);
    const r = current.get(year);
    caption.textContent = t('countsCaption', { year: yearInput.value || '–' });
    for (const b of AGE_BANDS) for (const g of GENDERS) {
      const c = r?.counts.find((x) => x.ageBand === b && x.gender === g);
      grid.querySelector(`#${cell(b, g)}`).value = c ? String(c.count) : '';
    }
    yearHint.textContent = r ? t('correctionHint', { year, v: r.version }) : t('firstReportHint');
    submit.textContent = r ? t('sendCorrection', { year }) : t('sendReport', { year: yearInput.value || '' });
    sum();
  };
  yearInput.addEventListener('change', fill);
  grid.addEventListener('input', sum);
  const form = h('form', { class: 'form-grid stats-form', novalidate: true },
    box,
    h('div', { class: 'field narrow' },
      h('label', { for: yearInput.id }, t('year')), yearHint, yearInput, h('span', { class: 'field-error', id: `${S}-year-error` })),
    grid,
    h('p', {}, h('label', { for: total.id }, `${t('total')}: `), total),
    h('div', { class: 'actions' }, submit));
  fill();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const year = Number(yearInput.value);
    const sent = [];
    for (const b of AGE_BANDS) for (const g of GENDERS) {
      const v = grid.querySelector(`#${cell(b, g)}`).value.trim();
      if (v !== '') sent.push({ id: cell(b, g), count: { ageBand: b, gender: g, count: Number(v) } });
    }
    const r = current.get(year);
    try {
      const report = await busy(submit, () => api(`/v1/associations/${a.id}/member-statistics/${encodeURIComponent(yearInput.value || '0')}`,
        json('PUT', { counts: sent.map((x) => x.count) }, r ? ifMatch(r.version) : {})));
      await refresh(a.id, { open: 'stats', notice: report.version === 1 ? t('reported', { year, n: report.total }) : t('corrected', { year, n: report.total, v: report.version }) });
    } catch (err) {
      // Reported or corrected meanwhile: show the figures now in force.
      if (err.status === 412 || err.problem?.errors?.some((v) => v.rule === 'already_reported')) {
        await refresh(a.id, { open: 'stats', notice: t('reportStale', { year }), kind: 'warn' });
        return;
      }
      showErrors(form, box, err, (f) => {
        if (f === 'year') return `${S}-year`;
        const m = /^counts\[(\d+)\]/.exec(f);
        return m ? sent[Number(m[1])]?.id : null;
      });
    }
  });
  body.replaceChildren(...[note, h('p', { class: 'hint' }, t('statsIntro')), reported, form].filter(Boolean));
}

// ---- representatives ----

async function representativesPanel(a, P, body, note) {
  const R = `${P}-r`;
  let reps;
  try {
    reps = (await api(`/v1/associations/${a.id}/representatives`)).representatives;
  } catch (err) {
    body.replaceChildren(problemBox(err));
    return;
  }
  const listBox = h('div', {});
  const list = h('ul', { class: 'reps' }, reps.map((r) => h('li', { 'data-representative': r.id },
    h('span', {}, r.name, r.isYou ? h('strong', {}, ` (${t('you')})`) : null, ' ', h('span', { class: 'hint' }, t('addedAt', { d: dateOnly(r.addedAt) }))),
    h('button', { type: 'button', class: 'secondary small', 'aria-label': r.isYou ? t('removeMe') : t('removeNamed', { name: r.name }), onclick: (e) => remove(r, e.currentTarget) },
      r.isYou ? t('removeMe') : t('remove')))));
  async function remove(r, button) {
    listBox.replaceChildren();
    try {
      await busy(button, () => api(`/v1/associations/${a.id}/representatives/${r.id}`, { method: 'DELETE' }));
      if (r.isYou) await renderAssociations(true, { notice: t('removedYou', { name: a.name }) });
      else await refresh(a.id, { open: 'reps', notice: t('removedRep', { name: r.name }) });
    } catch (err) {
      listBox.replaceChildren(problemBox(err));
      listBox.firstChild.focus();
      announce(listBox.textContent);
    }
  }
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, t('addRep'));
  const form = h('form', { class: 'form-grid', novalidate: true },
    h('fieldset', { class: 'group' },
      h('legend', {}, t('addRepTitle')),
      h('p', { class: 'hint' }, t('addRepHint')),
      box,
      h('div', { class: 'row' },
        field(`${R}-pin`, t('pin'), { type: 'text', inputmode: 'numeric', autocomplete: 'off', required: true }, { hint: t('pinHint') }),
        field(`${R}-name`, t('repName'), { type: 'text', autocomplete: 'off', required: true }))),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const name = form.querySelector(`#${R}-name`).value.trim();
    const body2 = { personalIdentityNumber: form.querySelector(`#${R}-pin`).value.trim(), name };
    try {
      const added = await busy(submit, () => api(`/v1/associations/${a.id}/representatives`, json('POST', body2)));
      await refresh(a.id, { open: 'reps', notice: t('addedRep', { name: added.name }) });
    } catch (err) {
      showErrors(form, box, err, (f) => ({ personalIdentityNumber: `${R}-pin`, name: `${R}-name` })[f] || null);
    }
  });
  body.replaceChildren(...[note, h('p', { class: 'hint' }, t('repsIntro')), list, listBox, form].filter(Boolean));
}

// ---- the staff inbox ----

const PAGE = 10;

export async function renderStaff(moved) {
  const me = account.me;
  document.title = `${t('staffInbox')} – ${t('brand')}`;
  const heading = h('h1', { id: 'page-title', tabindex: '-1' }, isStaff(me) ? t('staffInboxOf', { m: municipalityName(me.municipalityCode) }) : t('staffInbox'));
  if (!me) {
    signInPrompt(heading, t('staffSignIn'));
    if (moved) heading.focus();
    return;
  }
  if (!isStaff(me)) {
    view.replaceChildren(heading, h('p', { class: 'notice warn' }, t('notStaff')));
    if (moved) heading.focus();
    return;
  }
  const code = me.municipalityCode;
  const summary = h('p', { class: 'summary', id: 'inbox-summary' }, t('loading'));
  const list = h('ol', { class: 'cases', 'aria-labelledby': 'page-title' });
  const more = h('div', { class: 'actions' });
  view.replaceChildren(heading, h('p', {}, t('staffIntro')), summary, list, more);
  if (moved) heading.focus();
  const state = { shown: 0, next: '' };
  const load = async (token) => {
    const q = new URLSearchParams({ status: PENDING, pageSize: String(PAGE) });
    if (token) q.set('pageToken', token);
    const page = await api(`/v1/municipalities/${code}/registrations?${q}`);
    const cases = await inLimitedParallel(page.items, 4, (item) => caseCard(item, code, () => { state.shown -= 1; summarise(); }));
    list.append(...cases);
    state.shown += cases.length;
    state.next = page.nextPageToken || '';
    return cases;
  };
  const summarise = () => {
    summary.textContent = state.shown === 0 && !state.next ? t('inboxEmpty') : (state.next ? t('inboxMore', { n: state.shown }) : t('inboxN', { n: state.shown }));
    more.replaceChildren(state.next ? h('button', { type: 'button', class: 'secondary', onclick: async (e) => {
      const before = list.children.length;
      try {
        await busy(e.currentTarget, () => load(state.next));
      } catch (err) {
        more.replaceChildren(problemBox(err));
        return;
      }
      summarise();
      list.children[before]?.querySelector('h2')?.focus();
    } }, t('moreCases')) : '');
  };
  try {
    await load('');
  } catch (err) {
    summary.replaceWith(problemBox(err, () => renderStaff(true)));
    return;
  }
  summarise();
  announce(summary.textContent);
}

async function inLimitedParallel(items, n, fn) {
  const out = new Array(items.length);
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k]);
    }
  }));
  return out;
}

// One registration waiting: the association's details and history, and the decision.
async function caseCard(item, code, decided) {
  const li = h('li', { class: 'case', 'data-association': item.associationId, 'data-org-number': item.orgNumber, 'data-submitted': item.registration.submittedAt });
  await drawCase(li, item, code, decided);
  return li;
}

async function drawCase(li, item, code, decided, { notice, kind = 'warn' } = {}) {
  const P = `case-${item.associationId}`;
  let a;
  let regs;
  try {
    [a, regs] = await Promise.all([api(`/v1/associations/${item.associationId}`), registrationsOf(item.associationId)]);
  } catch (err) {
    li.replaceChildren(h('h2', {}, item.name), problemBox(err));
    return;
  }
  const reg = a.registrations.find((r) => r.municipalityCode === code) || item.registration;
  const events = regs.find((r) => r.registration.municipalityCode === code)?.events || [];
  const others = a.registrations.filter((r) => r.municipalityCode !== code);
  const latest = a.memberStatistics;
  const address = a.postalAddress ? [a.postalAddress.careOf ? `c/o ${a.postalAddress.careOf}` : null, a.postalAddress.street, `${a.postalAddress.postalCode.replace(/^(\d{3})(\d{2})$/, '$1 $2')} ${a.postalAddress.city}`].filter(Boolean).join(', ') : '';
  const contact = [a.contact?.email, a.contact?.phone, a.contact?.website].filter(Boolean).join(', ');
  const fact = (label, value) => (value ? [h('dt', {}, label), h('dd', {}, value)] : null);
  const top = notice ? h('p', { class: `notice ${kind}`, tabindex: '-1' }, notice) : null;
  li.replaceChildren(...[
    h('h2', { id: `${P}-h`, tabindex: '-1' }, a.name),
    h('p', { class: 'meta' }, `${t('orgNumber')} ${orgDisplay(a.orgNumber)} · `, h('span', { class: `status ${reg.status.replace('REGISTRATION_STATUS_', '').toLowerCase()}` }, statusText(reg.status)), ` · ${t('submittedAt', { d: dateTime(reg.submittedAt) })}`),
    top,
    h('dl', { class: 'facts' },
      fact(t('assocType'), a.associationType ? codeName(codes.associationTypes, a.associationType) : ''),
      fact(t('activitiesLabel'), a.activities.map((x) => codeName(codes.activities, x)).join(', ')),
      fact(t('federationsLabel'), a.federations.map((x) => codeName(codes.federations, x)).join(', ')),
      fact(t('foundedYear'), a.foundedYear ? String(a.foundedYear) : ''),
      fact(t('seatLabel'), municipalityName(a.municipalityCode)),
      fact(t('postalAddress'), address),
      fact(t('publicContact'), contact),
      fact(t('alsoRegistered'), others.map((r) => `${municipalityName(r.municipalityCode)} (${statusText(r.status).toLowerCase()})`).join(', ')),
      fact(t('membersIn', { year: latest?.year }), latest ? String(latest.counts.reduce((n, c) => n + c.count, 0)) : '')),
    h('h3', {}, t('history')),
    events.length ? eventList(events) : h('p', { class: 'hint' }, t('noHistory')),
    h('h3', { id: `${P}-decide-h` }, t('decision')),
    decisionControls(li, a, item, code, P, decided),
  ].filter(Boolean));
  if (top) { top.focus(); announce(notice); }
}

function decisionControls(li, a, item, code, P, decided) {
  const box = h('div', {});
  const wrap = h('div', { class: 'decision', role: 'group', 'aria-labelledby': `${P}-decide-h` });
  const send = async (path, body, button, form, fieldName) => {
    if (form) clearErrors(form, box); else box.replaceChildren();
    try {
      await busy(button, () => api(`/v1/associations/${a.id}/registrations/${code}/${path}`, json('POST', body, ifMatch(a.version))));
    } catch (err) {
      if (err.status === 412) {
        await drawCase(li, item, code, decided, { notice: t('caseChanged') });
        return;
      }
      if (form) showErrors(form, box, err, (f) => (f === fieldName ? form.querySelector('textarea').id : null));
      else { box.replaceChildren(problemBox(err)); box.firstChild.focus(); announce(box.textContent); }
      return;
    }
    const text = { approve: t('approvedCase', { name: a.name }), reject: t('rejectedCase', { name: a.name }), 'request-completion': t('completionSent', { name: a.name }) }[path];
    const done = h('p', { class: 'notice ok', tabindex: '-1' }, text);
    li.classList.add('decided');
    li.replaceChildren(h('h2', {}, a.name), done);
    done.focus();
    announce(text);
    decided();
  };
  const approve = h('button', { type: 'button', onclick: (e) => send('approve', {}, e.currentTarget) }, t('approve'));
  const textForm = (key, label, hint, submitLabel, path, bodyKey) => {
    const id = `${P}-${key}`;
    const submit = h('button', { type: 'submit' }, submitLabel);
    const form = h('form', { class: 'form-grid', id: `${id}-form`, hidden: true, novalidate: true },
      field(id, label, { rows: '3', maxlength: '2000', required: true }, { tag: 'textarea', hint }),
      h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'secondary', onclick: () => toggle(false) }, t('cancel'))));
    const opener = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false', 'aria-controls': `${id}-form` }, t(`${key}Open`));
    const toggle = (show) => {
      form.hidden = !show;
      opener.setAttribute('aria-expanded', String(show));
      if (show) form.querySelector('textarea').focus(); else opener.focus();
    };
    opener.addEventListener('click', () => toggle(form.hidden));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      send(path, { [bodyKey]: form.querySelector('textarea').value.trim() }, submit, form, bodyKey);
    });
    return { opener, form };
  };
  const reject = textForm('reject', t('rejectReason'), t('rejectHint'), t('rejectSend'), 'reject', 'reason');
  const complete = textForm('complete', t('completeMessage'), t('completeHint'), t('completeSend'), 'request-completion', 'message');
  wrap.append(box, h('div', { class: 'actions' }, approve, reject.opener, complete.opener), reject.form, complete.form);
  return wrap;
}
