// Föreningsbidrag (/grants): grants to associations (docs/grants.md). Everyone sees the
// programmes with their rules in words and their budgets, and the decided grants (with the
// CSV). A signed-in representative starts applications for their associations, gives the
// account to pay to, uploads attachments and attendance lists (each list's report: what
// counted and why not), sends, withdraws and answers a completion request. The municipality's
// staff have the inbox, one application with everything, completion requests, the assessment
// and the decision, and payment orders (prepared by one person, attested by another, and the
// pain.001 file). Loaded by app.js only for this view, with its texts (so that the first
// render of the search page does not grow); everything goes through the registry's REST API
// (docs/api.md, "Grants").

import { t, getLang } from '/web/i18n.js';
import {
  view, h, announce, account, api, json, ApiError, municipalityName, municipalityOptions, locale, dateTime,
  signInLinks, problemBox, problemText, errorText, pageLink, withLang, navigate, field, clearErrors, showErrors, stockholmParts,
} from '/web/ui.js';

// ---- texts (Swedish and English), kept here rather than in i18n.js ----

const TEXTS = {
  sv: {
    title: 'Föreningsbidrag',
    intro: 'Bidrag som kommunerna ger till föreningar: vad man kan söka, enligt vilka regler, och vilka bidrag som har beslutats. Företrädare för en förening söker och lämnar närvarolistor här; kommunens handläggare handlägger, beslutar och betalar ut.',
    signInText: 'Företräder du en förening? Logga in för att söka bidrag och se era ansökningar. Kommunens handläggare loggar in för att handlägga.',
    filter: 'Visa bidrag i en kommun',
    programmes: 'Bidragsprogram',
    programmesN: '{n} bidragsprogram',
    programmes1: '1 bidragsprogram',
    noProgrammes: 'Det finns inga bidragsprogram här ännu.',
    kinds: { activity: 'Aktivitetsstöd', basic: 'Grundbidrag', application: 'Ansökningsbidrag' },
    kindHints: {
      activity: 'per deltagartillfälle, efter närvarolistor',
      basic: 'per medlem, efter medlemsstatistiken',
      application: 'projekt, arrangemang och lokalkostnader, prövas var för sig',
    },
    period: 'Bidraget gäller',
    applicationPeriod: 'Ansökningsperiod',
    budget: 'Budget',
    decided: 'Beviljat',
    paid: 'Utbetalt',
    remaining: 'Kvar att besluta om',
    phaseBefore: 'Ansökan öppnar {d}',
    phaseOpen: 'Öppen för ansökningar till {d}',
    phaseClosed: 'Ansökan stängde {d}',
    rules: 'Regler',
    ruleAges: 'Deltagare {from}–{to} år {basis}.',
    ageBasis: { on_the_day: '(åldern på dagen för sammankomsten)', year_turned: '(åldern som fylls under året)' },
    ruleMinParticipants: 'Minst {n} deltagare i åldersspannet per sammankomst; ledare räknas inte som deltagare.',
    ruleMinutes: 'En sammankomst varar minst {n} minuter.',
    ruleLeader: 'En ledare som är minst {n} år är med.',
    ruleNoLeader: 'Ingen ledare krävs.',
    ruleAmount: '{a} per deltagartillfälle.',
    ruleAmountAndOccasion: '{a} per deltagartillfälle och {b} per sammankomst.',
    ruleCap: 'Högst {n} deltagare per sammankomst ger bidrag.',
    rulePerDay: 'Högst {n} sammankomster per grupp och dag räknas.',
    rulePerDay1: 'En sammankomst per grupp och dag räknas.',
    ruleLists: 'Närvaron lämnas som närvarolistor (CSV) i ansökan.',
    ruleYear: 'Räknas på föreningens medlemsstatistik för {year}.',
    ruleBand: '{band}: {a} per medlem.',
    ruleMinMembers: 'Föreningen behöver minst {n} medlemmar i de åldersgrupperna.',
    ruleMax: 'Högst {a} per förening.',
    ruleMaxApplication: 'Högst {a} per ansökan.',
    ruleNoMax: 'Inget tak för det sökta beloppet.',
    ruleAttachments: 'Minst {n} bilagor krävs.',
    ruleAttachments1: 'Minst 1 bilaga krävs.',
    ruleNoAttachments: 'Bilagor krävs inte.',
    ruleCaseByCase: 'Kommunen prövar varje ansökan för sig.',
    applyFor: 'Ansök om {name}',
    applyIntro: 'Ansökan sparas först som ett utkast. Där lägger ni till {what} och skickar in den.',
    applyWhat: { activity: 'närvarolistor', basic: 'eventuella bilagor', application: 'bilagor' },
    notApproved: 'Ingen av föreningarna du företräder är godkänd i {m}. Registrera föreningen där först, under Mina föreningar.',
    noAssociations: 'Du företräder ingen förening. Registrera en förening under',
    association: 'Förening',
    chooseAssociation: 'Välj förening',
    payee: 'Konto för utbetalning',
    payeeHint: 'Föreningens bankgiro, plusgiro eller IBAN. Kontot visas bara för föreningen och kommunen.',
    debtorAccount: 'Konto att betala från',
    accountKind: 'Slags konto',
    accountKinds: { bankgiro: 'Bankgiro', plusgiro: 'Plusgiro', iban: 'IBAN (bankkonto)' },
    bankgiroNumber: 'Bankgironummer',
    plusgiroNumber: 'Plusgironummer',
    numberHint: { bankgiro: 't.ex. 5050-1055', plusgiro: 't.ex. 90 01 22-3' },
    iban: 'IBAN',
    ibanHint: 't.ex. SE45 5000 0000 0583 9825 7466',
    bic: 'BIC',
    grantTitle: 'Titel',
    grantDescription: 'Vad bidraget ska användas till',
    requested: 'Sökt belopp (kronor)',
    requestedMax: 'Högst {a}.',
    amountHint: 'I kronor, t.ex. 12 500 eller 1 255,50.',
    createDraft: 'Spara utkastet',
    draftCreated: 'Utkastet för {name} är sparat. Lägg till det som behövs och skicka in det.',
    mine: 'Era ansökningar',
    noMine: 'Ni har inga ansökningar ännu.',
    application: 'Ansökan',
    programme: 'Program',
    statusLabel: 'Status',
    amount: 'Belopp',
    updated: 'Inskickad eller skapad',
    statuses: {
      draft: 'Utkast', submitted: 'Inskickad', completion_requested: 'Behöver kompletteras',
      withdrawn: 'Återkallad', approved: 'Beviljad', rejected: 'Avslagen',
    },
    amountDecided: 'Beviljat {a}',
    amountComputed: 'Beräknat {a}',
    amountRequested: 'Sökt {a}',
    inbox: 'Inkorg: {m}',
    inboxIntro: 'Inskickade ansökningar, äldst först. Utkast är föreningarnas egna och syns inte här.',
    inboxEmpty: 'Inga inskickade ansökningar.',
    inboxN: '{n} ansökningar',
    payments: 'Utbetalningar',
    decisions: 'Beslutade bidrag',
    decisionsIntro: 'Alla beslut om bidrag per förening och program: öppna data utan personuppgifter.',
    decisionsCsv: 'Hämta besluten som CSV',
    noDecisions: 'Inga bidrag är beslutade ännu.',
    decisionsN: '{n} beslut',
    decisionsFirst: 'De {n} senaste besluten visas; alla finns i CSV-filen.',
    decidedOn: 'Beslutsdatum',
    orgNumber: 'Organisationsnummer',
    outcome: 'Beslut',
    outcomes: { approved: 'Beviljat', rejected: 'Avslag' },
    authority: 'Beslutsfattare',
    authorities: { delegation: 'Delegationsbeslut', committee: 'Nämndbeslut' },
    allGrants: '← Alla bidrag',
    notFound: 'Ansökan finns inte, eller så får du inte se den.',
    facts: 'Uppgifter',
    created: 'Skapad',
    submitted: 'Inskickad',
    computed: 'Beräknat bidrag',
    computedActivity: '{a} (sammankomster som räknas: {o}; deltagartillfällen: {p}; närvarolistor: {l})',
    computedBasic: '{a} (medlemmar som räknas: {m}, enligt medlemsstatistiken för {year})',
    computedLater: 'Räknas fram när ansökan skickas in',
    decision: 'Beslut',
    decisionText: '{outcome} {a}',
    decisionBy: '{authority}, {reference}. Beslutat {d} av {who}.',
    reasons: 'Motivering',
    payment: 'Utbetalning',
    paymentPrepared: '{a}: utbetalningsorder förberedd, väntar på attest',
    paymentAttested: '{a}: betalas ut {d}',
    completionAsked: 'Kommunen ber er komplettera ansökan:',
    completionWaiting: 'Väntar på komplettering från föreningen:',
    completionAnswer: 'Ändra det som behövs nedan och skicka in ansökan igen.',
    edit: 'Ändra uppgifter',
    save: 'Spara ändringarna',
    saved: 'Ändringarna är sparade.',
    attachments: 'Bilagor',
    attachmentsHint: 'PDF, bild (PNG, JPEG), text eller CSV, eller kontorsdokument (docx, xlsx, odt, ods); högst 10 MB och 20 bilagor.',
    noAttachments: 'Inga bilagor.',
    chooseFile: 'Välj en fil',
    chooseList: 'Välj en närvarolista (CSV)',
    upload: 'Ladda upp',
    uploadList: 'Ladda upp listan',
    uploaded: '{file} är uppladdad.',
    remove: 'Ta bort',
    removeQuestion: 'Ta bort {file}?',
    removeConfirm: 'Ja, ta bort',
    removed: '{file} är borttagen.',
    download: 'Ladda ner',
    bytes: '{n} kB',
    lists: 'Närvarolistor',
    listsIntro: 'En rad per person och sammankomst: datum, starttid, sluttid, grupp, roll (deltagare eller ledare) och personnummer; komma eller semikolon, rubrikrad först. Personnummer sparas inte: bara antal och radnummer.',
    noLists: 'Inga närvarolistor ännu.',
    listRead: '{file} är inläst. Sammankomster som räknas: {o}. Deltagartillfällen: {p}. Bidrag: {a}.',
    listRefused: 'Listan togs inte emot. Rätta filen och ladda upp den igen. {n} fel:',
    listRefused1: 'Listan togs inte emot. Rätta filen och ladda upp den igen. 1 fel:',
    listRefusedShort: 'Listan togs inte emot ({n} fel, se nedan).',
    readAt: 'Inläst {d}',
    rows: 'Rader',
    occasions: 'Sammankomster',
    occasionsOf: '{c} av {n} räknas',
    participantOccasions: 'Deltagartillfällen',
    listAmount: 'Ger',
    occasionsNotCounted: 'Sammankomster som inte räknas',
    rowCounts: 'Raderna',
    rowsNotCounted: 'Rader som inte räknas',
    rowsNotCountedFirst: 'De första {n} av {total}:',
    lineReason: 'Rad {line}: {reason}',
    moreRows: '… och {n} rader till.',
    ignoredColumns: 'Kolumner som inte lästes: {c}.',
    occasionReasons: {
      counted: 'räknas',
      duplicateOccasion: 'samma sammankomst finns redan i en annan lista',
      tooShort: 'kortare än {min} minuter',
      noLeader: 'ingen ledare på minst {leader} år',
      tooFewParticipants: 'färre än {n} deltagare i åldersspannet',
      tooManyOccasionsThatDay: 'gruppen har redan en räknad sammankomst den dagen',
    },
    rowReasons: {
      counted: 'räknade deltagare',
      leader: 'ledare',
      outsideAge: 'deltagare utanför åldersspannet',
      duplicatePerson: 'samma person flera gånger i en sammankomst',
      leaderTooYoung: 'ledare under {leader} år',
      overCap: 'deltagare över taket per sammankomst',
      occasionNotCounted: 'i sammankomster som inte räknas',
    },
    rowReason: {
      outside_age: 'deltagaren är utanför åldersspannet ({from}–{to} år)',
      duplicate_person: 'samma person finns redan i sammankomsten',
      leader_too_young: 'ledaren är yngre än {leader} år',
      over_cap: 'fler deltagare än taket per sammankomst',
      occasion_not_counted: 'sammankomsten räknas inte',
      counted: 'räknas',
      leader: 'ledare',
    },
    line: 'Rad {n}',
    column: 'kolumnen {c}',
    theFile: 'Filen',
    columns: {
      date: 'datum', start: 'starttid', end: 'sluttid', group: 'grupp', activity: 'aktivitet', role: 'roll',
      personalIdentityNumber: 'personnummer', name: 'namn',
    },
    csvRules: {
      empty: 'Filen är tom eller har bara en rubrikrad.',
      too_large: 'Filen är för stor.',
      read: 'Filen kunde inte läsas till slutet.',
      missing_column: 'Kolumnen saknas i rubrikraden.',
      duplicate_column: 'Kolumnen finns två gånger i rubrikraden.',
      field_count: 'Raden har ett annat antal fält än rubrikraden.',
      quote: 'Text efter ett avslutande citattecken.',
      unterminated_quote: 'Ett citattecken avslutas aldrig.',
      'date.format': 'Skriv datumet som ÅÅÅÅ-MM-DD.',
      'start.format': 'Skriv tiden som TT:MM.',
      'end.format': 'Skriv tiden som TT:MM.',
      'group.format': 'Gruppens namn har fel format.',
      'personalIdentityNumber.format': 'Skriv personnumret som ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN.',
      after_today: 'Datumet har inte varit än.',
      outside_period: 'Datumet ligger utanför programmets period ({from} – {to}).',
      order: 'Sluttiden ska vara efter starttiden.',
      required: 'Fältet är tomt.',
      max_length: 'Högst 100 tecken.',
      encoding: 'Texten är inte UTF-8.',
      'activity.unknown_code': 'Ingen aktivitet i registrets lista.',
      'role.unknown_code': 'Skriv deltagare eller ledare.',
      mismatch: 'En annan aktivitet än på sammankomstens första rad.',
      date: 'Födelsedatumet finns inte eller ligger i framtiden.',
      checksum: 'Kontrollsiffran i personnumret stämmer inte.',
      occasion_split: 'Sammankomsten började tidigare i filen (rad {first}); sortera listan på datum, starttid och grupp.',
      occasion_too_large: 'Sammankomsten har fler än 10 000 rader.',
      too_many_problems: 'Fler fel finns ({more}).',
      duplicate_occasion: 'En sammankomst i listan räknades nyss i en annan lista. Ladda upp den igen för att se vilken.',
      not_activity_grant: 'Närvarolistor hör till aktivitetsstöd.',
    },
    send: 'Skicka in ansökan',
    sendAgain: 'Skicka in igen',
    sendHint: 'När ansökan är inskickad kan den inte ändras, om inte kommunen ber er komplettera den.',
    sendSection: 'Skicka in',
    sent: 'Ansökan är inskickad till {m}.',
    withdraw: 'Återkalla ansökan …',
    withdrawQuestion: 'Återkalla ansökan? Den kan inte skickas in igen.',
    withdrawConfirm: 'Ja, återkalla',
    withdrawn: 'Ansökan är återkallad.',
    handling: 'Handläggning',
    askCompletion: 'Begär komplettering',
    completionMessage: 'Vad föreningen behöver komplettera',
    completionHint: 'Föreningen får meddelandet och kan ändra och skicka in ansökan igen.',
    sendRequest: 'Skicka begäran',
    completionRequested: 'Föreningen är ombedd att komplettera ansökan.',
    assessment: 'Bedömning',
    assessmentHint: 'Syns bara för kommunens handläggare.',
    assessmentBy: 'Bedömt av {who} {d}. Föreslaget belopp: {a}.',
    assessmentText: 'Handläggarens bedömning',
    proposed: 'Föreslaget belopp (kronor)',
    saveAssessment: 'Spara bedömningen',
    assessed: 'Bedömningen är sparad.',
    decide: 'Beslut',
    outcomeLegend: 'Utfall',
    decisionAmount: 'Beviljat belopp (kronor)',
    decisionReasons: 'Motivering',
    reasonsHint: 'Krävs vid avslag. Föreningen ser motiveringen.',
    authorityLegend: 'Beslutas',
    authorityOptions: { delegation: 'Av handläggare på delegation', committee: 'Av nämnden' },
    reference: 'Referens',
    referenceHint: 'Punkten i delegationsordningen, eller nämndens protokoll och paragraf.',
    recordDecision: 'Registrera beslutet',
    decisionRecorded: 'Beslutet är registrerat: {outcome}.',
    downloadsHint: 'Varje hämtning loggas.',
    paymentsTitle: 'Utbetalningar: {m}',
    paymentsIntro: 'En utbetalningsorder betalar beviljade bidrag. En handläggare förbereder den och en annan attesterar den; sedan hämtas betalfilen (ISO 20022 pain.001) till banken.',
    prepare: 'Förbered en utbetalningsorder',
    toPay: 'Beviljade ansökningar att betala ut',
    nothingToPay: 'Inga beviljade ansökningar väntar på utbetalning.',
    payLabel: '{association}: {programme}, {a}',
    executionDate: 'Betalningsdag',
    executionHint: 'Från i dag upp till ett år fram.',
    debtorName: 'Betalarens namn',
    debtorNameHint: 't.ex. Malmö stad',
    debtorOrg: 'Kommunens organisationsnummer',
    debtorBic: 'Bankens BIC',
    debtorBicHint: 'De flesta banker vill ha den.',
    prepareButton: 'Förbered ordern',
    prepared: 'Utbetalningsordern på {a} är förberedd. En annan handläggare attesterar den.',
    orders: 'Utbetalningsorder',
    noOrders: 'Inga utbetalningsorder ännu.',
    order: 'Utbetalningsorder {id}',
    orderStatuses: { prepared: 'Väntar på attest', attested: 'Attesterad', cancelled: 'Avbruten' },
    total: 'Totalt',
    paymentsN: '{n} betalningar',
    paymentsN1: '1 betalning',
    debtor: 'Betalare',
    preparedBy: 'Förberedd',
    attestedBy: 'Attesterad',
    byAt: '{who}, {d}',
    fileHash: 'Betalfilens SHA-256',
    account: 'Konto',
    remittance: 'Meddelande',
    paidOn: 'Betald',
    attest: 'Attestera',
    attested: 'Utbetalningsordern är attesterad. Betalfilen kan hämtas.',
    attestSelf: 'Du förberedde den här utbetalningsordern. En annan handläggare ska attestera den: två personer står bakom varje utbetalning.',
    cancelOrder: 'Avbryt ordern …',
    cancelQuestion: 'Avbryt utbetalningsordern? Ansökningarna kan tas med i en ny.',
    cancelConfirm: 'Ja, avbryt',
    cancelled: 'Utbetalningsordern är avbruten.',
    file: 'Hämta betalfilen (pain.001)',
    staffOnly: 'Utbetalningar hanteras av kommunens handläggare.',
    signInPayments: 'Logga in som handläggare för att se utbetalningarna.',
    amountFormat: 'Skriv ett belopp i kronor, t.ex. 12 500 eller 1 255,50.',
    chooseFileFirst: 'Välj en fil först.',
    chooseOutcome: 'Välj beviljat eller avslag.',
    rulesText: {
      'payee.required': 'Ange föreningens konto för utbetalningen.',
      'payee.number.required': 'Skriv kontonumret.',
      'payee.number.format': 'Kontonumret har fel format. Bankgiro: 7–8 siffror, t.ex. 5050-1055; plusgiro: 2–8 siffror, t.ex. 90 01 22-3.',
      'payee.number.checksum': 'Kontrollsiffran stämmer inte. Kontrollera numret.',
      'payee.iban.required': 'Skriv IBAN.',
      'payee.iban.format': 'IBAN har fel format.',
      'payee.iban.checksum': 'Kontrollsiffrorna i IBAN stämmer inte. Kontrollera numret.',
      'payee.iban.length': 'IBAN har fel längd för landet.',
      'payee.iban.unknown_code': 'IBAN från det landet tas inte emot.',
      'payee.bic.format': 'BIC har 8 eller 11 tecken, t.ex. ESSESESS.',
      'associationId.association_not_approved': 'Föreningen är inte godkänd i kommunen. Registrera den där först, under Mina föreningar.',
      'title.required': 'Ge ansökan en titel.',
      'title.max_length': 'Högst 200 tecken.',
      'description.required': 'Beskriv vad bidraget ska användas till.',
      'requestedMinor.required': 'Ange beloppet ni söker.',
      'requestedMinor.out_of_range': 'Beloppet ska vara mer än 0 kronor.',
      'requestedMinor.over_maximum': 'Programmet ger högst {max}.',
      'attachments.count': 'Programmet kräver fler bilagor.',
      'attendanceLists.required': 'Ladda upp minst en närvarolista.',
      'memberStatistics.required': 'Rapportera föreningens medlemsstatistik för året först, under Mina föreningar.',
      'memberStatistics.too_few_members': 'Föreningen har för få medlemmar i åldersgrupperna som räknas.',
      'programmeId.outside_application_period': 'Programmet tar inte emot ansökningar just nu.',
      'content.unsupported_type': 'Filen är inte av ett slag som tas emot: PDF, PNG, JPEG, text eller CSV, docx, xlsx, odt eller ods.',
      'content.too_large': 'Filen är större än 10 MB.',
      'content.required': 'Filen är tom.',
      'content.count': 'En ansökan har högst 20 bilagor.',
      'file.duplicate_occasion': 'En sammankomst i listan räknades nyss i en annan lista. Ladda upp den igen för att se vilken.',
      'file.not_activity_grant': 'Närvarolistor hör till aktivitetsstöd.',
      'message.required': 'Skriv vad föreningen behöver komplettera.',
      'message.max_length': 'Högst 2 000 tecken.',
      'text.required': 'Skriv bedömningen.',
      'proposedMinor.out_of_range': 'Beloppet ska vara 0 kronor eller mer.',
      'amountMinor.out_of_range': 'Ett beviljat bidrag är mer än 0 kronor.',
      'amountMinor.over_requested': 'Mer än föreningen sökte.',
      'reasons.required': 'Skriv varför ansökan avslås.',
      'reference.required': 'Ange referensen: delegationspunkten eller protokollets paragraf.',
      'applicationIds.count': 'Välj minst en ansökan.',
      'applicationIds.already_ordered': 'Ansökan finns redan i en utbetalningsorder.',
      'applicationIds.not_approved': 'Ansökan är inte beviljad.',
      'applicationIds.no_account': 'Ansökan saknar konto för utbetalning.',
      'executionDate.out_of_range': 'Välj en dag från i dag upp till ett år fram.',
      'debtor.name.required': 'Skriv betalarens namn.',
      'debtor.orgNumber.required': 'Skriv organisationsnumret.',
      'debtor.orgNumber.format': 'Skriv organisationsnumret med tio siffror: NNNNNN-NNNN.',
      'debtor.orgNumber.checksum': 'Kontrollsiffran stämmer inte.',
      'debtor.account.number.required': 'Skriv kontonumret.',
      'debtor.account.number.checksum': 'Kontrollsiffran stämmer inte. Kontrollera numret.',
      'debtor.account.number.format': 'Kontonumret har fel format.',
      'debtor.account.iban.checksum': 'Kontrollsiffrorna i IBAN stämmer inte.',
      'debtor.bic.format': 'BIC har 8 eller 11 tecken, t.ex. ESSESESS.',
    },
  },
  en: {
    title: 'Grants',
    intro: 'Grants the municipalities give to associations: what can be applied for, under which rules, and which grants have been decided. Representatives of an association apply and upload attendance lists here; the municipality\'s staff handle, decide and pay.',
    signInText: 'Do you represent an association? Sign in to apply for grants and see your applications. The municipality\'s staff sign in to handle them.',
    filter: 'Show the grants of a municipality',
    programmes: 'Grant programmes',
    programmesN: '{n} grant programmes',
    programmes1: '1 grant programme',
    noProgrammes: 'There are no grant programmes here yet.',
    kinds: { activity: 'Activity grant (aktivitetsstöd)', basic: 'Basic grant (grundbidrag)', application: 'Application grant' },
    kindHints: {
      activity: 'per participant-occasion, from attendance lists',
      basic: 'per member, from the member statistics',
      application: 'projects, events and facility costs, decided case by case',
    },
    period: 'The grant covers',
    applicationPeriod: 'Application period',
    budget: 'Budget',
    decided: 'Granted',
    paid: 'Paid',
    remaining: 'Left to decide on',
    phaseBefore: 'Applications open {d}',
    phaseOpen: 'Open for applications until {d}',
    phaseClosed: 'Applications closed {d}',
    rules: 'Rules',
    ruleAges: 'Participants aged {from}–{to} {basis}.',
    ageBasis: { on_the_day: '(their age on the day of the occasion)', year_turned: '(the age they turn during the year)' },
    ruleMinParticipants: 'At least {n} participants in the age range per occasion; leaders do not count as participants.',
    ruleMinutes: 'An occasion lasts at least {n} minutes.',
    ruleLeader: 'A leader aged at least {n} is present.',
    ruleNoLeader: 'No leader is required.',
    ruleAmount: '{a} per participant-occasion.',
    ruleAmountAndOccasion: '{a} per participant-occasion and {b} per occasion.',
    ruleCap: 'At most {n} participants per occasion are paid for.',
    rulePerDay: 'At most {n} occasions per group and day count.',
    rulePerDay1: 'One occasion per group and day counts.',
    ruleLists: 'Attendance is reported as attendance lists (CSV) in the application.',
    ruleYear: 'Computed from the association\'s member statistics for {year}.',
    ruleBand: '{band}: {a} per member.',
    ruleMinMembers: 'The association needs at least {n} members in those age bands.',
    ruleMax: 'At most {a} per association.',
    ruleMaxApplication: 'At most {a} per application.',
    ruleNoMax: 'No cap on the amount asked for.',
    ruleAttachments: 'At least {n} attachments are required.',
    ruleAttachments1: 'At least 1 attachment is required.',
    ruleNoAttachments: 'No attachments are required.',
    ruleCaseByCase: 'The municipality decides each application on its own.',
    applyFor: 'Apply for {name}',
    applyIntro: 'The application is saved as a draft first. There you add {what} and send it.',
    applyWhat: { activity: 'attendance lists', basic: 'any attachments', application: 'attachments' },
    notApproved: 'None of the associations you represent is approved in {m}. Register the association there first, under My associations.',
    noAssociations: 'You do not represent an association. Register one under',
    association: 'Association',
    chooseAssociation: 'Choose an association',
    payee: 'Account for the payout',
    payeeHint: 'The association\'s bankgiro, plusgiro or IBAN. Only the association and the municipality see it.',
    debtorAccount: 'Account paid from',
    accountKind: 'Kind of account',
    accountKinds: { bankgiro: 'Bankgiro', plusgiro: 'Plusgiro', iban: 'IBAN (bank account)' },
    bankgiroNumber: 'Bankgiro number',
    plusgiroNumber: 'Plusgiro number',
    numberHint: { bankgiro: 'e.g. 5050-1055', plusgiro: 'e.g. 90 01 22-3' },
    iban: 'IBAN',
    ibanHint: 'e.g. SE45 5000 0000 0583 9825 7466',
    bic: 'BIC',
    grantTitle: 'Title',
    grantDescription: 'What the grant is for',
    requested: 'Amount asked for (kronor)',
    requestedMax: 'At most {a}.',
    amountHint: 'In kronor, e.g. 12500 or 1255.50.',
    createDraft: 'Save the draft',
    draftCreated: 'The draft for {name} is saved. Add what is needed and send it.',
    mine: 'Your applications',
    noMine: 'You have no applications yet.',
    application: 'Application',
    programme: 'Programme',
    statusLabel: 'Status',
    amount: 'Amount',
    updated: 'Sent or created',
    statuses: {
      draft: 'Draft', submitted: 'Submitted', completion_requested: 'Needs completion',
      withdrawn: 'Withdrawn', approved: 'Approved', rejected: 'Rejected',
    },
    amountDecided: 'Granted {a}',
    amountComputed: 'Computed {a}',
    amountRequested: 'Asked {a}',
    inbox: 'Inbox: {m}',
    inboxIntro: 'Submitted applications, oldest first. Drafts are the associations\' own and are not shown here.',
    inboxEmpty: 'No submitted applications.',
    inboxN: '{n} applications',
    payments: 'Payments',
    decisions: 'Decided grants',
    decisionsIntro: 'Every grant decision per association and programme: open data without personal data.',
    decisionsCsv: 'Download the decisions as CSV',
    noDecisions: 'No grants have been decided yet.',
    decisionsN: '{n} decisions',
    decisionsFirst: 'The latest {n} decisions are shown; all are in the CSV file.',
    decidedOn: 'Decided on',
    orgNumber: 'Organisation number',
    outcome: 'Decision',
    outcomes: { approved: 'Approved', rejected: 'Rejected' },
    authority: 'Decided by',
    authorities: { delegation: 'Delegated decision', committee: 'Committee decision' },
    allGrants: '← All grants',
    notFound: 'The application does not exist, or you may not see it.',
    facts: 'Details',
    created: 'Created',
    submitted: 'Submitted',
    computed: 'Computed grant',
    computedActivity: '{a} (occasions that count: {o}; participant-occasions: {p}; attendance lists: {l})',
    computedBasic: '{a} (members counted: {m}, from the member statistics of {year})',
    computedLater: 'Computed when the application is sent',
    decision: 'Decision',
    decisionText: '{outcome} {a}',
    decisionBy: '{authority}, {reference}. Decided {d} by {who}.',
    reasons: 'Reasons',
    payment: 'Payment',
    paymentPrepared: '{a}: payment order prepared, waiting for attestation',
    paymentAttested: '{a}: paid on {d}',
    completionAsked: 'The municipality asks you to complete the application:',
    completionWaiting: 'Waiting for the association to complete it:',
    completionAnswer: 'Change what is needed below and send the application again.',
    edit: 'Change the details',
    save: 'Save the changes',
    saved: 'The changes are saved.',
    attachments: 'Attachments',
    attachmentsHint: 'PDF, image (PNG, JPEG), text or CSV, or office document (docx, xlsx, odt, ods); at most 10 MB and 20 attachments.',
    noAttachments: 'No attachments.',
    chooseFile: 'Choose a file',
    chooseList: 'Choose an attendance list (CSV)',
    upload: 'Upload',
    uploadList: 'Upload the list',
    uploaded: '{file} is uploaded.',
    remove: 'Remove',
    removeQuestion: 'Remove {file}?',
    removeConfirm: 'Yes, remove',
    removed: '{file} is removed.',
    download: 'Download',
    bytes: '{n} kB',
    lists: 'Attendance lists',
    listsIntro: 'One row per person and occasion: date, start, end, group, role (participant or leader) and personal identity number; commas or semicolons, a header row first. Personal identity numbers are not stored: only counts and line numbers.',
    noLists: 'No attendance lists yet.',
    listRead: '{file} is read. Occasions that count: {o}. Participant-occasions: {p}. Grant: {a}.',
    listRefused: 'The list was not accepted. Correct the file and upload it again. {n} problems:',
    listRefused1: 'The list was not accepted. Correct the file and upload it again. 1 problem:',
    listRefusedShort: 'The list was not accepted ({n} problems, see below).',
    readAt: 'Read {d}',
    rows: 'Rows',
    occasions: 'Occasions',
    occasionsOf: '{c} of {n} count',
    participantOccasions: 'Participant-occasions',
    listAmount: 'Gives',
    occasionsNotCounted: 'Occasions that do not count',
    rowCounts: 'The rows',
    rowsNotCounted: 'Rows that do not count',
    rowsNotCountedFirst: 'The first {n} of {total}:',
    lineReason: 'Line {line}: {reason}',
    moreRows: '… and {n} more rows.',
    ignoredColumns: 'Columns not read: {c}.',
    occasionReasons: {
      counted: 'count',
      duplicateOccasion: 'the same occasion is already in another list',
      tooShort: 'shorter than {min} minutes',
      noLeader: 'no leader aged at least {leader}',
      tooFewParticipants: 'fewer than {n} participants in the age range',
      tooManyOccasionsThatDay: 'the group already has an occasion that counts that day',
    },
    rowReasons: {
      counted: 'participants counted',
      leader: 'leaders',
      outsideAge: 'participants outside the age range',
      duplicatePerson: 'the same person more than once in an occasion',
      leaderTooYoung: 'leaders under {leader}',
      overCap: 'participants over the cap per occasion',
      occasionNotCounted: 'in occasions that do not count',
    },
    rowReason: {
      outside_age: 'the participant is outside the age range ({from}–{to})',
      duplicate_person: 'the same person is already in the occasion',
      leader_too_young: 'the leader is younger than {leader}',
      over_cap: 'more participants than the cap per occasion',
      occasion_not_counted: 'the occasion does not count',
      counted: 'counts',
      leader: 'leader',
    },
    line: 'Line {n}',
    column: 'column {c}',
    theFile: 'The file',
    columns: {
      date: 'date', start: 'start', end: 'end', group: 'group', activity: 'activity', role: 'role',
      personalIdentityNumber: 'personal identity number', name: 'name',
    },
    csvRules: {
      empty: 'The file is empty or has only a header row.',
      too_large: 'The file is too large.',
      read: 'The file could not be read to the end.',
      missing_column: 'The header row lacks this column.',
      duplicate_column: 'The header row names this column twice.',
      field_count: 'The row has a different number of fields from the header row.',
      quote: 'Text after a closing quote.',
      unterminated_quote: 'A quote is never closed.',
      'date.format': 'Write the date as YYYY-MM-DD.',
      'start.format': 'Write the time as HH:MM.',
      'end.format': 'Write the time as HH:MM.',
      'personalIdentityNumber.format': 'Write the number as YYYYMMDD-NNNN or YYMMDD-NNNN.',
      after_today: 'The date has not come yet.',
      outside_period: 'The date is outside the programme\'s period ({from} – {to}).',
      order: 'The end must be after the start.',
      required: 'The field is empty.',
      max_length: 'At most 100 characters.',
      'activity.unknown_code': 'Not an activity in the registry\'s list.',
      'role.unknown_code': 'Write participant or leader.',
      mismatch: 'Another activity than on the occasion\'s first row.',
      date: 'The date of birth does not exist or is in the future.',
      checksum: 'The personal identity number\'s check digit is wrong.',
      occasion_split: 'The occasion started earlier in the file (line {first}); sort the list by date, start and group.',
      occasion_too_large: 'The occasion has more than 10,000 rows.',
      too_many_problems: 'There are more problems ({more}).',
      duplicate_occasion: 'An occasion of the list was just counted in another list. Upload it again to see which.',
      not_activity_grant: 'Attendance lists belong to activity grants.',
    },
    send: 'Send the application',
    sendAgain: 'Send it again',
    sendHint: 'Once sent, the application is not changed unless the municipality asks you to complete it.',
    sendSection: 'Send',
    sent: 'The application is sent to {m}.',
    withdraw: 'Withdraw the application …',
    withdrawQuestion: 'Withdraw the application? It cannot be sent again.',
    withdrawConfirm: 'Yes, withdraw',
    withdrawn: 'The application is withdrawn.',
    handling: 'Handling',
    askCompletion: 'Ask for completion',
    completionMessage: 'What the association needs to complete',
    completionHint: 'The association is told and may change and send the application again.',
    sendRequest: 'Send the request',
    completionRequested: 'The association is asked to complete the application.',
    assessment: 'Assessment',
    assessmentHint: 'Only the municipality\'s staff see it.',
    assessmentBy: 'Assessed by {who} {d}. Proposed amount: {a}.',
    assessmentText: 'The officer\'s assessment',
    proposed: 'Proposed amount (kronor)',
    saveAssessment: 'Save the assessment',
    assessed: 'The assessment is saved.',
    decide: 'Decision',
    outcomeLegend: 'Outcome',
    decisionAmount: 'Amount granted (kronor)',
    decisionReasons: 'Reasons',
    reasonsHint: 'Required for a rejection. The association sees them.',
    authorityLegend: 'Decided',
    authorityOptions: { delegation: 'By an officer under delegation', committee: 'By the committee' },
    reference: 'Reference',
    referenceHint: 'The point of the delegation order, or the committee\'s minutes and paragraph.',
    recordDecision: 'Record the decision',
    decisionRecorded: 'The decision is recorded: {outcome}.',
    downloadsHint: 'Every download is logged.',
    paymentsTitle: 'Payments: {m}',
    paymentsIntro: 'A payment order pays decided grants. One member of staff prepares it and another attests it; then the payment file (ISO 20022 pain.001) is downloaded for the bank.',
    prepare: 'Prepare a payment order',
    toPay: 'Approved applications to pay',
    nothingToPay: 'No approved applications are waiting to be paid.',
    payLabel: '{association}: {programme}, {a}',
    executionDate: 'Execution date',
    executionHint: 'From today up to a year ahead.',
    debtorName: 'Payer\'s name',
    debtorNameHint: 'e.g. Malmö stad',
    debtorOrg: 'The municipality\'s organisation number',
    debtorBic: 'The bank\'s BIC',
    debtorBicHint: 'Most banks want it.',
    prepareButton: 'Prepare the order',
    prepared: 'The payment order of {a} is prepared. Another member of staff attests it.',
    orders: 'Payment orders',
    noOrders: 'No payment orders yet.',
    order: 'Payment order {id}',
    orderStatuses: { prepared: 'Waiting for attestation', attested: 'Attested', cancelled: 'Cancelled' },
    total: 'Total',
    paymentsN: '{n} payments',
    paymentsN1: '1 payment',
    debtor: 'Payer',
    preparedBy: 'Prepared',
    attestedBy: 'Attested',
    byAt: '{who}, {d}',
    fileHash: 'The payment file\'s SHA-256',
    account: 'Account',
    remittance: 'Message',
    paidOn: 'Paid on',
    attest: 'Attest',
    attested: 'The payment order is attested. The payment file can be downloaded.',
    attestSelf: 'You prepared this payment order. Another member of staff attests it: two people stand behind every payment.',
    cancelOrder: 'Cancel the order …',
    cancelQuestion: 'Cancel the payment order? Its applications may go into a new one.',
    cancelConfirm: 'Yes, cancel',
    cancelled: 'The payment order is cancelled.',
    file: 'Download the payment file (pain.001)',
    staffOnly: 'Payments are handled by the municipality\'s staff.',
    signInPayments: 'Sign in as staff to see the payments.',
    amountFormat: 'Write an amount in kronor, e.g. 12500 or 1255.50.',
    chooseFileFirst: 'Choose a file first.',
    chooseOutcome: 'Choose approved or rejected.',
    rulesText: {
      'payee.required': 'Give the association\'s account for the payout.',
      'payee.number.required': 'Write the account number.',
      'payee.number.checksum': 'The check digit is wrong. Check the number.',
      'payee.iban.checksum': 'The IBAN\'s check digits are wrong. Check the number.',
      'associationId.association_not_approved': 'The association is not approved in the municipality. Register it there first, under My associations.',
      'title.required': 'Give the application a title.',
      'description.required': 'Say what the grant is for.',
      'requestedMinor.required': 'Give the amount you ask for.',
      'requestedMinor.over_maximum': 'The programme grants at most {max}.',
      'attendanceLists.required': 'Upload at least one attendance list.',
      'file.duplicate_occasion': 'An occasion of the list was just counted in another list. Upload it again to see which.',
      'file.not_activity_grant': 'Attendance lists belong to activity grants.',
      'memberStatistics.required': 'Report the association\'s member statistics for the year first, under My associations.',
      'programmeId.outside_application_period': 'The programme does not take applications now.',
      'message.required': 'Write what the association needs to complete.',
      'text.required': 'Write the assessment.',
      'reasons.required': 'Say why the application is rejected.',
      'reference.required': 'Give the reference: the delegation point or the minutes\' paragraph.',
      'amountMinor.over_requested': 'More than the association asked for.',
      'applicationIds.count': 'Choose at least one application.',
      'executionDate.out_of_range': 'Choose a day from today up to a year ahead.',
    },
  },
};

function g(key, vars = {}) {
  let s = TEXTS[getLang()]?.[key] ?? TEXTS.sv[key] ?? t(key);
  if (typeof s !== 'string') return s;
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

// One entry of a map of texts (e.g. the statuses), filled.
function gx(map, key, vars = {}) {
  let s = g(map)?.[key] ?? TEXTS.sv[map]?.[key];
  if (typeof s !== 'string') return key;
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

// ---- formats ----

// Öre as kronor, e.g. "1 255,00 kr" (in English "SEK 1,255.00").
const kr = (ore) => new Intl.NumberFormat(locale(), { style: 'currency', currency: 'SEK' }).format((ore || 0) / 100);
// Öre as a kronor field's value: "1255,50" (no grouping, so that it reads back).
const kronorValue = (ore) => (ore == null ? '' : (ore / 100).toFixed(2).replace(/\.00$/, '').replace('.', getLang() === 'sv' ? ',' : '.'));
// Kronor as typed ("1 255,50", "1255.5", "12 500 kr") as öre, or null.
function parseKronor(s) {
  const x = String(s).replace(/[\s\u00a0\u202f]|kr|sek/gi, '').replace(',', '.');
  if (!/^\d+(\.\d{1,2})?$/.test(x)) return null;
  return Math.round(Number(x) * 100);
}
const day = (s) => new Intl.DateTimeFormat(locale(), { timeZone: 'UTC', dateStyle: 'medium' }).format(new Date(`${s}T12:00:00Z`));
const pad = (n) => String(n).padStart(2, '0');
const todayIso = (plus = 0) => {
  const p = stockholmParts(new Date());
  const d = new Date(Date.UTC(p.y, p.m - 1, p.d + plus));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
};
const ifMatch = (version) => ({ 'if-match': `"${version}"` });
const isStaffOf = (code) => Boolean(account.me?.name && account.me.role === 'editor' && account.me.municipalityCode === code);
const isStaff = () => Boolean(account.me?.name && account.me.role === 'editor' && account.me.municipalityCode);
const statusText = (s) => gx('statuses', s);
const STATUS_CLASS = { submitted: 'pending', completion_requested: 'needs_completion', approved: 'approved', rejected: 'rejected', withdrawn: 'cancelled' };
const statusBadge = (s) => h('span', { class: `status ${STATUS_CLASS[s] || ''} gr-${s}` }, statusText(s));
const ORDER_CLASS = { prepared: 'pending', attested: 'approved', cancelled: 'cancelled' };
// A button's text, and what it acts on for screen readers.
const named = (label, what) => [label, h('span', { class: 'visually-hidden' }, `: ${what}`)];

function accountText(a) {
  if (!a) return '–';
  const digits = (a.number || '').replace(/\D/g, '');
  if (a.kind === 'bankgiro') return `Bankgiro ${digits.slice(0, -4)}-${digits.slice(-4)}`;
  if (a.kind === 'plusgiro') {
    const body = digits.slice(0, -1);
    const pairs = [];
    for (let i = body.length; i > 0; i -= 2) pairs.unshift(body.slice(Math.max(0, i - 2), i));
    return `Plusgiro ${pairs.join(' ')}-${digits.slice(-1)}`;
  }
  if (a.kind === 'iban') return `IBAN ${(a.iban || '').replace(/(.{4})/g, '$1 ').trim()}${a.bic ? ` (BIC ${a.bic})` : ''}`;
  return a.kind;
}

// An account's number as its field shows it.
function accountValue(a) {
  if (!a) return '';
  return accountText(a).replace(/^(Bankgiro|Plusgiro|IBAN) /, '').replace(/ \(BIC .*\)$/, '');
}

// An organisation number as people write it: NNNNNN-NNNN.
const orgNumber = (s) => (/^\d{10}$/.test(s || '') ? `${s.slice(0, 6)}-${s.slice(6)}` : s || '');

// A button's work (its text says so meanwhile); its content, a hidden part too, comes back.
async function working(button, work) {
  const content = [...button.childNodes];
  button.disabled = true;
  button.textContent = t('sending');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.replaceChildren(...content);
  }
}

function heading(text) {
  return h('h1', { id: 'page-title', tabindex: '-1' }, text);
}

// A notice for the next view drawn (after navigating), taken once.
let flash = null;
function go(path, notice) {
  flash = notice || null;
  navigate(withLang(path));
}
function takeFlash() {
  const f = flash;
  flash = null;
  return f;
}

// Focus and announce: a notice if there is one, else the heading when the view was navigated to.
function settle(notice, moved, title) {
  const target = view.querySelector('.section-notice');
  if (target) {
    target.focus();
    announce(notice || target.textContent);
  } else if (moved) {
    title.focus();
  }
}

function signInHint(text = g('signInText')) {
  const links = signInLinks();
  return h('div', { class: 'notice sign-in-hint' },
    h('p', {}, text),
    links.length ? h('p', { class: 'actions sign-in' }, links) : h('p', { class: 'hint' }, t('signInUnavailable')));
}

// ---- the registry's errors, in this page's words, at this page's fields ----

// The errors of `err` with this page's texts (by `field.rule`, indices dropped, or by rule);
// those with no field here keep their field name only where the text is the registry's.
function localized(err, idOf, vars = {}) {
  if (!(err instanceof ApiError) || !err.problem?.errors) return err;
  const texts = g('rulesText');
  const errors = err.problem.errors.map((v) => {
    const f = (v.field || '').replace(/\[\d+\]/g, '');
    let text = texts[`${f}.${v.rule}`] ?? TEXTS.sv.rulesText[`${f}.${v.rule}`];
    // An English page keeps the registry's English message where it has no text of its own.
    if (getLang() !== 'sv' && !texts[`${f}.${v.rule}`]) text = null;
    if (text) for (const [k, x] of Object.entries(vars)) text = text.replaceAll(`{${k}}`, String(x));
    const here = v.field && idOf(v.field);
    return { ...v, field: here || !text ? v.field : null, rule: text ? 'grants' : v.rule, message: text || v.message };
  });
  return new ApiError({ ...err.problem, errors }, err.status);
}

function showAt(form, box, err, idOf, vars) {
  return showErrors(form, box, localized(err, idOf, vars), idOf);
}

// A field error found by the page itself, shown as the registry's would be.
function localError(field, message) {
  return new ApiError({ errors: [{ field, rule: 'grants', message }] }, 400);
}

// ---- the account fields (payee, or the municipality's account) ----

const ACCOUNT_KINDS = ['bankgiro', 'plusgiro', 'iban'];

// The account fields: `#P-kind`, `#P-number`, `#P-iban`, `#P-bic` in a fieldset `#P-account`.
function accountFields(P, current, { legend, hint, bic = true } = {}) {
  const kind = current?.kind || 'bankgiro';
  const kindField = field(`${P}-kind`, g('accountKind'), {}, {
    tag: 'select', children: ACCOUNT_KINDS.map((k) => h('option', { value: k, selected: k === kind }, gx('accountKinds', k))),
  });
  const number = field(`${P}-number`, g('bankgiroNumber'), {
    type: 'text', inputmode: 'numeric', autocomplete: 'off', value: current && current.kind !== 'iban' ? accountValue(current) : '',
  }, { hint: gx('numberHint', kind === 'plusgiro' ? 'plusgiro' : 'bankgiro') });
  const iban = field(`${P}-iban`, g('iban'), { type: 'text', autocomplete: 'off', spellcheck: 'false', value: current?.kind === 'iban' ? accountValue(current) : '' }, { hint: g('ibanHint') });
  const bicField = bic ? field(`${P}-bic`, g('bic'), { type: 'text', autocomplete: 'off', spellcheck: 'false', value: current?.bic || '' }, { optional: true }) : null;
  const set = h('fieldset', { class: 'group account-fields', id: `${P}-account`, 'aria-describedby': [hint ? `${P}-account-hint` : null, `${P}-account-error`].filter(Boolean).join(' ') },
    h('legend', {}, legend || g('payee')),
    hint ? h('p', { class: 'hint', id: `${P}-account-hint` }, hint) : null,
    h('div', { class: 'row' }, kindField, number, iban, bicField),
    h('span', { class: 'field-error', id: `${P}-account-error` }));
  const select = kindField.querySelector('select');
  const sync = () => {
    const k = select.value;
    number.hidden = k === 'iban';
    iban.hidden = k !== 'iban';
    if (bicField) bicField.hidden = k !== 'iban';
    number.querySelector('label').textContent = g(k === 'plusgiro' ? 'plusgiroNumber' : 'bankgiroNumber');
    number.querySelector('.hint').textContent = gx('numberHint', k === 'plusgiro' ? 'plusgiro' : 'bankgiro');
  };
  select.addEventListener('change', sync);
  sync();
  return set;
}

// The account as the registry takes it, or null when nothing is written.
function readAccount(root, P) {
  const val = (id) => (root.querySelector(`#${P}-${id}`)?.value || '').trim();
  const kind = val('kind');
  if (kind === 'iban') {
    if (!val('iban')) return null;
    return { kind, iban: val('iban'), ...(val('bic') ? { bic: val('bic') } : {}) };
  }
  if (!val('number')) return null;
  return { kind, number: val('number') };
}

// The field ids of an account's errors (`prefix` is the registry's: `payee`, `debtor.account`).
function accountField(prefix, P, f) {
  if (f === prefix || f === `${prefix}.kind`) return `${P}-account`;
  if (f === `${prefix}.number`) return `${P}-number`;
  if (f === `${prefix}.iban`) return `${P}-iban`;
  if (f === `${prefix}.bic`) return `${P}-bic`;
  return null;
}

// A kronor field: text with a decimal keyboard.
const kronorField = (id, label, value, opts = {}) => field(id, label, { type: 'text', inputmode: 'decimal', autocomplete: 'off', value: kronorValue(value) }, { hint: g('amountHint'), ...opts });

// ---- programme names (an application names its programme by id) ----

const programmes = new Map();

async function programmeOf(id) {
  if (!programmes.has(id)) programmes.set(id, api(`/v1/grants/programmes/${encodeURIComponent(id)}`).catch(() => null));
  return programmes.get(id);
}

function remember(list) {
  for (const p of list) programmes.set(p.id, Promise.resolve(p));
}

// ---- the view ----

export async function renderGrants(moved) {
  const q = new URLSearchParams(location.search);
  if (q.get('application')) await renderApplication(q.get('application'), { moved, ...(takeFlash() || {}) });
  else if (q.get('view') === 'payments') await renderPayments({ moved, ...(takeFlash() || {}) });
  else await renderOverview(q, moved, takeFlash());
}

// The section-notice of section `key`, if the notice is for it.
const noteFor = (state, key) => (state?.notice && (state.section || 'top') === key
  ? h('p', { class: `notice ${state.kind || 'ok'} section-notice`, tabindex: '-1' }, state.notice) : null);

// ---- everyone: programmes and decisions; a representative's applications; staff's inbox ----

async function renderOverview(q, moved, state) {
  const me = account.me;
  const staff = isStaff();
  // Staff see their municipality by default; `municipality=` (empty) is all.
  const code = q.has('municipality') ? q.get('municipality') : (staff ? me.municipalityCode : '');
  document.title = `${g('title')} – ${t('brand')}`;
  const title = heading(g('title'));
  const filter = h('form', { class: 'row alloc-filter', role: 'search', 'aria-label': g('filter') },
    h('div', { class: 'field' },
      h('label', { for: 'gr-municipality' }, t('municipalityLabel')),
      h('select', { id: 'gr-municipality', name: 'municipality' }, h('option', { value: '' }, t('anyMunicipality')), municipalityOptions(code))),
    h('div', { class: 'field narrow' }, h('span', { class: 'label', 'aria-hidden': 'true' }, '\u00a0'), h('button', { type: 'submit', class: 'secondary' }, t('show'))));
  filter.addEventListener('submit', (e) => {
    e.preventDefault();
    go(`/grants?municipality=${encodeURIComponent(filter.querySelector('select').value)}`);
  });
  const loading = h('p', { id: 'grants-loading' }, t('loading'));
  view.replaceChildren(title, h('p', {}, g('intro')), me ? null : signInHint(), filter, loading);
  if (moved && !state) title.focus();
  const qs = code ? `?municipalityCode=${encodeURIComponent(code)}` : '';
  const ask = (path) => api(path).catch((err) => ({ failed: err }));
  const [progs, decided, mineList, myApps, inbox] = await Promise.all([
    ask(`/v1/grants/programmes${qs}`),
    ask(`/v1/grants/decisions${qs}`),
    me ? ask('/v1/me/associations') : null,
    me ? ask('/v1/grants/applications') : null,
    staff ? ask(`/v1/grants/applications?municipalityCode=${encodeURIComponent(me.municipalityCode)}`) : null,
  ]);
  if (progs.programmes) remember(progs.programmes);
  const mine = mineList?.associations || [];
  const own = myApps?.applications || [];
  await Promise.all([...own, ...(inbox?.applications || [])].map((a) => programmeOf(a.programmeId)));
  const names = new Map();
  for (const a of [...own, ...(inbox?.applications || [])]) names.set(a.programmeId, (await programmeOf(a.programmeId))?.name || a.programmeId);
  const top = noteFor(state, 'top');
  loading.replaceWith(...[
    top,
    staff ? inboxSection(inbox, names, noteFor(state, 'inbox')) : null,
    me && (mine.length || own.length) ? mineSection(own, names, myApps?.failed) : null,
    programmesSection(progs, mine, noteFor(state, 'programmes')),
    decisionsSection(decided, code),
  ].filter(Boolean));
  settle(state?.notice, moved, title);
  if (!state?.notice && progs.programmes) {
    const n = progs.programmes.length;
    announce(n === 1 ? g('programmes1') : g('programmesN', { n }));
  }
}

function phaseText(p) {
  const now = Date.now();
  if (now < Date.parse(p.applicationsOpen)) return g('phaseBefore', { d: dateTime(p.applicationsOpen) });
  if (now < Date.parse(p.applicationsClose)) return g('phaseOpen', { d: dateTime(p.applicationsClose) });
  return g('phaseClosed', { d: dateTime(p.applicationsClose) });
}

const openNow = (p) => Date.now() >= Date.parse(p.applicationsOpen) && Date.now() < Date.parse(p.applicationsClose);

// A programme's rules, in words.
function rulesList(p) {
  const items = [];
  if (p.kind === 'activity') {
    const r = { minAge: 7, maxAge: 25, ageBasis: 'on_the_day', minParticipants: 3, minMinutes: 60, leaderRequired: true, leaderMinAge: 13, amountPerParticipantMinor: 800, amountPerOccasionMinor: 0, maxOccasionsPerGroupPerDay: 1, ...(p.activity || {}) };
    items.push(g('ruleAges', { from: r.minAge, to: r.maxAge, basis: gx('ageBasis', r.ageBasis) }));
    items.push(g('ruleMinParticipants', { n: r.minParticipants }));
    items.push(g('ruleMinutes', { n: r.minMinutes }));
    items.push(r.leaderRequired ? g('ruleLeader', { n: r.leaderMinAge }) : g('ruleNoLeader'));
    items.push(r.amountPerOccasionMinor > 0
      ? g('ruleAmountAndOccasion', { a: kr(r.amountPerParticipantMinor), b: kr(r.amountPerOccasionMinor) })
      : g('ruleAmount', { a: kr(r.amountPerParticipantMinor) }));
    if (r.maxParticipantsCounted) items.push(g('ruleCap', { n: r.maxParticipantsCounted }));
    items.push(r.maxOccasionsPerGroupPerDay === 1 ? g('rulePerDay1') : g('rulePerDay', { n: r.maxOccasionsPerGroupPerDay }));
    items.push(g('ruleLists'));
  } else if (p.kind === 'basic' && p.basic) {
    const b = p.basic;
    items.push(g('ruleYear', { year: b.year }));
    for (const x of b.amounts || []) items.push(g('ruleBand', { band: t('ageBands')[x.ageBand] || x.ageBand, a: kr(x.amountMinor) }));
    if (b.minMembers) items.push(g('ruleMinMembers', { n: b.minMembers }));
    if (b.maxAmountMinor) items.push(g('ruleMax', { a: kr(b.maxAmountMinor) }));
  } else if (p.kind === 'application') {
    const a = p.application || {};
    items.push(a.maxAmountMinor ? g('ruleMaxApplication', { a: kr(a.maxAmountMinor) }) : g('ruleNoMax'));
    const n = a.minAttachments || 0;
    items.push(n === 0 ? g('ruleNoAttachments') : n === 1 ? g('ruleAttachments1') : g('ruleAttachments', { n }));
    items.push(g('ruleCaseByCase'));
  }
  return h('ul', { class: 'rules' }, items.map((x) => h('li', {}, x)));
}

function programmesSection(progs, mine, note) {
  const body = [];
  if (progs.failed) body.push(problemBox(progs.failed));
  else {
    const list = progs.programmes;
    body.push(h('p', { class: 'summary', id: 'programmes-summary' }, list.length === 0 ? g('noProgrammes') : list.length === 1 ? g('programmes1') : g('programmesN', { n: list.length })));
    list.forEach((p, i) => body.push(programmeArticle(p, i, mine)));
  }
  return h('section', { class: 'programmes', id: 'programmes', 'aria-labelledby': 'programmes-h' },
    h('h2', { id: 'programmes-h' }, g('programmes')), note, body);
}

const APPROVED = 'REGISTRATION_STATUS_APPROVED';

function programmeArticle(p, i, mine) {
  const P = `gp${i}`;
  const fact = (label, value) => [h('dt', {}, label), h('dd', {}, value)];
  let apply = null;
  if (account.me && openNow(p)) {
    const approved = mine.filter((a) => (a.registrations || []).some((r) => r.municipalityCode === p.municipalityCode && r.status === APPROVED));
    if (approved.length) apply = applyForm(p, P, approved);
    else if (mine.length) apply = h('p', { class: 'notice warn' }, g('notApproved', { m: municipalityName(p.municipalityCode) }));
    else if (!isStaff()) apply = h('p', { class: 'hint' }, g('noAssociations'), ' ', pageLink('/associations', t('myAssociations')), '.');
  }
  return h('article', { class: 'programme', 'data-programme': p.id, 'data-kind': p.kind, 'aria-labelledby': `${P}-h` },
    h('h3', { id: `${P}-h` }, p.name),
    h('p', { class: 'meta' }, municipalityName(p.municipalityCode), ' · ', h('strong', {}, gx('kinds', p.kind)), ` (${gx('kindHints', p.kind)})`, ' · ', phaseText(p)),
    p.description ? h('p', { class: 'description' }, p.description) : null,
    h('dl', { class: 'facts' },
      fact(g('period'), `${day(p.periodFrom)} – ${day(p.periodTo)}`),
      fact(g('applicationPeriod'), `${dateTime(p.applicationsOpen)} – ${dateTime(p.applicationsClose)}`),
      fact(g('budget'), kr(p.budgetMinor)),
      fact(g('decided'), kr(p.decidedMinor)),
      fact(g('paid'), kr(p.paidMinor)),
      fact(g('remaining'), kr(p.remainingMinor))),
    h('h4', { id: `${P}-rules-h` }, g('rules')),
    rulesList(p),
    apply);
}

// Starting an application: the association, the account and, for application grants, what
// it is for and how much.
function applyForm(p, P, approved) {
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, g('createDraft'));
  const max = p.application?.maxAmountMinor;
  const form = h('form', { class: 'form-grid grant-form', id: `${P}-form`, novalidate: true },
    h('p', { class: 'hint' }, g('applyIntro', { what: gx('applyWhat', p.kind) })),
    box,
    field(`${P}-association`, g('association'), { required: true }, {
      tag: 'select',
      children: [approved.length > 1 ? h('option', { value: '' }, g('chooseAssociation')) : null, approved.map((a) => h('option', { value: a.id }, a.name))],
    }),
    accountFields(P, null, { hint: g('payeeHint') }),
    p.kind === 'application' ? [
      field(`${P}-title`, g('grantTitle'), { type: 'text', maxlength: '200', required: true }),
      field(`${P}-description`, g('grantDescription'), { rows: '4', maxlength: '10000', required: true }, { tag: 'textarea' }),
      kronorField(`${P}-amount`, g('requested'), null, max ? { hint: `${g('amountHint')} ${g('requestedMax', { a: kr(max) })}` } : {}),
    ] : null,
    h('div', { class: 'actions' }, submit));
  const idOf = (f) => ({ associationId: `${P}-association`, title: `${P}-title`, description: `${P}-description`, requestedMinor: `${P}-amount` }[f]
    || accountField('payee', P, f));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const val = (id) => (form.querySelector(`#${P}-${id}`)?.value || '').trim();
    const body = { associationId: val('association'), payee: readAccount(form, P) };
    if (!body.payee) delete body.payee;
    if (p.kind === 'application') {
      body.title = val('title');
      body.description = val('description');
      if (val('amount')) {
        const ore = parseKronor(val('amount'));
        if (ore === null) { showAt(form, box, localError('requestedMinor', g('amountFormat')), idOf); return; }
        body.requestedMinor = ore;
      }
    }
    try {
      const a = await working(submit, () => api(`/v1/grants/programmes/${p.id}/applications`, json('POST', body)));
      go(`/grants?application=${a.id}`, { notice: g('draftCreated', { name: p.name }) });
    } catch (err) {
      showAt(form, box, err, idOf, { max: max ? kr(max) : '' });
    }
  });
  return h('details', { class: 'apply', 'data-panel': `apply-${p.id}` },
    h('summary', {}, g('applyFor', { name: p.name })), form);
}

// What an application gives or asks for, in a few words.
function amountText(a) {
  if (a.decision?.outcome === 'approved') return g('amountDecided', { a: kr(a.decision.amountMinor) });
  if (a.computedMinor > 0) return g('amountComputed', { a: kr(a.computedMinor) });
  if (a.requestedMinor) return g('amountRequested', { a: kr(a.requestedMinor) });
  return '–';
}

function applicationsTable(list, names, labelledBy, { staff = false } = {}) {
  return h('table', { class: 'grant-apps', 'aria-labelledby': labelledBy },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, staff ? g('association') : g('application')),
      h('th', { scope: 'col' }, staff ? g('programme') : g('association')),
      h('th', { scope: 'col' }, g('statusLabel')),
      h('th', { scope: 'col' }, g('amount')),
      h('th', { scope: 'col' }, g('updated')))),
    h('tbody', {}, list.map((a) => {
      const name = names.get(a.programmeId) || a.programmeId;
      const link = pageLink(`/grants?application=${a.id}`, staff ? a.associationName : name);
      return h('tr', { 'data-application': a.id, 'data-status': a.status },
        h('th', { scope: 'row' }, link, a.title ? h('div', { class: 'hint' }, a.title) : null),
        h('td', {}, staff ? name : a.associationName),
        h('td', {}, statusBadge(a.status)),
        h('td', {}, amountText(a)),
        h('td', {}, dateTime(a.submittedAt || a.createdAt)));
    })));
}

function mineSection(list, names, failed) {
  return h('section', { class: 'mine', id: 'mine', 'aria-labelledby': 'mine-h' },
    h('h2', { id: 'mine-h' }, g('mine')),
    failed ? problemBox(failed) : list.length ? applicationsTable(list, names, 'mine-h') : h('p', { class: 'hint' }, g('noMine')));
}

function inboxSection(inbox, names, note) {
  const code = account.me.municipalityCode;
  const list = inbox?.applications || [];
  return h('section', { class: 'staff', id: 'inbox', 'aria-labelledby': 'inbox-h' },
    h('h2', { id: 'inbox-h' }, g('inbox', { m: municipalityName(code) })),
    note,
    h('p', {}, g('inboxIntro'), ' ', pageLink('/grants?view=payments', g('payments')), '.'),
    inbox?.failed ? problemBox(inbox.failed)
      : [h('p', { class: 'summary', id: 'inbox-summary' }, list.length ? g('inboxN', { n: list.length }) : g('inboxEmpty')),
        list.length ? applicationsTable(list, names, 'inbox-h', { staff: true }) : null]);
}

const SHOWN_DECISIONS = 200;

function decisionsSection(decided, code) {
  const body = [];
  if (decided.failed) body.push(problemBox(decided.failed));
  else {
    const list = decided.decisions;
    const csv = `/v1/grants/decisions.csv${code ? `?municipalityCode=${encodeURIComponent(code)}` : ''}`;
    body.push(h('p', {}, g('decisionsIntro')), h('p', {}, h('a', { href: csv, download: 'foreningsbidrag.csv' }, g('decisionsCsv'))));
    if (!list.length) body.push(h('p', { class: 'hint' }, g('noDecisions')));
    else {
      body.push(h('p', { class: 'summary' }, list.length > SHOWN_DECISIONS ? g('decisionsFirst', { n: SHOWN_DECISIONS }) : g('decisionsN', { n: list.length })));
      body.push(h('table', { class: 'grant-decisions', 'aria-labelledby': 'decisions-h' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, g('association')), h('th', { scope: 'col' }, g('orgNumber')), h('th', { scope: 'col' }, g('programme')),
          h('th', { scope: 'col' }, g('outcome')), h('th', { scope: 'col', class: 'num' }, g('amount')), h('th', { scope: 'col' }, g('authority')),
          h('th', { scope: 'col' }, g('decidedOn')))),
        h('tbody', {}, list.slice(0, SHOWN_DECISIONS).map((d) => h('tr', { 'data-application': d.applicationId, 'data-outcome': d.outcome },
          h('th', { scope: 'row' }, d.associationName),
          h('td', {}, orgNumber(d.orgNumber)),
          h('td', {}, d.programme, h('div', { class: 'hint' }, `${gx('kinds', d.kind)}, ${municipalityName(d.municipalityCode)}`)),
          h('td', {}, gx('outcomes', d.outcome)),
          h('td', { class: 'num' }, d.outcome === 'approved' ? kr(d.amountMinor) : '–'),
          h('td', {}, `${gx('authorities', d.authority)}, ${d.reference}`),
          h('td', {}, day(d.decidedOn)))))));
    }
  }
  return h('section', { class: 'decided', id: 'decisions', 'aria-labelledby': 'decisions-h' },
    h('h2', { id: 'decisions-h' }, g('decisions')), body);
}

// ---- one application ----

// Draws application `id`; `notice` (focused and announced) goes at the top of `section`.
async function renderApplication(id, state = {}) {
  const { moved } = state;
  let a;
  try {
    a = await api(`/v1/grants/applications/${encodeURIComponent(id)}`);
  } catch (err) {
    document.title = `${g('title')} – ${t('brand')}`;
    const title = heading(g('title'));
    view.replaceChildren(h('p', {}, pageLink('/grants', g('allGrants'), { class: 'back' })), title,
      err.status === 404 ? h('p', { class: 'notice warn' }, g('notFound'))
        : err.status === 401 ? signInHint() : problemBox(err, () => renderApplication(id, { moved: true })));
    if (moved) title.focus();
    return;
  }
  const p = await programmeOf(a.programmeId);
  const code = p?.municipalityCode || '';
  const staff = isStaffOf(code);
  const editable = !staff && ['draft', 'completion_requested'].includes(a.status);
  const ctx = { a, p, staff, editable, code };
  document.title = `${p?.name || g('application')} – ${a.associationName} – ${t('brand')}`;
  const title = heading(`${p?.name || g('application')}: ${a.associationName}`);
  view.replaceChildren(...[
    h('p', {}, pageLink('/grants', g('allGrants'), { class: 'back' })),
    title,
    h('p', { class: 'meta' }, a.associationName, ' · ', p ? gx('kinds', p.kind) : '', ' · ', statusBadge(a.status)),
    noteFor(state, 'top'),
    a.completionMessage && a.status === 'completion_requested'
      ? h('div', { class: 'notice warn completion-asked' },
        h('p', {}, staff ? g('completionWaiting') : g('completionAsked')),
        h('blockquote', {}, a.completionMessage),
        staff ? null : h('p', {}, g('completionAnswer')))
      : null,
    factsSection(ctx),
    editable ? editSection(ctx, noteFor(state, 'edit')) : null,
    attachmentsSection(ctx, noteFor(state, 'attachments')),
    p?.kind === 'activity' ? listsSection(ctx, noteFor(state, 'lists')) : null,
    !staff ? sendSection(ctx, noteFor(state, 'send')) : null,
    staff ? handlingSection(ctx, noteFor(state, 'handling')) : null,
  ].filter(Boolean));
  settle(state.notice, moved, title);
}

function computedText(a, p) {
  const c = a.computation || {};
  if (p?.kind === 'activity') {
    return g('computedActivity', { a: kr(a.computedMinor), o: c.occasionsCounted ?? 0, p: c.participantOccasions ?? 0, l: c.lists ?? a.attendanceLists.length });
  }
  if (p?.kind === 'basic') return c.year ? g('computedBasic', { a: kr(a.computedMinor), m: c.members ?? 0, year: c.year }) : g('computedLater');
  return null;
}

function factsSection({ a, p, staff }) {
  const fact = (label, value) => (value ? [h('dt', {}, label), h('dd', {}, value)] : null);
  const d = a.decision;
  const pay = a.payment;
  return h('section', { class: 'facts-section', id: 'facts', 'aria-labelledby': 'facts-h' },
    h('h2', { id: 'facts-h' }, g('facts')),
    h('dl', { class: 'facts' },
      fact(g('association'), a.associationName),
      fact(g('programme'), p ? `${p.name} (${gx('kinds', p.kind)})` : a.programmeId),
      fact(g('statusLabel'), statusText(a.status)),
      fact(g('created'), dateTime(a.createdAt)),
      fact(g('submitted'), a.submittedAt ? dateTime(a.submittedAt) : null),
      fact(g('grantTitle'), a.title || null),
      fact(g('grantDescription'), a.description ? h('span', { class: 'pre' }, a.description) : null),
      fact(g('requested'), a.requestedMinor ? kr(a.requestedMinor) : null),
      fact(g('computed'), computedText(a, p)),
      fact(g('payee'), accountText(a.payee)),
      fact(g('decision'), d ? h('div', { class: 'decision-fact' },
        h('p', {}, h('strong', {}, g('decisionText', { outcome: gx('outcomes', d.outcome), a: d.outcome === 'approved' ? kr(d.amountMinor) : '' }).trim())),
        d.reasons ? h('p', {}, `${g('reasons')}: `, d.reasons) : null,
        h('p', { class: 'hint' }, g('decisionBy', { authority: gx('authorities', d.authority), reference: d.reference, d: dateTime(d.decidedAt), who: d.decidedBy }))) : null),
      fact(g('payment'), pay ? (pay.status === 'attested' ? g('paymentAttested', { a: kr(pay.amountMinor), d: day(pay.paidOn) }) : g('paymentPrepared', { a: kr(pay.amountMinor) })) : null),
      staff && a.assessment ? fact(g('assessment'), h('div', {}, h('p', { class: 'pre' }, a.assessment.text),
        h('p', { class: 'hint' }, g('assessmentBy', { who: a.assessment.assessedBy, d: dateTime(a.assessment.assessedAt), a: kr(a.assessment.proposedMinor) })))) : null));
}

// The application's own field ids (the edit form, the uploads), for errors of sending.
function appField(f) {
  return {
    title: 'ed-title', description: 'ed-description', requestedMinor: 'ed-amount',
    attachments: 'att-file', attendanceLists: 'list-file',
  }[f] || accountField('payee', 'ed', f);
}

function editSection({ a, p }, note) {
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, g('save'));
  const max = p?.application?.maxAmountMinor;
  const form = h('form', { class: 'form-grid grant-form', id: 'edit-form', novalidate: true },
    box,
    accountFields('ed', a.payee, { hint: g('payeeHint') }),
    p?.kind === 'application' ? [
      field('ed-title', g('grantTitle'), { type: 'text', maxlength: '200', value: a.title }),
      field('ed-description', g('grantDescription'), { rows: '4', maxlength: '10000' }, { tag: 'textarea' }),
      kronorField('ed-amount', g('requested'), a.requestedMinor, max ? { hint: `${g('amountHint')} ${g('requestedMax', { a: kr(max) })}` } : {}),
    ] : null,
    h('div', { class: 'actions' }, submit));
  const description = form.querySelector('#ed-description');
  if (description) description.value = a.description || '';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const val = (id) => (form.querySelector(`#ed-${id}`)?.value || '').trim();
    const body = { associationId: a.associationId, title: val('title'), description: val('description'), payee: readAccount(form, 'ed') };
    if (!body.payee) delete body.payee;
    if (val('amount')) {
      const ore = parseKronor(val('amount'));
      if (ore === null) { showAt(form, box, localError('requestedMinor', g('amountFormat')), appField); return; }
      body.requestedMinor = ore;
    }
    try {
      await working(submit, () => api(`/v1/grants/applications/${a.id}`, json('PUT', body, ifMatch(a.version))));
      await renderApplication(a.id, { section: 'edit', notice: g('saved') });
    } catch (err) {
      if (err.status === 412) { await renderApplication(a.id, { section: 'edit', kind: 'warn', notice: t('staleVersion') }); return; }
      showAt(form, box, err, appField, { max: max ? kr(max) : '' });
    }
  });
  return h('section', { class: 'edit-section', id: 'edit', 'aria-labelledby': 'edit-h' },
    h('h2', { id: 'edit-h' }, g('edit')), note, form);
}

// Asks before acting on `cell`'s button: `question`, then `act()` (its errors shown in place).
function confirmIn(cell, question, yesLabel, act) {
  const before = [...cell.childNodes];
  const box = h('div', {});
  const yes = h('button', { type: 'button', class: 'small danger', onclick: async () => {
    try {
      await working(yes, act);
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

// A file upload form: `#ID-file` and its button; `send(file)` does the upload.
function uploadForm(ID, label, { accept, hint, button, onError, send, extra = null }) {
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, button);
  const form = h('form', { class: 'form-grid upload-form', id: `${ID}-form`, novalidate: true },
    box,
    field(`${ID}-file`, label, { type: 'file', accept }, { hint }),
    extra,
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    const file = form.querySelector(`#${ID}-file`).files[0];
    if (!file) { showErrors(form, box, localError('file', g('chooseFileFirst')), () => `${ID}-file`); return; }
    try {
      await working(submit, () => send(file));
    } catch (err) {
      onError(err, form, box);
    }
  });
  return form;
}

const upload = (path, file) => api(`${path}?fileName=${encodeURIComponent(file.name)}`, {
  method: 'POST', headers: { 'content-type': file.type || 'application/octet-stream' }, body: file,
});

function attachmentsSection({ a, editable, staff }, note) {
  const rows = a.attachments.map((x) => {
    const cell = h('div', { class: 'row-actions' });
    if (editable) {
      cell.append(h('button', { type: 'button', class: 'secondary small', onclick: () => confirmIn(cell, g('removeQuestion', { file: x.fileName }), g('removeConfirm'), async () => {
        await api(`/v1/grants/applications/${a.id}/attachments/${x.id}`, { method: 'DELETE' });
        await renderApplication(a.id, { section: 'attachments', notice: g('removed', { file: x.fileName }) });
      }) }, named(g('remove'), x.fileName)));
    }
    return h('li', { 'data-attachment': x.id },
      h('a', { href: `/v1/grants/applications/${a.id}/attachments/${x.id}`, download: x.fileName }, x.fileName),
      h('span', { class: 'hint' }, ` · ${x.contentType} · ${g('bytes', { n: new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(x.sizeBytes / 1024) })} · ${dateTime(x.createdAt)}`),
      cell.childNodes.length ? cell : null);
  });
  const form = editable ? uploadForm('att', g('chooseFile'), {
    accept: '.pdf,.png,.jpg,.jpeg,.txt,.csv,.docx,.xlsx,.odt,.ods',
    hint: g('attachmentsHint'),
    button: g('upload'),
    send: async (file) => {
      await upload(`/v1/grants/applications/${a.id}/attachments`, file);
      await renderApplication(a.id, { section: 'attachments', notice: g('uploaded', { file: file.name }) });
    },
    onError: (err, f, box) => showAt(f, box, err, (x) => (['content', 'fileName', 'file', 'attachments'].includes(x) ? 'att-file' : null)),
  }) : null;
  return h('section', { class: 'attachments', id: 'attachments', 'aria-labelledby': 'attachments-h' },
    h('h2', { id: 'attachments-h' }, g('attachments')),
    note,
    rows.length ? h('ul', { class: 'attachment-list' }, rows) : h('p', { class: 'hint' }, g('noAttachments')),
    staff && rows.length ? h('p', { class: 'hint' }, g('downloadsHint')) : null,
    form);
}

// ---- attendance lists: reports, and a refused list's problems ----

function ruleVars(p) {
  const r = { minAge: 7, maxAge: 25, minParticipants: 3, minMinutes: 60, leaderMinAge: 13, ...(p?.activity || {}) };
  return { from: r.minAge, to: r.maxAge, n: r.minParticipants, min: r.minMinutes, leader: r.leaderMinAge };
}

const ROW_ORDER = ['counted', 'leader', 'outsideAge', 'duplicatePerson', 'leaderTooYoung', 'overCap', 'occasionNotCounted'];
const OCCASION_ORDER = ['duplicateOccasion', 'tooShort', 'noLeader', 'tooFewParticipants', 'tooManyOccasionsThatDay'];
const SHOWN_ROWS = 20;

function listReport(l, i, ctx) {
  const vars = ruleVars(ctx.p);
  const r = l.report || {};
  const P = `list${i}`;
  const occ = r.occasionReasons || {};
  const rowCounts = r.rowReasons || {};
  const notCounted = r.rowsNotCounted || [];
  const total = notCounted.length + (r.rowsNotCountedOmitted || 0);
  const cell = h('div', { class: 'row-actions' });
  if (ctx.editable) {
    cell.append(h('button', { type: 'button', class: 'secondary small', onclick: () => confirmIn(cell, g('removeQuestion', { file: l.fileName }), g('removeConfirm'), async () => {
      await api(`/v1/grants/applications/${ctx.a.id}/attendance-lists/${l.id}`, { method: 'DELETE' });
      await renderApplication(ctx.a.id, { section: 'lists', notice: g('removed', { file: l.fileName }) });
    }) }, named(g('remove'), l.fileName)));
  }
  const occasionReasons = OCCASION_ORDER.filter((k) => occ[k] > 0);
  const rowReasons = ROW_ORDER.filter((k) => rowCounts[k] > 0);
  return h('article', { class: 'attendance-report', 'data-list': l.id, 'aria-labelledby': `${P}-h` },
    h('h3', { id: `${P}-h` }, l.fileName),
    h('p', { class: 'hint' }, g('readAt', { d: dateTime(l.createdAt) })),
    h('dl', { class: 'facts' },
      h('dt', {}, g('rows')), h('dd', { 'data-figure': 'rows' }, String(l.rows)),
      h('dt', {}, g('occasions')), h('dd', { 'data-figure': 'occasions' }, g('occasionsOf', { c: l.occasionsCounted, n: l.occasions })),
      h('dt', {}, g('participantOccasions')), h('dd', { 'data-figure': 'participant-occasions' }, String(l.participantOccasions)),
      h('dt', {}, g('listAmount')), h('dd', { 'data-figure': 'amount' }, kr(l.amountMinor))),
    occasionReasons.length ? [
      h('h4', {}, g('occasionsNotCounted')),
      h('ul', { class: 'reasons occasion-reasons' }, occasionReasons.map((k) => h('li', { 'data-reason': k }, `${gx('occasionReasons', k, vars)}: ${occ[k]}`))),
    ] : null,
    rowReasons.length ? [
      h('h4', {}, g('rowCounts')),
      h('ul', { class: 'reasons row-reasons' }, rowReasons.map((k) => h('li', { 'data-reason': k }, `${gx('rowReasons', k, vars)}: ${rowCounts[k]}`))),
    ] : null,
    notCounted.length ? [
      h('h4', {}, g('rowsNotCounted')),
      total > SHOWN_ROWS ? h('p', { class: 'hint' }, g('rowsNotCountedFirst', { n: SHOWN_ROWS, total })) : null,
      h('ul', { class: 'rows-not-counted' }, notCounted.slice(0, SHOWN_ROWS).map((n) => h('li', { 'data-line': n.line }, g('lineReason', { line: n.line, reason: gx('rowReason', n.reason, vars) })))),
      total > SHOWN_ROWS ? h('p', { class: 'hint' }, g('moreRows', { n: total - SHOWN_ROWS })) : null,
    ] : null,
    r.ignoredColumns?.length ? h('p', { class: 'hint' }, g('ignoredColumns', { c: r.ignoredColumns.join(', ') })) : null,
    cell.childNodes.length ? cell : null);
}

// One problem of a refused list, in words: "Rad 3, kolumnen datum: …".
function problemLine(v, vars) {
  const m = /^lines\[(\d+)\](?:\.(.+))?$/.exec(v.field || '');
  const column = m ? m[2] : v.field && v.field !== 'file' ? v.field : null;
  const where = [];
  if (m) where.push(g('line', { n: m[1] }));
  if (column) where.push(g('column', { c: gx('columns', column) }));
  const rules = g('csvRules');
  let text = rules[`${column}.${v.rule}`] ?? rules[v.rule];
  if (!text && getLang() !== 'sv') text = null;
  const first = /line (\d+)/.exec(v.message || '')?.[1] || '?';
  const more = /(\d+) more/.exec(v.message || '')?.[1] || '';
  if (text) text = Object.entries({ ...vars, first, more }).reduce((s, [k, x]) => s.replaceAll(`{${k}}`, String(x)), text);
  const said = text || v.message;
  return where.length ? `${where.join(', ')}: ${said}` : `${m || column ? '' : `${g('theFile')}: `}${said}`;
}

function listsSection(ctx, note) {
  const { a, p, editable } = ctx;
  const vars = { from: day(p.periodFrom), to: day(p.periodTo) };
  const problems = h('div', { id: 'list-problems' });
  const form = editable ? uploadForm('list', g('chooseList'), {
    accept: '.csv,text/csv,text/plain',
    hint: g('listsIntro'),
    button: g('uploadList'),
    extra: problems,
    send: async (file) => {
      problems.replaceChildren();
      const l = await upload(`/v1/grants/applications/${a.id}/attendance-lists`, file);
      await renderApplication(a.id, { section: 'lists', notice: g('listRead', { file: l.fileName, o: l.occasionsCounted, p: l.participantOccasions, a: kr(l.amountMinor) }) });
    },
    onError: (err, f, box) => {
      const list = err.problem?.errors || [];
      const input = f.querySelector('#list-file');
      // A refused list: every problem by line and column, in a list that takes focus.
      if (err.status === 400 && list.length && list.some((v) => /^lines\[|^file$|^(date|start|end|group|activity|role|personalIdentityNumber)$/.test(v.field || ''))) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', 'list-file-hint list-file-error list-problems');
        f.querySelector('#list-file-error').textContent = g('listRefusedShort', { n: list.length });
        const n = list.filter((v) => v.rule !== 'too_many_problems').length;
        problems.replaceChildren(h('div', { class: 'notice error list-problems', role: 'alert', tabindex: '-1' },
          h('p', {}, h('strong', {}, n === 1 ? g('listRefused1') : g('listRefused', { n }))),
          h('ul', {}, list.map((v) => h('li', { 'data-field': v.field || '', 'data-rule': v.rule }, problemLine(v, vars))))));
        problems.firstChild.focus();
        announce(problems.textContent);
        return;
      }
      problems.replaceChildren();
      showAt(f, box, err, (x) => (['content', 'fileName', 'file', 'attendanceLists'].includes(x) ? 'list-file' : null));
    },
  }) : null;
  return h('section', { class: 'attendance', id: 'lists', 'aria-labelledby': 'lists-h' },
    h('h2', { id: 'lists-h' }, g('lists')),
    note,
    a.attendanceLists.length ? a.attendanceLists.map((l, i) => listReport(l, i, ctx)) : h('p', { class: 'hint' }, g('noLists')),
    form);
}

// ---- a representative: send, withdraw ----

function sendSection({ a, code, editable }, note) {
  const box = h('div', { id: 'send-errors' });
  const parts = [];
  if (editable) {
    const again = a.status === 'completion_requested';
    const send = h('button', { type: 'button', id: 'send', onclick: async () => {
      clearErrors(view, box);
      try {
        await working(send, () => api(`/v1/grants/applications/${a.id}/submit`, { method: 'POST', headers: ifMatch(a.version) }));
        await renderApplication(a.id, { section: 'top', notice: g('sent', { m: municipalityName(code) }) });
      } catch (err) {
        if (err.status === 412) { await renderApplication(a.id, { section: 'send', kind: 'warn', notice: t('staleVersion') }); return; }
        showAt(view, box, err, appField, { max: '' });
      }
    } }, again ? g('sendAgain') : g('send'));
    parts.push(h('p', { class: 'hint' }, g('sendHint')), box, h('div', { class: 'actions' }, send));
  }
  if (['draft', 'submitted', 'completion_requested'].includes(a.status)) {
    const cell = h('div', { class: 'row-actions withdraw' });
    cell.append(h('button', { type: 'button', class: 'secondary', onclick: () => confirmIn(cell, g('withdrawQuestion'), g('withdrawConfirm'), async () => {
      await api(`/v1/grants/applications/${a.id}/withdraw`, { method: 'POST' });
      await renderApplication(a.id, { section: 'top', notice: g('withdrawn') });
    }) }, g('withdraw')));
    parts.push(cell);
  }
  if (!parts.length && !note) return null;
  return h('section', { class: 'send', id: 'send-section', 'aria-labelledby': 'send-h' },
    h('h2', { id: 'send-h' }, g('sendSection')), note, parts);
}

// ---- staff: completion request, assessment, decision ----

function handlingSection(ctx, note) {
  const { a } = ctx;
  const open = ['submitted', 'completion_requested'].includes(a.status);
  return h('section', { class: 'handling', id: 'handling', 'aria-labelledby': 'handling-h' },
    h('h2', { id: 'handling-h' }, g('handling')),
    note,
    a.status === 'submitted' ? completionForm(ctx) : null,
    open ? assessmentForm(ctx) : null,
    a.status === 'submitted' ? decisionForm(ctx) : null);
}

// A staff form: POST `path` with `body()`; drawn again with `done` as its notice.
function staffForm(ctx, id, legend, button, children, { path, body, done, idOf }) {
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, button);
  const form = h('form', { class: 'form-grid grant-form staff-form', id, novalidate: true, 'aria-labelledby': `${id}-h` },
    h('h3', { id: `${id}-h` }, legend),
    box, children, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    let b;
    try {
      b = body(form);
    } catch (err) {
      showAt(form, box, err, idOf);
      return;
    }
    try {
      const after = await working(submit, () => api(`/v1/grants/applications/${ctx.a.id}/${path}`, json('POST', b, ifMatch(ctx.a.version))));
      await renderApplication(ctx.a.id, { section: 'handling', notice: done(after) });
    } catch (err) {
      if (err.status === 412) { await renderApplication(ctx.a.id, { section: 'handling', kind: 'warn', notice: t('staleVersion') }); return; }
      showAt(form, box, err, idOf);
    }
  });
  return form;
}

function completionForm(ctx) {
  return staffForm(ctx, 'gc', g('askCompletion'), g('sendRequest'),
    field('gc-message', g('completionMessage'), { rows: '3', maxlength: '2000', required: true }, { tag: 'textarea', hint: g('completionHint') }),
    {
      path: 'completion-request',
      body: (f) => ({ message: f.querySelector('#gc-message').value.trim() }),
      done: () => g('completionRequested'),
      idOf: (x) => (x === 'message' ? 'gc-message' : null),
    });
}

function kronorOf(form, id, fieldName) {
  const raw = form.querySelector(`#${id}`).value.trim();
  const ore = parseKronor(raw);
  if (ore === null) throw localError(fieldName, g('amountFormat'));
  return ore;
}

function assessmentForm(ctx) {
  const { a } = ctx;
  const form = staffForm(ctx, 'gs', g('assessment'), g('saveAssessment'), [
    h('p', { class: 'hint' }, g('assessmentHint')),
    field('gs-text', g('assessmentText'), { rows: '4', maxlength: '10000', required: true }, { tag: 'textarea' }),
    kronorField('gs-amount', g('proposed'), a.assessment?.proposedMinor ?? (a.computedMinor || a.requestedMinor || null)),
  ], {
    path: 'assessment',
    body: (f) => ({ text: f.querySelector('#gs-text').value.trim(), proposedMinor: kronorOf(f, 'gs-amount', 'proposedMinor') }),
    done: () => g('assessed'),
    idOf: (x) => ({ text: 'gs-text', proposedMinor: 'gs-amount' }[x] || null),
  });
  form.querySelector('#gs-text').value = a.assessment?.text || '';
  return form;
}

function radioGroup(id, legend, options, checked) {
  return h('fieldset', { class: 'group radios', id, 'aria-describedby': `${id}-error` },
    h('legend', {}, legend),
    options.map(([value, label]) => h('label', { class: 'check' }, h('input', { type: 'radio', name: id, value, checked: value === checked }), label)),
    h('span', { class: 'field-error', id: `${id}-error` }));
}

function decisionForm(ctx) {
  const { a } = ctx;
  const suggested = a.assessment?.proposedMinor ?? (a.computedMinor || a.requestedMinor || null);
  const amount = kronorField('gd-amount', g('decisionAmount'), suggested);
  const form = staffForm(ctx, 'gd', g('decide'), g('recordDecision'), [
    radioGroup('gd-outcome', g('outcomeLegend'), [['approved', gx('outcomes', 'approved')], ['rejected', gx('outcomes', 'rejected')]], null),
    amount,
    field('gd-reasons', g('decisionReasons'), { rows: '3', maxlength: '5000' }, { tag: 'textarea', hint: g('reasonsHint') }),
    radioGroup('gd-authority', g('authorityLegend'), [['delegation', gx('authorityOptions', 'delegation')], ['committee', gx('authorityOptions', 'committee')]], 'delegation'),
    field('gd-reference', g('reference'), { type: 'text', maxlength: '200', required: true }, { hint: g('referenceHint') }),
  ], {
    path: 'decision',
    body: (f) => {
      const outcome = f.querySelector('input[name="gd-outcome"]:checked')?.value;
      if (!outcome) throw localError('outcome', g('chooseOutcome'));
      return {
        outcome,
        amountMinor: outcome === 'approved' ? kronorOf(f, 'gd-amount', 'amountMinor') : 0,
        reasons: f.querySelector('#gd-reasons').value.trim(),
        authority: f.querySelector('input[name="gd-authority"]:checked')?.value || 'delegation',
        reference: f.querySelector('#gd-reference').value.trim(),
      };
    },
    done: (after) => g('decisionRecorded', { outcome: `${gx('outcomes', after.decision.outcome)}${after.decision.outcome === 'approved' ? ` ${kr(after.decision.amountMinor)}` : ''}` }),
    idOf: (x) => ({ outcome: 'gd-outcome', amountMinor: 'gd-amount', reasons: 'gd-reasons', authority: 'gd-authority', reference: 'gd-reference' }[x] || null),
  });
  form.addEventListener('change', () => {
    amount.hidden = form.querySelector('input[name="gd-outcome"]:checked')?.value === 'rejected';
  });
  return form;
}

// ---- staff: payment orders ----

async function renderPayments(state = {}) {
  const { moved } = state;
  const me = account.me;
  document.title = `${g('payments')} – ${g('title')} – ${t('brand')}`;
  const code = isStaff() ? me.municipalityCode : '';
  const title = heading(code ? g('paymentsTitle', { m: municipalityName(code) }) : g('payments'));
  const back = h('p', {}, pageLink('/grants', g('allGrants'), { class: 'back' }));
  if (!me || !code) {
    view.replaceChildren(back, title, me ? h('p', { class: 'notice warn' }, g('staffOnly')) : signInHint(g('signInPayments')));
    if (moved) title.focus();
    return;
  }
  view.replaceChildren(back, title, h('p', {}, g('paymentsIntro')), h('p', {}, t('loading')));
  if (moved && !state.notice) title.focus();
  const ask = (path) => api(path).catch((err) => ({ failed: err }));
  const q = encodeURIComponent(code);
  const [approved, orders, progs] = await Promise.all([
    ask(`/v1/grants/applications?municipalityCode=${q}&status=approved`),
    ask(`/v1/grants/payment-orders?municipalityCode=${q}`),
    ask(`/v1/grants/programmes?municipalityCode=${q}`),
  ]);
  if (progs.programmes) remember(progs.programmes);
  const names = new Map((progs.programmes || []).map((p) => [p.id, p.name]));
  const unpaid = (approved.applications || []).filter((a) => !a.payment);
  view.replaceChildren(...[
    back, title, h('p', {}, g('paymentsIntro')),
    noteFor(state, 'top'),
    approved.failed ? problemBox(approved.failed) : prepareSection(code, unpaid, names, orders.orders || [], noteFor(state, 'prepare')),
    orders.failed ? problemBox(orders.failed) : ordersSection(orders.orders, noteFor(state, 'orders')),
  ].filter(Boolean));
  settle(state.notice, moved, title);
}

function prepareSection(code, unpaid, names, orders, note) {
  const last = orders[0]?.debtor;
  const box = h('div', {});
  const submit = h('button', { type: 'submit' }, g('prepareButton'));
  const apps = h('fieldset', { class: 'group', id: 'po-apps', 'aria-describedby': 'po-apps-error' },
    h('legend', {}, g('toPay')),
    unpaid.length
      ? h('ul', { class: 'plain to-pay' }, unpaid.map((a, i) => h('li', { 'data-application': a.id },
        h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'po-app', value: a.id, id: `po-app-${i}` }),
          g('payLabel', { association: a.associationName, programme: names.get(a.programmeId) || a.programmeId, a: kr(a.decision?.amountMinor) })))))
      : h('p', { class: 'hint' }, g('nothingToPay')),
    h('span', { class: 'field-error', id: 'po-apps-error' }));
  const form = h('form', { class: 'form-grid grant-form', id: 'po-form', novalidate: true },
    box,
    apps,
    field('po-date', g('executionDate'), { type: 'date', min: todayIso(), max: todayIso(365), value: todayIso(1), required: true }, { hint: g('executionHint') }),
    h('div', { class: 'row' },
      field('po-name', g('debtorName'), { type: 'text', maxlength: '70', value: last?.name || '', required: true }, { hint: g('debtorNameHint') }),
      field('po-org', g('debtorOrg'), { type: 'text', inputmode: 'numeric', autocomplete: 'off', value: last ? orgNumber(last.orgNumber) : '', required: true }, { hint: 'NNNNNN-NNNN' }),
      field('po-bic', g('debtorBic'), { type: 'text', autocomplete: 'off', spellcheck: 'false', value: last?.bic || '' }, { optional: true, hint: g('debtorBicHint') })),
    accountFields('po', last?.account || null, { legend: g('debtorAccount'), bic: false }),
    h('div', { class: 'actions' }, submit));
  const picked = () => [...form.querySelectorAll('input[name="po-app"]:checked')];
  let chosen = [];
  const idOf = (f) => {
    if (/^applicationIds\[\d+\]$/.test(f)) return 'po-apps';
    return {
      applicationIds: 'po-apps', executionDate: 'po-date', 'debtor.name': 'po-name', 'debtor.orgNumber': 'po-org', 'debtor.bic': 'po-bic',
    }[f] || accountField('debtor.account', 'po', f);
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, box);
    chosen = picked();
    const val = (id) => (form.querySelector(`#${id}`)?.value || '').trim();
    const account = readAccount(form, 'po') || { kind: form.querySelector('#po-kind').value, number: '' };
    const body = {
      municipalityCode: code,
      applicationIds: chosen.map((c) => c.value),
      executionDate: val('po-date'),
      debtor: { name: val('po-name'), orgNumber: val('po-org'), account, ...(val('po-bic') ? { bic: val('po-bic') } : {}) },
    };
    try {
      const o = await working(submit, () => api('/v1/grants/payment-orders', json('POST', body)));
      await renderPayments({ section: 'orders', notice: g('prepared', { a: kr(o.totalMinor) }) });
    } catch (err) {
      // An application's problem names the application, at the list of them.
      const loc = localized(err, idOf);
      if (loc instanceof ApiError && loc.problem.errors) {
        loc.problem.errors = loc.problem.errors.map((v) => {
          const m = /^applicationIds\[(\d+)\]$/.exec(v.field || '');
          if (!m) return v;
          const label = chosen[Number(m[1])]?.closest('label')?.textContent || '';
          return { ...v, rule: 'grants', message: `${label}: ${v.rule === 'grants' ? v.message : errorText(v)}` };
        });
      }
      showErrors(form, box, loc, idOf);
    }
  });
  return h('section', { class: 'prepare', id: 'prepare', 'aria-labelledby': 'prepare-h' },
    h('h2', { id: 'prepare-h' }, g('prepare')), note, form);
}

function ordersSection(orders, note) {
  return h('section', { class: 'orders', id: 'orders', 'aria-labelledby': 'orders-h' },
    h('h2', { id: 'orders-h' }, g('orders')),
    note,
    orders.length ? orders.map((o, i) => orderArticle(o, i)) : h('p', { class: 'hint' }, g('noOrders')));
}

function orderArticle(o, i) {
  const P = `order${i}`;
  const fact = (label, value) => (value ? [h('dt', {}, label), h('dd', {}, value)] : null);
  const actions = h('div', { class: 'row-actions order-actions' });
  const box = h('div', { class: 'order-problem' });
  if (o.status === 'prepared') {
    const attest = h('button', { type: 'button', onclick: async () => {
      box.replaceChildren();
      try {
        await working(attest, () => api(`/v1/grants/payment-orders/${o.id}/attest`, { method: 'POST', headers: ifMatch(o.version) }));
        await renderPayments({ section: 'orders', notice: g('attested') });
      } catch (err) {
        // The one who prepared it is refused (403): say why, in the page's words.
        const own = err.status === 403 && /prepared/.test(err.problem?.detail || err.message || '');
        box.replaceChildren(own
          ? h('div', { class: 'notice error', role: 'alert', tabindex: '-1' }, h('p', {}, h('strong', {}, g('attestSelf'))))
          : problemBox(err.status === 403 ? new ApiError({ ...err.problem, detail: `${problemText(err)} ${err.problem?.detail || ''}` }, 403) : err));
        box.firstChild.focus();
        announce(box.textContent);
      }
    } }, named(g('attest'), o.messageId));
    const cancel = h('div', { class: 'row-actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => confirmIn(cancel, g('cancelQuestion'), g('cancelConfirm'), async () => {
      await api(`/v1/grants/payment-orders/${o.id}/cancel`, { method: 'POST' });
      await renderPayments({ section: 'orders', notice: g('cancelled') });
    }) }, named(g('cancelOrder'), o.messageId)));
    actions.append(h('div', { class: 'actions' }, attest, cancel));
  } else if (o.status === 'attested') {
    actions.append(h('p', {}, h('a', { class: 'button secondary', href: `/v1/grants/payment-orders/${o.id}/file`, download: `${o.messageId}.xml` }, g('file'))));
  }
  return h('article', { class: 'order', 'data-order': o.id, 'data-status': o.status, 'aria-labelledby': `${P}-h` },
    h('h3', { id: `${P}-h` }, g('order', { id: o.messageId }), ' ', h('span', { class: `status ${ORDER_CLASS[o.status] || ''}` }, gx('orderStatuses', o.status))),
    h('dl', { class: 'facts' },
      fact(g('executionDate'), day(o.executionDate)),
      fact(g('total'), `${kr(o.totalMinor)} (${o.payments.length === 1 ? g('paymentsN1') : g('paymentsN', { n: o.payments.length })})`),
      fact(g('debtor'), `${o.debtor.name}, ${orgNumber(o.debtor.orgNumber)}, ${accountText(o.debtor.account)}${o.debtor.bic ? ` (BIC ${o.debtor.bic})` : ''}`),
      fact(g('preparedBy'), g('byAt', { who: o.preparedBy, d: dateTime(o.preparedAt) })),
      fact(g('attestedBy'), o.attestedBy ? g('byAt', { who: o.attestedBy, d: dateTime(o.attestedAt) }) : null),
      fact(g('fileHash'), o.fileSha256 ? h('code', { class: 'hash' }, o.fileSha256) : null)),
    h('table', { class: 'order-payments', 'aria-labelledby': `${P}-h` },
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, g('association')), h('th', { scope: 'col', class: 'num' }, g('amount')), h('th', { scope: 'col' }, g('account')),
        h('th', { scope: 'col' }, g('remittance')), h('th', { scope: 'col' }, g('paidOn')))),
      h('tbody', {}, o.payments.map((x) => h('tr', { 'data-application': x.applicationId },
        h('th', { scope: 'row' }, pageLink(`/grants?application=${x.applicationId}`, x.associationName)),
        h('td', { class: 'num' }, kr(x.amountMinor)),
        h('td', {}, accountText(x.account)),
        h('td', {}, x.remittance),
        h('td', {}, x.paidOn ? day(x.paidOn) : '–'))))),
    actions.childNodes.length ? actions : null,
    box);
}
