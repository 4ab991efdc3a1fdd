// Träningstider (/allocation): the seasonal allocation of training times (säsongsfördelning,
// docs/allocation.md). Everyone sees the rounds, a round's published principles and, once it is
// published, the allocation per unit and weekday (and its CSV). A signed-in representative
// applies for their teams while a round is open, sees and withdraws their applications, and,
// once a run is published, sees what each team got and why no better alternative was given,
// and comments on it. The round's municipality's staff run the allocator (with what-if
// weights), compare runs, edit a session by hand, publish and finalise, read the comments, and
// set up rounds (as JSON). Later in the season a representative asks for match times
// (matchtider) for their teams, and once the final allocation is registered staff allocate them
// in match runs and register one; the allocated matches are public with the allocation. A run
// shows what the units' booking systems had booked when it was made (kept free). Loaded by
// app.js only for this view; everything goes through the registry's REST API (docs/api.md,
// "Seasonal allocation").

import { t, getLang } from '/web/i18n.js';
import {
  view, h, announce, account, api, json, ApiError, codes, codeName, municipalityName, municipalityOptions, locale, dateTime,
  signInLinks, problemBox, errorText, pageLink, withLang, navigate, field, clearErrors, showErrors, busy, stockholmParts,
} from '/web/ui.js';

const GROUP_ORDER = ['children_youth', 'activity_grant', 'underrepresented_gender', 'local', 'previous_season'];
const MAX_WISHES = 3;
const MAX_ALTERNATIVES = 3;
const BASE_POINTS = 1000;

const isStaffOf = (code) => Boolean(account.me?.name && account.me.role === 'editor' && account.me.municipalityCode === code);
const weekday = (d) => t('weekdays')[d - 1] || String(d);
const num = (n) => new Intl.NumberFormat(locale()).format(n);
const pct = (x) => new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 0 }).format(x);
const day = (s) => new Intl.DateTimeFormat(locale(), { timeZone: 'UTC', dateStyle: 'medium' }).format(new Date(`${s}T12:00:00Z`));
// A date with its weekday, e.g. "lördag 2 oktober 2027".
const fullDay = (s) => new Intl.DateTimeFormat(locale(), { timeZone: 'UTC', dateStyle: 'full' }).format(new Date(`${s}T12:00:00Z`));
const ifMatch = (version) => ({ 'if-match': `"${version}"` });
const groupName = (code) => t('alGroups')[code] || code;
const statusText = (s) => t('alRoundStatus')[s] || s;
const activityName = (code) => (code ? codeName(codes.activities, code) : '');
const byGroupOrder = (a, b) => GROUP_ORDER.indexOf(a) - GROUP_ORDER.indexOf(b);
const pad = (n) => String(n).padStart(2, '0');
const intOrNull = (s) => (String(s).trim() === '' ? null : Number(s));
// A button's text, and what it acts on for screen readers.
const named = (label, what) => [label, h('span', { class: 'visually-hidden' }, `: ${what}`)];

// ---- unit names: a round names its units by id; the registry's facilities name them ----

const units = new Map();

// Fetches the facilities of municipality `code` until every unit of `ids` is named (or the
// list ends); a unit not found is shown by a short form of its id.
async function nameUnits(code, ids) {
  let missing = ids.filter((id) => !units.has(id));
  let token = '';
  for (let page = 0; missing.length && page < 30; page++) {
    const q = new URLSearchParams({ municipalityCode: code, pageSize: '100' });
    if (token) q.set('pageToken', token);
    let list;
    try {
      list = await api(`/v1/facilities?${q}`);
    } catch {
      return;
    }
    for (const f of list.facilities || []) {
      for (const u of f.units || []) units.set(u.id, { unit: u.name, facility: f.name, capacity: u.capacity });
    }
    missing = missing.filter((id) => !units.has(id));
    token = list.nextPageToken || '';
    if (!token) break;
  }
}

function unitLabel(id) {
  const u = units.get(id);
  return u ? `${u.unit} (${u.facility})` : t('alUnitById', { id: id.slice(-6) });
}

// ---- the view ----

export async function renderAllocation(moved) {
  const q = new URLSearchParams(location.search);
  const id = q.get('round');
  if (id) await renderRound(id, { moved });
  else await renderRounds(q.get('municipality') || '', moved);
}

function heading(text) {
  return h('h1', { id: 'page-title', tabindex: '-1' }, text);
}

// Focus and announce: a notice if there is one, else the heading when the view was navigated to.
function settle(top, notice, moved, title) {
  if (top) {
    top.focus();
    announce(notice);
  } else if (moved) {
    title.focus();
  }
}

// ---- the rounds ----

async function renderRounds(code, moved) {
  document.title = `${t('alTitle')} – ${t('brand')}`;
  const title = heading(t('alTitle'));
  const list = h('div', { id: 'rounds', 'aria-busy': 'true' }, h('p', {}, t('loading')));
  const filter = h('form', { class: 'row alloc-filter', role: 'search', 'aria-label': t('alFilter') },
    h('div', { class: 'field' },
      h('label', { for: 'al-municipality' }, t('municipalityLabel')),
      h('select', { id: 'al-municipality', name: 'municipality' }, h('option', { value: '' }, t('anyMunicipality')), municipalityOptions(code))),
    h('div', { class: 'field narrow' }, h('span', { class: 'label', 'aria-hidden': 'true' }, '\u00a0'), h('button', { type: 'submit', class: 'secondary' }, t('show'))));
  filter.addEventListener('submit', (e) => {
    e.preventDefault();
    const m = filter.querySelector('select').value;
    navigate(withLang(m ? `/allocation?municipality=${encodeURIComponent(m)}` : '/allocation'));
  });
  const me = account.me;
  view.replaceChildren(...[
    title,
    h('p', {}, t('alIntro')),
    me ? null : signInHint(),
    filter,
    list,
    me?.role === 'editor' && me.municipalityCode ? setupSection(me.municipalityCode) : null,
  ].filter(Boolean));
  if (moved) title.focus();
  let rounds;
  try {
    rounds = (await api(`/v1/allocation/rounds${code ? `?municipalityCode=${encodeURIComponent(code)}` : ''}`)).rounds;
  } catch (err) {
    list.setAttribute('aria-busy', 'false');
    list.replaceChildren(problemBox(err, () => renderRounds(code, true)));
    return;
  }
  const n = rounds.length;
  const summary = n === 0 ? t('alNoRounds') : n === 1 ? t('alRounds1') : t('alRoundsN', { n });
  list.setAttribute('aria-busy', 'false');
  list.replaceChildren(
    h('h2', { class: 'summary', id: 'rounds-summary' }, summary),
    n ? h('table', { class: 'rounds', 'aria-labelledby': 'rounds-summary' },
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, t('alRound')), h('th', { scope: 'col' }, t('municipalityLabel')), h('th', { scope: 'col' }, t('alSeason')),
        h('th', { scope: 'col' }, t('alApplicationPeriod')), h('th', { scope: 'col' }, t('statusLabel')))),
      h('tbody', {}, rounds.map((r) => h('tr', { 'data-round': r.id, 'data-status': r.status },
        h('th', { scope: 'row' }, pageLink(`/allocation?round=${r.id}`, r.name)),
        h('td', {}, municipalityName(r.municipalityCode)),
        h('td', {}, `${day(r.seasonStart)} – ${day(r.seasonEnd)}`),
        h('td', {}, `${dateTime(r.applicationsOpen)} – ${dateTime(r.applicationsClose)}`),
        h('td', {}, h('span', { class: `status round-${r.status}` }, statusText(r.status))))))) : null);
  announce(summary);
}

function signInHint() {
  const links = signInLinks();
  return h('div', { class: 'notice sign-in-hint' },
    h('p', {}, t('alSignInText')),
    links.length ? h('p', { class: 'actions sign-in' }, links) : h('p', { class: 'hint' }, t('signInUnavailable')));
}

// ---- a round ----

// Draws round `id`; `notice` (focused and announced) goes at the top of `section` ('top',
// 'mine', 'staff'); `run` is the run staff look at.
async function renderRound(id, { moved = false, notice, kind = 'ok', section = 'top', run } = {}) {
  const me = account.me;
  let round;
  try {
    round = await api(`/v1/allocation/rounds/${encodeURIComponent(id)}`);
  } catch (err) {
    document.title = `${t('alTitle')} – ${t('brand')}`;
    const title = heading(t('alTitle'));
    view.replaceChildren(title, h('p', {}, pageLink('/allocation', t('alAllRounds'), { class: 'back' })), problemBox(err, () => renderRound(id, { moved: true })));
    if (moved) title.focus();
    return;
  }
  document.title = `${round.name} – ${t('alTitle')} – ${t('brand')}`;
  const code = round.municipalityCode;
  const staff = isStaffOf(code);
  const shownRun = round.finalRun || round.publishedRun;
  const ask = (path) => api(path).catch((err) => ({ failed: err }));
  const [published, mineList, appList, commentList, myRun, runList, matchList] = await Promise.all([
    shownRun ? ask(`/v1/allocation/rounds/${round.id}/allocation`) : null,
    me ? ask('/v1/me/associations') : null,
    me ? ask(`/v1/allocation/rounds/${round.id}/applications`) : null,
    me && shownRun ? ask(`/v1/allocation/rounds/${round.id}/comments`) : null,
    me && shownRun ? ask(`/v1/allocation/runs/${shownRun}`) : null,
    staff ? ask(`/v1/allocation/rounds/${round.id}/runs`) : null,
    me ? ask(`/v1/allocation/rounds/${round.id}/matches`) : null,
    nameUnits(code, round.units.map((u) => u.unitId)),
  ]);
  const note = (key) => (notice && section === key ? h('p', { class: `notice ${kind} section-notice`, tabindex: '-1' }, notice) : null);
  const title = heading(round.name);
  const top = note('top');
  const mine = me ? (mineList?.associations || []) : [];
  const mineIds = new Set(mine.map((a) => a.id));
  const apps = appList?.applications || [];
  const ctx = {
    round, staff, mine, apps, myApps: apps.filter((a) => mineIds.has(a.associationId)),
    comments: commentList?.comments || [],
    myDecisions: (myRun?.decisions || []).filter((d) => mineIds.has(d.associationId)),
    matches: matchList?.matches || [],
    matchesFailed: matchList?.failed,
  };
  view.replaceChildren(...[
    h('p', {}, pageLink(code ? `/allocation?municipality=${code}` : '/allocation', t('alAllRoundsIn', { m: municipalityName(code) }), { class: 'back' })),
    title,
    h('p', { class: 'meta' }, municipalityName(code), ' · ', h('span', { class: `status round-${round.status}` }, statusText(round.status)), ' · ', phaseText(round)),
    top,
    roundFacts(round),
    principlesSection(round.principles, 'principles'),
    allocationSection(round, published),
    me ? mineSection(ctx, mineList?.failed, note('mine')) : signInHint(),
    staff ? staffSection(ctx, runList, note('staff'), run) : null,
  ].filter(Boolean));
  const target = view.querySelector('.section-notice');
  settle(target, notice, moved, title);
}

// Where the round is: before, within or after its application period, or published.
function phaseText(round) {
  const now = Date.now();
  if (round.status === 'final') return t('alPhaseFinal');
  if (round.status === 'preliminary') return t('alPhasePreliminary');
  if (now < Date.parse(round.applicationsOpen)) return t('alPhaseBefore', { d: dateTime(round.applicationsOpen) });
  if (now < Date.parse(round.applicationsClose)) return t('alPhaseOpen', { d: dateTime(round.applicationsClose) });
  return t('alPhaseClosed');
}

const applicationsOpen = (round) => round.status === 'open' && Date.now() >= Date.parse(round.applicationsOpen) && Date.now() < Date.parse(round.applicationsClose);

function roundFacts(round) {
  const fact = (label, value) => (value ? [h('dt', {}, label), h('dd', {}, value)] : null);
  return h('dl', { class: 'facts' },
    fact(t('alSeason'), `${day(round.seasonStart)} – ${day(round.seasonEnd)}`),
    fact(t('alBreaks'), round.breaks?.length ? round.breaks.map((b) => `${b.name ? `${b.name} ` : ''}${day(b.from)} – ${day(b.to)}`).join(', ') : t('alNoBreaks')),
    fact(t('alApplicationPeriod'), `${dateTime(round.applicationsOpen)} – ${dateTime(round.applicationsClose)}`),
    fact(t('alGrid'), t('alGridText', { n: round.gridMinutes })),
    fact(t('alUnits'), h('ul', { class: 'plain' }, round.units.map((u) => h('li', {}, unitLabel(u.unitId),
      u.activities?.length ? h('span', { class: 'hint' }, ` (${t('alSuits', { a: u.activities.map(activityName).join(', ') })})`) : null)))));
}

// ---- the principles (fördelningsprinciper), in words ----

function groupWho(g) {
  if (g.code === 'children_youth') return t('alWho_children_youth', { age: g.maxAge ?? 20 });
  if (g.code === 'underrepresented_gender') {
    const genders = (g.genders?.length ? g.genders : ['female']).map((x) => t('alGenderPlural')[x] || x).join(', ');
    return t('alWho_underrepresented_gender', { genders });
  }
  return t(`alWho_${g.code}`);
}

function principlesSection(p, key) {
  const groups = [...p.groups].sort((a, b) => byGroupOrder(a.code, b.code));
  const all = BASE_POINTS * (1 + groups.reduce((s, g) => s + g.weight, 0));
  const ranks = [0, 1, 2].map((r) => pct(Math.max(0, 1 - p.rankDecay * r)));
  return h('section', { class: 'principles', 'aria-labelledby': `${key}-h` },
    h('h2', { id: `${key}-h` }, t('alPrinciples')),
    p.description ? h('blockquote', { class: 'description' }, p.description) : null,
    h('p', {}, t('alPriorityText', { base: num(BASE_POINTS) })),
    groups.length
      ? h('ul', { class: 'groups' }, groups.map((g) => h('li', { 'data-group': g.code },
        h('strong', {}, groupName(g.code)), ` – ${groupWho(g)}. `,
        g.weight > 0 ? t('alWeightText', { w: num(g.weight), points: num(Math.round(g.weight * BASE_POINTS)) }) : t('alWeightZero'))))
      : h('p', {}, t('alNoGroups')),
    groups.length ? h('p', {}, t('alAllGroupsText', { points: num(all) })) : null,
    h('p', {}, t('alRankText', { decay: pct(p.rankDecay), first: ranks[0], second: ranks[1], third: ranks[2] })),
    h('p', {}, p.maxHoursPerAssociation ? t('alCapText', { h: num(p.maxHoursPerAssociation) }) : t('alNoCap')),
    p.oneSessionPerTeamPerDay !== false ? h('p', {}, t('alOnePerDay')) : null);
}

// ---- the published allocation, per unit and weekday ----

function allocationSection(round, published) {
  const body = [];
  if (!published) {
    body.push(h('p', {}, t('alNotPublished')));
  } else if (published.failed) {
    body.push(problemBox(published.failed));
  } else {
    const byUnit = new Map(round.units.map((u) => [u.unitId, []]));
    for (const s of published.sessions) {
      if (!byUnit.has(s.unitId)) byUnit.set(s.unitId, []);
      byUnit.get(s.unitId).push(s);
    }
    const n = published.sessions.length;
    body.push(
      h('p', {}, published.status === 'final' ? t('alFinalText') : t('alPreliminaryText')),
      h('p', { class: 'summary', id: 'allocation-summary' }, t('alSessionsIn', { n, u: [...byUnit.values()].filter((x) => x.length).length })),
      h('p', {}, h('a', { href: `/v1/allocation/rounds/${round.id}/allocation.csv`, download: 'fordelning.csv' }, t('alCsv'))));
    let k = 0;
    for (const [unitId, sessions] of byUnit) {
      k += 1;
      const sorted = [...sessions].sort((a, b) => a.day - b.day || a.start.localeCompare(b.start));
      body.push(h('table', { class: 'allocation', 'data-unit': unitId },
        h('caption', {}, unitLabel(unitId)),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col', id: `al-u${k}-when` }, t('alDayAndTime')), h('th', { scope: 'col' }, t('association')),
          h('th', { scope: 'col' }, t('alTeam')), h('th', { scope: 'col' }, t('activity')))),
        h('tbody', {}, sorted.length
          ? sorted.map((s) => h('tr', { 'data-day': s.day },
            h('th', { scope: 'row' }, `${weekday(s.day)} ${s.start}–${s.end}`),
            h('td', {}, s.associationName), h('td', {}, s.team), h('td', {}, activityName(s.activity))))
          : h('tr', {}, h('td', { colspan: '4' }, t('alUnitEmpty'))))));
    }
    const matches = published.matches || [];
    if (matches.length || published.status === 'final') body.push(publicMatches(matches));
  }
  return h('section', { class: 'published', id: 'allocation', 'aria-labelledby': 'allocation-h' },
    h('h2', { id: 'allocation-h' }, t('alAllocation')), body);
}

// The allocated match times, by date.
function publicMatches(list) {
  const sorted = [...list].sort((a, b) => a.date.localeCompare(b.date) || a.start.localeCompare(b.start));
  return h('div', { class: 'public-matches', id: 'matches' },
    h('h3', { id: 'matches-h' }, t('alMatches')),
    sorted.length
      ? [h('p', { class: 'summary' }, t('alMatchesByDate', { n: sorted.length })),
        h('table', { class: 'matches', 'aria-labelledby': 'matches-h' },
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, t('alDateAndTime')), h('th', { scope: 'col' }, t('alUnit')), h('th', { scope: 'col' }, t('association')),
            h('th', { scope: 'col' }, t('alTeam')), h('th', { scope: 'col' }, t('activity')), h('th', { scope: 'col' }, t('alMatchNote')))),
          h('tbody', {}, sorted.map((m) => h('tr', { 'data-date': m.date, 'data-unit': m.unitId },
            h('th', { scope: 'row' }, `${fullDay(m.date)} ${m.start}–${m.end}`),
            h('td', {}, unitLabel(m.unitId)), h('td', {}, m.associationName), h('td', {}, m.team),
            h('td', {}, activityName(m.activity)), h('td', {}, m.note || '')))))]
      : h('p', {}, t('alNoPublicMatches')));
}

// ---- a representative: applications, the form, decisions, comments ----

const APPROVED = 'REGISTRATION_STATUS_APPROVED';

function mineSection(ctx, failed, note) {
  const { round, mine, myApps, myDecisions } = ctx;
  const approved = mine.filter((a) => (a.registrations || []).some((r) => r.municipalityCode === round.municipalityCode && r.status === APPROVED));
  const parts = [];
  if (failed) parts.push(problemBox(failed));
  else if (!mine.length) {
    if (!ctx.staff) parts.push(h('p', {}, t('alNoAssociations'), ' ', pageLink('/associations', t('myAssociations')), '.'));
  } else {
    if (round.finalRun || round.publishedRun) parts.push(decisionsBlock(ctx, myDecisions));
    parts.push(applicationsBlock(ctx, myApps));
    parts.push(myMatchesBlock(ctx));
    if (applicationsOpen(round)) {
      parts.push(approved.length ? applicationForm(ctx, approved) : h('p', { class: 'notice warn' }, t('alNotApprovedHere', { m: municipalityName(round.municipalityCode) })));
    } else if (round.status === 'open') {
      parts.push(h('p', {}, t('alFormClosed', { from: dateTime(round.applicationsOpen), to: dateTime(round.applicationsClose) })));
    }
  }
  if (!parts.length) return null;
  return h('section', { class: 'mine', id: 'mine', 'aria-labelledby': 'mine-h' },
    h('h2', { id: 'mine-h' }, t('alMine')), note, parts);
}

function wishText(w) {
  return t('alWishSummary', { n: w.timesPerWeek, d: w.durationMinutes });
}

function alternativeText(a) {
  return `${weekday(a.day)} ${a.earliestStart}–${a.latestEnd} (${a.units.map(unitLabel).join(', ')})`;
}

function applicationsBlock(ctx, apps) {
  const { round } = ctx;
  const open = round.status === 'open';
  const rows = apps.map((a) => {
    const actions = h('td', { class: 'row-actions' });
    if (open && a.status === 'submitted') {
      actions.append(h('button', { type: 'button', class: 'secondary small', onclick: () => confirmWithdraw(ctx, a, actions) }, named(t('withdraw'), a.team.name)));
    }
    return h('tr', { 'data-application': a.id, 'data-status': a.status },
      h('th', { scope: 'row' }, a.team.name, h('div', { class: 'hint' }, a.associationName)),
      h('td', {}, `${activityName(a.team.activity)}, ${t('alAges', { from: a.team.ageFrom, to: a.team.ageTo })}, ${t('alGenderTeam')[a.team.gender] || a.team.gender}, ${t('alParticipantsN', { n: a.team.participants })}${a.team.level ? `, ${a.team.level}` : ''}`),
      h('td', {}, h('ul', { class: 'plain' }, a.wishes.map((w) => h('li', {}, wishText(w), h('ol', {}, w.alternatives.map((x) => h('li', {}, alternativeText(x)))))))),
      h('td', {}, h('span', { class: `status app-${a.status}` }, t('alAppStatus')[a.status] || a.status), h('div', { class: 'hint' }, t('submittedAt', { d: dateTime(a.submittedAt) }))),
      actions);
  });
  return h('div', { class: 'applications' },
    h('h3', { id: 'my-apps-h' }, t('alMyApplications')),
    apps.length
      ? h('table', { class: 'apps', 'aria-labelledby': 'my-apps-h' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, t('alTeam')), h('th', { scope: 'col' }, t('alTeamFacts')), h('th', { scope: 'col' }, t('alWishes')),
          h('th', { scope: 'col' }, t('statusLabel')), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('actions'))))),
        h('tbody', {}, rows))
      : h('p', { class: 'hint' }, t('alNoApplications')));
}

function confirmWithdraw(ctx, a, cell) {
  const before = [...cell.childNodes];
  const box = h('div', {});
  const yes = h('button', { type: 'button', class: 'small danger', onclick: async () => {
    try {
      await busy(yes, () => api(`/v1/allocation/applications/${a.id}/withdraw`, { method: 'POST' }));
      await renderRound(ctx.round.id, { section: 'mine', notice: t('alWithdrawn', { team: a.team.name }) });
    } catch (err) {
      box.replaceChildren(problemBox(err));
      box.firstChild.focus();
      announce(box.textContent);
    }
  } }, t('withdrawConfirm'));
  const no = h('button', { type: 'button', class: 'small secondary', onclick: () => { cell.replaceChildren(...before); cell.querySelector('button')?.focus(); } }, t('cancel'));
  cell.replaceChildren(h('p', { class: 'confirm' }, t('alWithdrawQuestion', { team: a.team.name })), h('div', { class: 'actions' }, yes, no), box);
  yes.focus();
}

// What one session got, in words.
function gotText(d, app, staff) {
  if (!d.slot) return t('alNotPlaced');
  const where = `${unitLabel(d.slot.unitId)}, ${weekday(d.slot.day)} ${d.slot.start}–${d.slot.end}`;
  let which;
  if (d.alternative == null) which = t('alPlacedByStaff');
  else if (d.alternative === 0) which = staff ? t('alFirstChoiceTeam') : t('alFirstChoice');
  else which = t(staff ? 'alNthChoiceTeam' : 'alNthChoice', { n: d.alternative + 1 });
  const alt = app?.wishes?.[d.wish]?.alternatives?.[d.alternative];
  return `${where} – ${which}${alt ? ` (${weekday(alt.day)} ${alt.earliestStart}–${alt.latestEnd})` : ''}`;
}

function whyNotList(d, title = t('alWhyNotTitle')) {
  if (!d.whyNot?.length) return null;
  const sv = getLang() === 'sv';
  return h('div', { class: 'why-not' },
    h('p', {}, title),
    h('ul', {}, d.whyNot.map((w) => h('li', { 'data-rule': w.rule },
      h('strong', {}, `${t('alAlternativeN', { n: w.alternative + 1 })}, ${unitLabel(w.unitId)}: `),
      sv ? w.messageSv : w.message,
      // The team's own session that day needs no naming: the message says so.
      w.heldBy?.length && w.rule !== 'team_busy' ? h('span', { class: 'hint' }, ` ${t('alHeldBy', { who: w.heldBy.join('; ') })}`) : null))));
}

function sessionTitle(d) {
  return t('alSessionTitle', { w: d.wish + 1, s: d.session + 1 });
}

function decisionsBlock(ctx, decisions) {
  const { round } = ctx;
  const byApp = new Map();
  for (const d of decisions) {
    if (!byApp.has(d.applicationId)) byApp.set(d.applicationId, []);
    byApp.get(d.applicationId).push(d);
  }
  const canComment = round.status === 'preliminary';
  return h('div', { class: 'decisions' },
    h('h3', {}, round.status === 'final' ? t('alMyFinal') : t('alMyDecisions')),
    h('p', { class: 'hint' }, t('alDecisionsIntro')),
    byApp.size
      ? [...byApp.entries()].map(([appId, ds]) => {
        const app = ctx.apps.find((a) => a.id === appId);
        const first = ds[0];
        const P = `dec-${appId}`;
        return h('article', { class: 'team-decisions', 'data-application': appId, 'aria-labelledby': `${P}-h` },
          h('h4', { id: `${P}-h`, tabindex: '-1' }, `${first.team} – ${first.associationName}`),
          h('ul', { class: 'sessions' }, ds.map((d) => h('li', { class: d.slot ? 'placed' : 'unplaced', 'data-wish': d.wish, 'data-session': d.session },
            h('p', {}, h('strong', {}, `${sessionTitle(d)}: `), gotText(d, app)),
            whyNotList(d)))),
          commentsBlock(ctx, appId, P, canComment));
      })
      : h('p', {}, t('alNoDecisions')));
}

function commentsBlock(ctx, appId, P, canComment) {
  const said = ctx.comments.filter((c) => c.applicationId === appId);
  const list = said.length
    ? h('ul', { class: 'comments' }, said.map((c) => h('li', {}, h('time', { datetime: c.createdAt }, dateTime(c.createdAt)), ' ', h('blockquote', {}, c.text))))
    : null;
  if (!canComment) return list ? [h('h5', {}, t('alYourComments')), list] : null;
  const id = `${P}-comment`;
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, t('alCommentSend'));
  const form = h('form', { class: 'form-grid comment-form', novalidate: true },
    box,
    field(id, t('alCommentLabel'), { rows: '3', maxlength: '2000', required: true }, { tag: 'textarea', hint: t('alCommentHint') }),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const text = form.querySelector(`#${id}`).value.trim();
    try {
      await busy(submit, () => api(`/v1/allocation/applications/${appId}/comments`, json('POST', { text })));
      await renderRound(ctx.round.id, { section: 'mine', notice: t('alCommented') });
    } catch (err) {
      showErrors(form, box, renamed(err, { text: 'commentText' }), (f) => (f === 'commentText' ? id : null));
    }
  });
  return [list ? h('h5', {}, t('alYourComments')) : null, list, form];
}

// The registry's errors with some fields renamed, so that their texts are this page's.
function renamed(err, names) {
  if (!(err instanceof ApiError) || !err.problem?.errors) return err;
  const errors = err.problem.errors.map((v) => (names[v.field] ? { ...v, field: names[v.field] } : v));
  return new ApiError({ ...err.problem, errors }, err.status);
}

// ---- match times (matchtider): a representative's requests and the form ----

const MAX_MATCH_ALTERNATIVES = 3;
const MATCH_UNITS = 3;
const matchStatus = (s) => t('alMatchStatus')[s] || s;
const MATCH_STATUS_CLASS = { requested: 'round-open', allocated: 'round-final' };
const matchTitle = (m) => m.note || (m.alternatives?.[0] ? t('alMatchOn', { d: fullDay(m.alternatives[0].date) }) : t('alMatches'));
const matchAltText = (a) => `${fullDay(a.date)} ${a.earliestStart}–${a.latestEnd} (${a.units.map(unitLabel).join(', ')})`;
const matchSlotText = (s) => `${unitLabel(s.unitId)}, ${fullDay(s.date)} ${s.start}–${s.end}`;
const todayIso = () => { const p = stockholmParts(new Date()); return `${p.y}-${pad(p.m)}-${pad(p.d)}`; };

// Asks before acting on `cell`'s button: `question`, then `act()` (its errors shown in place).
function confirmIn(cell, question, yesLabel, act) {
  const before = [...cell.childNodes];
  const box = h('div', {});
  const yes = h('button', { type: 'button', class: 'small danger', onclick: async () => {
    try {
      await busy(yes, act);
    } catch (err) {
      box.replaceChildren(problemBox(err));
      box.firstChild.focus();
      announce(box.textContent);
    }
  } }, yesLabel);
  const no = h('button', { type: 'button', class: 'small secondary', onclick: () => { cell.replaceChildren(...before); cell.querySelector('button')?.focus(); } }, t('cancel'));
  cell.replaceChildren(h('p', { class: 'confirm' }, question), h('div', { class: 'actions' }, yes, no), box);
  yes.focus();
}

// One match request: what was asked for, its status, the time it got or why not.
function matchItem(ctx, m, { withdraw = false } = {}) {
  const actions = h('div', { class: 'row-actions' });
  if (withdraw && m.status === 'requested') {
    const what = matchTitle(m);
    actions.append(h('button', { type: 'button', class: 'secondary small', onclick: () => confirmIn(actions, t('alMatchWithdrawQuestion', { what }), t('withdrawConfirm'), async () => {
      await api(`/v1/allocation/matches/${m.id}/withdraw`, { method: 'POST' });
      await renderRound(ctx.round.id, { section: 'mine', notice: t('alMatchWithdrawn', { what }) });
    }) }, named(t('withdraw'), what)));
  }
  return h('li', { 'data-match': m.id, 'data-status': m.status },
    h('p', {}, h('strong', {}, matchTitle(m)), ' ', h('span', { class: `status ${MATCH_STATUS_CLASS[m.status] || ''} match-${m.status}` }, matchStatus(m.status)),
      h('span', { class: 'hint' }, ` · ${t('alMinutes', { n: m.durationMinutes })}`)),
    h('ol', { class: 'match-alternatives', 'aria-label': t('alMatchAlternatives') }, m.alternatives.map((x) => h('li', {}, matchAltText(x)))),
    m.slot ? h('p', { class: 'got' }, t('alMatchGot', { where: matchSlotText(m.slot) }))
      : m.decidedRun && m.status === 'requested' ? h('p', { class: 'got' }, t('alMatchNotPlaced')) : null,
    m.status === 'withdrawn' ? null : whyNotList(m, t('alMatchWhyNot')),
    actions.childNodes.length ? actions : null);
}

// The representative's match times, per team with a standing application.
function myMatchesBlock(ctx) {
  const apps = ctx.myApps.filter((a) => a.status === 'submitted');
  if (!apps.length) return null;
  return h('div', { class: 'matches', id: 'my-matches' },
    h('h3', { id: 'my-matches-h' }, t('alMatches')),
    h('p', { class: 'hint' }, t('alMatchesIntro')),
    ctx.matchesFailed ? problemBox(ctx.matchesFailed) : null,
    apps.map((a, i) => {
      const P = `mr${i}`;
      const list = ctx.matches.filter((m) => m.applicationId === a.id);
      return h('article', { class: 'team-matches', 'data-application': a.id, 'aria-labelledby': `${P}-h` },
        h('h4', { id: `${P}-h` }, `${a.team.name} – ${a.associationName}`),
        list.length ? h('ul', { class: 'match-list' }, list.map((m) => matchItem(ctx, m, { withdraw: true }))) : h('p', { class: 'hint' }, t('alNoMatches')),
        matchForm(ctx, a, P));
    }));
}

const blankMatchAlternative = () => ({ date: '', earliestStart: '', latestEnd: '', units: [] });

function matchForm(ctx, app, P) {
  const { round } = ctx;
  const alts = [blankMatchAlternative()];
  const box = h('div', {});
  const altArea = h('div', { class: 'match-alternatives-form' });
  const submit = h('button', { type: 'submit' }, t('alMatchSend'));
  const form = h('form', { class: 'form-grid match-form', id: `${P}-form`, novalidate: true },
    box,
    h('div', { class: 'row' },
      field(`${P}-duration`, t('alMatchDuration'), { type: 'number', inputmode: 'numeric', min: '30', max: '360', step: String(round.gridMinutes), value: '120', required: true },
        { hint: t('alMatchDurationHint', { g: round.gridMinutes }) }),
      field(`${P}-note`, t('alMatchNote'), { type: 'text', maxlength: '200', autocomplete: 'off' }, { optional: true, hint: t('alMatchNoteHint') })),
    altArea,
    h('div', { class: 'actions' }, submit));
  const val = (id) => form.querySelector(`#${id}`)?.value ?? '';
  const read = () => alts.forEach((a, j) => {
    const Q = `${P}-a${j}`;
    a.date = val(`${Q}-date`);
    a.earliestStart = val(`${Q}-from`);
    a.latestEnd = val(`${Q}-to`);
    a.units = Array.from({ length: MATCH_UNITS }, (_, k) => val(`${Q}-u${k}`));
  });
  const draw = (focusId) => {
    altArea.replaceChildren(
      ...alts.map((a, j) => matchAlternativeFieldset(round, a, P, j, alts.length, app.team.name,
        () => { read(); alts.splice(j, 1); draw(`${P}-a${Math.max(0, j - 1)}-date`); announce(t('alAlternativeRemoved')); })),
      alts.length < MAX_MATCH_ALTERNATIVES
        ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary small', onclick: () => { read(); alts.push(blankMatchAlternative()); draw(`${P}-a${alts.length - 1}-date`); } },
          named(t('alMatchAddAlternative'), app.team.name)))
        : null);
    if (focusId) form.querySelector(`#${focusId}`)?.focus();
  };
  draw();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    read();
    const missing = [];
    if (!val(`${P}-duration`)) missing.push(`${P}-duration`);
    alts.forEach((a, j) => { if (!a.date) missing.push(`${P}-a${j}-date`); });
    if (missing.length) {
      showErrors(form, box, new ApiError({ errors: missing.map((f) => ({ field: f, rule: 'required', message: t('requiredField') })) }, 400), (f) => f);
      return;
    }
    // Each alternative's units, best first, once each; `places` remembers which list each came
    // from, so that the registry's errors land at it.
    const places = [];
    const body = {
      durationMinutes: intOrNull(val(`${P}-duration`)),
      alternatives: alts.map((a, j) => {
        const picked = [];
        places[j] = [];
        a.units.forEach((u, k) => { if (u && !picked.includes(u)) { picked.push(u); places[j].push(k); } });
        return { date: a.date, earliestStart: a.earliestStart, latestEnd: a.latestEnd, units: picked };
      }),
      note: val(`${P}-note`).trim(),
    };
    try {
      await busy(submit, () => api(`/v1/allocation/applications/${app.id}/matches`, json('POST', body)));
      await renderRound(round.id, { section: 'mine', notice: t('alMatchRequested', { team: app.team.name }) });
    } catch (err) {
      showErrors(form, box, matchErrors(err, places), (f) => matchField(P, f));
    }
  });
  return h('details', { class: 'match-request', 'data-panel': `match-${app.id}` },
    h('summary', {}, t('alMatchRequest', { team: app.team.name })), form);
}

// The registry's field names, prefixed (for this form's error texts), a unit's index that of
// its list in the form.
function matchErrors(err, places) {
  if (!(err instanceof ApiError) || !err.problem?.errors) return err;
  const errors = err.problem.errors.map((v) => {
    if (!v.field) return v;
    const m = /^alternatives\[(\d+)\]\.units\[(\d+)\]$/.exec(v.field);
    const field = m ? `alternatives[${m[1]}].units[${places[m[1]]?.[m[2]] ?? 0}]` : v.field;
    return { ...v, field: `match.${field}` };
  });
  return new ApiError({ ...err.problem, errors }, err.status);
}

function matchField(P, f) {
  if (f === 'match.durationMinutes') return `${P}-duration`;
  if (f === 'match.note') return `${P}-note`;
  const alt = /^match\.alternatives\[(\d+)\](?:\.(date|earliestStart|latestEnd|units)(?:\[(\d+)\])?)?$/.exec(f);
  if (!alt) return null;
  const Q = `${P}-a${alt[1]}`;
  if (alt[2] === 'units') return `${Q}-u${alt[3] ?? 0}`;
  return { date: `${Q}-date`, earliestStart: `${Q}-from`, latestEnd: `${Q}-to` }[alt[2]] || Q;
}

function matchAlternativeFieldset(round, a, P, j, count, team, remove) {
  const Q = `${P}-a${j}`;
  const today = todayIso();
  const unitOptions = (k) => [
    h('option', { value: '' }, k === 0 ? t('alChooseUnit') : t('alNoUnit')),
    round.units.map((u) => h('option', { value: u.unitId, selected: a.units[k] === u.unitId }, unitLabel(u.unitId))),
  ];
  return h('fieldset', { class: 'group alternative', id: Q, 'aria-describedby': `${Q}-error` },
    h('legend', {}, j === 0 ? t('alMatchAlternativeFirst') : t('alAlternativeN', { n: j + 1 })),
    h('div', { class: 'row' },
      field(`${Q}-date`, t('alDate'), { type: 'date', min: today > round.seasonStart ? today : round.seasonStart, max: round.seasonEnd, value: a.date, required: true },
        { hint: t('alMatchDateHint', { from: day(round.seasonStart), to: day(round.seasonEnd) }) }),
      field(`${Q}-from`, t('alEarliestStart'), { type: 'time', value: a.earliestStart, required: true }),
      field(`${Q}-to`, t('alLatestEnd'), { type: 'time', value: a.latestEnd, required: true })),
    h('fieldset', { class: 'checkgroup' },
      h('legend', {}, t('alMatchUnits')),
      h('div', { class: 'row' }, Array.from({ length: Math.min(MATCH_UNITS, round.units.length) }, (_, k) => field(`${Q}-u${k}`,
        k === 0 ? t('alMatchUnitFirst') : t('alMatchUnitN', { n: k + 1 }), k === 0 ? { required: true } : {},
        { tag: 'select', optional: k > 0, children: unitOptions(k) })))),
    count > 1 ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary small', onclick: remove }, named(t('alRemoveAlternativeN', { n: j + 1 }), team))) : null,
    h('span', { class: 'field-error', id: `${Q}-error` }));
}

// ---- the application form ----

const blankAlternative = () => ({ day: '', earliestStart: '', latestEnd: '', units: [] });
const blankWish = () => ({ durationMinutes: '90', timesPerWeek: '1', alternatives: [blankAlternative()] });

function applicationForm(ctx, approved) {
  const { round } = ctx;
  const wishes = [blankWish()];
  const box = h('div', { id: 'app-errors' });
  const wishArea = h('div', { class: 'wishes' });
  const submit = h('button', { type: 'submit' }, t('alApply'));
  const activities = [...codes.activities].sort((a, b) => (a[getLang()] || a.sv).localeCompare(b[getLang()] || b.sv, getLang()));
  const genders = ['female', 'male', 'mixed'];
  const form = h('form', { class: 'form-grid app-form', id: 'app-form', novalidate: true, 'aria-labelledby': 'app-form-h' },
    h('h3', { id: 'app-form-h' }, t('alApplyTitle')),
    h('p', { class: 'hint' }, t('alApplyIntro', { to: dateTime(round.applicationsClose) })),
    box,
    field('app-association', t('association'), { required: true }, {
      tag: 'select',
      children: [approved.length > 1 ? h('option', { value: '' }, t('alChooseAssociation')) : null, approved.map((a) => h('option', { value: a.id }, a.name))],
    }),
    h('fieldset', { class: 'group' },
      h('legend', {}, t('alTeam')),
      h('div', { class: 'row' },
        field('app-team-name', t('alTeamName'), { type: 'text', required: true, maxlength: '100', autocomplete: 'off' }, { hint: t('alTeamNameHint') }),
        field('app-team-activity', t('activity'), { required: true }, {
          tag: 'select', children: [h('option', { value: '' }, t('alChooseActivity')), activities.map((a) => h('option', { value: a.code }, a[getLang()] || a.sv))],
        })),
      h('div', { class: 'row' },
        field('app-team-ageFrom', t('alAgeFrom'), { type: 'number', inputmode: 'numeric', min: '0', max: '120', step: '1', required: true }),
        field('app-team-ageTo', t('alAgeTo'), { type: 'number', inputmode: 'numeric', min: '0', max: '120', step: '1', required: true }),
        field('app-team-gender', t('alGender'), { required: true }, {
          tag: 'select', children: [h('option', { value: '' }, t('alChooseGender')), genders.map((g) => h('option', { value: g }, t('alGenderTeam')[g]))],
        }),
        field('app-team-participants', t('alParticipants'), { type: 'number', inputmode: 'numeric', min: '1', max: '500', step: '1', required: true })),
      field('app-team-level', t('alLevel'), { type: 'text', maxlength: '100', autocomplete: 'off' }, { optional: true, hint: t('alLevelHint') })),
    wishArea,
    h('div', { class: 'actions' }, submit));

  const val = (id) => form.querySelector(`#${id}`)?.value ?? '';
  const read = () => wishes.forEach((w, i) => {
    w.durationMinutes = val(`app-w${i}-duration`);
    w.timesPerWeek = val(`app-w${i}-times`);
    w.alternatives.forEach((a, j) => {
      const P = `app-w${i}-a${j}`;
      a.day = val(`${P}-day`);
      a.earliestStart = val(`${P}-from`);
      a.latestEnd = val(`${P}-to`);
      a.units = [...form.querySelectorAll(`input[name="${P}-units"]:checked`)].map((x) => x.value);
    });
  });
  const draw = (focusId) => {
    wishArea.replaceChildren(
      ...wishes.map((w, i) => wishFieldset(round, w, i, wishes.length, {
        addAlternative: () => { read(); w.alternatives.push(blankAlternative()); draw(`app-w${i}-a${w.alternatives.length - 1}-day`); },
        removeAlternative: (j) => { read(); w.alternatives.splice(j, 1); draw(`app-w${i}-a${Math.max(0, j - 1)}-day`); announce(t('alAlternativeRemoved')); },
        removeWish: () => { read(); wishes.splice(i, 1); draw(`app-w${Math.max(0, i - 1)}-duration`); announce(t('alWishRemoved')); },
      })),
      wishes.length < MAX_WISHES
        ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => { read(); wishes.push(blankWish()); draw(`app-w${wishes.length - 1}-duration`); } }, t('alAddWish')))
        : null);
    if (focusId) form.querySelector(`#${focusId}`)?.focus();
  };
  draw();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    read();
    // What the registry cannot even read: empty numbers, no weekday, no gender.
    const missing = [];
    for (const id of ['app-association', 'app-team-ageFrom', 'app-team-ageTo', 'app-team-gender', 'app-team-participants']) if (!val(id)) missing.push(id);
    wishes.forEach((w, i) => {
      if (!w.durationMinutes) missing.push(`app-w${i}-duration`);
      if (!w.timesPerWeek) missing.push(`app-w${i}-times`);
      w.alternatives.forEach((a, j) => { if (!a.day) missing.push(`app-w${i}-a${j}-day`); });
    });
    if (missing.length) {
      showErrors(form, box, new ApiError({ errors: missing.map((f) => ({ field: f, rule: 'required', message: t('requiredField') })) }, 400), (f) => f);
      return;
    }
    const body = {
      associationId: val('app-association'),
      team: {
        name: val('app-team-name').trim(),
        activity: val('app-team-activity'),
        ageFrom: intOrNull(val('app-team-ageFrom')),
        ageTo: intOrNull(val('app-team-ageTo')),
        gender: val('app-team-gender'),
        participants: intOrNull(val('app-team-participants')),
        level: val('app-team-level').trim(),
      },
      wishes: wishes.map((w) => ({
        durationMinutes: intOrNull(w.durationMinutes),
        timesPerWeek: intOrNull(w.timesPerWeek),
        alternatives: w.alternatives.map((a) => ({ day: intOrNull(a.day), earliestStart: a.earliestStart, latestEnd: a.latestEnd, units: a.units })),
      })),
    };
    try {
      const sent = await busy(submit, () => api(`/v1/allocation/rounds/${round.id}/applications`, json('POST', body)));
      await renderRound(round.id, { section: 'mine', notice: t('alApplied', { team: sent.team.name, name: sent.associationName }) });
    } catch (err) {
      showErrors(form, box, applicationErrors(err, body), applicationField);
    }
  });
  return form;
}

// The registry's field names → the form's ids.
function applicationField(f) {
  const team = /^team\.(name|activity|ageFrom|ageTo|gender|participants|level)$/.exec(f);
  if (team) return `app-team-${team[1]}`;
  if (f === 'allocationAssociationId') return 'app-association';
  const wish = /^wishes\[(\d+)\](?:\.(durationMinutes|timesPerWeek|alternatives))?$/.exec(f);
  if (wish) return { durationMinutes: `app-w${wish[1]}-duration`, timesPerWeek: `app-w${wish[1]}-times` }[wish[2]] || `app-w${wish[1]}`;
  const alt = /^wishes\[(\d+)\]\.alternatives\[(\d+)\](?:\.(day|earliestStart|latestEnd|units))?$/.exec(f);
  if (alt) {
    const P = `app-w${alt[1]}-a${alt[2]}`;
    return { day: `${P}-day`, earliestStart: `${P}-from`, latestEnd: `${P}-to`, units: `${P}-units` }[alt[3]] || P;
  }
  return null;
}

// A unit's error names the unit (the registry names it by its place in the list sent).
function applicationErrors(err, body) {
  if (!(err instanceof ApiError) || !err.problem?.errors) return err;
  const errors = err.problem.errors.map((v) => {
    if (v.field === 'associationId') return { ...v, field: 'allocationAssociationId' };
    const m = /^wishes\[(\d+)\]\.alternatives\[(\d+)\]\.units\[(\d+)\]$/.exec(v.field || '');
    if (!m) return v;
    const unit = body.wishes[m[1]]?.alternatives[m[2]]?.units[m[3]];
    return { field: `wishes[${m[1]}].alternatives[${m[2]}].units`, rule: 'unit', message: `${unit ? unitLabel(unit) : ''}: ${errorText({ ...v, field: 'wishes.alternatives.units' })}` };
  });
  return new ApiError({ ...err.problem, errors }, err.status);
}

function wishFieldset(round, w, i, count, on) {
  const P = `app-w${i}`;
  return h('fieldset', { class: 'group wish', id: P, 'aria-describedby': `${P}-error` },
    h('legend', {}, t('alWishN', { n: i + 1 })),
    h('div', { class: 'row' },
      field(`${P}-duration`, t('alDuration'), { type: 'number', inputmode: 'numeric', min: '30', max: '300', step: String(round.gridMinutes), value: w.durationMinutes, required: true }, { hint: t('alDurationHint', { g: round.gridMinutes }) }),
      field(`${P}-times`, t('alTimesPerWeek'), { type: 'number', inputmode: 'numeric', min: '1', max: '5', step: '1', value: w.timesPerWeek, required: true }, { hint: t('alTimesHint') })),
    w.alternatives.map((a, j) => alternativeFieldset(round, a, i, j, w.alternatives.length, on)),
    h('div', { class: 'actions' },
      w.alternatives.length < MAX_ALTERNATIVES ? h('button', { type: 'button', class: 'secondary small', onclick: on.addAlternative }, t('alAddAlternative', { n: i + 1 })) : null,
      count > 1 ? h('button', { type: 'button', class: 'secondary small', onclick: on.removeWish }, t('alRemoveWish', { n: i + 1 })) : null),
    h('span', { class: 'field-error', id: `${P}-error` }));
}

function alternativeFieldset(round, a, i, j, count, on) {
  const P = `app-w${i}-a${j}`;
  const dayOptions = [h('option', { value: '' }, t('alChooseDay')), [1, 2, 3, 4, 5, 6, 7].map((d) => h('option', { value: String(d), selected: String(d) === a.day }, weekday(d)))];
  return h('fieldset', { class: 'group alternative', id: P, 'aria-describedby': `${P}-error` },
    h('legend', {}, j === 0 ? t('alAlternativeFirst', { w: i + 1 }) : t('alAlternativeOf', { n: j + 1, w: i + 1 })),
    h('div', { class: 'row' },
      field(`${P}-day`, t('alWeekday'), { required: true }, { tag: 'select', children: dayOptions }),
      field(`${P}-from`, t('alEarliestStart'), { type: 'time', value: a.earliestStart, required: true }),
      field(`${P}-to`, t('alLatestEnd'), { type: 'time', value: a.latestEnd, required: true })),
    h('fieldset', { class: 'checkgroup', id: `${P}-units`, 'aria-describedby': `${P}-units-error` },
      h('legend', {}, t('alAcceptableUnits')),
      h('div', { class: 'checklist' }, round.units.map((u, k) => {
        const cap = units.get(u.unitId)?.capacity;
        const hint = [u.activities?.length ? t('alSuits', { a: u.activities.map(activityName).join(', ') }) : '', cap ? t('capacity', { n: cap }) : ''].filter(Boolean).join(', ');
        return h('label', { class: 'check', for: `${P}-u${k}` },
          h('input', { type: 'checkbox', id: `${P}-u${k}`, name: `${P}-units`, value: u.unitId, checked: a.units.includes(u.unitId) }),
          unitLabel(u.unitId), hint ? h('span', { class: 'hint' }, `\u00a0(${hint})`) : null);
      })),
      h('span', { class: 'field-error', id: `${P}-units-error` })),
    count > 1 ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary small', onclick: () => on.removeAlternative(j) }, t('alRemoveAlternative', { n: j + 1, w: i + 1 }))) : null,
    h('span', { class: 'field-error', id: `${P}-error` }));
}

// ---- staff of the round's municipality ----

function staffSection(ctx, runList, note, shownRun) {
  const { round } = ctx;
  const body = h('div', {});
  const section = h('section', { class: 'staff', id: 'staff', 'aria-labelledby': 'staff-h' },
    h('h2', { id: 'staff-h' }, t('alStaff', { m: municipalityName(round.municipalityCode) })), note, body);
  if (runList?.failed) {
    body.append(runList.failed.status === 403 ? h('p', { class: 'notice warn' }, t('alNotStaff')) : problemBox(runList.failed));
    return section;
  }
  const all = runList?.runs || [];
  // Runs of the weekly training times, and runs of match times (listed apart).
  const runs = all.filter((r) => r.kind !== 'matches');
  const matchRuns = all.filter((r) => r.kind === 'matches');
  const final = round.status === 'final';
  const detail = h('div', { id: 'run-detail' });
  const matchDetail = h('div', { id: 'match-run-detail' });
  const live = ctx.apps.filter((a) => a.status === 'submitted');
  body.append(...[
    h('p', {}, t('alStaffIntro')),
    h('h3', { id: 'staff-apps-h' }, t('alApplicationsN', { n: live.length, m: new Set(live.map((a) => a.associationId)).size })),
    staffApplications(ctx.apps),
    final ? h('p', { class: 'notice ok' }, t('alFinalNoRuns')) : runForm(ctx),
    h('h3', { id: 'runs-h' }, t('alRuns')),
    runs.length ? runsTable(ctx, runs, detail) : h('p', { class: 'hint' }, t('alNoRuns')),
    runs.length > 1 ? compareForm(runs) : null,
    detail,
    staffMatches(ctx, matchRuns, matchDetail),
    staffComments(ctx),
    final ? null : roundEditor(round),
  ].filter(Boolean));
  const shown = (list, ...ids) => ids.find((x) => x && list.some((r) => r.id === x));
  const show = shown(runs, shownRun, round.publishedRun, round.finalRun, runs[0]?.id);
  if (show) showRun(ctx, show, detail, false);
  const showMatches = shown(matchRuns, shownRun, matchRuns[0]?.id);
  if (showMatches) showRun(ctx, showMatches, matchDetail, false);
  return section;
}

// ---- match times (staff): the requests, runs of match times, registering one ----

function staffMatches(ctx, matchRuns, detail) {
  const { round, matches } = ctx;
  const final = round.status === 'final';
  if (!final && !matches.length && !matchRuns.length) return null;
  const count = (s) => matches.filter((m) => m.status === s).length;
  return h('div', { class: 'staff-matches', id: 'staff-matches' },
    h('h3', { id: 'staff-matches-h' }, t('alMatchesStaff', { r: count('requested'), a: count('allocated') })),
    ctx.matchesFailed ? problemBox(ctx.matchesFailed) : null,
    matches.length
      ? h('table', { class: 'match-requests' },
        h('caption', {}, t('alMatchRequests')),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, t('alTeam')), h('th', { scope: 'col' }, t('alMatchCol')), h('th', { scope: 'col' }, t('alWishes')), h('th', { scope: 'col' }, t('statusLabel')))),
        h('tbody', {}, matches.map((m) => h('tr', { 'data-match': m.id, 'data-status': m.status },
          h('th', { scope: 'row' }, m.team, h('div', { class: 'hint' }, m.associationName)),
          h('td', {}, matchTitle(m), h('div', { class: 'hint' }, t('alMinutes', { n: m.durationMinutes }))),
          h('td', {}, h('ol', {}, m.alternatives.map((x) => h('li', {}, matchAltText(x))))),
          h('td', {}, h('span', { class: `status ${MATCH_STATUS_CLASS[m.status] || ''} match-${m.status}` }, matchStatus(m.status)),
            m.slot ? h('div', {}, matchSlotText(m.slot)) : null)))))
      : h('p', { class: 'hint' }, t('alNoMatchesYet')),
    final ? matchRunForm(ctx) : h('p', { class: 'hint' }, t('alMatchesAfterFinal')),
    final || matchRuns.length ? [
      h('h3', { id: 'match-runs-h' }, t('alMatchRuns')),
      matchRuns.length ? matchRunsTable(ctx, matchRuns, detail) : h('p', { class: 'hint' }, t('alNoMatchRuns')),
      detail,
    ] : null);
}

function matchRunForm(ctx) {
  const { round } = ctx;
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, t('alMatchRunSubmit'));
  const form = h('form', { class: 'form-grid run-form', id: 'match-run-form', novalidate: true },
    h('fieldset', { class: 'group' },
      h('legend', {}, t('alMatchRunTitle')),
      h('p', { class: 'hint' }, t('alMatchRunHint')),
      box,
      field('match-run-label', t('alRunLabel'), { type: 'text', maxlength: '200', autocomplete: 'off' }, { optional: true })),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const label = form.querySelector('#match-run-label').value.trim() || t('alMatchRunDefault');
    try {
      const run = await busy(submit, () => api(`/v1/allocation/rounds/${round.id}/match-runs`, json('POST', { label })));
      const f = run.figures;
      await renderRound(round.id, { section: 'staff', run: run.id, notice: t('alMatchRunDone', { label: run.label, placed: f.placed, wanted: f.wanted }) });
    } catch (err) {
      showErrors(form, box, err, (f) => (f === 'label' ? 'match-run-label' : null));
    }
  });
  return form;
}

// A match run has been registered when a request names it.
const decidedBy = (ctx, runId) => ctx.matches.some((m) => m.decidedRun === runId);

function matchRunsTable(ctx, runs, detail) {
  return h('table', { class: 'match-runs', 'aria-labelledby': 'match-runs-h' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, t('alRun')), h('th', { scope: 'col' }, t('alPlacedMatches')), h('th', { scope: 'col' }, t('alFirstChoices')),
      h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('actions'))))),
    h('tbody', {}, runs.map((r) => h('tr', { 'data-run': r.id },
      h('th', { scope: 'row' }, r.label, ' ', decidedBy(ctx, r.id) ? h('span', { class: 'badge final' }, t('alDecidedBadge')) : null,
        h('div', { class: 'hint' }, dateTime(r.createdAt))),
      h('td', {}, t('alOf', { a: r.figures.placed, b: r.figures.wanted })),
      h('td', {}, String(r.figures.firstChoice)),
      h('td', { class: 'row-actions' },
        h('button', { type: 'button', class: 'secondary small', onclick: () => showRun(ctx, r.id, detail, true) }, named(t('alShowRun'), runName(r))))))));
}

// Registers a match run: its placed matches are allocated and booked at the vendors.
function decideControls(ctx, run) {
  const cell = h('div', { class: 'decide' });
  cell.append(h('p', { class: 'hint' }, t('alDecideHint')),
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => confirmIn(cell, t('alDecideQuestion', { run: run.label }), t('alDecideConfirm'), async () => {
      let decided;
      try {
        decided = await api(`/v1/allocation/rounds/${ctx.round.id}/matches/decide`, json('POST', { runId: run.id }, ifMatch(ctx.round.version)));
      } catch (err) {
        if (err.status === 412) { await renderRound(ctx.round.id, { section: 'staff', run: run.id, notice: t('staleReloaded'), kind: 'warn' }); return; }
        throw err;
      }
      const placed = decided.matches.filter((m) => m.status === 'allocated').length;
      await renderRound(ctx.round.id, { section: 'staff', run: run.id, notice: t('alMatchesDecided', { a: placed, o: decided.matches.length - placed }) });
    }) }, named(t('alDecide'), run.label))));
  return cell;
}

// What the units' booking systems had booked when a run was made, in short: the units whose
// system did not answer, and how many booked times each answering unit keeps free.
function vendorChecks(run) {
  const checks = run.vendorChecks || [];
  if (!checks.length) return null;
  if (checks.every((c) => c.status === 'not_checked')) return h('p', { class: 'hint vendor-checks' }, t('alVendorNotChecked'));
  const count = (s) => checks.filter((c) => c.status === s).length;
  const english = getLang() === 'sv' ? 'en' : null;
  const lines = checks.flatMap((c) => {
    if (c.status === 'unavailable') {
      return [h('li', { 'data-unit': c.unitId, 'data-status': c.status }, t('alVendorUnavailable', { unit: unitLabel(c.unitId) }),
        c.message ? [' (', h('span', { lang: english }, c.message), ')'] : null)];
    }
    if (c.status === 'ok' && c.booked?.length) {
      const dates = c.booked.reduce((s, b) => s + (b.dates || 0), 0);
      return [h('li', { 'data-unit': c.unitId, 'data-status': c.status }, t('alVendorBooked', { unit: unitLabel(c.unitId), n: c.booked.length, d: dates }))];
    }
    return [];
  });
  return h('div', { class: 'vendor-checks' },
    h('p', { class: 'hint' }, t('alVendorSummary', { ok: count('ok'), unavailable: count('unavailable'), none: count('no_vendor') + count('not_checked') })),
    lines.length ? h('ul', {}, lines) : null);
}

function staffApplications(apps) {
  if (!apps.length) return h('p', { class: 'hint' }, t('alNoApplicationsYet'));
  return h('details', { 'data-panel': 'applications' },
    h('summary', {}, t('alShowApplications')),
    h('table', { class: 'apps' },
      h('caption', {}, t('alApplicationsCaption')),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, t('alTeam')), h('th', { scope: 'col' }, t('association')), h('th', { scope: 'col' }, t('alTeamFacts')),
        h('th', { scope: 'col' }, t('alWishes')), h('th', { scope: 'col' }, t('statusLabel')))),
      h('tbody', {}, apps.map((a) => h('tr', { 'data-application': a.id },
        h('th', { scope: 'row' }, a.team.name), h('td', {}, a.associationName),
        h('td', {}, `${activityName(a.team.activity)}, ${t('alAges', { from: a.team.ageFrom, to: a.team.ageTo })}, ${t('alGenderTeam')[a.team.gender] || a.team.gender}, ${t('alParticipantsN', { n: a.team.participants })}`),
        h('td', {}, a.wishes.map(wishText).join('; ')),
        h('td', {}, t('alAppStatus')[a.status] || a.status))))));
}

// Run the allocator: the round's weights, or others for a what-if.
function runForm(ctx) {
  const { round } = ctx;
  const groups = [...round.principles.groups].sort((a, b) => byGroupOrder(a.code, b.code));
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, t('alRunSubmit'));
  const form = h('form', { class: 'form-grid run-form', id: 'run-form', novalidate: true },
    h('fieldset', { class: 'group' },
      h('legend', {}, t('alRunTitle')),
      h('p', { class: 'hint' }, t('alRunHint')),
      box,
      field('run-label', t('alRunLabel'), { type: 'text', maxlength: '200', autocomplete: 'off' }, { optional: true, hint: t('alRunLabelHint') }),
      h('div', { class: 'row' }, groups.map((g) => field(`run-w-${g.code}`, t('alWeightOf', { g: groupName(g.code) }),
        { type: 'number', inputmode: 'decimal', min: '0', max: '100', step: '0.5', value: String(g.weight) }, { hint: t('alPublishedWeight', { w: num(g.weight) }) })))),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const weights = {};
    let changed = false;
    for (const g of groups) {
      const v = form.querySelector(`#run-w-${g.code}`).value.trim();
      const w = v === '' ? g.weight : Number(v);
      weights[g.code] = w;
      if (w !== g.weight) changed = true;
    }
    const label = form.querySelector('#run-label').value.trim() || (changed ? t('alWhatIfLabel') : '');
    try {
      const run = await busy(submit, () => api(`/v1/allocation/rounds/${round.id}/runs`, json('POST', { label, weights: changed ? weights : {} })));
      const f = run.figures;
      await renderRound(round.id, { section: 'staff', run: run.id, notice: t('alRunDone', { label: run.label, placed: f.placed, wanted: f.wanted, first: f.firstChoice }) });
    } catch (err) {
      showErrors(form, box, err, (f) => {
        const m = /^weights\.(.+)$/.exec(f);
        if (m) return `run-w-${m[1]}`;
        return f === 'label' ? 'run-label' : null;
      });
    }
  });
  return form;
}

function groupFigures(f) {
  return [...f.groups].sort((a, b) => byGroupOrder(a.group, b.group))
    .map((g) => t('alGroupFigure', { g: groupName(g.group), placed: g.placed, wanted: g.wanted, first: g.firstChoice }));
}

function runName(r) {
  return `${r.label} (${dateTime(r.createdAt)})`;
}

function runsTable(ctx, runs, detail) {
  const { round } = ctx;
  const final = round.status === 'final';
  return h('table', { class: 'runs', 'aria-labelledby': 'runs-h' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, t('alRun')), h('th', { scope: 'col' }, t('alPlaced')), h('th', { scope: 'col' }, t('alFirstChoices')),
      h('th', { scope: 'col' }, t('alPerGroup')), h('th', { scope: 'col' }, t('alObjective')), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('actions'))))),
    h('tbody', {}, runs.map((r) => {
      const f = r.figures;
      const badges = [
        round.publishedRun === r.id ? h('span', { class: 'badge published' }, t('alPublishedBadge')) : null,
        round.finalRun === r.id ? h('span', { class: 'badge final' }, t('alFinalBadge')) : null,
      ];
      const actions = h('td', { class: 'row-actions' });
      const name = runName(r);
      actions.append(h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary small', onclick: () => showRun(ctx, r.id, detail, true) }, named(t('alShowRun'), name)),
        final || round.publishedRun === r.id ? null : h('button', { type: 'button', class: 'small', onclick: (e) => publish(ctx, r, e.currentTarget, actions) }, named(t('alPublish'), name)),
        final ? null : h('button', { type: 'button', class: 'secondary small', onclick: () => confirmFinalise(ctx, r, actions) }, named(t('alFinalise'), name))));
      return h('tr', { 'data-run': r.id },
        h('th', { scope: 'row' }, r.label, ' ', badges, h('div', { class: 'hint' }, `${dateTime(r.createdAt)}${r.baseRun ? ` · ${t('alFromRun')}` : ''}`)),
        h('td', {}, t('alOf', { a: f.placed, b: f.wanted })),
        h('td', {}, String(f.firstChoice)),
        h('td', {}, h('ul', { class: 'plain' }, groupFigures(f).map((x) => h('li', {}, x)))),
        h('td', {}, num(f.objective), h('div', { class: 'hint' }, f.provenOptimal ? t('alOptimal') : t('alBound', { b: num(f.bound) }))),
        actions);
    })));
}

async function publish(ctx, r, button, cell) {
  try {
    await busy(button, () => api(`/v1/allocation/rounds/${ctx.round.id}/publish`, json('POST', { runId: r.id }, ifMatch(ctx.round.version))));
    await renderRound(ctx.round.id, { section: 'staff', run: r.id, notice: t('alPublished', { run: r.label }) });
  } catch (err) {
    if (err.status === 412) { await renderRound(ctx.round.id, { section: 'staff', notice: t('staleReloaded'), kind: 'warn' }); return; }
    cell.append(problemBox(err));
    cell.lastChild.focus();
  }
}

function confirmFinalise(ctx, r, cell) {
  const before = [...cell.childNodes];
  const box = h('div', {});
  const yes = h('button', { type: 'button', class: 'small danger', onclick: async () => {
    try {
      await busy(yes, () => api(`/v1/allocation/rounds/${ctx.round.id}/finalise`, json('POST', { runId: r.id }, ifMatch(ctx.round.version))));
      await renderRound(ctx.round.id, { section: 'staff', run: r.id, notice: t('alFinalised', { run: r.label }) });
    } catch (err) {
      if (err.status === 412) { await renderRound(ctx.round.id, { section: 'staff', notice: t('staleReloaded'), kind: 'warn' }); return; }
      box.replaceChildren(problemBox(err));
      box.firstChild.focus();
    }
  } }, t('alFinaliseConfirm'));
  const no = h('button', { type: 'button', class: 'small secondary', onclick: () => { cell.replaceChildren(...before); cell.querySelector('button')?.focus(); } }, t('cancel'));
  cell.replaceChildren(h('p', { class: 'confirm' }, t('alFinaliseQuestion', { run: r.label })), h('div', { class: 'actions' }, yes, no), box);
  yes.focus();
}

// Two runs' figures side by side.
function compareForm(runs) {
  const out = h('div', { id: 'compare-out' });
  const select = (id, label, selected) => field(id, label, {}, {
    tag: 'select', children: runs.map((r) => h('option', { value: r.id, selected: r.id === selected }, runName(r))),
  });
  const form = h('form', { class: 'compare-form', novalidate: true },
    h('fieldset', { class: 'group' },
      h('legend', {}, t('alCompare')),
      h('div', { class: 'row' }, select('compare-a', t('alRunA'), runs[1].id), select('compare-b', t('alRunB'), runs[0].id),
        h('div', { class: 'field narrow' }, h('span', { class: 'label', 'aria-hidden': 'true' }, '\u00a0'), h('button', { type: 'submit', class: 'secondary' }, t('alCompareSubmit'))))),
    out);
  const draw = () => {
    const a = runs.find((r) => r.id === form.querySelector('#compare-a').value);
    const b = runs.find((r) => r.id === form.querySelector('#compare-b').value);
    out.replaceChildren(compareTable(a, b));
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    draw();
    const table = out.querySelector('table');
    table.focus();
    announce(table.querySelector('caption').textContent);
  });
  draw();
  return form;
}

function compareTable(a, b) {
  const diff = (x, y) => { const d = y - x; return d > 0 ? `+${num(d)}` : d < 0 ? `−${num(-d)}` : '±0'; };
  const row = (label, x, y, show = num) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, show(x)), h('td', {}, show(y)), h('td', {}, diff(x, y)));
  const codesSeen = [...new Set([...a.figures.groups, ...b.figures.groups].map((g) => g.group))].sort(byGroupOrder);
  const g = (r, code) => r.figures.groups.find((x) => x.group === code) || { wanted: 0, placed: 0, firstChoice: 0 };
  return h('table', { class: 'compare', tabindex: '-1' },
    h('caption', {}, t('alCompareCaption', { a: a.label, b: b.label })),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, t('alMeasure')), h('th', { scope: 'col' }, runName(a)), h('th', { scope: 'col' }, runName(b)), h('th', { scope: 'col' }, t('alDifference')))),
    h('tbody', {},
      row(t('alPlaced'), a.figures.placed, b.figures.placed),
      row(t('alFirstChoices'), a.figures.firstChoice, b.figures.firstChoice),
      row(t('alObjective'), a.figures.objective, b.figures.objective),
      codesSeen.flatMap((code) => [
        row(t('alGroupPlaced', { g: groupName(code) }), g(a, code).placed, g(b, code).placed),
        row(t('alGroupFirst', { g: groupName(code) }), g(a, code).firstChoice, g(b, code).firstChoice),
      ]),
      h('tr', {}, h('th', { scope: 'row' }, t('alWeights')),
        [a, b].map((r) => h('td', {}, [...r.principles.groups].sort((x, y) => byGroupOrder(x.code, y.code)).map((x) => `${groupName(x.code)} ${num(x.weight)}`).join(', '))),
        h('td', {}, ''))));
}

// A run's decisions, with a manual edit per session.
async function showRun(ctx, runId, box, focus) {
  box.replaceChildren(h('p', {}, t('loading')));
  let run;
  try {
    run = await api(`/v1/allocation/runs/${runId}`);
  } catch (err) {
    box.replaceChildren(problemBox(err));
    return;
  }
  const final = ctx.round.status === 'final';
  if (run.kind === 'matches') {
    showMatchRun(ctx, run, box, focus);
    return;
  }
  const byApp = new Map();
  for (const d of run.decisions) {
    if (!byApp.has(d.applicationId)) byApp.set(d.applicationId, []);
    byApp.get(d.applicationId).push(d);
  }
  const f = run.figures;
  box.replaceChildren(h('section', { class: 'run', 'data-run': run.id, 'aria-labelledby': 'run-h' },
    h('h3', { id: 'run-h', tabindex: '-1' }, t('alRunDecisions', { run: run.label })),
    h('p', { class: 'meta' }, t('alRunSummary', { placed: f.placed, wanted: f.wanted, first: f.firstChoice, by: run.createdBy, at: dateTime(run.createdAt) })),
    h('p', { class: 'hint' }, t('alWeights'), ': ', [...run.principles.groups].sort((x, y) => byGroupOrder(x.code, y.code)).map((x) => `${groupName(x.code)} ${num(x.weight)}`).join(', ')),
    vendorChecks(run),
    [...byApp.entries()].map(([appId, ds]) => {
      const app = ctx.apps.find((a) => a.id === appId);
      return h('article', { class: 'team-decisions', 'data-application': appId },
        h('h4', {}, `${ds[0].team} – ${ds[0].associationName}`, h('span', { class: 'hint' }, ` · ${t('alPriority', { p: num(ds[0].priority) })}${ds[0].groups.length ? ` (${ds[0].groups.map(groupName).join(', ')})` : ''}`)),
        h('ul', { class: 'sessions' }, ds.map((d) => h('li', { class: d.slot ? 'placed' : 'unplaced', 'data-wish': d.wish, 'data-session': d.session },
          h('p', {}, h('strong', {}, `${sessionTitle(d)}: `), gotText(d, app, true), d.locked ? [' ', h('span', { class: 'badge' }, t('alLocked'))] : null),
          whyNotList(d),
          final ? null : editControls(ctx, run, d)))));
    })));
  if (focus) box.querySelector('#run-h').focus();
}

// A run of match times: per request, the time it got or why not; registering it.
function showMatchRun(ctx, run, box, focus) {
  const f = run.figures;
  const decided = decidedBy(ctx, run.id);
  box.replaceChildren(h('section', { class: 'run match-run', 'data-run': run.id, 'aria-labelledby': 'match-run-h' },
    h('h3', { id: 'match-run-h', tabindex: '-1' }, t('alRunDecisions', { run: run.label }), decided ? [' ', h('span', { class: 'badge final' }, t('alDecidedBadge'))] : null),
    h('p', { class: 'meta' }, t('alMatchRunSummary', { placed: f.placed, wanted: f.wanted, first: f.firstChoice, by: run.createdBy, at: dateTime(run.createdAt) })),
    vendorChecks(run),
    ctx.round.status === 'final' && !decided && run.decisions.length ? decideControls(ctx, run) : null,
    run.decisions.length ? run.decisions.map((d) => {
      const m = ctx.matches.find((x) => x.id === d.matchId);
      const alt = m?.alternatives?.[d.alternative];
      const which = d.alternative === 0 ? t('alFirstChoiceTeam') : t('alNthChoiceTeam', { n: (d.alternative ?? 0) + 1 });
      return h('article', { class: 'team-decisions', 'data-match': d.matchId || '', 'data-application': d.applicationId },
        h('h4', {}, `${d.team} – ${d.associationName}`, h('span', { class: 'hint' }, ` · ${t('alPriority', { p: num(d.priority) })}${d.groups?.length ? ` (${d.groups.map(groupName).join(', ')})` : ''}`)),
        h('ul', { class: 'sessions' }, h('li', { class: d.slot ? 'placed' : 'unplaced' },
          h('p', {}, h('strong', {}, `${m ? matchTitle(m) : t('alMatches')}: `),
            d.slot ? `${matchSlotText(d.slot)} – ${which}${alt ? ` (${alt.earliestStart}–${alt.latestEnd})` : ''}` : t('alNotPlaced')),
          whyNotList(d, t('alMatchWhyNot')))));
    }) : h('p', { class: 'hint' }, t('alNoOpenMatches'))));
  if (focus) box.querySelector('#match-run-h').focus();
}

function editControls(ctx, run, d) {
  const { round } = ctx;
  const P = `edit-${d.applicationId}-${d.wish}-${d.session}`;
  const box = h('div', {});
  const slot = d.slot || { unitId: round.units[0]?.unitId, day: 1, start: '', end: '' };
  const submit = h('button', { type: 'submit' }, t('alEditSubmit'));
  const none = h('input', { type: 'checkbox', id: `${P}-none` });
  const form = h('form', { class: 'form-grid edit-form', id: `${P}-form`, hidden: true, novalidate: true },
    box,
    h('div', { class: 'row' },
      field(`${P}-unit`, t('alUnit'), {}, { tag: 'select', children: round.units.map((u) => h('option', { value: u.unitId, selected: u.unitId === slot.unitId }, unitLabel(u.unitId))) }),
      field(`${P}-day`, t('alWeekday'), {}, { tag: 'select', children: [1, 2, 3, 4, 5, 6, 7].map((x) => h('option', { value: String(x), selected: x === slot.day }, weekday(x))) }),
      field(`${P}-start`, t('alStart'), { type: 'time', value: slot.start }),
      field(`${P}-end`, t('alEnd'), { type: 'time', value: slot.end })),
    h('label', { class: 'check', for: `${P}-none` }, none, t('alTakeAway')),
    field(`${P}-reason`, t('alEditReason'), { rows: '2', maxlength: '1000', required: true }, { tag: 'textarea', hint: t('alEditReasonHint') }),
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'secondary', onclick: () => toggle(false) }, t('cancel'))));
  const opener = h('button', { type: 'button', class: 'secondary small', 'aria-expanded': 'false', 'aria-controls': `${P}-form` },
    named(t('alEdit'), `${d.team} (${d.associationName}), ${sessionTitle(d)}`));
  const toggle = (show) => {
    form.hidden = !show;
    opener.setAttribute('aria-expanded', String(show));
    if (show) form.querySelector('select')?.focus(); else opener.focus();
  };
  opener.addEventListener('click', () => toggle(form.hidden));
  none.addEventListener('change', () => { for (const el of form.querySelectorAll('.row select, .row input')) el.disabled = none.checked; });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const v = (x) => form.querySelector(`#${P}-${x}`).value;
    const body = {
      applicationId: d.applicationId,
      wish: d.wish,
      session: d.session,
      slot: none.checked ? null : { unitId: v('unit'), day: Number(v('day')), start: v('start'), end: v('end') },
      reason: v('reason').trim(),
    };
    try {
      const next = await busy(submit, () => api(`/v1/allocation/runs/${run.id}/edits`, json('POST', body)));
      await renderRound(round.id, { section: 'staff', run: next.id, notice: t('alEdited', { run: next.label }) });
    } catch (err) {
      showErrors(form, box, renamed(err, { reason: 'editReason' }), (f) => ({
        editReason: `${P}-reason`, slot: `${P}-start`, 'slot.unitId': `${P}-unit`, 'slot.day': `${P}-day`, 'slot.start': `${P}-start`, 'slot.end': `${P}-end`,
      })[f] || null);
    }
  });
  return h('div', { class: 'edit' }, opener, form);
}

function staffComments(ctx) {
  const { comments, apps } = ctx;
  return h('div', { class: 'staff-comments' },
    h('h3', { id: 'comments-h' }, t('alComments')),
    comments.length
      ? h('ul', { class: 'comments', 'aria-labelledby': 'comments-h' }, comments.map((c) => {
        const a = apps.find((x) => x.id === c.applicationId);
        return h('li', { 'data-application': c.applicationId },
          h('strong', {}, a ? `${a.team.name} – ${a.associationName}` : c.applicationId), ' ',
          h('time', { datetime: c.createdAt }, dateTime(c.createdAt)),
          h('blockquote', {}, c.text));
      }))
      : h('p', { class: 'hint' }, t('alNoComments')));
}

// ---- setting up a round (staff): JSON, prefilled ----

const roundInput = (r) => ({
  municipalityCode: r.municipalityCode, name: r.name, seasonStart: r.seasonStart, seasonEnd: r.seasonEnd, breaks: r.breaks,
  applicationsOpen: r.applicationsOpen, applicationsClose: r.applicationsClose, gridMinutes: r.gridMinutes, units: r.units, principles: r.principles,
});

function isoDate(d) {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

// A new round: the municipality's latest round's units and principles (else its sports halls
// and the demo's weights), a season starting on a Monday two months on, applications open now
// for 30 days.
async function roundTemplate(code) {
  const rounds = (await api(`/v1/allocation/rounds?municipalityCode=${encodeURIComponent(code)}`).catch(() => ({ rounds: [] }))).rounds;
  const last = rounds[0];
  let unitList = last?.units;
  if (!unitList) {
    const halls = await api(`/v1/facilities?municipalityCode=${encodeURIComponent(code)}&category=sports_hall&pageSize=20`).catch(() => ({ facilities: [] }));
    unitList = halls.facilities.flatMap((f) => f.units.filter((u) => u.bookable).map((u) => ({ unitId: u.id, activities: [], hours: [], blocks: [] })));
  }
  const p = stockholmParts(new Date());
  const start = new Date(Date.UTC(p.y, p.m - 1, p.d + 60));
  start.setUTCDate(start.getUTCDate() + ((8 - start.getUTCDay()) % 7));
  const end = new Date(start.getTime() + (16 * 7 - 1) * 86400000);
  const now = new Date(Math.floor(Date.now() / 60000) * 60000 - 60000);
  return {
    municipalityCode: code,
    name: t('alNewRoundName', { d: isoDate(start) }),
    seasonStart: isoDate(start),
    seasonEnd: isoDate(end),
    breaks: [],
    applicationsOpen: now.toISOString().replace('.000Z', 'Z'),
    applicationsClose: new Date(now.getTime() + 30 * 86400000).toISOString().replace('.000Z', 'Z'),
    gridMinutes: last?.gridMinutes || 30,
    units: unitList,
    principles: last?.principles || {
      groups: [
        { code: 'children_youth', weight: 2 }, { code: 'activity_grant', weight: 1 }, { code: 'underrepresented_gender', weight: 1 },
        { code: 'local', weight: 1 }, { code: 'previous_season', weight: 1 },
      ],
      rankDecay: 0.25,
      maxHoursPerAssociation: 8,
      oneSessionPerTeamPerDay: true,
      description: '',
    },
  };
}

// A JSON editor of a round's set-up: `send(input)` creates or changes it.
function jsonForm(id, label, hint, submitLabel, initial, send) {
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, submitLabel);
  const form = h('form', { class: 'form-grid json-form', novalidate: true },
    box,
    field(id, label, { rows: '18', spellcheck: 'false', class: 'code-input' }, { tag: 'textarea', hint }),
    h('div', { class: 'actions' }, submit));
  const area = form.querySelector('textarea');
  Promise.resolve(initial).then((v) => { area.value = JSON.stringify(v, null, 2); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    let input;
    try {
      input = JSON.parse(area.value);
    } catch (err) {
      showErrors(form, box, new ApiError({ errors: [{ field: id, rule: 'json', message: t('alBadJson', { e: err.message }) }] }, 400), (f) => f);
      return;
    }
    try {
      await busy(submit, () => send(input));
    } catch (err) {
      // Every broken rule names its field in the JSON: listed, and the text area marked.
      const errors = (err.problem?.errors || []).map((v) => ({ field: null, rule: 'json', message: `${v.field ? `${v.field}: ` : ''}${errorText(v)}` }));
      if (errors.length) {
        area.setAttribute('aria-invalid', 'true');
        form.querySelector(`#${id}-error`).textContent = t('alJsonErrors', { n: errors.length });
      }
      box.replaceChildren(problemBox(err instanceof ApiError ? new ApiError({ ...err.problem, errors }, err.status) : err));
      box.firstChild.focus();
      announce(box.textContent);
    }
  });
  return form;
}

function setupSection(code) {
  const details = h('details', { class: 'setup', 'data-panel': 'setup' }, h('summary', {}, t('alSetup', { m: municipalityName(code) })));
  let made = false;
  details.addEventListener('toggle', () => {
    if (!details.open || made) return;
    made = true;
    details.append(h('p', { class: 'hint' }, t('alSetupIntro')),
      jsonForm('round-json', t('alRoundJson'), t('alRoundJsonHint'), t('alCreateRound'), roundTemplate(code), async (input) => {
        const r = await api('/v1/allocation/rounds', json('POST', input));
        navigate(withLang(`/allocation?round=${r.id}`));
      }));
  });
  return h('section', { class: 'setup-section', 'aria-labelledby': 'setup-h' }, h('h2', { id: 'setup-h' }, t('alSetupTitle')), details);
}

function roundEditor(round) {
  const details = h('details', { class: 'setup', 'data-panel': 'edit-round' }, h('summary', {}, t('alEditRound')));
  let made = false;
  details.addEventListener('toggle', () => {
    if (!details.open || made) return;
    made = true;
    details.append(h('p', { class: 'hint' }, t('alEditRoundIntro')),
      jsonForm('round-edit-json', t('alRoundJson'), t('alRoundJsonHint'), t('save'), roundInput(round), async (input) => {
        try {
          await api(`/v1/allocation/rounds/${round.id}`, json('PUT', input, ifMatch(round.version)));
        } catch (err) {
          if (err.status === 412) { await renderRound(round.id, { section: 'staff', notice: t('staleReloaded'), kind: 'warn' }); return; }
          throw err;
        }
        await renderRound(round.id, { section: 'staff', notice: t('alRoundSaved') });
      }));
  });
  return details;
}
