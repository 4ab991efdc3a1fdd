// Träningstider (/allocation) in the browser, for tests/interop/web_browser.mjs: the demo's
// Malmö round (its preliminary allocation published, `allocation::demo`) seen by anyone, by a
// representative of Malmö Innebandyklubb (its decisions and why, a comment) and by Malmö's
// staff (runs, a what-if, a comparison, a manual edit, a new round set up from the template),
// and an application to that new round, refused at its fields first, then sent and withdrawn.
// Match times (matchtider): the representative asks for one on the demo round (refused at its
// date first) and withdraws another; staff register the final allocation, allocate the match
// times (the run shows what the booking systems had booked) and register them; the match is
// then public with the allocation, and the representative sees the time it got.
// Every view is checked with axe-core.
//
// The argument carries web_browser.mjs's helpers: {base, scenario (its `allocation` part), newContext,
// signIn, check, axe, shot, out}.

export async function allocationViews({ base, scenario: sc, newContext, signIn, check, axe, shot, out }) {
  const started = Date.now();
  const logged = [];
  const watch = (p) => {
    p.on('console', (m) => { if (m.type() === 'error') logged.push(m.text()); });
    p.on('pageerror', (e) => logged.push(String(e)));
  };
  const focusedId = (p) => p.evaluate(() => document.activeElement?.id || '');
  const focusedClass = (p) => p.evaluate(() => document.activeElement?.className || '');
  out.allocation = {};

  // ---- anyone: the rounds, a round's principles and its published allocation ----
  const anonCtx = await newContext();
  const a = await anonCtx.newPage();
  watch(a);
  await a.goto(`${base}/`, { waitUntil: 'networkidle' });
  const nav = a.locator('#account').getByRole('link', { name: 'Träningstider' });
  await nav.click();
  await a.waitForURL(`${base}/allocation`);
  await a.locator('#rounds-summary').waitFor();
  check(await focusedId(a) === 'page-title', 'opening Träningstider moves focus to its heading');
  check(await nav.getAttribute('aria-current') === 'page', 'the header marks Träningstider as the current page');
  const listed = a.locator('table.rounds tr', { hasText: sc.round });
  check(await listed.count() === 1 && (await listed.innerText()).includes('Malmö') && (await listed.innerText()).includes('Preliminär fördelning'),
    'the rounds are listed with their municipality and status, signed out', await a.locator('#rounds').innerText());
  await axe(a, 'allocation rounds');
  await listed.getByRole('link', { name: sc.round }).click();
  await a.locator('#allocation-h').waitFor();
  check(await focusedId(a) === 'page-title', 'opening a round moves focus to its name');
  const roundUrl = a.url();
  const roundId = new URL(roundUrl).searchParams.get('round');
  out.allocation.roundId = roundId;
  const groups = await a.locator('.principles li[data-group]').allInnerTexts();
  check(groups.length === 5 && groups.some((g) => g.startsWith('Barn och unga') && /2\s000 poäng/.test(g)),
    'a round\'s principles name each priority group and what its weight is worth', groups.join(' | '));
  check(/andrahandsvalet 75\s%/.test(await a.locator('.principles').innerText()) && /högst 8 timmar/.test(await a.locator('.principles').innerText()),
    'the principles explain the rank decay and the cap in words');
  const tables = a.locator('table.allocation');
  const captions = await tables.locator('caption').allInnerTexts();
  const rows = await a.locator('table.allocation tbody tr[data-day]').count();
  check(captions.length >= 1 && captions.every((c) => !c.startsWith('lokal …')) && rows > 0,
    'the published allocation is a table per unit, named, with its sessions', `${captions.join(' | ')}: ${rows} rows`);
  const headers = await tables.first().locator('thead th').allInnerTexts();
  check(headers.join('|') === 'Dag och tid|Förening|Lag|Aktivitet' && await tables.first().locator('tbody th[scope="row"]').count() > 0,
    'the allocation tables have column and row headers', headers.join('|'));
  const days = await tables.first().locator('tbody tr[data-day]').evaluateAll((els) => els.map((e) => Number(e.dataset.day)));
  check(days.every((d, i) => i === 0 || days[i - 1] <= d), 'each unit\'s sessions are in weekday order', days.join(','));
  const csvHref = await a.getByRole('link', { name: /CSV/ }).getAttribute('href');
  const csv = await a.evaluate(async (href) => { const r = await fetch(href); return { status: r.status, text: await r.text() }; }, csvHref);
  check(csv.status === 200 && csv.text.startsWith('unitId,day,start,end,associationId,associationName,team,activity,date') && csv.text.trim().split('\n').length === rows + 1,
    'the allocation links to its CSV, with a row per session', `${csvHref}: ${csv.status}`);
  check(await a.locator('.sign-in-hint .sign-in a').count() === 1, 'signed out, a round offers representatives signing in');
  await a.evaluate(() => document.getElementById('allocation-h').scrollIntoView());
  await shot(a, 'allocation-round');
  await axe(a, 'allocation round');
  await a.getByRole('button', { name: 'English' }).click();
  await a.waitForFunction(() => document.documentElement.lang === 'en' && document.querySelector('#principles-h')?.textContent.includes('fördelningsprinciper'));
  check((await a.locator('#principles-h').innerText()) === 'Allocation principles (fördelningsprinciper)', 'the round in English keeps the Swedish term once');
  await axe(a, 'allocation round in English');
  await anonCtx.close();

  // ---- Malmö's staff: runs, a what-if, a comparison, a manual edit, a new round ----
  const staffCtx = await newContext();
  const s = await staffCtx.newPage();
  await s.goto(roundUrl);
  await s.locator('.sign-in-hint a').click();
  await signIn(s, sc.staff);
  watch(s);
  await s.waitForURL(roundUrl);
  const staff = s.locator('#staff');
  await staff.locator('table.runs tbody tr').first().waitFor();
  check((await s.locator('#staff-h').innerText()).includes('Malmö'), 'staff of the round\'s municipality see its administration');
  const published = staff.locator('table.runs tr', { hasText: 'Publicerad' });
  check(await published.count() === 1 && /8 av 8|\d+ av \d+/.test(await published.innerText()), 'the runs list shows the published run with its figures', await staff.locator('table.runs').innerText());
  await staff.locator('#run-detail .team-decisions').first().waitFor();
  check(await staff.locator('#run-detail .team-decisions').count() >= 2, 'staff see every association\'s decisions in the published run');
  // A what-if: the underrepresented gender weighs more.
  const runsBefore = await staff.locator('table.runs tbody tr').count();
  await staff.getByLabel('Vikt: Underrepresenterat kön').fill('3');
  await staff.getByRole('button', { name: 'Kör fördelningen' }).click();
  await s.locator('#staff .section-notice').waitFor();
  check(/tänk om/.test(await s.locator('#staff .section-notice').innerText()) && (await focusedClass(s)).includes('section-notice'),
    'a what-if run is made, named, and its result focused', await s.locator('#staff .section-notice').innerText());
  check(await staff.locator('table.runs tbody tr').count() === runsBefore + 1, 'the what-if run is listed beside the published one');
  const compare = staff.locator('table.compare');
  check(await compare.count() === 1 && (await compare.locator('caption').innerText()).includes('tänk om') && (await compare.innerText()).includes('Underrepresenterat kön: placerade'),
    'two runs\' figures are compared side by side, per group', await compare.innerText());
  await axe(s, 'allocation staff');
  await s.evaluate(() => document.getElementById('runs-h').scrollIntoView());
  await shot(s, 'allocation-staff');
  // A manual edit: the reason is required, then a new run with the session locked.
  const session = staff.locator('#run-detail .sessions > li').first();
  await session.getByRole('button', { name: /^Flytta …/ }).click();
  const editForm = session.locator('form.edit-form');
  check(await editForm.isVisible() && (await focusedId(s)).endsWith('-unit'), 'moving a session opens its form, focused on the unit');
  await editForm.getByRole('button', { name: 'Spara som ny körning' }).click();
  await editForm.locator('textarea[aria-invalid="true"]').waitFor();
  check(/Skriv varför/.test(await editForm.locator('[id$="-reason-error"]').innerText()) && (await focusedId(s)).endsWith('-reason'),
    'an edit without a reason is refused at its field, focused');
  await editForm.getByLabel('Skäl').fill('Flyttas efter samtal med föreningen.');
  await editForm.getByRole('button', { name: 'Spara som ny körning' }).click();
  await s.locator('#staff .section-notice', { hasText: 'ny körning' }).waitFor();
  await staff.locator('#run-detail .badge', { hasText: 'Låst' }).first().waitFor();
  check(await staff.locator('table.runs tbody tr').count() === runsBefore + 2, 'a manual edit makes a new run with the session locked');
  // A new round, set up from the template (the latest round's units, applications open now).
  await s.goto(`${base}/allocation`);
  await s.locator('details[data-panel="setup"] > summary').click();
  const setup = s.locator('#round-json');
  await s.waitForFunction(() => document.getElementById('round-json')?.value.includes('"units"'));
  const template = JSON.parse(await setup.inputValue());
  check(template.municipalityCode === '1280' && template.units.length > 0 && Date.parse(template.applicationsOpen) <= Date.now(),
    'a new round\'s template has the municipality\'s units and opens applications now');
  template.name = sc.newRound;
  await setup.fill(JSON.stringify({ ...template, gridMinutes: 45 }, null, 2));
  await s.getByRole('button', { name: 'Skapa omgången' }).click();
  await s.locator('.json-form [role="alert"]').waitFor();
  check(/gridMinutes/.test(await s.locator('.json-form [role="alert"]').innerText()) && await setup.getAttribute('aria-invalid') === 'true',
    'a round the registry refuses names the broken field', await s.locator('.json-form [role="alert"]').innerText());
  await setup.fill(JSON.stringify(template, null, 2));
  await s.getByRole('button', { name: 'Skapa omgången' }).click();
  await s.waitForURL((u) => u.searchParams.has('round') && u.searchParams.get('round') !== roundId);
  await s.locator('h1', { hasText: sc.newRound }).waitFor();
  check(/ansökan är öppen/.test(await s.locator('main .meta').first().innerText()), 'the new round is open for applications');
  out.allocation.newRoundId = new URL(s.url()).searchParams.get('round');
  await staffCtx.close();

  // ---- a representative: decisions and why, a comment; an application ----
  const repCtx = await newContext();
  const r = await repCtx.newPage();
  await r.goto(roundUrl);
  await r.locator('.sign-in-hint a').click();
  await signIn(r, sc.representative);
  watch(r);
  await r.waitForURL(roundUrl);
  const mine = r.locator('#mine');
  await mine.locator('.team-decisions').first().waitFor();
  const teams = await mine.locator('.team-decisions h4').allInnerTexts();
  check(teams.length > 0 && teams.every((x) => x.endsWith(`– ${sc.club}`)), 'a representative sees their own association\'s decisions, and only those', teams.join(' | '));
  const sessions = await mine.locator('.sessions > li').allInnerTexts();
  check(sessions.every((x) => /måndag|tisdag|onsdag|torsdag|fredag|lördag|söndag|ingen tid/.test(x)), 'each session says what it got: unit, day and time', sessions.join('\n'));
  const reasons = await mine.locator('.why-not li').allInnerTexts();
  check(reasons.length > 0 && reasons.every((x) => /^Alternativ \d+, .+: .+/.test(x)), 'each better alternative not given has its reason, in Swedish', reasons.join('\n'));
  check(await r.locator('#staff').count() === 0, 'a representative does not see the staff\'s administration');
  // A comment on the preliminary allocation: an empty one first.
  const firstTeam = mine.locator('.team-decisions').first();
  await firstTeam.getByRole('button', { name: 'Skicka kommentaren' }).click();
  await firstTeam.locator('textarea[aria-invalid="true"]').waitFor();
  check((await focusedId(r)).endsWith('-comment'), 'an empty comment is refused at its field, focused');
  await firstTeam.getByLabel('Kommentar till kommunen inför fördelningsmötet').fill(sc.comment);
  await firstTeam.getByRole('button', { name: 'Skicka kommentaren' }).click();
  await r.locator('#mine .section-notice').waitFor();
  check((await focusedClass(r)).includes('section-notice') && (await mine.locator('.comments').first().innerText()).includes(sc.comment),
    'a comment is sent, confirmed with focus, and listed');
  await r.evaluate(() => document.getElementById('mine-h').scrollIntoView());
  await shot(r, 'allocation-decisions');
  await axe(r, 'allocation representative');
  await r.getByRole('button', { name: 'English' }).click();
  await r.waitForFunction(() => document.documentElement.lang === 'en' && document.getElementById('mine-h')?.textContent === 'Your applications and times');
  const english = await mine.locator('.why-not li').allInnerTexts();
  check(english.length === reasons.length && english.every((x) => /^Alternative \d+, .+: .+/.test(x)) && english.join() !== reasons.join(),
    'the reasons are given in the page\'s language', english.join('\n'));
  await r.getByRole('button', { name: 'Svenska' }).click();
  await r.waitForFunction(() => document.documentElement.lang === 'sv');

  // Match times: a date outside the season first, then a weekday daytime match (the demo's
  // training times are evenings; its halls open at 07:00 on weekdays), then one withdrawn.
  const matchNote = sc.matchNote || 'Hemmamatch mot Webbtestets IK';
  const season = await r.evaluate(async (id) => (await fetch(`/v1/allocation/rounds/${id}`)).json(), roundId);
  const plusDays = (iso, n) => new Date(Date.parse(`${iso}T12:00:00Z`) + n * 86400000).toISOString().slice(0, 10);
  // Tuesday to Thursday of the season's first week, avoiding the fixed public holidays.
  const matchDate = [1, 2, 3].map((n) => plusDays(season.seasonStart, n)).find((d) => !['01-01', '01-06', '05-01', '06-06', '12-24', '12-25', '12-26', '12-31'].includes(d.slice(5)));
  const teamMatches = mine.locator('.team-matches').first();
  await teamMatches.waitFor();
  const matchTeam = (await teamMatches.locator('h4').innerText()).split(' – ')[0];
  check(await mine.locator('#my-matches-h').innerText() === 'Matchtider' && await mine.locator('.team-matches').count() === teams.length,
    'a representative has match times per team with a standing application', await mine.locator('#my-matches').innerText());
  await teamMatches.locator('summary', { hasText: `Begär en matchtid för ${matchTeam}` }).click();
  const mform = teamMatches.locator('form.match-form');
  const mid = (await mform.getAttribute('id')).replace(/-form$/, '');
  await mform.getByLabel('Matchens längd (minuter)').fill('120');
  await mform.getByLabel('Om matchen').fill(matchNote);
  await mform.locator(`#${mid}-a0-date`).fill(plusDays(season.seasonEnd, 7));
  await mform.locator(`#${mid}-a0-from`).fill('09:00');
  await mform.locator(`#${mid}-a0-to`).fill('15:00');
  await mform.locator(`#${mid}-a0-u0`).selectOption({ index: 1 });
  await mform.locator(`#${mid}-a0-u1`).selectOption({ index: 2 });
  await mform.getByRole('button', { name: 'Begär matchtiden' }).click();
  await r.waitForSelector(`#${mid}-a0-date[aria-invalid="true"]`);
  check(/inom säsongen/.test(await r.locator(`#${mid}-a0-date-error`).innerText()) && await focusedId(r) === `${mid}-a0-date`,
    'a match date outside the season is refused at its field, in Swedish, focused', await r.locator(`#${mid}-a0-date-error`).innerText());
  await axe(r, 'allocation match request with errors');
  await mform.locator(`#${mid}-a0-date`).fill(matchDate);
  await mform.getByRole('button', { name: 'Begär matchtiden' }).click();
  await r.locator('#mine .section-notice', { hasText: 'Matchtiden för' }).waitFor();
  check((await focusedClass(r)).includes('section-notice'), 'a match time is requested, confirmed with focus');
  const requested = mine.locator('.team-matches').first().locator('.match-list > li', { hasText: matchNote });
  check(await requested.count() === 1 && (await requested.innerText()).includes('Begärd'), 'the match request is listed as requested', await mine.locator('#my-matches').innerText());
  out.allocation.matchId = await requested.getAttribute('data-match');
  // A second request, withdrawn.
  const again = mine.locator('.team-matches').first();
  await again.locator('summary').click();
  await again.locator(`#${mid}-note`).fill('Reservtid');
  await again.locator(`#${mid}-a0-date`).fill(plusDays(matchDate, 7));
  await again.locator(`#${mid}-a0-from`).fill('09:00');
  await again.locator(`#${mid}-a0-to`).fill('15:00');
  await again.locator(`#${mid}-a0-u0`).selectOption({ index: 1 });
  await again.getByRole('button', { name: 'Begär matchtiden' }).click();
  await r.locator('#mine .section-notice', { hasText: 'Matchtiden för' }).waitFor();
  const spare = mine.locator('.team-matches').first().locator('.match-list > li', { hasText: 'Reservtid' });
  await spare.getByRole('button', { name: /^Återkalla/ }).click();
  await spare.getByRole('button', { name: 'Ja, återkalla' }).click();
  await r.locator('#mine .section-notice', { hasText: 'återkallad' }).waitFor();
  check((await mine.locator('.team-matches').first().locator('.match-list > li', { hasText: 'Reservtid' }).getAttribute('data-status')) === 'withdrawn',
    'a match request is withdrawn');
  await axe(r, 'allocation match requests');

  // The open round: bad input first; the registry's errors at their fields.
  await r.goto(`${base}/allocation?round=${out.allocation.newRoundId}`);
  const form = r.locator('#app-form');
  await form.waitFor();
  const clubs = await form.getByLabel('Förening', { exact: true }).locator('option').allInnerTexts();
  check(clubs.includes(sc.club), 'the form offers the associations the person represents that are approved in the municipality', clubs.join(', '));
  await form.getByLabel('Förening', { exact: true }).selectOption({ label: sc.club });
  await form.getByLabel('Lagets namn').fill(sc.team);
  await form.getByLabel('Aktivitet', { exact: true }).selectOption('floorball');
  await form.getByLabel('Yngsta ålder').fill('11');
  await form.getByLabel('Äldsta ålder').fill('12');
  await form.getByLabel('Kön', { exact: true }).selectOption('female');
  await form.getByLabel('Antal deltagare').fill('0');
  await form.locator('#app-w0-duration').fill('90');
  await form.locator('#app-w0-a0-day').selectOption('1');
  await form.locator('#app-w0-a0-from').fill('17:00');
  await form.locator('#app-w0-a0-to').fill('18:00');
  await form.locator('#app-w0-a0-units input').first().check();
  await form.getByRole('button', { name: 'Lägg till ett alternativ för önskad tid 1' }).click();
  check(await focusedId(r) === 'app-w0-a1-day', 'adding an alternative moves focus to its first field');
  check(await form.locator('#app-w0-a0-to').inputValue() === '18:00' && await form.locator('#app-w0-a0-units input').first().isChecked(), 'adding an alternative keeps what was filled in');
  await form.locator('#app-w0-a1-day').selectOption('3');
  await form.locator('#app-w0-a1-from').fill('17:00');
  await form.locator('#app-w0-a1-to').fill('20:00');
  await form.getByRole('button', { name: 'Skicka ansökan' }).click();
  await r.waitForSelector('#app-team-participants[aria-invalid="true"]');
  const invalid = await form.locator('[aria-invalid="true"]').evaluateAll((els) => els.map((e) => e.id));
  check(['app-team-participants', 'app-w0-a0-to'].every((id) => invalid.includes(id)), 'a bad application shows the registry\'s errors at each field', invalid.join(', '));
  check((await r.locator('#app-w0-a1-units-error').innerText()).includes('Välj minst en lokal'), 'an alternative without units is refused at its units', await r.locator('#app-w0-a1-units-error').innerText());
  check(/minst ett helt pass/.test(await r.locator('#app-w0-a0-to-error').innerText()), 'each field says what is wrong, in Swedish');
  check(await focusedId(r) === 'app-team-participants', 'focus moves to the first field in error');
  await r.waitForFunction(() => /fel/.test(document.getElementById('announcer')?.textContent || ''));
  await shot(r, 'allocation-application-errors');
  await axe(r, 'allocation application with errors');
  await form.getByLabel('Antal deltagare').fill('14');
  await form.locator('#app-w0-a0-to').fill('20:00');
  await form.locator('#app-w0-a1-units input').first().check();
  await form.getByRole('button', { name: 'Skicka ansökan' }).click();
  await r.locator('#mine .section-notice').waitFor();
  check((await r.locator('#mine .section-notice').innerText()).includes(sc.team) && (await focusedClass(r)).includes('section-notice'), 'an application is sent, confirmed with focus');
  const app = r.locator('table.apps tr', { hasText: sc.team });
  check(await app.count() === 1 && (await app.innerText()).includes('Inskickad') && (await app.innerText()).includes('onsdag 17:00–20:00'),
    'the application is listed with its wanted times', await app.innerText());
  out.allocation.applicationId = await app.getAttribute('data-application');
  await app.getByRole('button', { name: /^Återkalla/ }).click();
  await app.getByRole('button', { name: 'Ja, återkalla' }).click();
  await r.locator('#mine .section-notice', { hasText: 'återkallad' }).waitFor();
  check((await r.locator(`table.apps tr[data-application="${out.allocation.applicationId}"]`).innerText()).includes('Återkallad'), 'an application is withdrawn while the round is open');
  await axe(r, 'allocation applications');

  // ---- match times: staff register the final allocation, allocate and register the matches ----
  const finalCtx = await newContext();
  const f = await finalCtx.newPage();
  await f.goto(roundUrl);
  await f.locator('.sign-in-hint a').click();
  await signIn(f, sc.staff);
  watch(f);
  await f.waitForURL(roundUrl);
  const fstaff = f.locator('#staff');
  await fstaff.locator('#run-detail .vendor-checks').waitFor();
  check(/bokningssystem/.test(await fstaff.locator('#run-detail .vendor-checks').innerText()), 'a run tells what the units\' booking systems had booked when it was made',
    await fstaff.locator('#run-detail .vendor-checks').innerText());
  check(await fstaff.locator('#staff-matches table.match-requests tr', { hasText: matchNote }).count() === 1 && await fstaff.locator('#match-run-form').count() === 0,
    'staff see the match requests, and allocate them only once the round is final');
  const publishedRow = fstaff.locator('table.runs tr', { hasText: 'Publicerad' });
  await publishedRow.getByRole('button', { name: /^Registrera som slutlig/ }).click();
  await publishedRow.getByRole('button', { name: 'Ja, registrera' }).click();
  await f.locator('#staff .section-notice', { hasText: 'slutlig' }).waitFor();
  await fstaff.getByRole('button', { name: 'Fördela matchtiderna' }).click();
  await f.locator('#staff .section-notice', { hasText: 'matcher placerade' }).waitFor();
  await fstaff.locator('#match-run-detail .match-run').waitFor();
  check(await fstaff.locator('table.match-runs tbody tr').count() === 1 && await fstaff.locator('table.runs tbody tr').count() === runsBefore + 2,
    'the match run is listed apart from the training runs', await fstaff.locator('table.match-runs').innerText());
  const decision = fstaff.locator(`#match-run-detail article[data-match="${out.allocation.matchId}"]`);
  check(await decision.count() === 1 && await decision.locator('li.placed').count() === 1 && (await decision.innerText()).includes(matchNote),
    'the match run places the requested match', await fstaff.locator('#match-run-detail').innerText());
  check(await fstaff.locator('#match-run-detail .vendor-checks').count() === 1, 'a match run tells what the booking systems had booked on its dates');
  await axe(f, 'allocation match run');
  await fstaff.getByRole('button', { name: /^Fastställ/ }).click();
  await fstaff.getByRole('button', { name: 'Ja, fastställ' }).click();
  await f.locator('#staff .section-notice', { hasText: 'fastställda' }).waitFor();
  const decidedRow = fstaff.locator(`table.match-requests tr[data-match="${out.allocation.matchId}"]`);
  check((await decidedRow.getAttribute('data-status')) === 'allocated' && (await decidedRow.innerText()).includes('Fördelad'),
    'registering the match run allocates the match', await decidedRow.innerText());
  await axe(f, 'allocation match times, staff');
  await finalCtx.close();

  // Anyone: the allocated match, by date, with the allocation (and in its CSV).
  const publicCtx = await newContext();
  const pub = await publicCtx.newPage();
  watch(pub);
  await pub.goto(roundUrl);
  await pub.locator('#matches-h').waitFor();
  const matchRow = pub.locator('table.matches tbody tr', { hasText: matchNote });
  check(await matchRow.count() === 1 && await matchRow.getAttribute('data-date') === matchDate && (await matchRow.innerText()).includes(matchTeam),
    'the allocated match times are public with the allocation, by date', await pub.locator('#matches').innerText());
  const matchCsv = await pub.evaluate(async (id) => (await fetch(`/v1/allocation/rounds/${id}/allocation.csv`)).text(), roundId);
  check(matchCsv.split('\n').some((l) => l.trim().endsWith(`,${matchDate}`)), 'the CSV has the match with its date');
  await axe(pub, 'allocation round with matches');
  await publicCtx.close();

  // The representative sees the time the match got.
  await r.goto(roundUrl);
  const got = r.locator(`#mine .match-list > li[data-match="${out.allocation.matchId}"]`);
  await got.waitFor();
  check((await got.getAttribute('data-status')) === 'allocated' && /Fick: .+, \S+ \d+ \S+ \d{4} \d\d:\d\d–\d\d:\d\d/.test(await got.innerText()),
    'the representative sees the match time allocated: unit, date and time', await got.innerText());
  check(await got.getByRole('button', { name: /^Återkalla/ }).count() === 0, 'an allocated match time is not withdrawn by the representative');
  await axe(r, 'allocation match times, representative');

  const expected = logged.filter((e) => e.includes('status of 400'));
  const unexpected = logged.filter((e) => !expected.includes(e));
  check(unexpected.length === 0, 'no errors in the browser console of Träningstider but the refused inputs\' 400', logged.join('\n'));
  out.allocation.ms = Date.now() - started;
  await repCtx.close();
}
