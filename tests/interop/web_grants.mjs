// Föreningsbidrag (/grants) in the browser, for tests/interop/web_browser.mjs: the demo's three
// Malmö programmes (`grants::demo`, open for applications) seen by anyone, with their rules in
// words and the decided grants; a representative of Malmö Innebandyklubb starts an application
// to the activity grant (a wrong bankgiro check digit refused at its field first), uploads an
// attendance list and sees its report, uploads a malformed one and sees every problem by line
// and column, attaches a file and sends it; Malmö's staff find it in their inbox, ask for
// completion, which the representative answers (another account, sent again), assess it and
// decide it (a decision without its reference refused at the field first); staff prepare a
// payment order of it, are refused attesting their own order (a second person attests), and
// cancel it; the decision is then public, in the table and the CSV. Every view is checked with
// axe-core.
//
// The argument carries web_browser.mjs's helpers: {base, scenario (its `grants` part), newContext,
// signIn, check, axe, shot, out}.

// A personal identity number `YYYYMMDD-NNNC` with its Luhn check digit (or a wrong one).
function pin(birth, serial, wrong = false) {
  const nine = birth.slice(2) + serial;
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    let d = Number(nine[i]) * (i % 2 === 0 ? 2 : 1);
    if (d > 9) d -= 9;
    sum += d;
  }
  const c = (10 - (sum % 10)) % 10;
  return `${birth}-${serial}${wrong ? (c + 1) % 10 : c}`;
}

// A Stockholm date `n` days from today.
function stockholmDay(n) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Stockholm', year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(new Date()).map((x) => [x.type, x.value]));
  return new Date(Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day) + n)).toISOString().slice(0, 10);
}

// Non-breaking and narrow spaces (Swedish number grouping) as plain ones.
const plain = (s) => s.replace(/[\u00a0\u202f]/g, ' ');

export async function grantsViews({ base, scenario: sc, newContext, signIn, check, axe, shot, out }) {
  const started = Date.now();
  const logged = [];
  const watch = (p) => {
    p.on('console', (m) => { if (m.type() === 'error') logged.push(m.text()); });
    p.on('pageerror', (e) => logged.push(String(e)));
  };
  const focusedId = (p) => p.evaluate(() => document.activeElement?.id || '');
  const focusedClass = (p) => p.evaluate(() => document.activeElement?.className || '');
  const text = async (loc) => plain(await loc.innerText());
  out.grants = {};

  // ---- anyone: the programmes with their rules, and the decided grants ----
  const anonCtx = await newContext();
  const a = await anonCtx.newPage();
  watch(a);
  await a.goto(`${base}/`, { waitUntil: 'networkidle' });
  const nav = a.locator('#account').getByRole('link', { name: 'Föreningsbidrag' });
  await nav.click();
  await a.waitForURL(`${base}/grants`);
  await a.locator('#programmes-summary').waitFor();
  check(await focusedId(a) === 'page-title', 'opening Föreningsbidrag moves focus to its heading');
  check(await nav.getAttribute('aria-current') === 'page', 'the header marks Föreningsbidrag as the current page');
  const programme = (name) => a.locator('article.programme', { has: a.getByRole('heading', { name, exact: true }) });
  const activity = await text(programme(sc.activity));
  check(['Aktivitetsstöd', 'Deltagare 7–25 år', 'Minst 3 deltagare i åldersspannet', 'minst 60 minuter', 'ledare som är minst 13 år', '8,00 kr per deltagartillfälle',
    'Budget', '2 000 000,00 kr', 'Beviljat', 'Utbetalt', 'Kvar att besluta om', 'Öppen för ansökningar till'].every((x) => activity.includes(x)),
  'an activity programme shows its kind, period, budget and its rules in words: ages, participants, minutes, leader, amount', activity);
  const basic = await text(programme(sc.basic));
  check(['Grundbidrag', '7–12 år: 150,00 kr per medlem', '13–20 år: 150,00 kr per medlem', 'minst 10 medlemmar', 'Högst 50 000,00 kr per förening'].every((x) => basic.includes(x)),
    'a basic grant shows its amounts per age band, its minimum and its cap', basic);
  const project = await text(programme(sc.project));
  check(['Högst 50 000,00 kr per ansökan', 'Minst 1 bilaga krävs'].every((x) => project.includes(x)), 'an application grant shows its cap and the attachments required', project);
  const csvHref = await a.getByRole('link', { name: 'Hämta besluten som CSV' }).getAttribute('href');
  const csv = await a.evaluate(async (href) => { const r = await fetch(href); return { status: r.status, type: r.headers.get('content-type') }; }, csvHref);
  check(csv.status === 200 && csv.type.startsWith('text/csv'), 'the decided grants link to their CSV', `${csvHref}: ${JSON.stringify(csv)}`);
  check(await a.locator('.sign-in-hint .sign-in a').count() === 1, 'signed out, the grants offer representatives and staff signing in');
  await shot(a, 'grants-programmes');
  await axe(a, 'grants programmes');
  await a.getByRole('button', { name: 'English' }).click();
  await a.waitForFunction(() => document.documentElement.lang === 'en' && document.querySelector('h1')?.textContent === 'Grants');
  check((await text(programme(sc.activity))).includes('Participants aged 7–25'), 'the programmes in English', await text(programme(sc.activity)));
  await axe(a, 'grants in English');
  await anonCtx.close();

  // ---- a representative: an application to the activity grant ----
  const repCtx = await newContext();
  const r = await repCtx.newPage();
  await r.goto(`${base}/grants`);
  await r.locator('.sign-in-hint a').click();
  await signIn(r, sc.representative);
  watch(r);
  await r.waitForURL(`${base}/grants`);
  const offer = r.locator('article.programme', { has: r.getByRole('heading', { name: sc.activity, exact: true }) });
  await offer.locator('summary', { hasText: `Ansök om ${sc.activity}` }).click();
  const form = offer.locator('form.grant-form');
  const P = (await form.getAttribute('id')).replace(/-form$/, '');
  const clubs = await form.getByLabel('Förening', { exact: true }).locator('option').allInnerTexts();
  check(clubs.includes(sc.club), 'the application form offers the associations the person represents that are approved in the municipality', clubs.join(', '));
  await form.getByLabel('Förening', { exact: true }).selectOption({ label: sc.club });
  await form.getByLabel('Slags konto').selectOption('bankgiro');
  await form.getByLabel('Bankgironummer').fill(sc.badBankgiro);
  await form.getByRole('button', { name: 'Spara utkastet' }).click();
  await r.waitForSelector(`#${P}-number[aria-invalid="true"]`);
  check(/Kontrollsiffran/.test(await r.locator(`#${P}-number-error`).innerText()) && await focusedId(r) === `${P}-number`,
    'a wrong bankgiro check digit is refused at its field, in Swedish, focused', await r.locator(`#${P}-number-error`).innerText());
  await axe(r, 'grants application form with errors');
  await form.getByLabel('Bankgironummer').fill(sc.bankgiro);
  await form.getByRole('button', { name: 'Spara utkastet' }).click();
  await r.waitForURL((u) => u.searchParams.has('application'));
  await r.locator('.section-notice').waitFor();
  const appId = new URL(r.url()).searchParams.get('application');
  out.grants.applicationId = appId;
  check((await focusedClass(r)).includes('section-notice') && (await text(r.locator('#facts'))).includes('Bankgiro 5050-1055') && (await text(r.locator('main .meta'))).includes('Utkast'),
    'an application is started as a draft with its account, confirmed with focus');

  // An attendance list: two occasions, one too short, and a child too young in the first.
  const [d1, d2] = [stockholmDay(-7), stockholmDay(-6)];
  const row = (d, from, to, role, p) => `${d};${from};${to};${sc.group};floorball;${role};${p};Namn`;
  const good = [
    'datum;starttid;sluttid;grupp;aktivitet;roll;personnummer;namn',
    row(d1, '17:00', '18:30', 'ledare', pin('19900101', '001')),
    row(d1, '17:00', '18:30', 'deltagare', pin('20140315', '012')),
    row(d1, '17:00', '18:30', 'deltagare', pin('20130702', '023')),
    row(d1, '17:00', '18:30', 'deltagare', pin('20150520', '034')),
    row(d1, '17:00', '18:30', 'deltagare', pin('20210610', '045')),
    row(d2, '17:00', '17:45', 'ledare', pin('19900101', '001')),
    row(d2, '17:00', '17:45', 'deltagare', pin('20140315', '012')),
    row(d2, '17:00', '17:45', 'deltagare', pin('20130702', '023')),
    row(d2, '17:00', '17:45', 'deltagare', pin('20150520', '034')),
  ].join('\r\n');
  await r.locator('#list-file').setInputFiles({ name: 'narvaro.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
  await r.getByRole('button', { name: 'Ladda upp listan' }).click();
  await r.locator('#lists .section-notice').waitFor();
  const report = r.locator('article.attendance-report').first();
  const figure = async (name) => plain(await report.locator(`dd[data-figure="${name}"]`).innerText());
  check(await figure('rows') === '9' && await figure('occasions') === '1 av 2 räknas' && await figure('participant-occasions') === '3' && await figure('amount') === '24,00 kr',
    'an attendance list\'s report counts the occasions and participant-occasions that count, and the amount', await text(report));
  check((await text(report.locator('li[data-reason="tooShort"]'))) === 'kortare än 60 minuter: 1' && (await text(report.locator('.row-reasons li[data-reason="outsideAge"]'))).endsWith(': 1'),
    'the report counts the reasons occasions and rows did not count', await text(report));
  check((await text(report.locator('.rows-not-counted li[data-line="6"]'))) === 'Rad 6: deltagaren är utanför åldersspannet (7–25 år)',
    'the report lists the first rows not counted by line, with the reason', await text(report));
  check((await text(r.locator('#facts'))).includes('24,00 kr (sammankomster som räknas: 1; deltagartillfällen: 3; närvarolistor: 1)'), 'the application\'s computed grant follows its lists');
  await r.evaluate(() => document.getElementById('lists').scrollIntoView());
  await shot(r, 'grants-attendance-report');
  await axe(r, 'grants attendance report');

  // A malformed list: refused whole, every problem by line and column, focused.
  const bad = [
    'datum;starttid;sluttid;grupp;roll;personnummer',
    `${d1};19:00;20:30;${sc.group};ledare;${pin('19900101', '001', true)}`,
    `${d1.slice(0, 5)}13-45;19:00;20:30;${sc.group};deltagare;${pin('20140315', '012')}`,
  ].join('\n');
  await r.locator('#list-file').setInputFiles({ name: 'fel.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
  await r.getByRole('button', { name: 'Ladda upp listan' }).click();
  await r.locator('.list-problems').waitFor();
  const problems = (await r.locator('.list-problems li').allInnerTexts()).map(plain);
  check(problems.includes('Rad 2, kolumnen personnummer: Kontrollsiffran i personnumret stämmer inte.') && problems.includes('Rad 3, kolumnen datum: Skriv datumet som ÅÅÅÅ-MM-DD.'),
    'a malformed list is refused with every problem by line and column, in Swedish', problems.join('\n'));
  check((await focusedClass(r)).includes('list-problems') && await r.locator('#list-file').getAttribute('aria-invalid') === 'true',
    'the refused list\'s problems take focus, and the file field is marked');
  check(await r.locator('article.attendance-report').count() === 1, 'nothing of a refused list is counted');
  await shot(r, 'grants-attendance-errors');
  await axe(r, 'grants attendance list with errors');

  // An attachment, then sending.
  await r.locator('#att-file').setInputFiles({ name: 'verksamhetsplan.txt', mimeType: 'text/plain', buffer: Buffer.from('Verksamhetsplan för F12: två träningar i veckan.\n') });
  await r.getByRole('button', { name: 'Ladda upp', exact: true }).click();
  await r.locator('#attachments .section-notice').waitFor();
  check(await r.locator('#attachments .attachment-list a', { hasText: 'verksamhetsplan.txt' }).count() === 1, 'an attachment is uploaded and listed');
  await r.getByRole('button', { name: 'Skicka in ansökan' }).click();
  await r.locator('.section-notice', { hasText: 'inskickad' }).waitFor();
  check((await text(r.locator('main .meta'))).includes('Inskickad') && await r.locator('#edit-form').count() === 0 && await r.locator('#list-file').count() === 0,
    'an application is sent, and no longer changed');
  await axe(r, 'grants application sent');

  // ---- Malmö's staff: the inbox, a completion request ----
  const staffCtx = await newContext();
  const s = await staffCtx.newPage();
  await s.goto(`${base}/grants`);
  await s.locator('.sign-in-hint a').click();
  await signIn(s, sc.staff);
  watch(s);
  await s.waitForURL(`${base}/grants`);
  const inboxRow = s.locator(`#inbox tr[data-application="${appId}"]`);
  await inboxRow.waitFor();
  const inboxText = await text(inboxRow);
  check((await s.locator('#inbox-h').innerText()).includes('Malmö') && inboxText.includes(sc.club) && inboxText.includes('Inskickad') && inboxText.includes('24,00 kr'),
    'staff see the sent application in their municipality\'s inbox', inboxText);
  await axe(s, 'grants inbox');
  await inboxRow.getByRole('link', { name: sc.club }).click();
  await s.waitForURL((u) => u.searchParams.get('application') === appId);
  await s.locator('#handling').waitFor();
  const attachment = s.locator('#attachments a', { hasText: 'verksamhetsplan.txt' });
  const download = await s.evaluate(async (href) => { const x = await fetch(href); return { status: x.status, text: await x.text(), disposition: x.headers.get('content-disposition') }; }, await attachment.getAttribute('href'));
  check(download.status === 200 && download.text.startsWith('Verksamhetsplan') && download.disposition.startsWith('attachment'), 'staff download the application\'s attachments', JSON.stringify(download));
  check(await s.locator('article.attendance-report').count() === 1, 'staff see the attendance lists\' reports');
  await s.getByLabel('Vad föreningen behöver komplettera').fill(sc.completion);
  await s.getByRole('button', { name: 'Skicka begäran' }).click();
  await s.locator('#handling .section-notice').waitFor();
  check((await text(s.locator('main .meta'))).includes('Behöver kompletteras'), 'staff ask for completion');

  // The representative answers: another account, sent again.
  await r.reload();
  await r.locator('.completion-asked').waitFor();
  check((await r.locator('.completion-asked').innerText()).includes(sc.completion), 'the representative sees what to complete');
  await r.locator('#edit-form').getByLabel('Slags konto').selectOption('plusgiro');
  await r.locator('#edit-form').getByLabel('Plusgironummer').fill(sc.plusgiro);
  await r.getByRole('button', { name: 'Spara ändringarna' }).click();
  await r.locator('#edit .section-notice').waitFor();
  check((await text(r.locator('#facts'))).includes('Plusgiro 90 01 22-3'), 'a completion request is answered by changing the application', await text(r.locator('#facts')));
  await r.getByRole('button', { name: 'Skicka in igen' }).click();
  await r.locator('.section-notice', { hasText: 'inskickad' }).waitFor();
  check((await text(r.locator('main .meta'))).includes('Inskickad'), 'a completed application is sent again');

  // ---- staff: assessment and decision ----
  await s.reload();
  await s.locator('#gd').waitFor();
  await s.getByLabel('Handläggarens bedömning').fill('Närvarolistan visar en räknad sammankomst. Föreslår det beräknade beloppet.');
  await s.getByRole('button', { name: 'Spara bedömningen' }).click();
  await s.locator('#handling .section-notice').waitFor();
  check((await text(s.locator('#facts'))).includes('Föreslaget belopp: 24,00 kr'), 'staff record an assessment with a proposed amount');
  const decision = s.locator('#gd');
  await decision.getByLabel('Beviljat', { exact: true }).check();
  check(plain(await decision.getByLabel('Beviljat belopp (kronor)').inputValue()) === '24', 'the decision proposes the assessed amount, in kronor');
  await decision.getByRole('button', { name: 'Registrera beslutet' }).click();
  await s.waitForSelector('#gd-reference[aria-invalid="true"]');
  check(await focusedId(s) === 'gd-reference' && /referensen/.test(await s.locator('#gd-reference-error').innerText()),
    'a decision without its reference is refused at the field, focused', await s.locator('#gd-reference-error').innerText());
  await axe(s, 'grants decision with errors');
  await decision.getByLabel('Referens').fill(sc.reference);
  await decision.getByRole('button', { name: 'Registrera beslutet' }).click();
  await s.locator('#handling .section-notice', { hasText: 'Beslutet' }).waitFor();
  check(plain(await s.locator('#handling .section-notice').innerText()).includes('Beviljat 24,00 kr') && (await text(s.locator('main .meta'))).includes('Beviljad'),
    'staff decide the application: approved, 24,00 kr', await s.locator('#handling .section-notice').innerText());
  check((await text(s.locator('#facts'))).includes(`Delegationsbeslut, ${sc.reference}`), 'the decision names its authority and reference');
  await s.evaluate(() => document.getElementById('facts').scrollIntoView());
  await shot(s, 'grants-staff-application');
  await axe(s, 'grants staff application');

  // ---- staff: a payment order, which its preparer may not attest ----
  await s.goto(`${base}/grants?view=payments`);
  const pay = s.locator(`#po-apps li[data-application="${appId}"]`);
  await pay.waitFor();
  await pay.getByRole('checkbox').check();
  await s.getByLabel('Betalarens namn').fill(sc.debtor.name);
  await s.getByLabel('Kommunens organisationsnummer').fill(sc.debtor.orgNumber);
  await s.locator('#po-account').getByLabel('Slags konto').selectOption('bankgiro');
  await s.locator('#po-account').getByLabel('Bankgironummer').fill(sc.debtor.bankgiro);
  await s.getByRole('button', { name: 'Förbered ordern' }).click();
  await s.locator('#orders .section-notice').waitFor();
  const order = s.locator('article.order[data-status="prepared"]').first();
  check((await text(order)).includes(sc.club) && (await text(order)).includes('24,00 kr') && (await text(order)).includes('Plusgiro 90 01 22-3'),
    'staff prepare a payment order of the approved application, paid to its account', await text(order));
  out.grants.orderId = await order.getAttribute('data-order');
  await order.getByRole('button', { name: /^Attestera/ }).click();
  await order.locator('.order-problem [role="alert"]').waitFor();
  check(/En annan handläggare ska attestera den/.test(await order.locator('.order-problem').innerText()) && (await focusedClass(s)).includes('notice'),
    'the person who prepared a payment order is refused attesting it, and told why', await order.locator('.order-problem').innerText());
  await shot(s, 'grants-payment-order');
  await axe(s, 'grants payment orders');
  await order.getByRole('button', { name: /^Avbryt ordern/ }).click();
  await order.getByRole('button', { name: 'Ja, avbryt' }).click();
  await s.locator('#orders .section-notice', { hasText: 'avbruten' }).waitFor();
  check(await s.locator(`article.order[data-order="${out.grants.orderId}"]`).getAttribute('data-status') === 'cancelled'
    && await s.locator(`#po-apps li[data-application="${appId}"]`).count() === 1,
  'a prepared payment order is cancelled, and its application may be ordered again');
  await staffCtx.close();

  // ---- anyone: the decision is public, in the table and the CSV ----
  const pubCtx = await newContext();
  const pub = await pubCtx.newPage();
  watch(pub);
  await pub.goto(`${base}/grants?municipality=1280`);
  const decided = pub.locator(`#decisions tr[data-application="${appId}"]`);
  await decided.waitFor();
  const decidedText = await text(decided);
  check(decidedText.includes(sc.club) && decidedText.includes('Beviljat') && decidedText.includes('24,00 kr') && decidedText.includes(`Delegationsbeslut, ${sc.reference}`),
    'the decided grant is public: association, outcome, amount, authority and reference', decidedText);
  const decidedCsv = await pub.evaluate(async (href) => (await fetch(href)).text(), await pub.getByRole('link', { name: 'Hämta besluten som CSV' }).getAttribute('href'));
  check(decidedCsv.includes(sc.club) && !decidedCsv.includes('90 01 22') && !decidedCsv.includes('9001223'), 'the CSV has the decision, and no account');
  await axe(pub, 'grants decisions');
  await pubCtx.close();

  // The representative sees it approved.
  await r.goto(`${base}/grants`);
  const mine = r.locator(`#mine tr[data-application="${appId}"]`);
  await mine.waitFor();
  check((await text(mine)).includes('Beviljad') && (await text(mine)).includes('Beviljat 24,00 kr'), 'the representative sees the application approved, with the amount', await text(mine));
  await axe(r, 'grants representative');
  await mine.getByRole('link').click();
  await r.waitForURL((u) => u.searchParams.get('application') === appId);
  await r.locator('#facts').waitFor();
  await r.getByRole('button', { name: 'English' }).click();
  await r.waitForFunction(() => document.documentElement.lang === 'en' && document.getElementById('facts-h')?.textContent === 'Details');
  const english = await text(r.locator('#facts'));
  check(english.includes('Approved SEK 24.00') && english.includes('Delegated decision, Delegationsordning 4.2') && (await text(r.locator('#lists'))).includes('Line 6: the participant is outside the age range (7–25)'),
    'an application in English: its decision and its attendance report', english);
  await axe(r, 'grants application in English');

  const expected = logged.filter((e) => e.includes('status of 400') || e.includes('status of 403'));
  const unexpected = logged.filter((e) => !expected.includes(e));
  check(unexpected.length === 0, 'no errors in the browser console of Föreningsbidrag but the refused inputs\' 400 and the refused attestation\'s 403', logged.join('\n'));
  out.grants.ms = Date.now() - started;
  await repCtx.close();
}
