//! Attendance lists (närvarolistor) for the activity grant: the documented CSV layout read in
//! one streaming pass, each occasion (sammankomst) decided by [`ActivityRules`], and a compact
//! report of what counted and why not (docs/grants-attendance.md).
//!
//! [`import`] reads a list once, holding only the rows of the occasion being read: the rows of
//! one occasion must follow each other (a later row of an occasion already closed is the
//! `occasion_split` problem), so memory does not grow with the number of rows. What it keeps
//! per occasion (a result line each) is small next to the rows.
//!
//! A list is taken whole or not at all: one malformed row and [`import`] returns [`Rejected`]
//! with every problem found (line, column, rule, message), and nothing is counted.
//!
//! Personal identity numbers never leave this module: they are parsed into a birth date and an
//! opaque [`crate::rules::PersonKey`] for the occasion being read and dropped with it. No
//! message, report or `Debug` output contains one (nor any other value from the file, so a
//! number in the wrong column is not echoed either); the `name` column is never read.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::BufRead;

use chrono::NaiveDate;
use registry_core::person::PersonalIdentityNumber;
use serde::Serialize;

use crate::rules::{ActivityRules, Attendee, Context, Occasion, OccasionReason, PersonKey, Role, RowReason};

use self::csv::{CsvReader, Next, ReadError, Record};

/// At most this many problems are listed in [`Rejected`]; the rest are counted.
pub const MAX_PROBLEMS: usize = 1000;
/// At most this many rows not counted are listed in [`Import::rows_not_counted`]; the rest
/// are counted.
pub const MAX_ROW_NOTES: usize = 1000;
/// The most rows one occasion may have (`occasion_too_large`): bounds the memory of the
/// occasion being read.
pub const MAX_ROWS_PER_OCCASION: usize = 10_000;
/// The longest group name, in characters.
pub const MAX_GROUP_CHARS: usize = 100;

/// Imports one attendance list: reads it once, decides every occasion by `rules`, and returns
/// the totals, a result per occasion and the report of the rows, or [`Rejected`] with every
/// problem when any row is malformed.
///
/// `today` is the day of the import: dates of occasions after it are refused, and it decides
/// the century of ten-digit personal identity numbers. A file of more than `max_bytes` bytes is
/// refused (`too_large`) without reading the rest.
///
/// `seen` is asked once per occasion, as it is closed, whether the same occasion (its
/// [`OccasionKey`]) was already counted in an earlier list; it must only look, since the import
/// may still be rejected: the caller stores the keys of [`Import::occasions`] after a
/// successful import. Duplicates within the list are caught here, without asking. Once a
/// problem is found, `seen` is no longer asked.
pub fn import<R: BufRead>(
    reader: R,
    rules: &ActivityRules,
    today: NaiveDate,
    max_bytes: u64,
    seen: &mut impl FnMut(&OccasionKey) -> bool,
) -> Result<Import, Rejected> {
    let mut csv = CsvReader::new(reader, max_bytes);
    let mut problems = Problems::default();
    let columns = match csv.next_record() {
        Ok(Next::Record(header)) if (0..header.len()).all(|i| header.get(i).trim_ascii().is_empty()) => {
            problems.add(None, None, "empty", "the file is empty: a header row naming the columns is required");
            None
        }
        Ok(Next::Record(header)) => Columns::from_header(&header, &mut problems),
        Ok(Next::End) => {
            problems.add(None, None, "empty", "the file is empty: a header row naming the columns is required");
            None
        }
        Ok(Next::Malformed { line, rule, .. }) => {
            problems.add(Some(line), None, rule, csv::message(rule));
            None
        }
        Err(e) => {
            problems.read_error(e, max_bytes);
            None
        }
    };
    let Some(columns) = columns.filter(|_| problems.is_empty()) else { return Err(problems.into_rejected()) };

    let mut state = State::new(rules, today, columns);
    loop {
        match csv.next_record() {
            Ok(Next::Record(r)) => state.row(&r, &mut problems, seen),
            Ok(Next::Malformed { line, field, rule }) => {
                state.rows += 1;
                let column = state.columns.name(field);
                problems.add(Some(line), Some(column), rule, csv::message(rule));
            }
            Ok(Next::End) => break,
            Err(e) => {
                problems.read_error(e, max_bytes);
                break;
            }
        }
    }
    state.close(&problems, seen);
    if state.rows == 0 && problems.is_empty() {
        problems.add(None, None, "empty", "the file has a header row but no attendance rows");
    }
    if !problems.is_empty() {
        return Err(problems.into_rejected());
    }
    Ok(state.into_import())
}

/// Identifies an occasion across lists: its date, its start and its group's name normalised
/// (trimmed, runs of white space made one space, lower-cased). Two rows of different lists with
/// the same key are the same occasion, whatever their end time or activity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OccasionKey {
    date: NaiveDate,
    start: u16,
    group: String,
}

impl OccasionKey {
    /// The key of an occasion on `date` starting `start` minutes after midnight, of `group`
    /// (normalised here).
    pub fn new(date: NaiveDate, start: u16, group: &str) -> Self {
        let mut g = String::with_capacity(group.len());
        normalise_group(group, &mut g);
        OccasionKey { date, start, group: g }
    }

    /// The date.
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// The start, minutes after midnight.
    pub fn start(&self) -> u16 {
        self.start
    }

    /// The normalised group name.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The key as text for a unique column (scoped by the caller to the association), e.g.
    /// `2027-09-14T17:00/f12 blå`: date, `T`, start `HH:MM`, `/`, the normalised group name. At
    /// most 17 bytes plus the group name (at most 100 characters).
    pub fn key(&self) -> String {
        self.to_string()
    }
}

impl std::fmt::Display for OccasionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}T{}/{}", self.date.format("%Y-%m-%d"), Clock(self.start), self.group)
    }
}

/// Minutes after midnight as `HH:MM`.
struct Clock(u16);

impl std::fmt::Display for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// Trims, makes every run of white space one space and lower-cases, into `out` (cleared).
fn normalise_group(group: &str, out: &mut String) {
    out.clear();
    for word in group.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        if word.is_ascii() {
            out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
        } else {
            out.extend(word.chars().flat_map(char::to_lowercase));
        }
    }
}

/// A successfully imported list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AttendanceImport))]
pub struct Import {
    /// The sums.
    pub totals: Totals,
    /// Every occasion in the order of the list.
    pub occasions: Vec<OccasionResult>,
    /// How many rows ended up with each reason.
    pub row_reasons: RowCounts,
    /// How many occasions ended up counted or with each reason.
    pub occasion_reasons: OccasionCounts,
    /// The first [`MAX_ROW_NOTES`] rows that are neither counted participants nor leaders, by
    /// line.
    pub rows_not_counted: Vec<RowNote>,
    /// How many more such rows there are.
    pub rows_not_counted_omitted: u64,
    /// Header names of the columns that were ignored (any not in the layout); a name that is
    /// not plain words is shown as `column N`.
    pub ignored_columns: Vec<String>,
}

/// The sums of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Totals {
    /// Attendance rows (not the header, not blank lines).
    pub rows: u64,
    /// Occasions.
    pub occasions: u64,
    /// Occasions that count.
    pub occasions_counted: u64,
    /// Participant-occasions paid for (deltagartillfällen).
    pub participant_occasions_counted: u64,
    /// The grant, in öre.
    pub amount_minor: i64,
}

/// Rows per [`RowReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowCounts {
    /// `counted`: participants paid for.
    pub counted: u64,
    /// `outside_age`.
    pub outside_age: u64,
    /// `duplicate_person`.
    pub duplicate_person: u64,
    /// `leader`.
    pub leader: u64,
    /// `leader_too_young`.
    pub leader_too_young: u64,
    /// `over_cap`.
    pub over_cap: u64,
    /// `occasion_not_counted`.
    pub occasion_not_counted: u64,
}

impl RowCounts {
    /// The count of one reason.
    pub fn get(&self, r: RowReason) -> u64 {
        *self.slot(r)
    }

    fn add(&mut self, r: RowReason) {
        *self.slot_mut(r) += 1;
    }

    fn slot(&self, r: RowReason) -> &u64 {
        match r {
            RowReason::Counted => &self.counted,
            RowReason::OutsideAge => &self.outside_age,
            RowReason::DuplicatePerson => &self.duplicate_person,
            RowReason::Leader => &self.leader,
            RowReason::LeaderTooYoung => &self.leader_too_young,
            RowReason::OverCap => &self.over_cap,
            RowReason::OccasionNotCounted => &self.occasion_not_counted,
        }
    }

    fn slot_mut(&mut self, r: RowReason) -> &mut u64 {
        match r {
            RowReason::Counted => &mut self.counted,
            RowReason::OutsideAge => &mut self.outside_age,
            RowReason::DuplicatePerson => &mut self.duplicate_person,
            RowReason::Leader => &mut self.leader,
            RowReason::LeaderTooYoung => &mut self.leader_too_young,
            RowReason::OverCap => &mut self.over_cap,
            RowReason::OccasionNotCounted => &mut self.occasion_not_counted,
        }
    }
}

/// Occasions counted, and per [`OccasionReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OccasionCounts {
    /// Occasions that count.
    pub counted: u64,
    /// `duplicate_occasion`.
    pub duplicate_occasion: u64,
    /// `too_short`.
    pub too_short: u64,
    /// `no_leader`.
    pub no_leader: u64,
    /// `too_few_participants`.
    pub too_few_participants: u64,
    /// `too_many_occasions_that_day`.
    pub too_many_occasions_that_day: u64,
}

impl OccasionCounts {
    /// The count of occasions not counted for one reason.
    pub fn get(&self, r: OccasionReason) -> u64 {
        match r {
            OccasionReason::DuplicateOccasion => self.duplicate_occasion,
            OccasionReason::TooShort => self.too_short,
            OccasionReason::NoLeader => self.no_leader,
            OccasionReason::TooFewParticipants => self.too_few_participants,
            OccasionReason::TooManyOccasionsThatDay => self.too_many_occasions_that_day,
        }
    }

    fn add(&mut self, r: Option<OccasionReason>) {
        let slot = match r {
            None => &mut self.counted,
            Some(OccasionReason::DuplicateOccasion) => &mut self.duplicate_occasion,
            Some(OccasionReason::TooShort) => &mut self.too_short,
            Some(OccasionReason::NoLeader) => &mut self.no_leader,
            Some(OccasionReason::TooFewParticipants) => &mut self.too_few_participants,
            Some(OccasionReason::TooManyOccasionsThatDay) => &mut self.too_many_occasions_that_day,
        };
        *slot += 1;
    }
}

/// A row that is neither a counted participant nor a leader: its line and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowNote {
    /// The line in the file (the header is line 1).
    pub line: u64,
    /// Why it was not counted.
    pub reason: RowReason,
}

/// The outcome of one occasion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OccasionResult {
    /// The line of its first row.
    pub line: u64,
    /// Its [`OccasionKey::key`], for the caller's unique column.
    pub key: String,
    /// The day.
    pub date: NaiveDate,
    /// Start, minutes after midnight.
    pub start: u16,
    /// End, minutes after midnight.
    pub end: u16,
    /// The group's name as on its first row (trimmed).
    pub group: String,
    /// The registry activity code, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    /// Whether it counts.
    pub counted: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<OccasionReason>,
    /// Its rows.
    pub rows: u32,
    /// Distinct participants in the age range.
    pub participants_in_age: u32,
    /// Participants paid for.
    pub participants_counted: u32,
    /// Distinct leaders old enough to lead.
    pub leaders: u32,
    /// The grant for it, in öre.
    pub amount_minor: i64,
}

/// Why a list was refused as a whole: every problem found, nothing counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AttendanceRejected))]
pub struct Rejected {
    /// The first [`MAX_PROBLEMS`] problems, in the order of the file.
    pub problems: Vec<Problem>,
    /// How many more problems there are.
    pub more: u64,
}

/// One problem of a rejected list. Never contains a value from the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AttendanceProblem))]
pub struct Problem {
    /// The line (the header is line 1); none for the file as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The column (its name in the layout, e.g. `date`, or `column N` for one outside it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The rule broken, e.g. `format`, `checksum`, `occasion_split`.
    pub rule: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, &self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, {c}: ")?,
            (Some(l), None) => write!(f, "line {l}: ")?,
            (None, Some(c)) => write!(f, "{c}: ")?,
            (None, None) => {}
        }
        write!(f, "{} ({})", self.message, self.rule)
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.problems.len() as u64 + self.more;
        write!(f, "the attendance list was rejected ({n} problem{})", if n == 1 { "" } else { "s" })?;
        for p in self.problems.iter().take(5) {
            write!(f, "; {p}")?;
        }
        if n > 5 {
            write!(f, "; …")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}

impl Rejected {
    /// The problems as the registry's [`registry_core::Error::Invalid`], one violation each with
    /// the field `lines[N].column` (`lines[N]` for a whole row, `file` for the file).
    pub fn into_error(self) -> registry_core::Error {
        let mut v: Vec<registry_core::FieldViolation> = self
            .problems
            .into_iter()
            .map(|p| {
                let field = match (p.line, p.column) {
                    (Some(l), Some(c)) => format!("lines[{l}].{c}"),
                    (Some(l), None) => format!("lines[{l}]"),
                    (None, Some(c)) => c,
                    (None, None) => "file".to_string(),
                };
                registry_core::FieldViolation::new(field, p.rule, p.message)
            })
            .collect();
        if self.more > 0 {
            v.push(registry_core::FieldViolation::new("file", "too_many_problems", format!("and {} more problems", self.more)));
        }
        registry_core::Error::Invalid(v)
    }
}

#[derive(Default)]
struct Problems {
    list: Vec<Problem>,
    more: u64,
}

impl Problems {
    fn add(&mut self, line: Option<u64>, column: Option<&str>, rule: &'static str, message: impl Into<String>) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(Problem { line, column: column.map(str::to_string), rule, message: message.into() });
        } else {
            self.more += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn read_error(&mut self, e: ReadError, max_bytes: u64) {
        match e {
            ReadError::TooLarge => self.add(None, None, "too_large", format!("the file is larger than the limit of {max_bytes} bytes")),
            ReadError::Io => self.add(None, None, "read", "the file could not be read to the end"),
        }
    }

    fn into_rejected(self) -> Rejected {
        Rejected { problems: self.list, more: self.more }
    }
}

/// Where the columns of the layout are.
struct Columns {
    count: usize,
    date: usize,
    start: usize,
    end: usize,
    group: usize,
    activity: Option<usize>,
    role: usize,
    pin: usize,
    /// The name of each column in problems: the layout's, or `column N`.
    names: Vec<String>,
    ignored: Vec<String>,
}

const DATE: &str = "date";
const START: &str = "start";
const END: &str = "end";
const GROUP: &str = "group";
const ACTIVITY: &str = "activity";
const ROLE: &str = "role";
const PIN: &str = "personalIdentityNumber";
const NAME: &str = "name";

/// The accepted header names of each column (compared ignoring ASCII case).
const HEADER_NAMES: [(&str, &[&str]); 8] = [
    (DATE, &["date", "datum"]),
    (START, &["start", "starttid"]),
    (END, &["end", "slut", "sluttid"]),
    (GROUP, &["group", "grupp"]),
    (ACTIVITY, &["activity", "aktivitet"]),
    (ROLE, &["role", "roll"]),
    (PIN, &["personalIdentityNumber", "personnummer"]),
    (NAME, &["name", "namn"]),
];

impl Columns {
    fn from_header(header: &Record<'_>, problems: &mut Problems) -> Option<Columns> {
        let mut found: [Option<usize>; 8] = [None; 8];
        let mut names = Vec::with_capacity(header.len());
        let mut ignored = Vec::new();
        for i in 0..header.len() {
            let cell = header.get(i).trim_ascii();
            let known = HEADER_NAMES.iter().position(|(_, aliases)| aliases.iter().any(|a| a.as_bytes().eq_ignore_ascii_case(cell)));
            match known {
                Some(k) => {
                    let name = HEADER_NAMES[k].0;
                    if found[k].is_some() {
                        problems.add(Some(header.line()), Some(name), "duplicate_column", "the header row names this column twice");
                    }
                    found[k] = Some(i);
                    names.push(name.to_string());
                }
                None => {
                    let label = format!("column {}", i + 1);
                    let plain = std::str::from_utf8(cell).ok().filter(|s| {
                        !s.is_empty()
                            && s.chars().count() <= 40
                            && s.chars().all(|c| c.is_alphabetic() || matches!(c, ' ' | '_' | '-' | '.'))
                    });
                    ignored.push(plain.map_or_else(|| label.clone(), str::to_string));
                    names.push(label);
                }
            }
        }
        for (k, (name, _)) in HEADER_NAMES.iter().enumerate() {
            if found[k].is_none() && !matches!(*name, ACTIVITY | NAME) {
                problems.add(Some(header.line()), Some(name), "missing_column", format!("the header row has no `{name}` column"));
            }
        }
        Some(Columns {
            count: header.len(),
            date: found[0]?,
            start: found[1]?,
            end: found[2]?,
            group: found[3]?,
            activity: found[4],
            role: found[5]?,
            pin: found[6]?,
            names,
            ignored,
        })
    }

    fn name(&self, i: usize) -> &str {
        self.names.get(i).map_or("column", String::as_str)
    }
}

/// The occasion being read.
struct Current {
    line: u64,
    key: OccasionKey,
    end: u16,
    /// The group as on the first row, trimmed.
    group: String,
    /// The activity as on the first row (checked then), trimmed.
    activity: Option<Vec<u8>>,
    /// A later block of an occasion already closed: reported once, its rows ignored.
    split: bool,
    /// The same key earlier in this list, with another end.
    duplicate: bool,
    too_large: bool,
}

struct State<'r> {
    rules: &'r ActivityRules,
    today: NaiveDate,
    columns: Columns,
    rows: u64,
    current: Option<Current>,
    /// The rows of the current occasion, and their lines.
    attendees: Vec<Attendee>,
    lines: Vec<u64>,
    reasons: Vec<RowReason>,
    /// Every occasion of the list so far: its end and first line (for splits and duplicates).
    index: HashMap<OccasionKey, (u16, u64)>,
    /// Counted occasions per group and day.
    per_day: HashMap<(NaiveDate, String), u32>,
    scratch: String,
    last_date: ([u8; 10], NaiveDate),
    // The report.
    totals: Totals,
    occasions: Vec<OccasionResult>,
    row_reasons: RowCounts,
    occasion_reasons: OccasionCounts,
    notes: Vec<RowNote>,
    notes_omitted: u64,
}

impl<'r> State<'r> {
    fn new(rules: &'r ActivityRules, today: NaiveDate, columns: Columns) -> Self {
        State {
            rules,
            today,
            columns,
            rows: 0,
            current: None,
            attendees: Vec::with_capacity(64),
            lines: Vec::with_capacity(64),
            reasons: Vec::with_capacity(64),
            index: HashMap::new(),
            per_day: HashMap::new(),
            scratch: String::new(),
            last_date: ([0; 10], NaiveDate::MIN),
            totals: Totals::default(),
            occasions: Vec::new(),
            row_reasons: RowCounts::default(),
            occasion_reasons: OccasionCounts::default(),
            notes: Vec::new(),
            notes_omitted: 0,
        }
    }

    fn row(&mut self, r: &Record<'_>, problems: &mut Problems, seen: &mut impl FnMut(&OccasionKey) -> bool) {
        if (0..r.len()).all(|i| r.get(i).trim_ascii().is_empty()) {
            return; // a blank line, or one of separators only
        }
        self.rows += 1;
        let line = Some(r.line());
        let c = &self.columns;
        if r.len() != c.count {
            let msg = format!("has {} fields where the header row has {}", r.len(), c.count);
            problems.add(line, None, "field_count", msg);
            return;
        }
        let (date_field, start_field, end_field, group_field) = (r.get(c.date), r.get(c.start), r.get(c.end), r.get(c.group));
        let activity = c.activity.map(|i| r.get(i).trim_ascii()).filter(|a| !a.is_empty());
        let (role_field, pin_field) = (r.get(c.role), r.get(c.pin));

        let date = match self.date(date_field) {
            Some(d) if d > self.today => {
                problems.add(line, Some(DATE), "after_today", "the date is after the day of the import");
                None
            }
            Some(d) => Some(d),
            None => {
                problems.add(line, Some(DATE), "format", "must be a date YYYY-MM-DD");
                None
            }
        };
        let start = parse_time(start_field);
        if start.is_none() {
            problems.add(line, Some(START), "format", "must be a time HH:MM (00:00 to 23:59)");
        }
        let mut end = parse_time(end_field);
        match (start, end) {
            (_, None) => problems.add(line, Some(END), "format", "must be a time HH:MM (00:00 to 23:59)"),
            (Some(s), Some(e)) if e <= s => {
                problems.add(line, Some(END), "order", "must be after the start (an occasion cannot run over midnight)");
                end = None;
            }
            _ => {}
        }
        let group = match std::str::from_utf8(group_field).map(str::trim) {
            Err(_) => {
                problems.add(line, Some(GROUP), "encoding", "must be UTF-8 text (save the list as CSV UTF-8)");
                None
            }
            Ok("") => {
                problems.add(line, Some(GROUP), "required", "must name the group");
                None
            }
            Ok(g) if g.chars().count() > MAX_GROUP_CHARS => {
                problems.add(line, Some(GROUP), "max_length", format!("must be at most {MAX_GROUP_CHARS} characters"));
                None
            }
            Ok(g) if g.chars().any(char::is_control) => {
                problems.add(line, Some(GROUP), "format", "must not contain control characters such as line breaks");
                None
            }
            Ok(g) => Some(g),
        };
        let role = parse_role(role_field);
        if role.is_none() {
            problems.add(line, Some(ROLE), "unknown_code", "must be participant or leader (deltagare or ledare)");
        }
        let pin = match std::str::from_utf8(pin_field).map(str::trim) {
            Ok("") => {
                problems.add(line, Some(PIN), "required", "must be the person's personal identity number or coordination number");
                None
            }
            Ok(s) => match PersonalIdentityNumber::parse(s, self.today) {
                Ok(p) => Some(p),
                Err(e) => {
                    problems.add(line, Some(PIN), e.rule(), e.message());
                    None
                }
            },
            Err(_) => {
                problems.add(line, Some(PIN), "format", registry_core::person::PinError::Format.message());
                None
            }
        };

        let (Some(date), Some(start), Some(end), Some(group)) = (date, start, end, group) else { return };
        if !self.place(r.line(), date, start, end, group, activity, problems, seen) {
            return;
        }
        let (Some(role), Some(pin)) = (role, pin) else { return };
        if self.attendees.len() >= MAX_ROWS_PER_OCCASION {
            let cur = self.current.as_mut().expect("placed");
            if !cur.too_large {
                cur.too_large = true;
                let msg = format!("the occasion that starts on line {} has more than {MAX_ROWS_PER_OCCASION} rows", cur.line);
                problems.add(line, None, "occasion_too_large", msg);
            }
            return;
        }
        self.attendees.push(Attendee { role, birth_date: pin.birth_date(), person: PersonKey::of(&pin) });
        self.lines.push(r.line());
    }

    /// The date in `field`, reusing the last one parsed (the rows of an occasion share it).
    fn date(&mut self, field: &[u8]) -> Option<NaiveDate> {
        let field = field.trim_ascii();
        if field.len() == 10 && field == self.last_date.0 {
            return Some(self.last_date.1);
        }
        let d = parse_date(field)?;
        self.last_date.0.copy_from_slice(field);
        self.last_date.1 = d;
        Some(d)
    }

    /// Finds the row's occasion: the current one, or a new one (closing the current). Returns
    /// whether the row's person belongs to an occasion that is evaluated.
    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        line: u64,
        date: NaiveDate,
        start: u16,
        end: u16,
        group: &str,
        activity: Option<&[u8]>,
        problems: &mut Problems,
        seen: &mut impl FnMut(&OccasionKey) -> bool,
    ) -> bool {
        if let Some(cur) = &self.current
            && cur.key.date == date
            && cur.key.start == start
            && cur.end == end
            && (cur.group == group || {
                normalise_group(group, &mut self.scratch);
                self.scratch == cur.key.group
            })
        {
            if activity != cur.activity.as_deref() {
                let msg = format!("differs from the activity on line {}, where this occasion starts", cur.line);
                problems.add(Some(line), Some(ACTIVITY), "mismatch", msg);
            }
            return !cur.split;
        }

        self.close(problems, seen);
        if let Some(a) = activity
            && !std::str::from_utf8(a).is_ok_and(registry_core::codes::is_activity)
        {
            problems.add(Some(line), Some(ACTIVITY), "unknown_code", "must be an activity code of the registry, e.g. football");
        }
        let activity = activity.map(<[u8]>::to_vec);
        let key = OccasionKey::new(date, start, group);
        let (mut split, mut duplicate) = (false, false);
        match self.index.entry(key.clone()) {
            Entry::Occupied(e) if e.get().0 == end => {
                split = true;
                let msg = format!(
                    "belongs to the occasion that starts on line {}: the rows of an occasion must follow each other (sort the list by date, start and group)",
                    e.get().1
                );
                problems.add(Some(line), None, "occasion_split", msg);
            }
            Entry::Occupied(_) => duplicate = true,
            Entry::Vacant(v) => {
                v.insert((end, line));
            }
        }
        self.current = Some(Current { line, key, end, group: group.to_string(), activity, split, duplicate, too_large: false });
        !split
    }

    /// Decides the current occasion and adds it to the report.
    fn close(&mut self, problems: &Problems, seen: &mut impl FnMut(&OccasionKey) -> bool) {
        let Some(cur) = self.current.take() else { return };
        let rows = self.attendees.len() as u32;
        if cur.split || !problems.is_empty() {
            // A split is a problem already; once there is one, nothing will be counted, so
            // neither the rules nor the caller's `seen` need to run.
            self.attendees.clear();
            self.lines.clear();
            return;
        }
        let duplicate = cur.duplicate || seen(&cur.key);
        let day = (cur.key.date, cur.key.group.clone());
        let counted_same_day = self.per_day.get(&day).copied().unwrap_or(0);
        let occasion = Occasion { date: cur.key.date, start: cur.key.start, end: cur.end };
        let e = self.rules.evaluate(&occasion, &self.attendees, Context { duplicate, counted_same_day }, &mut self.reasons);

        for (&reason, &line) in self.reasons.iter().zip(&self.lines) {
            self.row_reasons.add(reason);
            if !reason.is_fine() {
                if self.notes.len() < MAX_ROW_NOTES {
                    self.notes.push(RowNote { line, reason });
                } else {
                    self.notes_omitted += 1;
                }
            }
        }
        self.occasion_reasons.add(e.reason);
        self.totals.occasions += 1;
        if e.counted {
            *self.per_day.entry(day).or_insert(0) += 1;
            self.totals.occasions_counted += 1;
            self.totals.participant_occasions_counted += u64::from(e.participants_counted);
            self.totals.amount_minor += e.amount_minor;
        }
        self.occasions.push(OccasionResult {
            line: cur.line,
            key: cur.key.key(),
            date: cur.key.date,
            start: cur.key.start,
            end: cur.end,
            group: cur.group,
            // Checked when the occasion opened (or the list is rejected).
            activity: cur.activity.and_then(|a| String::from_utf8(a).ok()),
            counted: e.counted,
            reason: e.reason,
            rows,
            participants_in_age: e.participants_in_age,
            participants_counted: e.participants_counted,
            leaders: e.leaders,
            amount_minor: e.amount_minor,
        });
        self.attendees.clear();
        self.lines.clear();
    }

    fn into_import(self) -> Import {
        Import {
            totals: Totals { rows: self.rows, ..self.totals },
            occasions: self.occasions,
            row_reasons: self.row_reasons,
            occasion_reasons: self.occasion_reasons,
            rows_not_counted: self.notes,
            rows_not_counted_omitted: self.notes_omitted,
            ignored_columns: self.columns.ignored,
        }
    }
}

fn digit(b: u8) -> Option<u32> {
    b.is_ascii_digit().then(|| u32::from(b - b'0'))
}

/// `YYYY-MM-DD` (already trimmed).
fn parse_date(s: &[u8]) -> Option<NaiveDate> {
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *s else { return None };
    let year = digit(y1)? * 1000 + digit(y2)? * 100 + digit(y3)? * 10 + digit(y4)?;
    let month = digit(m1)? * 10 + digit(m2)?;
    let day = digit(d1)? * 10 + digit(d2)?;
    NaiveDate::from_ymd_opt(year as i32, month, day)
}

/// `HH:MM` or `H:MM` (also with `.`: `17.30`), 00:00 to 23:59, as minutes after midnight.
fn parse_time(s: &[u8]) -> Option<u16> {
    let (h, m) = match *s.trim_ascii() {
        [h, b':' | b'.', m1, m2] => (digit(h)?, digit(m1)? * 10 + digit(m2)?),
        [h1, h2, b':' | b'.', m1, m2] => (digit(h1)? * 10 + digit(h2)?, digit(m1)? * 10 + digit(m2)?),
        _ => return None,
    };
    (h < 24 && m < 60).then(|| (h * 60 + m) as u16)
}

fn parse_role(s: &[u8]) -> Option<Role> {
    let s = s.trim_ascii();
    let is = |w: &str| s.eq_ignore_ascii_case(w.as_bytes());
    if is("participant") || is("deltagare") {
        Some(Role::Participant)
    } else if is("leader") || is("ledare") {
        Some(Role::Leader)
    } else {
        None
    }
}

/// A small, fast reader of RFC 4180 CSV: UTF-8 with an optional byte order mark, comma or
/// semicolon separated (whichever the first line has more of, outside quotes), CRLF or LF line
/// ends, fields in double quotes may hold separators, line breaks and doubled quotes. A quote
/// inside an unquoted field is taken as it is.
///
/// It reads one record at a time into buffers it reuses: no allocation per record once the
/// buffers have grown to the longest line.
pub mod csv {
    use std::io::BufRead;

    /// Why reading stopped.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ReadError {
        /// More bytes than the limit.
        TooLarge,
        /// The reader failed.
        Io,
    }

    /// What [`CsvReader::next_record`] found.
    #[derive(Debug)]
    pub enum Next<'a> {
        /// A record (the first is the header).
        Record(Record<'a>),
        /// A record that cannot be split: `rule` is `quote` (text after a closing quote) or
        /// `unterminated_quote` (a quoted field open at the end of the file). Reading goes on
        /// with the next record.
        Malformed {
            /// The line where the record starts.
            line: u64,
            /// The field (0-based) where it went wrong.
            field: usize,
            /// `quote` or `unterminated_quote`.
            rule: &'static str,
        },
        /// The end of the input.
        End,
    }

    /// The message of a [`Next::Malformed`] rule.
    pub fn message(rule: &str) -> &'static str {
        match rule {
            "unterminated_quote" => "a quoted field is not closed: it runs to the end of the file",
            _ => "a quoted field must be followed by the separator or the end of the line (a quote inside quotes is written twice)",
        }
    }

    /// One record: its fields, unquoted. Its `Debug` shows only the line and the number of
    /// fields, never their contents.
    pub struct Record<'a> {
        line: u64,
        src: &'a [u8],
        ranges: &'a [(u32, u32)],
    }

    impl std::fmt::Debug for Record<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "Record {{ line: {}, fields: {} }}", self.line, self.ranges.len())
        }
    }

    impl<'a> Record<'a> {
        /// The line where it starts (1-based).
        pub fn line(&self) -> u64 {
            self.line
        }

        /// The number of fields.
        pub fn len(&self) -> usize {
            self.ranges.len()
        }

        /// Whether it has no fields (never: an empty line is one empty field).
        pub fn is_empty(&self) -> bool {
            self.ranges.is_empty()
        }

        /// Field `i` (panics when out of range).
        pub fn get(&self, i: usize) -> &'a [u8] {
            let (a, b) = self.ranges[i];
            &self.src[a as usize..b as usize]
        }
    }

    /// Reads records from `R`.
    pub struct CsvReader<R> {
        inner: std::io::Take<R>,
        buf: Vec<u8>,
        data: Vec<u8>,
        ranges: Vec<(u32, u32)>,
        sep: u8,
        line: u64,
        first: bool,
    }

    impl<R: BufRead> CsvReader<R> {
        /// A reader that refuses more than `max_bytes` bytes.
        pub fn new(reader: R, max_bytes: u64) -> Self {
            CsvReader {
                inner: reader.take(max_bytes.saturating_add(1)),
                buf: Vec::with_capacity(256),
                data: Vec::with_capacity(256),
                ranges: Vec::with_capacity(16),
                sep: b',',
                line: 0,
                first: true,
            }
        }

        /// The separator (known once the first record is read).
        pub fn separator(&self) -> u8 {
            self.sep
        }

        /// Appends one line to the buffer; false at the end of the input.
        fn read_line(&mut self) -> Result<bool, ReadError> {
            let n = self.inner.read_until(b'\n', &mut self.buf).map_err(|_| ReadError::Io)?;
            if self.inner.limit() == 0 {
                return Err(ReadError::TooLarge);
            }
            if n == 0 {
                return Ok(false);
            }
            self.line += 1;
            Ok(true)
        }

        /// The next record.
        pub fn next_record(&mut self) -> Result<Next<'_>, ReadError> {
            self.buf.clear();
            if !self.read_line()? {
                return Ok(Next::End);
            }
            let line = self.line;
            if self.first {
                self.first = false;
                if self.buf.starts_with(b"\xEF\xBB\xBF") {
                    self.buf.drain(..3);
                }
                self.sep = detect_separator(&self.buf);
            }
            let mut scan = Scan::default();
            let mut from = 0;
            loop {
                scan.feed(&self.buf[from..], self.sep);
                if !scan.in_quotes {
                    break;
                }
                from = self.buf.len();
                if !self.read_line()? {
                    return Ok(Next::Malformed { line, field: scan.field, rule: "unterminated_quote" });
                }
            }
            let mut end = self.buf.len();
            if end > 0 && self.buf[end - 1] == b'\n' {
                end -= 1;
                if end > 0 && self.buf[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            let record = &self.buf[..end];
            self.ranges.clear();
            let src = if record.contains(&b'"') {
                if let Err(field) = split_quoted(record, self.sep, &mut self.data, &mut self.ranges) {
                    return Ok(Next::Malformed { line, field, rule: "quote" });
                }
                &self.data[..]
            } else {
                let mut a = 0;
                for (i, &b) in record.iter().enumerate() {
                    if b == self.sep {
                        self.ranges.push((a as u32, i as u32));
                        a = i + 1;
                    }
                }
                self.ranges.push((a as u32, record.len() as u32));
                record
            };
            Ok(Next::Record(Record { line, src, ranges: &self.ranges }))
        }
    }

    /// `;` when the line has more semicolons than commas outside quotes, else `,`.
    fn detect_separator(line: &[u8]) -> u8 {
        let (mut commas, mut semicolons, mut quoted) = (0usize, 0usize, false);
        for &b in line {
            match b {
                b'"' => quoted = !quoted,
                b',' if !quoted => commas += 1,
                b';' if !quoted => semicolons += 1,
                b'\n' if !quoted => break,
                _ => {}
            }
        }
        if semicolons > commas { b';' } else { b',' }
    }

    /// Where a record ends: tracks quotes across the lines fed to it.
    struct Scan {
        in_quotes: bool,
        /// Inside quotes, the last byte was a quote (closing, or the first of a doubled one).
        quote: bool,
        at_field_start: bool,
        field: usize,
    }

    impl Default for Scan {
        fn default() -> Self {
            Scan { in_quotes: false, quote: false, at_field_start: true, field: 0 }
        }
    }

    impl Scan {
        fn feed(&mut self, bytes: &[u8], sep: u8) {
            for &b in bytes {
                if self.in_quotes {
                    if self.quote {
                        self.quote = false;
                        if b == b'"' {
                            continue; // a doubled quote
                        }
                        self.in_quotes = false; // the quote closed the field; b is outside
                    } else {
                        if b == b'"' {
                            self.quote = true;
                        }
                        continue;
                    }
                }
                if b == sep {
                    self.at_field_start = true;
                    self.field += 1;
                } else if b == b'"' && self.at_field_start {
                    self.in_quotes = true;
                    self.at_field_start = false;
                } else {
                    self.at_field_start = false;
                }
            }
            // A closing quote as the very last byte of the input.
            if self.in_quotes && self.quote && bytes.last() != Some(&b'\n') {
                self.in_quotes = false;
                self.quote = false;
            }
        }
    }

    /// Splits a record with quotes into `data` (fields unquoted, one after the other) and
    /// `ranges`. Err: the field after whose closing quote there is more text.
    fn split_quoted(record: &[u8], sep: u8, data: &mut Vec<u8>, ranges: &mut Vec<(u32, u32)>) -> Result<(), usize> {
        data.clear();
        let len = record.len();
        let mut i = 0;
        loop {
            let start = data.len() as u32;
            if i < len && record[i] == b'"' {
                i += 1;
                loop {
                    match record[i..].iter().position(|&b| b == b'"') {
                        None => {
                            // Open to the end: only at the end of the input (reported by the
                            // scan); keep what there is.
                            data.extend_from_slice(&record[i..]);
                            i = len;
                            break;
                        }
                        Some(k) => {
                            data.extend_from_slice(&record[i..i + k]);
                            i += k + 1;
                            if i < len && record[i] == b'"' {
                                data.push(b'"');
                                i += 1;
                            } else {
                                break;
                            }
                        }
                    }
                }
                ranges.push((start, data.len() as u32));
                if i == len {
                    return Ok(());
                }
                if record[i] != sep {
                    return Err(ranges.len() - 1);
                }
                i += 1;
            } else {
                let k = record[i..].iter().position(|&b| b == sep).unwrap_or(len - i);
                data.extend_from_slice(&record[i..i + k]);
                ranges.push((start, data.len() as u32));
                i += k;
                if i == len {
                    return Ok(());
                }
                i += 1;
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        type Got = Result<Vec<String>, (u64, usize, &'static str)>;

        fn records(input: &str) -> Vec<Got> {
            let mut r = CsvReader::new(input.as_bytes(), 1 << 20);
            let mut out = Vec::new();
            loop {
                match r.next_record().unwrap() {
                    Next::Record(rec) => out.push(Ok((0..rec.len()).map(|i| String::from_utf8(rec.get(i).to_vec()).unwrap()).collect())),
                    Next::Malformed { line, field, rule } => out.push(Err((line, field, rule))),
                    Next::End => return out,
                }
            }
        }

        fn ok(fields: &[&str]) -> Got {
            Ok(fields.iter().map(|s| s.to_string()).collect())
        }

        #[test]
        fn rfc_4180_quoting() {
            let got = records("a,b,c\r\n\"x, y\",\"he said \"\"hi\"\"\",\r\n\"multi\nline\",2,\"\"\nplain \"q\",3,4");
            assert_eq!(
                got,
                [ok(&["a", "b", "c"]), ok(&["x, y", "he said \"hi\"", ""]), ok(&["multi\nline", "2", ""]), ok(&["plain \"q\"", "3", "4"])]
            );
        }

        #[test]
        fn semicolons_and_a_bom() {
            let got = records("\u{feff}a;b,c;d\n1;\"2;3\";4\n");
            assert_eq!(got, [ok(&["a", "b,c", "d"]), ok(&["1", "2;3", "4"])]);
            let mut r = CsvReader::new("x;y\n".as_bytes(), 100);
            let _ = r.next_record();
            assert_eq!(r.separator(), b';');
        }

        #[test]
        fn text_after_a_closing_quote_and_an_unterminated_quote() {
            let got = records("a,b\n\"x\"y,1\nq,2\n3,\"open\n4,5\n");
            assert_eq!(got, [ok(&["a", "b"]), Err((2, 0, "quote")), ok(&["q", "2"]), Err((4, 1, "unterminated_quote"))]);
        }

        #[test]
        fn a_closing_quote_at_the_very_end() {
            assert_eq!(records("a,\"b\""), [ok(&["a", "b"])]);
            assert_eq!(records("a,\"b\"\"\""), [ok(&["a", "b\""])]);
        }

        #[test]
        fn the_size_limit() {
            let mut r = CsvReader::new("abc\ndef\n".as_bytes(), 5);
            assert!(matches!(r.next_record(), Ok(Next::Record(_))));
            assert!(matches!(r.next_record(), Err(ReadError::TooLarge)));
            let mut r = CsvReader::new("abc\ndef\n".as_bytes(), 8);
            assert!(matches!(r.next_record(), Ok(Next::Record(_))));
            assert!(matches!(r.next_record(), Ok(Next::Record(_))));
            assert!(matches!(r.next_record(), Ok(Next::End)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 12, 31).unwrap()
    }

    /// A valid twelve-digit number born on `yyyymmdd` (day + 60 for a coordination number)
    /// with birth number `nnn`.
    fn pin(yyyymmdd: &str, nnn: u32) -> String {
        let body = format!("{}{nnn:03}", &yyyymmdd[2..]);
        let sum: u32 = body
            .bytes()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
                if d > 9 { d - 9 } else { d }
            })
            .sum();
        format!("{yyyymmdd}{nnn:03}{}", (10 - sum % 10) % 10)
    }

    fn run(csv: &str, rules: &ActivityRules) -> Result<Import, Rejected> {
        import(csv.as_bytes(), rules, today(), 1 << 20, &mut |_| false)
    }

    const HEADER: &str = "date,start,end,group,role,personalIdentityNumber,name";

    /// An occasion's rows: three participants born 2012 and a leader, plus `extra` rows.
    fn occasion(date: &str, start: &str, end: &str, group: &str, extra: &[(&str, String)]) -> String {
        let mut rows = String::new();
        for (i, role) in ["participant", "participant", "participant", "leader"].iter().enumerate() {
            let born = if *role == "leader" { "19900101" } else { "20120101" };
            rows += &format!("{date},{start},{end},{group},{role},{},Person {i}\n", pin(born, 10 + i as u32));
        }
        for (role, p) in extra {
            rows += &format!("{date},{start},{end},{group},{role},{p},Extra\n");
        }
        rows
    }

    #[test]
    fn the_test_numbers_are_valid() {
        for (born, n) in [("20120101", 10), ("20200229", 5), ("20100365", 1), ("19900101", 13)] {
            assert!(PersonalIdentityNumber::parse(&pin(born, n), today()).is_ok(), "{born} {n}");
        }
    }

    #[test]
    fn a_small_list_with_every_outcome() {
        let mut csv = format!("{HEADER}\n");
        csv += &occasion("2027-09-14", "17:00", "18:00", "F12 Blå", &[]); // lines 2–5: counted
        csv += &occasion("2027-09-14", "19:00", "19:59", "P10", &[]); // 6–9: too short
        // 10–14: a coordination number, born 2010-03-05, 17 on the day: counted as a fourth.
        csv += &occasion("2027-09-15", "17:00", "18:30", "F12 Blå", &[("deltagare", pin("20100365", 1))]);
        // 15–19: the same group later that day: too many occasions that day.
        csv += &occasion("2027-09-15", "19:00", "20:00", " f12  BLÅ ", &[("ledare", pin("19800101", 2))]);
        let import = run(&csv, &ActivityRules::default()).expect("valid");
        let outcomes: Vec<(u64, bool, Option<OccasionReason>, u32)> =
            import.occasions.iter().map(|o| (o.line, o.counted, o.reason, o.participants_counted)).collect();
        assert_eq!(
            outcomes,
            [
                (2, true, None, 3),
                (6, false, Some(OccasionReason::TooShort), 0),
                (10, true, None, 4),
                (15, false, Some(OccasionReason::TooManyOccasionsThatDay), 0)
            ]
        );
        assert_eq!(import.occasions[2].key, "2027-09-15T17:00/f12 blå");
        assert_eq!(import.occasions[3].key, "2027-09-15T19:00/f12 blå");
        assert_eq!(import.occasions[3].leaders, 2);
        assert_eq!(
            import.totals,
            Totals { rows: 18, occasions: 4, occasions_counted: 2, participant_occasions_counted: 7, amount_minor: 7 * 800 }
        );
        assert_eq!(import.row_reasons.counted, 7);
        assert_eq!(import.row_reasons.leader, 5);
        assert_eq!(import.row_reasons.occasion_not_counted, 6);
        assert_eq!(import.occasion_reasons.get(OccasionReason::TooShort), 1);
        let notes: Vec<u64> = import.rows_not_counted.iter().map(|n| n.line).collect();
        assert_eq!(notes, [6, 7, 8, 15, 16, 17]);
        assert_eq!(import.ignored_columns, Vec::<String>::new());
    }

    #[test]
    fn the_same_occasion_in_an_earlier_list() {
        let csv = format!("{HEADER}\n{}", occasion("2027-09-14", "17:00", "18:00", "F12 Blå", &[]));
        let first = run(&csv, &ActivityRules::default()).unwrap();
        assert!(first.occasions[0].counted);
        let stored: Vec<String> = first.occasions.iter().map(|o| o.key.clone()).collect();
        // The second list writes the group differently and ends later: still the same occasion.
        let csv = format!("{HEADER}\n{}", occasion("2027-09-14", "17:00", "18:30", "f12 blå", &[]));
        let mut asked = Vec::new();
        let second = import(csv.as_bytes(), &ActivityRules::default(), today(), 1 << 20, &mut |k: &OccasionKey| {
            asked.push(k.key());
            stored.contains(&k.key())
        })
        .unwrap();
        assert_eq!(asked, ["2027-09-14T17:00/f12 blå"]);
        assert_eq!(second.occasions[0].reason, Some(OccasionReason::DuplicateOccasion));
        assert_eq!(second.totals.amount_minor, 0);
    }

    #[test]
    fn the_same_occasion_twice_in_one_list() {
        // The same date, start and group with another end: the second is a duplicate.
        let mut csv = format!("{HEADER}\n");
        csv += &occasion("2027-09-14", "17:00", "18:00", "P10", &[]);
        csv += &occasion("2027-09-13", "17:00", "18:00", "P10", &[]);
        csv += &occasion("2027-09-14", "17:00", "18:15", "P10", &[]);
        let mut asked = 0;
        let import = import(csv.as_bytes(), &ActivityRules::default(), today(), 1 << 20, &mut |_: &OccasionKey| {
            asked += 1;
            false
        })
        .unwrap();
        let reasons: Vec<_> = import.occasions.iter().map(|o| o.reason).collect();
        assert_eq!(reasons, [None, None, Some(OccasionReason::DuplicateOccasion)]);
        assert_eq!(asked, 2, "the duplicate within the list is caught without asking");
    }

    #[test]
    fn a_split_occasion_is_rejected_naming_where_it_started() {
        let mut csv = format!("{HEADER}\n");
        csv += &occasion("2027-09-14", "17:00", "18:00", "P10", &[]);
        csv += &occasion("2027-09-14", "18:00", "19:00", "P11", &[]);
        csv += &format!("2027-09-14,17:00,18:00,P10,participant,{},Late\n", pin("20120303", 77));
        let err = run(&csv, &ActivityRules::default()).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        let p = &err.problems[0];
        assert_eq!((p.line, p.column.as_deref(), p.rule), (Some(10), None, "occasion_split"));
        assert!(p.message.contains("line 2"), "{}", p.message);
    }

    #[test]
    fn a_malformed_file_names_every_bad_line_and_column_and_no_number() {
        let good = pin("20120101", 10);
        let bad_checksum = {
            let mut s = pin("20120101", 11);
            let last = s.pop().unwrap();
            s.push(if last == '9' { '0' } else { (last as u8 + 1) as char });
            s
        };
        let csv = [
            "date;start;end;group;role;personnummer;name".to_string(),
            format!("2027-09-14;17:00;18:00;P10;participant;{good};Anna"),
            format!("2027-09-31;17:00;18:00;P10;participant;{good};Bo"), // 3: no 31 September
            format!("2027-09-14;7pm;18:00;P10;participant;{bad_checksum};Cai"), // 4: time, checksum
            format!("2027-09-14;17:00;16:00;P10;coach;{good};Dan"),      // 5: end before start, role
            format!("2027-09-14;17:00;18:00;P10;participant;{good}"),    // 6: six fields
            format!("2027-09-14;17:00;18:00;;participant;{good};Eve"),   // 7: no group
            format!("{good};17:00;18:00;P10;participant;2027-09-14;Fia"), // 8: columns swapped
            format!("2027-09-14;17:00;18:00;\"P10\"x;participant;{good};Gus"), // 9: quote
            format!("2027-09-14;17:00;18:00;P10;participant;{good};Hal"), // 10: fine
        ]
        .join("\r\n");
        let err = run(&csv, &ActivityRules::default()).unwrap_err();
        let got: Vec<(Option<u64>, Option<&str>, &str)> = err.problems.iter().map(|p| (p.line, p.column.as_deref(), p.rule)).collect();
        assert_eq!(
            got,
            [
                (Some(3), Some("date"), "format"),
                (Some(4), Some("start"), "format"),
                (Some(4), Some("personalIdentityNumber"), "checksum"),
                (Some(5), Some("end"), "order"),
                (Some(5), Some("role"), "unknown_code"),
                (Some(6), None, "field_count"),
                (Some(7), Some("group"), "required"),
                (Some(8), Some("date"), "format"),
                (Some(8), Some("personalIdentityNumber"), "format"),
                (Some(9), Some("group"), "quote"),
            ]
        );
        let shown = format!("{err:?} {err} {}", serde_json::to_string(&err).unwrap());
        for secret in [&good, &bad_checksum, &good[2..], &bad_checksum[2..]] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        for name in ["Anna", "Cai", "Fia"] {
            assert!(!shown.contains(name), "{name} in {shown}");
        }
        match err.into_error() {
            registry_core::Error::Invalid(v) => {
                assert_eq!(v.len(), 10);
                assert_eq!(v[0].field, "lines[3].date");
                assert_eq!(v[5].field, "lines[6]");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn header_problems() {
        let err = run("date,start,group,role,name,date\n", &ActivityRules::default()).unwrap_err();
        let got: Vec<(Option<&str>, &str)> = err.problems.iter().map(|p| (p.column.as_deref(), p.rule)).collect();
        assert_eq!(
            got,
            [(Some("date"), "duplicate_column"), (Some("end"), "missing_column"), (Some("personalIdentityNumber"), "missing_column")]
        );
        for (input, rule) in
            [("", "empty"), ("\u{feff}", "empty"), (HEADER, "empty"), (&format!("{HEADER}\n\"oops\n"), "unterminated_quote")]
        {
            let err = run(input, &ActivityRules::default()).unwrap_err();
            let rules: Vec<&str> = err.problems.iter().map(|p| p.rule).collect();
            assert!(rules.contains(&rule), "{input:?}: {rules:?}");
        }
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let csv = format!("{HEADER}\n{}", occasion("2027-09-14", "17:00", "18:00", "P10", &[]));
        let err = import(csv.as_bytes(), &ActivityRules::default(), today(), 100, &mut |_| false).unwrap_err();
        assert_eq!(err.problems.last().map(|p| p.rule), Some("too_large"));
        assert!(import(csv.as_bytes(), &ActivityRules::default(), today(), csv.len() as u64, &mut |_| false).is_ok());
    }

    #[test]
    fn semicolons_a_bom_crlf_quotes_and_swedish_names() {
        let p = |n| pin("20120101", n);
        let leader = pin("19900101", 4);
        let leader = format!("{}-{}", &leader[..8], &leader[8..]);
        let csv = format!(
            "\u{feff}Datum;Starttid;Sluttid;Grupp;Aktivitet;Roll;Personnummer;Namn;Kommentar\r\n\
             2027-09-14;17.00;18.00;\"Flickor 12; blå\";football;Deltagare;{};\"Berg, Anna\";\r\n\
             2027-09-14;17.00;18.00;\"Flickor 12; blå\";football;DELTAGARE;{};\"Lind, \"\"Bo\"\"\";\r\n\
             2027-09-14;17.00;18.00;\"Flickor 12; blå\";football;deltagare;{};Cai;\"två\r\nrader\"\r\n\
             2027-09-14;17.00;18.00;\"Flickor 12; blå\";football;ledare;{};Dan;\r\n",
            p(1),
            p(2),
            &p(3)[2..], // ten digits, YYMMDDNNNC
            leader,
        );
        let import = run(&csv, &ActivityRules::default()).expect("valid");
        assert_eq!(import.occasions.len(), 1);
        let o = &import.occasions[0];
        assert_eq!((o.group.as_str(), o.activity.as_deref(), o.start, o.end), ("Flickor 12; blå", Some("football"), 1020, 1080));
        assert_eq!((o.counted, o.participants_counted, o.leaders), (true, 3, 1));
        assert_eq!(import.ignored_columns, ["Kommentar"]);
        assert_eq!(import.totals.rows, 4);
    }

    #[test]
    fn an_unknown_or_changing_activity_is_a_problem() {
        let mut csv = "date,start,end,group,activity,role,personalIdentityNumber\n".to_string();
        csv += &format!("2027-09-14,17:00,18:00,P10,curling_on_ice,participant,{}\n", pin("20120101", 1));
        csv += &format!("2027-09-15,17:00,18:00,P10,football,participant,{}\n", pin("20120101", 1));
        csv += &format!("2027-09-15,17:00,18:00,P10,,participant,{}\n", pin("20120101", 2));
        let err = run(&csv, &ActivityRules::default()).unwrap_err();
        let got: Vec<(Option<u64>, &str)> = err.problems.iter().map(|p| (p.line, p.rule)).collect();
        assert_eq!(got, [(Some(2), "unknown_code"), (Some(4), "mismatch")]);
    }

    #[test]
    fn year_turned_and_on_the_day_differ_through_a_whole_import() {
        // Born 2020-12-20: 6 on 2027-09-14, but turns 7 in 2027.
        let csv = format!("{HEADER}\n{}", occasion("2027-09-14", "17:00", "18:00", "P10", &[("participant", pin("20201220", 5))]));
        let on_the_day = run(&csv, &ActivityRules::default()).unwrap();
        let year_turned = run(&csv, &ActivityRules { age_basis: crate::rules::AgeBasis::YearTurned, ..ActivityRules::default() }).unwrap();
        assert_eq!((on_the_day.totals.participant_occasions_counted, on_the_day.row_reasons.outside_age), (3, 1));
        assert_eq!((year_turned.totals.participant_occasions_counted, year_turned.row_reasons.outside_age), (4, 0));
        assert_eq!(on_the_day.rows_not_counted, [RowNote { line: 6, reason: RowReason::OutsideAge }]);
    }

    /// The table of edge cases, through the CSV import: each a one-occasion list and
    /// its exact outcome.
    #[test]
    fn edge_cases_through_the_import() {
        type Case = (&'static str, String, Option<OccasionReason>, u64);
        let one = |date: &str, end: &str, extra: &[(&str, String)]| format!("{HEADER}\n{}", occasion(date, "17:00", end, "P10", extra));
        let two_plus = |date: &str, born: &str| {
            // Two participants of 15 and one born `born`, and a leader.
            format!(
                "{HEADER}\n{date},17:00,18:00,P10,participant,{},a\n{date},17:00,18:00,P10,participant,{},b\n{date},17:00,18:00,P10,participant,{},c\n{date},17:00,18:00,P10,leader,{},d\n",
                pin("20120101", 1),
                pin("20120101", 2),
                pin(born, 3),
                pin("19900101", 4)
            )
        };
        let cases: Vec<Case> = vec![
            ("birthday on the day (turns 7)", two_plus("2027-09-14", "20200914"), None, 3),
            ("the day before the 7th birthday", two_plus("2027-09-14", "20200915"), Some(OccasionReason::TooFewParticipants), 0),
            (
                "leap-day child on 28 February of a common year",
                two_plus("2027-02-28", "20200229"),
                Some(OccasionReason::TooFewParticipants),
                0,
            ),
            ("leap-day child on 1 March of a common year", two_plus("2027-03-01", "20200229"), None, 3),
            ("coordination number, 7 on the day (day + 60)", two_plus("2027-09-14", "20200974"), None, 3),
            ("coordination number, 7 the day after", two_plus("2027-09-14", "20200975"), Some(OccasionReason::TooFewParticipants), 0),
            ("exactly three participants", one("2027-09-14", "18:00", &[]), None, 3),
            ("59 minutes", one("2027-09-14", "17:59", &[]), Some(OccasionReason::TooShort), 0),
            ("60 minutes", one("2027-09-14", "18:00", &[]), None, 3),
            ("the same person twice", one("2027-09-14", "18:00", &[("participant", pin("20120101", 10))]), None, 3),
        ];
        for (name, csv, reason, counted) in cases {
            let import = run(&csv, &ActivityRules::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(import.occasions.len(), 1, "{name}");
            let o = &import.occasions[0];
            assert_eq!((o.reason, o.participants_counted), (reason, counted as u32), "{name}");
            assert_eq!(import.totals.amount_minor, counted as i64 * 800, "{name}");
        }
    }

    #[test]
    fn the_example_in_the_documentation_imports() {
        let csv = "datum;starttid;sluttid;grupp;aktivitet;roll;personnummer;namn\n\
                   2027-09-14;17:00;18:30;F12 Blå;football;ledare;19900101-0017;\"Lind, Bo\"\n\
                   2027-09-14;17:00;18:30;F12 Blå;football;deltagare;20150314-0103;Alva\n\
                   2027-09-14;17:00;18:30;F12 Blå;football;deltagare;20140702-0120;Elsa\n\
                   2027-09-14;17:00;18:30;F12 Blå;football;deltagare;20140861-0135;Saga\n";
        let import = run(csv, &ActivityRules::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(import.occasions[0].key, "2027-09-14T17:00/f12 blå");
        assert_eq!((import.totals.participant_occasions_counted, import.totals.amount_minor), (3, 2400));
    }

    #[test]
    fn keys_normalise_the_group() {
        let d = NaiveDate::from_ymd_opt(2027, 9, 14).unwrap();
        let k = OccasionKey::new(d, 17 * 60 + 5, "  F12\t BLÅ  ");
        assert_eq!(k.key(), "2027-09-14T17:05/f12 blå");
        assert_eq!(k, OccasionKey::new(d, 1025, "f12 blå"));
        assert_ne!(k, OccasionKey::new(d, 1025, "f12blå"));
    }

    #[test]
    fn times_and_dates() {
        assert_eq!(parse_time(b"17:00"), Some(1020));
        assert_eq!(parse_time(b" 9.05 "), Some(545));
        assert_eq!(parse_time(b"00:00"), Some(0));
        assert_eq!(parse_time(b"23:59"), Some(1439));
        for bad in [&b"24:00"[..], b"12:60", b"1200", b"12:5", b"", b"ab:cd", b"123:00"] {
            assert_eq!(parse_time(bad), None, "{:?}", std::str::from_utf8(bad));
        }
        assert_eq!(parse_date(b"2028-02-29"), NaiveDate::from_ymd_opt(2028, 2, 29));
        for bad in [&b"2027-02-29"[..], b"2027-13-01", b"2027-1-01", b"27-01-01", b"2027/01/01", b"20270101"] {
            assert_eq!(parse_date(bad), None, "{:?}", std::str::from_utf8(bad));
        }
    }

    #[test]
    fn a_future_date_is_refused() {
        let csv = format!("{HEADER}\n{}", occasion("2028-01-01", "17:00", "18:00", "P10", &[]));
        let err = run(&csv, &ActivityRules::default()).unwrap_err();
        assert!(err.problems.iter().all(|p| p.rule == "after_today"), "{err}");
        assert_eq!(err.problems.len(), 4);
    }

    #[test]
    fn blank_lines_are_skipped_and_more_than_the_cap_of_notes_is_counted() {
        // 400 occasions of three participants of 30 (outside) and three of 12: 1,200 notes.
        let mut csv = format!("{HEADER}\n\n");
        for i in 0..400 {
            let date = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap() + chrono::Days::new(i / 4);
            let group = format!("G{}", i % 4);
            let extra: Vec<(&str, String)> = (0..3).map(|k| ("participant", pin("19970101", k))).collect();
            csv += &occasion(&date.to_string(), "17:00", "18:00", &group, &extra);
            csv += ",,,,,,\n";
        }
        let import = run(&csv, &ActivityRules::default()).unwrap();
        assert_eq!(import.totals.rows, 400 * 7);
        assert_eq!(import.totals.occasions_counted, 400);
        assert_eq!(import.row_reasons.outside_age, 1200);
        assert_eq!(import.rows_not_counted.len(), MAX_ROW_NOTES);
        assert_eq!(import.rows_not_counted_omitted, 200);
    }
}
