// The resident search page: search across municipal borders, a facility's page with its
// opening hours and free times, and booking. Plain ES modules over the registry's own REST API;
// the URL carries the search, so a result can be shared.

import { t, setLang, getLang } from '/web/i18n.js';
import { drawMap } from '/web/map.js';
import {
  view, h, announce, account, api, codes, loadCodes, codeName, municipality, locale, withLang, navigate, setRouter,
  pageLink, signInLinks, problemBox, errorText, ApiError, stockholmParts, stockholmTime, clock, longDay,
} from '/web/ui.js';

const tileUrl = document.querySelector('meta[name="registry-tile-url"]')?.content || '';
const boundaries = new Map();

const pad = (n) => String(n).padStart(2, '0');
const todayString = () => { const p = stockholmParts(new Date()); return `${p.y}-${pad(p.m)}-${pad(p.d)}`; };
const parseDay = (s) => { const [y, m, d] = s.split('-').map(Number); return { y, m, d }; };
const dayString = ({ y, m, d }) => `${y}-${pad(m)}-${pad(d)}`;
function addDays(s, n) { const { y, m, d } = parseDay(s); const x = new Date(Date.UTC(y, m - 1, d + n)); return dayString({ y: x.getUTCFullYear(), m: x.getUTCMonth() + 1, d: x.getUTCDate() }); }
const weekday = (s) => { const { y, m, d } = parseDay(s); return (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; };
function dayStart(s) { const { y, m, d } = parseDay(s); return stockholmTime(y, m, d); }
// A `datetime-local` value read as Stockholm time.
function localInput(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(s || '');
  return m ? stockholmTime(+m[1], +m[2], +m[3], +m[4], +m[5]) : null;
}
function isoWeek(s) {
  const { y, m, d } = parseDay(s);
  const date = new Date(Date.UTC(y, m - 1, d));
  date.setUTCDate(date.getUTCDate() + 3 - ((date.getUTCDay() + 6) % 7));
  const firstThursday = new Date(Date.UTC(date.getUTCFullYear(), 0, 4));
  return 1 + Math.round(((date - firstThursday) / 86400000 - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7);
}
const shortDate = (s) => { const { y, m, d } = parseDay(s); return new Intl.DateTimeFormat(locale(), { timeZone: 'UTC', day: 'numeric', month: 'short' }).format(new Date(Date.UTC(y, m - 1, d))); };
const km = (m) => (m < 1000 ? `${Math.round(m / 10) * 10} m` : `${(m / 1000).toFixed(m < 10000 ? 1 : 0).replace('.', getLang() === 'sv' ? ',' : '.')} km`);
const kronor = (ore) => new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(ore / 100);

// ---- the URL is the state ----

const SEARCH_KEYS = ['q', 'activity', 'category', 'place', 'near', 'radius', 'municipality', 'access', 'open', 'openAt', 'freeFrom', 'freeTo'];

function readSearch() {
  const p = new URLSearchParams(location.search);
  const s = {};
  for (const k of SEARCH_KEYS) s[k] = p.get(k) || '';
  s.access = s.access ? s.access.split(',') : [];
  return s;
}

function searchUrl(s) {
  const p = new URLSearchParams();
  for (const k of SEARCH_KEYS) {
    const v = k === 'access' ? s.access.join(',') : s[k];
    if (v) p.set(k, v);
  }
  if (getLang() !== 'sv') p.set('lang', getLang());
  const q = p.toString();
  return q ? `/?${q}` : '/';
}

function hasCriteria(s) {
  return Boolean(s.q || s.activity || s.category || s.place || s.near || s.municipality || s.access.length || s.open || (s.freeFrom && s.freeTo));
}

// ---- the search page ----

function option(value, label, selected) {
  return h('option', { value, selected: value === selected }, label);
}

function searchForm(s) {
  const c = codes;
  const byName = (a, b) => a.localeCompare(b, locale());
  const activities = [...c.activities].sort((a, b) => byName(a[getLang()], b[getLang()]));
  const categories = [...c.categories].sort((a, b) => byName(a[getLang()], b[getLang()]));
  const counties = new Map();
  for (const m of c.municipalities) {
    if (!counties.has(m.county)) counties.set(m.county, []);
    counties.get(m.county).push(m);
  }
  const placeName = s.place ? municipality(s.place)?.name || '' : '';
  const nearMe = h('button', { type: 'button', class: 'secondary', id: 'near-me', 'aria-describedby': 'near-status' }, t('nearMe'));
  const nearStatus = h('p', { id: 'near-status', class: 'hint', 'aria-live': 'polite' }, s.near ? t('nearMeSet') : '');
  const form = h('form', { class: 'search', role: 'search', 'aria-label': t('title'), novalidate: true },
    h('fieldset', {},
      h('legend', {}, t('what')),
      h('div', { class: 'row' },
        h('div', { class: 'field' },
          h('label', { for: 'q' }, t('q'), ' ', h('span', { class: 'hint' }, t('qHint'))),
          h('input', { id: 'q', name: 'q', type: 'search', value: s.q, autocomplete: 'off' })),
        h('div', { class: 'field' },
          h('label', { for: 'activity' }, t('activity')),
          h('select', { id: 'activity', name: 'activity' }, option('', t('any'), s.activity), activities.map((a) => option(a.code, a[getLang()], s.activity)))),
        h('div', { class: 'field' },
          h('label', { for: 'category' }, t('category')),
          h('select', { id: 'category', name: 'category' }, option('', t('any'), s.category), categories.map((a) => option(a.code, a[getLang()], s.category)))))),
    h('fieldset', {},
      h('legend', {}, t('where')),
      h('div', { class: 'row' },
        h('div', { class: 'field' },
          h('label', { for: 'place' }, t('place'), ' ', h('span', { class: 'hint' }, t('placeHint'))),
          h('input', { id: 'place', name: 'place', type: 'text', list: 'places', value: placeName, autocomplete: 'off', disabled: Boolean(s.near) }),
          h('datalist', { id: 'places' }, c.municipalities.map((m) => h('option', { value: m.name })))),
        h('div', { class: 'field narrow' },
          h('label', { for: 'radius' }, t('radius')),
          h('select', { id: 'radius', name: 'radius' }, ['2', '5', '10', '25', '50'].map((n) => option(n, t('km', { n }), s.radius || '10')))),
        h('div', { class: 'field narrow' }, h('span', { class: 'label', 'aria-hidden': 'true' }, '\u00a0'), nearMe),
        h('div', { class: 'field' },
          h('label', { for: 'municipality' }, t('municipality')),
          h('select', { id: 'municipality', name: 'municipality' }, option('', t('anyMunicipality'), s.municipality),
            [...counties.entries()].map(([county, ms]) => h('optgroup', { label: county }, ms.map((m) => option(m.code, m.name, s.municipality))))))),
      nearStatus),
    h('fieldset', {},
      h('legend', {}, t('when')),
      h('div', { class: 'row' },
        h('div', { class: 'field' },
          h('label', { for: 'open' }, t('openFilter')),
          h('select', { id: 'open', name: 'open' }, option('', t('openAny'), s.open), option('now', t('openNow'), s.open), option('at', t('openAt'), s.open))),
        h('div', { class: 'field', id: 'open-at-field', hidden: s.open !== 'at' },
          h('label', { for: 'openAt' }, t('openAtTime')),
          h('input', { id: 'openAt', name: 'openAt', type: 'datetime-local', value: s.openAt })),
        h('div', { class: 'field' },
          h('label', { for: 'freeFrom' }, t('freeFrom')),
          h('input', { id: 'freeFrom', name: 'freeFrom', type: 'datetime-local', value: s.freeFrom, 'aria-describedby': 'free-hint' })),
        h('div', { class: 'field' },
          h('label', { for: 'freeTo' }, t('freeTo')),
          h('input', { id: 'freeTo', name: 'freeTo', type: 'datetime-local', value: s.freeTo, 'aria-describedby': 'free-hint' }))),
      h('p', { id: 'free-hint', class: 'hint' }, t('freeHint'))),
    h('fieldset', {},
      h('legend', {}, t('more')),
      h('div', { class: 'checks' }, c.accessibility.map((a) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'access', value: a, checked: s.access.includes(a) }), t('a11y')[a] || a)))),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, t('search')),
      h('button', { type: 'button', class: 'secondary', onclick: () => navigate(withLang('/')) }, t('clear'))));

  const openSelect = form.querySelector('#open');
  openSelect.addEventListener('change', () => { form.querySelector('#open-at-field').hidden = openSelect.value !== 'at'; });
  let near = s.near;
  if (near) nearMe.textContent = t('nearMeClear');
  nearMe.addEventListener('click', () => {
    if (near) {
      near = '';
      nearMe.textContent = t('nearMe');
      nearStatus.textContent = '';
      form.querySelector('#place').disabled = false;
      return;
    }
    if (!navigator.geolocation) { nearStatus.textContent = t('nearMeFailed'); return; }
    nearStatus.textContent = t('nearMeBusy');
    navigator.geolocation.getCurrentPosition((pos) => {
      near = `${pos.coords.latitude.toFixed(5)},${pos.coords.longitude.toFixed(5)}`;
      nearStatus.textContent = t('nearMeSet');
      nearMe.textContent = t('nearMeClear');
      form.querySelector('#place').disabled = true;
      form.requestSubmit();
    }, () => { nearStatus.textContent = t('nearMeFailed'); }, { timeout: 10000, maximumAge: 60000 });
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const placeText = (form.querySelector('#place').value || '').trim().toLowerCase();
    const place = placeText ? codes.municipalities.find((m) => m.name.toLowerCase() === placeText) || codes.municipalities.find((m) => m.name.toLowerCase().startsWith(placeText)) : null;
    const next = {
      q: (f.get('q') || '').trim(),
      activity: f.get('activity') || '',
      category: f.get('category') || '',
      place: near ? '' : place?.code || '',
      near: near || '',
      radius: f.get('radius') || '10',
      municipality: f.get('municipality') || '',
      access: f.getAll('access'),
      open: f.get('open') || '',
      openAt: f.get('open') === 'at' ? f.get('openAt') || '' : '',
      freeFrom: f.get('freeFrom') || '',
      freeTo: f.get('freeTo') || '',
    };
    if (next.radius === '10') next.radius = '';
    navigate(searchUrl(next));
  });
  return form;
}

function centreOf(s) {
  if (s.near) { const [lat, lon] = s.near.split(',').map(Number); return { lat, lon }; }
  const m = s.place ? municipality(s.place) : null;
  return m && m.lat != null ? { lat: m.lat, lon: m.lon } : null;
}

function queryParams(s, free) {
  const p = new URLSearchParams();
  const centre = centreOf(s);
  if (centre) {
    p.set('near', `${centre.lat},${centre.lon}`);
    p.set('radiusM', String(Number(s.radius || '10') * 1000));
  }
  if (s.q) p.set('q', s.q);
  if (s.activity) p.set('activities', s.activity);
  if (s.category) p.set('categories', s.category);
  if (s.municipality) p.set('municipalities', s.municipality);
  if (s.access.length) p.set('accessibility', s.access.join(','));
  p.set('pageSize', '50');
  if (free) {
    p.set('from', localInput(s.freeFrom)?.toISOString() || s.freeFrom);
    p.set('to', localInput(s.freeTo)?.toISOString() || s.freeTo);
    p.set('deadlineMs', '2500');
  } else if (s.open === 'now') {
    p.set('openAt', new Date().toISOString());
  } else if (s.open === 'at' && s.openAt) {
    p.set('openAt', localInput(s.openAt)?.toISOString() || s.openAt);
  }
  return p;
}

// One notice per booking system that did not answer, naming it and the places it serves.
function vendorNotices(reports, facilities) {
  const out = [];
  for (const r of reports || []) {
    if (r.status === 'ok' || r.status === 'pending') continue;
    const places = [...new Set(facilities.filter((f) => f.units.some((u) => u.vendorId === r.vendorId)).map((f) => f.municipalityName))];
    const key = { timeout: 'vendorTimeout', error: 'vendorError', unavailable: 'vendorUnavailable', rate_limited: 'vendorRateLimited', uncertified: 'vendorUncertified' }[r.status] || 'vendorSkipped';
    out.push(h('p', { class: 'notice warn', 'data-vendor-status': r.status }, t(key, { vendor: r.name || r.vendorId, places: places.join(', ') || '–' })));
  }
  return out;
}

async function areasFor(codesWanted, searched) {
  const out = [];
  await Promise.all([...codesWanted].map(async (code) => {
    if (!boundaries.has(code)) {
      boundaries.set(code, api(`/v1/municipalities/${code}/boundary`).then((f) => f.geometry).catch(() => null));
    }
    const geometry = await boundaries.get(code);
    const m = municipality(code);
    if (geometry) out.push({ code, geometry, searched: code === searched, name: m?.name || code, lat: m?.lat, lon: m?.lon });
  }));
  // The searched municipality last, so its border is drawn on top.
  return out.sort((a, b) => Number(a.searched) - Number(b.searched));
}

async function renderSearch() {
  await loadCodes();
  const s = readSearch();
  document.title = t('title');
  const status = h('div', { id: 'results', 'aria-busy': 'false' });
  view.replaceChildren(
    h('h1', {}, t('title')),
    h('p', {}, t('intro')),
    searchForm(s),
    status);
  if (!hasCriteria(s)) return;
  const free = Boolean(s.freeFrom && s.freeTo);
  status.setAttribute('aria-busy', 'true');
  status.replaceChildren(h('p', { class: 'summary' }, t('searching')));
  const searched = s.place || s.municipality || '';
  const got = { hits: [], all: [], reports: [], next: '' };
  try {
    await fetchPage(s, free, '', got);
  } catch (err) {
    status.setAttribute('aria-busy', 'false');
    status.replaceChildren(problemBox(err, () => renderSearch()));
    announce(`${t('errorTitle')}: ${err.message}`);
    return;
  }
  status.setAttribute('aria-busy', 'false');
  await drawResults(status, s, free, searched, got);
  const n = got.hits.length;
  const notices = [...status.querySelectorAll('.notice')].map((p) => p.textContent).join(' ');
  announce((free ? t('freeHitsAnnounce', { n }) : t('hitsAnnounce', { n })) + (notices ? ` ${notices}` : ''));
}

// One page of results, appended to `got`; one API request.
async function fetchPage(s, free, token, got) {
  const params = queryParams(s, free);
  if (token) params.set('pageToken', token);
  if (free) {
    const a = await api(`/v1/availability?${params}`);
    got.reports = [...got.reports.filter((r) => !a.vendors.some((v) => v.vendorId === r.vendorId)), ...a.vendors];
    got.all.push(...a.facilities);
    got.hits.push(...a.facilities
      .map((f) => ({ f, slots: f.units.flatMap((u) => u.slots).filter((x) => x.state !== 'booked') }))
      .filter((x) => x.slots.length > 0)
      .map(({ f, slots }) => ({
        id: f.facilityId, name: f.name, municipalityCode: f.municipalityCode, municipalityName: f.municipalityName,
        distanceM: f.distanceM, location: f.location, freeSlots: slots.length, units: f.units,
      })));
    got.next = a.nextPageToken || '';
  } else {
    const page = await api(`/v1/search/facilities?${params}`);
    got.hits.push(...page.hits.map((x) => ({
      id: x.facility.id, name: x.facility.name, municipalityCode: x.facility.municipalityCode, municipalityName: x.municipalityName,
      distanceM: x.distanceM, location: x.facility.location, category: x.facility.category, locality: x.facility.address?.locality,
      street: x.facility.address?.street, units: x.facility.units, accessibility: x.facility.accessibility,
    })));
    got.next = page.nextPageToken || '';
  }
}

async function drawResults(status, s, free, searched, got) {
  const { hits } = got;
  const n = hits.length;
  const summary = free ? t('freeHits', { n }) : n === 1 ? t('hit1') : t('hits', { n });
  const list = h('ol', { class: 'hits', 'aria-label': summary });
  hits.forEach((x, i) => {
    const other = searched && x.municipalityCode !== searched;
    const href = withLang(`/facility/${x.id}${free ? `?day=${s.freeFrom.slice(0, 10)}` : ''}`);
    const link = h('a', { href, onclick: (e) => { if (e.ctrlKey || e.metaKey || e.shiftKey) return; e.preventDefault(); navigate(href); } }, x.name);
    list.append(h('li', { class: 'hit', 'data-facility': x.id, 'data-municipality': x.municipalityCode },
      h('h3', {}, h('span', { class: 'number', 'aria-hidden': 'true' }, String(i + 1)), link),
      h('p', { class: 'meta' },
        other
          ? h('span', { class: 'badge other', title: t('otherMunicipalityHint') }, t('otherMunicipality', { name: x.municipalityName }), h('span', { class: 'visually-hidden' }, ` (${t('otherMunicipalityHint')})`))
          : h('span', { class: 'badge' }, x.municipalityName),
        x.category ? h('span', { class: 'badge' }, codeName(codes.categories, x.category)) : null,
        x.freeSlots ? h('span', { class: 'badge free' }, t('freeSlots', { n: x.freeSlots })) : null,
        x.distanceM != null ? ` ${t('distance', { d: km(x.distanceM) })}` : ''),
      x.street || x.locality ? h('p', { class: 'meta' }, [x.street, x.locality].filter(Boolean).join(', ')) : null,
      x.accessibility?.length ? h('p', { class: 'meta' }, x.accessibility.map((a) => t('a11y')[a] || a).join(' · ')) : null));
  });
  const more = got.next
    ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', id: 'more', onclick: async (e) => {
      const button = e.currentTarget;
      button.disabled = true;
      button.textContent = t('searching');
      const before = hits.length;
      try {
        await fetchPage(s, free, got.next, got);
      } catch (err) {
        button.replaceWith(problemBox(err));
        return;
      }
      await drawResults(status, s, free, searched, got);
      // Focus goes to the first new result, and the new count is announced.
      status.querySelectorAll('li.hit h3 a')[before]?.focus();
      announce(free ? t('freeHitsAnnounce', { n: hits.length }) : t('hitsAnnounce', { n: hits.length }));
    } }, t('moreHits')))
    : null;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'map');
  const mapSection = h('section', { class: 'map-wrap', 'aria-labelledby': 'map-heading' },
    h('h2', { id: 'map-heading', class: 'visually-hidden' }, t('mapTitle')),
    svg,
    h('p', { class: 'map-legend' },
      h('span', { class: 'legend-dot', 'aria-hidden': 'true' }), searched ? t('mapLegendHere') : t('mapTitle'),
      searched ? [h('span', { class: 'legend-dot other', 'aria-hidden': 'true' }), t('mapLegendOther')] : null));
  const notices = vendorNotices(got.reports, free ? got.all : []);
  status.replaceChildren(
    h('h2', { class: 'summary', id: 'summary', tabindex: '-1' }, summary),
    ...notices,
    n === 0 && !got.next ? h('p', {}, t('noHits')) : h('div', { class: 'results' }, h('section', { 'aria-labelledby': 'summary' }, list, more), mapSection));
  if (n === 0) return;
  const wanted = new Set(hits.map((x) => x.municipalityCode));
  if (searched) wanted.add(searched);
  const areas = await areasFor(wanted, searched);
  const points = hits.filter((x) => x.location).map((x) => ({
    id: x.id, lat: x.location.lat, lon: x.location.lon, n: hits.indexOf(x) + 1, other: Boolean(searched && x.municipalityCode !== searched),
    title: `${hits.indexOf(x) + 1}. ${x.name} (${x.municipalityName})`,
    onClick: () => navigate(withLang(`/facility/${x.id}`)),
  }));
  drawMap(svg, { points, areas, label: t('mapLabel', { n: points.length }), tileUrl });
}

// ---- the facility page ----

async function renderFacility(id, moved) {
  await loadCodes();
  view.replaceChildren(h('p', {}, t('loading')));
  let f;
  const params = new URLSearchParams(location.search);
  const today = todayString();
  const weekOf = /^\d{4}-\d{2}-\d{2}$/.test(params.get('week') || '') ? params.get('week') : today;
  const monday = addDays(weekOf, -weekday(weekOf));
  const years = [...new Set([monday.slice(0, 4), addDays(monday, 6).slice(0, 4)])];
  let intervals;
  let holidays;
  try {
    [f, intervals, holidays] = await Promise.all([
      api(`/v1/facilities/${encodeURIComponent(id)}`),
      api(`/v1/facilities/${encodeURIComponent(id)}/opening-hours/intervals?from=${dayStart(monday).toISOString()}&to=${dayStart(addDays(monday, 7)).toISOString()}`).catch(() => ({ intervals: [] })),
      Promise.all(years.map((y) => api(`/v1/calendar/holidays?year=${y}`).then((x) => x.holidays).catch(() => []))).then((x) => x.flat()),
    ]);
  } catch (err) {
    view.replaceChildren(backLink(), h('h1', {}, err.status === 404 || err.status === 400 ? t('notFound') : t('errorTitle')), problemBox(err));
    return;
  }
  document.title = `${f.name} – ${t('brand')}`;
  const m = municipality(f.municipalityCode);
  const addr = [f.address?.street, [f.address?.postalCode, f.address?.locality].filter(Boolean).join(' ')].filter(Boolean).join(', ');
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, t('municipalityLabel')), h('dd', {}, m?.name || f.municipalityCode),
    h('dt', {}, t('categoryLabel')), h('dd', {}, codeName(codes.categories, f.category)),
    addr ? [h('dt', {}, t('address')), h('dd', {}, addr)] : null,
    f.activities?.length ? [h('dt', {}, t('activitiesLabel')), h('dd', {}, f.activities.map((a) => codeName(codes.activities, a)).join(', '))] : null,
    h('dt', {}, t('accessibilityLabel')), h('dd', {}, f.accessibility?.length ? f.accessibility.map((a) => t('a11y')[a] || a).join(', ') : t('noAccessibility')),
    f.contact?.website ? [h('dt', {}, t('website')), h('dd', {}, h('a', { href: f.contact.website, rel: 'noopener' }, f.contact.website))] : null,
    f.contact?.phone || f.contact?.email ? [h('dt', {}, t('contact')), h('dd', {}, [f.contact.phone, f.contact.email].filter(Boolean).join(', '))] : null);
  const units = h('ul', {}, f.units.map((u) => h('li', {},
    h('strong', {}, u.name), ' – ', codeName(codes.categories, u.category),
    u.capacity ? `, ${t('capacity', { n: u.capacity })}` : '', u.areaM2 ? `, ${t('area', { n: Math.round(u.areaM2) })}` : '',
    u.bookable ? '' : ` (${t('notBookable')})`)));

  const day = /^\d{4}-\d{2}-\d{2}$/.test(params.get('day') || '') ? params.get('day') : today;
  const freeBox = h('div', { id: 'free-times', 'aria-live': 'off' });
  const dayInput = h('input', { id: 'free-day', type: 'date', value: day, min: today, max: addDays(today, 180) });
  const dayForm = h('form', { class: 'row', onsubmit: (e) => {
    e.preventDefault();
    const u = new URL(location.href);
    u.searchParams.set('day', dayInput.value || today);
    history.replaceState(null, '', u.pathname + u.search);
    loadSlots(f, dayInput.value || today, freeBox);
  } },
  h('div', { class: 'field narrow' }, h('label', { for: 'free-day' }, t('freeDay')), dayInput),
  h('div', { class: 'field narrow' }, h('span', { class: 'label', 'aria-hidden': 'true' }, '\u00a0'), h('button', { type: 'submit', class: 'secondary' }, t('show'))));

  view.replaceChildren(
    backLink(),
    h('h1', { id: 'facility-name', tabindex: '-1' }, f.name),
    f.description ? h('p', {}, f.description) : null,
    h('div', { class: 'two-col' },
      h('section', { 'aria-labelledby': 'about-h' }, h('h2', { id: 'about-h' }, t('about')), facts, h('h3', {}, t('unitsTitle')), units),
      h('section', { 'aria-labelledby': 'hours-h' },
        h('h2', { id: 'hours-h' }, weekOf === today ? t('hoursTitle') : t('hoursCaption', { w: isoWeek(monday) })),
        hoursTable(monday, today, intervals.intervals, holidays),
        h('p', { class: 'actions' }, weekLink(f.id, addDays(monday, -7), t('prevWeek')), weekLink(f.id, addDays(monday, 7), t('nextWeek'))))),
    h('section', { 'aria-labelledby': 'free-h' }, h('h2', { id: 'free-h' }, t('freeTitle')), dayForm, freeBox));
  if (moved) document.getElementById('facility-name').focus();
  loadSlots(f, day, freeBox);
}

function weekLink(id, monday, label) {
  const href = withLang(`/facility/${id}?week=${monday}`);
  return h('a', { href, onclick: (e) => { e.preventDefault(); navigate(href, { replace: true }); } }, label);
}

function backLink() {
  const last = sessionStorage.getItem('lastSearch');
  const href = last || withLang('/');
  return h('a', { class: 'back', href, onclick: (e) => { e.preventDefault(); navigate(href); } }, last ? t('back') : t('backHome'));
}

function hoursTable(monday, today, intervals, holidays) {
  const rows = [];
  for (let i = 0; i < 7; i++) {
    const d = addDays(monday, i);
    const start = dayStart(d).getTime();
    const end = dayStart(addDays(d, 1)).getTime();
    const spans = intervals
      .filter((x) => new Date(x.start).getTime() < end && new Date(x.end).getTime() > start)
      .map((x) => {
        const a = Math.max(new Date(x.start).getTime(), start);
        const b = Math.min(new Date(x.end).getTime(), end);
        return `${clock(a)}–${b === end ? '24:00' : clock(b)}`;
      });
    const hol = holidays.find((x) => x.date === d);
    const holName = hol ? (getLang() === 'sv' ? hol.nameSv : hol.nameEn) : '';
    rows.push(h('tr', { class: [hol ? 'holiday' : '', d === today ? 'today' : ''].join(' ').trim() || null },
      h('th', { scope: 'row' }, t('weekdays')[i], d === today ? h('span', { class: 'hint' }, ` (${t('today')})`) : null),
      h('td', {}, shortDate(d), hol ? h('div', { class: 'hint' }, `${holName} – ${hol.kind === 'EVE' ? t('eve') : t('holiday')}`) : null),
      h('td', {}, spans.length ? spans.join(', ') : t('closed'))));
  }
  return h('table', {},
    h('caption', { class: 'visually-hidden' }, t('hoursCaption', { w: isoWeek(monday) })),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('day')), h('th', { scope: 'col' }, t('date')), h('th', { scope: 'col' }, t('hours')))),
    h('tbody', {}, rows));
}

async function loadSlots(f, day, box) {
  box.setAttribute('aria-busy', 'true');
  box.replaceChildren(h('p', {}, t('loadingSlots')));
  const from = dayStart(day).toISOString();
  const to = dayStart(addDays(day, 1)).toISOString();
  let a;
  try {
    a = await api(`/v1/availability?facilityIds=${f.id}&from=${from}&to=${to}&deadlineMs=2500`);
  } catch (err) {
    box.setAttribute('aria-busy', 'false');
    box.replaceChildren(problemBox(err, () => loadSlots(f, day, box)));
    announce(`${t('errorTitle')}: ${err.message}`);
    return;
  }
  const facility = a.facilities.find((x) => x.facilityId === f.id) || { units: [] };
  const vendors = new Map(a.vendors.map((v) => [v.vendorId, v]));
  const now = Date.now();
  let shown = 0;
  const units = facility.units.map((u) => {
    const v = vendors.get(u.vendorId);
    let body;
    if (u.status === 'no_vendor') body = h('p', { class: 'hint' }, t('noVendor'));
    else if (u.status === 'unknown_unit') body = h('p', { class: 'hint' }, t('unknownUnit'));
    else if (u.status === 'not_bookable') body = h('p', { class: 'hint' }, t('unitNotBookable'));
    else if (u.status !== 'ok') body = h('p', { class: 'hint', 'data-unit-status': u.status }, t('unitNoAnswer'));
    else {
      const slots = u.slots.filter((x) => new Date(x.end).getTime() > now);
      shown += slots.filter((x) => x.state !== 'booked').length;
      body = slots.length === 0 ? h('p', { class: 'hint' }, t('noSlots')) : h('ul', { class: 'slots' }, slots.map((x) => slotItem(f, u, v, x, day, box)));
    }
    return h('div', { class: 'unit', 'data-unit': u.unitId }, h('h3', {}, u.name), body);
  });
  box.setAttribute('aria-busy', 'false');
  box.replaceChildren(...vendorNotices(a.vendors, [{ ...facility, municipalityName: municipality(f.municipalityCode)?.name || f.municipalityCode }]), ...units);
  const problems = a.vendors.filter((v) => v.status !== 'ok').length;
  announce(t('slotsAnnounce', { n: shown }) + (problems ? ` ${box.querySelector('.notice')?.textContent || ''}` : ''));
}

function slotItem(f, u, vendor, slot, day, box) {
  const time = `${clock(slot.start)}–${clock(slot.end)}`;
  const state = { free: t('free'), request_only: t('requestOnly'), booked: t('booked') }[slot.state] || slot.state;
  const price = slot.prices?.find((p) => p.customerType === 'private_person') || slot.prices?.[0];
  const takes = vendor?.takesBookings || [];
  let action = null;
  if (slot.state !== 'booked') {
    const mode = slot.state === 'free' && takes.includes('direct') ? 'direct' : takes.includes('request') ? 'request' : null;
    if (mode) {
      action = h('button', { type: 'button', 'aria-label': `${mode === 'direct' ? t('book') : t('request')} ${u.name} ${time}`,
        onclick: (e) => openBooking(f, u, slot, mode, takes, e.currentTarget, () => loadSlots(f, day, box)) }, mode === 'direct' ? t('book') : t('request'));
    } else if (slot.bookingUrl) {
      action = h('a', { class: 'button secondary', href: slot.bookingUrl, rel: 'noopener', target: '_blank' },
        t('bookAtVendor', { vendor: vendor?.name || '' }), h('span', { class: 'visually-hidden' }, ` ${t('opensNewPage')}`));
    }
  }
  return h('li', { class: `slot ${slot.state}`, 'data-start': slot.start, 'data-state': slot.state },
    h('span', { class: 'time' }, time),
    h('span', {}, state, price && slot.state !== 'booked' ? ` · ${t('perHour', { p: kronor(price.amountMinorPerHour) })}` : ''),
    action);
}

// ---- booking ----

const APPROVED = 'REGISTRATION_STATUS_APPROVED';

// The associations the signed-in person may book for at a facility in municipality `code`:
// those they represent that are approved there (none when the list cannot be had).
async function bookableAssociations(code) {
  try {
    const mine = (await api('/v1/me/associations')).associations || [];
    return mine.filter((a) => (a.registrations || []).some((r) => r.municipalityCode === code && r.status === APPROVED));
  } catch {
    return [];
  }
}

let opening = false;

async function openBooking(f, u, slot, defaultMode, takes, opener, refresh) {
  if (opening) return;
  opening = true;
  try {
    await account.ready;
    const associations = account.me ? await bookableAssociations(f.municipalityCode) : [];
    showBooking(f, u, slot, defaultMode, takes, opener, refresh, associations);
  } finally {
    opening = false;
  }
}

function showBooking(f, u, slot, defaultMode, takes, opener, refresh, associations) {
  const when = t('bookWhen', { day: longDay(slot.start), from: clock(slot.start), to: clock(slot.end) });
  const dialog = h('dialog', { 'aria-labelledby': 'booking-title' }, h('h2', { id: 'booking-title' }, t('bookTitle', { unit: u.name })));
  dialog.addEventListener('close', () => { dialog.remove(); if (opener?.isConnected) opener.focus(); });
  const what = h('p', {}, h('strong', {}, f.name), h('br'), when);
  // Booking needs a signed-in person: signed out, the dialog says so and offers signing in,
  // which comes back to this page.
  if (!account.me) {
    const links = signInLinks(undefined, { label: t('signInToBook'), withProvider: 'signInToBookWith' });
    dialog.append(h('div', { class: 'form-grid' },
      what,
      h('p', {}, t('bookSignInText')),
      links.length ? h('p', { class: 'actions sign-in' }, links) : h('p', { class: 'hint' }, t('signInUnavailable')),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, t('close')))));
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('.form-grid a, .form-grid button')?.focus();
    return;
  }
  const key = crypto.randomUUID();
  const errorBox = h('div', { id: 'booking-errors' });
  const field = (id, label, attrs = {}, hint) => h('div', { class: 'field' },
    h('label', { for: id }, label, hint ? h('span', { class: 'hint' }, ` ${hint}`) : null),
    h('input', { id, name: id, ...attrs }),
    h('span', { class: 'field-error', id: `${id}-error` }));
  const radios = (name, legend, values, checked, hint) => h('fieldset', { 'aria-describedby': hint ? `${name}-hint` : null },
    h('legend', { class: 'label' }, legend),
    values.map(([value, label]) => h('label', { class: 'check' }, h('input', { type: 'radio', name, value, checked: value === checked }), label)),
    hint ? h('p', { class: 'hint', id: `${name}-hint` }, hint) : null);
  const modes = [];
  if (slot.state === 'free' && takes.includes('direct')) modes.push(['direct', t('modeDirect')]);
  if (takes.includes('request')) modes.push(['request', t('modeRequest')]);
  // Who books: the person, an association they represent that is approved in the facility's
  // municipality (its organisation number is the registry's), or a company.
  const bookAs = [['private_person', t('myself')], ...associations.map((a) => [`association:${a.id}`, t('asAssociation', { name: a.name })]), ['company', t('company')]];
  const m = municipality(f.municipalityCode)?.name || f.municipalityCode;
  const org = field('orgNumber', t('orgNumber'), { type: 'text', autocomplete: 'off', inputmode: 'numeric', 'aria-describedby': 'orgNumber-error' }, t('orgHint'));
  org.hidden = true;
  const messageField = h('div', { class: 'field', hidden: defaultMode !== 'request' },
    h('label', { for: 'message' }, t('message'), h('span', { class: 'hint' }, ` ${t('optional')}`)),
    h('textarea', { id: 'message', name: 'message', rows: '3', maxlength: '1000' }));
  const submit = h('button', { type: 'submit' }, t('confirm'));
  const form = h('form', { class: 'form-grid', method: 'dialog', novalidate: true },
    what,
    errorBox,
    radios('bookAs', associations.length ? t('bookAs') : t('customerType'), bookAs, 'private_person', associations.length ? null : t('assocBookingHint', { m })),
    field('name', t('name'), { type: 'text', autocomplete: 'name', required: true, value: account.me.name || '', 'aria-describedby': 'name-error' }),
    field('email', t('email'), { type: 'email', autocomplete: 'email', required: true, 'aria-describedby': 'email-error' }),
    field('phone', t('phone'), { type: 'tel', autocomplete: 'tel', 'aria-describedby': 'phone-error' }, t('optional')),
    org,
    modes.length > 1 ? radios('mode', t('mode'), modes, defaultMode) : h('input', { type: 'hidden', name: 'mode', value: defaultMode }),
    messageField,
    h('p', { class: 'hint' }, t('privacy')),
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, t('cancel'))));
  dialog.append(form);
  form.addEventListener('change', () => {
    org.hidden = form.querySelector('input[name="bookAs"]:checked').value !== 'company';
    const mode = form.querySelector('input[name="mode"]:checked')?.value || form.querySelector('input[name="mode"]').value;
    messageField.hidden = mode !== 'request';
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const as = fd.get('bookAs');
    const associationId = as.startsWith('association:') ? as.slice('association:'.length) : null;
    const type = associationId ? 'association' : as;
    const body = {
      facilityId: f.id,
      unitId: u.unitId,
      start: slot.start,
      end: slot.end,
      mode: fd.get('mode'),
      customer: { type, name: fd.get('name'), email: fd.get('email'), phone: fd.get('phone') || null, orgNumber: type === 'company' ? fd.get('orgNumber') || null : null },
      message: fd.get('mode') === 'request' ? fd.get('message') || null : null,
      ...(associationId ? { associationId } : {}),
    };
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
    errorBox.replaceChildren();
    submit.disabled = true;
    submit.textContent = t('sending');
    try {
      const b = await api('/v1/bookings', { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body) });
      const confirmed = b.status === 'confirmed';
      const receipt = h('div', { class: 'receipt', role: 'status' },
        h('p', { class: 'notice ok' }, confirmed ? t('bookedText', { unit: `${b.unitName} (${b.facilityName})`, when, id: b.bookingId }) : t('requestedText', { unit: `${b.unitName} (${b.facilityName})`, when, id: b.bookingId })),
        b.accessCode ? h('p', {}, `${t('accessCode')}: `, h('span', { class: 'code' }, b.accessCode)) : null,
        b.amountMinor ? h('p', {}, t('amount', { p: kronor(b.amountMinor) })) : null);
      // Mina bokningar: the dialog closes, and the page goes there.
      const mineHref = withLang('/bookings');
      const mine = h('a', { href: mineHref, onclick: (ev) => {
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
        ev.preventDefault();
        dialog.close();
        navigate(mineHref);
      } }, t('myBookings'));
      const close = h('button', { type: 'button', onclick: () => dialog.close() }, t('close'));
      dialog.querySelector('#booking-title').textContent = confirmed ? t('bookedTitle') : t('requestedTitle');
      form.replaceWith(h('div', { class: 'form-grid' }, receipt, h('p', { class: 'receipt-mine' }, t('receiptMine'), ' ', mine, '.'), h('div', { class: 'actions' }, close)));
      close.focus();
      announce(receipt.textContent);
      refresh();
    } catch (err) {
      submit.disabled = false;
      submit.textContent = t('confirm');
      const fieldIds = { 'customer.name': 'name', 'customer.email': 'email', 'customer.phone': 'phone', 'customer.orgNumber': 'orgNumber' };
      let first = null;
      const rest = [];
      for (const v of err.problem?.errors || []) {
        const id = fieldIds[v.field];
        const input = id && form.querySelector(`#${id}`);
        if (input && !input.closest('[hidden]')) {
          input.setAttribute('aria-invalid', 'true');
          form.querySelector(`#${id}-error`).textContent = errorText(v);
          first = first || input;
        } else rest.push(v);
      }
      if (!first || rest.length) errorBox.replaceChildren(problemBox(err.problem ? new ApiError({ ...err.problem, errors: rest }, err.status) : err));
      (first || errorBox.querySelector('[role="alert"]'))?.focus?.();
      announce(`${t('errorTitle')}: ${err.message}`);
      if (err.problem?.errors?.some((v) => v.rule === 'slot_unavailable')) refresh();
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  form.querySelector('#name').focus();
}

// ---- signing in (Swedish eID through OpenID Connect, docs/sign-in.md) ----

async function loadAccount() {
  // One request, answered 200 whether or not anyone is signed in.
  const state = await api('/auth/session').catch(() => ({ signedIn: false, providers: [] }));
  account.me = state.signedIn ? state.me : null;
  account.providers = state.providers || [];
  // Staff are named with their municipality, from the code lists.
  if (isStaff(account.me)) await loadCodes().catch(() => null);
  renderAccount();
}

// Staff: a signed-in person who is an editor of a municipality.
const isStaff = (me) => Boolean(me?.name && me.role === 'editor' && me.municipalityCode);

function renderAccount() {
  const box = document.getElementById('account');
  const { me } = account;
  const current = (path) => (location.pathname === path ? 'page' : null);
  // Open to everyone: the seasonal allocation of training times, and grants.
  const pages = h('nav', { 'aria-label': t('pagesNav') }, h('ul', { class: 'account-links' },
    h('li', {}, pageLink('/allocation', t('alNav'), { 'aria-current': current('/allocation') })),
    h('li', {}, pageLink('/grants', t('grNav'), { 'aria-current': current('/grants') }))));
  if (me?.name) {
    const role = isStaff(me)
      ? ` (${t('staffOf', { municipality: codes ? municipality(me.municipalityCode)?.name || me.municipalityCode : me.municipalityCode })})`
      : '';
    box.replaceChildren(
      pages,
      h('nav', { 'aria-label': t('accountNav') }, h('ul', { class: 'account-links' },
        h('li', {}, pageLink('/bookings', t('myBookings'), { 'aria-current': current('/bookings') })),
        h('li', {}, pageLink('/associations', t('myAssociations'), { 'aria-current': current('/associations') })),
        isStaff(me) ? h('li', {}, pageLink('/staff', t('staffInbox'), { 'aria-current': current('/staff') })) : null)),
      h('span', { class: 'account-name' }, t('signedInAs', { name: me.name }) + role),
      h('button', { type: 'button', class: 'lang-toggle', id: 'sign-out', onclick: signOut }, t('signOut')),
    );
    return;
  }
  box.replaceChildren(pages, ...signInLinks());
}

async function signOut() {
  try {
    const out = await api('/auth/logout', { method: 'POST' });
    account.me = null;
    location.assign(out.redirect || '/');
  } catch (err) {
    announce(t('signOutFailed'));
  }
}

// ---- routing ----

function applyLang() {
  const p = new URLSearchParams(location.search);
  setLang(p.get('lang') || 'sv');
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  const toggle = document.getElementById('lang-toggle');
  toggle.textContent = t('toggle');
  toggle.setAttribute('lang', t('toggleLang'));
  if (account.me || account.providers) renderAccount();
}

let firstRoute = true;

async function route() {
  applyLang();
  const moved = !firstRoute;
  firstRoute = false;
  const m = /^\/facility\/([^/]+)$/.exec(location.pathname);
  try {
    if (m) await renderFacility(decodeURIComponent(m[1]), moved);
    else if (location.pathname === '/bookings') {
      // Mina bokningar: loaded only when asked for, like Mina föreningar.
      view.replaceChildren(h('p', {}, t('loading')));
      const [views] = await Promise.all([import('/web/bookings.js'), account.ready]);
      await views.renderBookings(moved);
    } else if (location.pathname === '/allocation') {
      // Träningstider (seasonal allocation): loaded only when asked for.
      view.replaceChildren(h('p', {}, t('loading')));
      const [views] = await Promise.all([import('/web/allocation.js'), loadCodes(), account.ready]);
      await views.renderAllocation(moved);
    } else if (location.pathname === '/grants') {
      // Föreningsbidrag (grants): loaded only when asked for, with its texts.
      view.replaceChildren(h('p', {}, t('loading')));
      const [views] = await Promise.all([import('/web/grants.js'), loadCodes(), account.ready]);
      await views.renderGrants(moved);
    } else if (location.pathname === '/associations' || location.pathname === '/staff') {
      // Mina föreningar and the staff inbox: loaded only when asked for, so the search page
      // stays small; they need to know who is signed in.
      view.replaceChildren(h('p', {}, t('loading')));
      const [views] = await Promise.all([import('/web/associations.js'), loadCodes(), account.ready]);
      await (location.pathname === '/staff' ? views.renderStaff(moved) : views.renderAssociations(moved));
    } else {
      sessionStorage.setItem('lastSearch', location.pathname + location.search);
      await renderSearch();
      // After a search, focus moves to the summary of what was found (announced as well).
      if (moved && hasCriteria(readSearch())) document.getElementById('summary')?.focus();
    }
  } catch (err) {
    view.replaceChildren(h('h1', {}, t('errorTitle')), problemBox(err, () => route()));
  }
}

document.getElementById('lang-toggle').addEventListener('click', () => {
  const u = new URL(location.href);
  if (getLang() === 'sv') u.searchParams.set('lang', 'en'); else u.searchParams.delete('lang');
  navigate(u.pathname + u.search, { replace: true });
});
setRouter(route);
window.addEventListener('popstate', route);
account.ready = loadAccount();
route();
