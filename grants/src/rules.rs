//! The activity grant (aktivitetsstöd): a programme's rules as data, and the evaluation of one
//! occasion (sammankomst) against them (docs/grants-attendance.md).
//!
//! The model is the national LOK grant (lokalt aktivitetsstöd): participants aged 7–25, at
//! least three of them, at least 60 minutes, a leader present, a sum per participant-occasion.
//! Municipalities vary the ages, the amounts and the caps; [`ActivityRules`] holds every such
//! choice, and [`ActivityRules::evaluate`] decides one occasion with a reason for the occasion
//! and one for each of its rows.
//!
//! The rules never see a personal identity number: a row is its role, its birth date and an
//! opaque [`PersonKey`] that only tells two rows of the same person apart from others.

use chrono::{Datelike, NaiveDate};
use registry_core::person::PersonalIdentityNumber;
use registry_core::validate::Violations;
use serde::{Deserialize, Serialize};

/// The largest amount per participant or per occasion, in öre (100,000 kr).
pub const MAX_AMOUNT_MINOR: i64 = 10_000_000;

/// How a person's age is counted on the date of an occasion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AgeBasis {
    /// The age on the day of the occasion: the birthdays completed by then. Someone born on
    /// 29 February turns a year older on 1 March in a year without a leap day.
    #[default]
    OnTheDay,
    /// The age the person turns during the occasion's calendar year (the occasion's year less
    /// the birth year), the way the national LOK rules count ("the year one turns 7 to the year
    /// one turns 25").
    YearTurned,
}

impl AgeBasis {
    /// The age of someone born `birth` on `on`, counted this way. Negative when `on` is before
    /// the birth (such a row is outside any age range).
    pub fn age(self, birth: NaiveDate, on: NaiveDate) -> i32 {
        let years = on.year() - birth.year();
        match self {
            AgeBasis::YearTurned => years,
            // (month, day) order: on 28 February of a common year, (2, 28) < (2, 29), so someone
            // born on a leap day has not had a birthday yet; on 1 March they have.
            AgeBasis::OnTheDay if (on.month(), on.day()) < (birth.month(), birth.day()) => years - 1,
            AgeBasis::OnTheDay => years,
        }
    }
}

/// The rules of an activity-grant programme. Every field has a default (the national LOK
/// model), so a programme's JSON names only what it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityRules {
    /// The youngest age that counts as a participant (default 7).
    pub min_age: u8,
    /// The oldest age that counts as a participant (default 25).
    pub max_age: u8,
    /// How ages are counted: `on_the_day` (default) or `year_turned`. Applies to leaders too.
    pub age_basis: AgeBasis,
    /// The fewest participants in the age range an occasion needs (default 3). Leaders are not
    /// participants.
    pub min_participants: u16,
    /// The most participants counted (paid for) per occasion; more are reported as `over_cap`.
    /// None (default): no cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_participants_counted: Option<u16>,
    /// The shortest occasion that counts, in minutes (default 60).
    pub min_minutes: u16,
    /// Whether an occasion needs a leader of at least `leaderMinAge` (default true).
    pub leader_required: bool,
    /// The youngest age of a leader who counts as one (default 13).
    pub leader_min_age: u8,
    /// Öre per participant-occasion in the age range (default 800, i.e. 8 kr).
    pub amount_per_participant_minor: i64,
    /// Öre per approved occasion (default 0).
    pub amount_per_occasion_minor: i64,
    /// How many occasions of the same group count on one day (default 1); later ones are
    /// `too_many_occasions_that_day`.
    pub max_occasions_per_group_per_day: u8,
}

impl Default for ActivityRules {
    fn default() -> Self {
        ActivityRules {
            min_age: 7,
            max_age: 25,
            age_basis: AgeBasis::OnTheDay,
            min_participants: 3,
            max_participants_counted: None,
            min_minutes: 60,
            leader_required: true,
            leader_min_age: 13,
            amount_per_participant_minor: 800,
            amount_per_occasion_minor: 0,
            max_occasions_per_group_per_day: 1,
        }
    }
}

impl ActivityRules {
    /// Records every rule the settings break, with field names such as `{field}.minAge`.
    pub fn check(&self, v: &mut Violations, field: &str) {
        const MAX_AGE: u8 = 120;
        if self.min_age > MAX_AGE {
            v.add(format!("{field}.minAge"), "out_of_range", format!("must be 0 to {MAX_AGE}"));
        }
        if self.max_age > MAX_AGE {
            v.add(format!("{field}.maxAge"), "out_of_range", format!("must be 0 to {MAX_AGE}"));
        } else if self.max_age < self.min_age {
            v.add(format!("{field}.maxAge"), "order", "must be at least minAge");
        }
        if !(1..=1000).contains(&self.min_participants) {
            v.add(format!("{field}.minParticipants"), "out_of_range", "must be 1 to 1000");
        }
        if let Some(cap) = self.max_participants_counted {
            if !(1..=10_000).contains(&cap) {
                v.add(format!("{field}.maxParticipantsCounted"), "out_of_range", "must be 1 to 10000 (or absent: no cap)");
            } else if cap < self.min_participants {
                v.add(format!("{field}.maxParticipantsCounted"), "order", "must be at least minParticipants");
            }
        }
        if self.min_minutes > 24 * 60 {
            v.add(format!("{field}.minMinutes"), "out_of_range", "must be 0 to 1440 minutes");
        }
        if self.leader_min_age > MAX_AGE {
            v.add(format!("{field}.leaderMinAge"), "out_of_range", format!("must be 0 to {MAX_AGE}"));
        }
        for (name, amount) in
            [("amountPerParticipantMinor", self.amount_per_participant_minor), ("amountPerOccasionMinor", self.amount_per_occasion_minor)]
        {
            if !(0..=MAX_AMOUNT_MINOR).contains(&amount) {
                v.add(format!("{field}.{name}"), "out_of_range", format!("must be 0 to {MAX_AMOUNT_MINOR} öre"));
            }
        }
        if self.max_occasions_per_group_per_day == 0 {
            v.add(format!("{field}.maxOccasionsPerGroupPerDay"), "out_of_range", "must be at least 1");
        }
    }

    /// A person's age on `on`, counted by [`Self::age_basis`].
    pub fn age(&self, birth: NaiveDate, on: NaiveDate) -> i32 {
        self.age_basis.age(birth, on)
    }

    /// Whether someone born `birth` is a participant in the age range on `on`.
    pub fn in_age_range(&self, birth: NaiveDate, on: NaiveDate) -> bool {
        (i32::from(self.min_age)..=i32::from(self.max_age)).contains(&self.age(birth, on))
    }

    /// Decides one occasion: whether it counts, why not, and a reason for each row
    /// (`reasons[i]` is the reason of `attendees[i]`). `reasons` is cleared and refilled, so one
    /// buffer serves every occasion of an import.
    ///
    /// The occasion's reason is the first rule it breaks, in this order: `duplicate_occasion`,
    /// `too_short`, `no_leader`, `too_few_participants`, `too_many_occasions_that_day`.
    ///
    /// A person on two rows counts once: if they are a leader on any row, that is their row
    /// (their participant rows are `duplicate_person`); otherwise their first row counts. The
    /// cap on participants counted takes the participants in the order of the rows.
    pub fn evaluate(&self, occasion: &Occasion, attendees: &[Attendee], context: Context, reasons: &mut Vec<RowReason>) -> Evaluation {
        reasons.clear();
        reasons.resize(attendees.len(), RowReason::Counted);
        mark_duplicates(attendees, reasons);

        let mut in_range = 0u32;
        let mut leaders = 0u32;
        for (a, r) in attendees.iter().zip(reasons.iter_mut()) {
            if *r == RowReason::DuplicatePerson {
                continue;
            }
            *r = match a.role {
                Role::Leader if self.age(a.birth_date, occasion.date) >= i32::from(self.leader_min_age) => {
                    leaders += 1;
                    RowReason::Leader
                }
                Role::Leader => RowReason::LeaderTooYoung,
                Role::Participant if self.in_age_range(a.birth_date, occasion.date) => {
                    in_range += 1;
                    RowReason::Counted
                }
                Role::Participant => RowReason::OutsideAge,
            };
        }

        let reason = if context.duplicate {
            Some(OccasionReason::DuplicateOccasion)
        } else if occasion.minutes() < self.min_minutes {
            Some(OccasionReason::TooShort)
        } else if self.leader_required && leaders == 0 {
            Some(OccasionReason::NoLeader)
        } else if in_range < u32::from(self.min_participants) {
            Some(OccasionReason::TooFewParticipants)
        } else if context.counted_same_day >= u32::from(self.max_occasions_per_group_per_day) {
            Some(OccasionReason::TooManyOccasionsThatDay)
        } else {
            None
        };

        let cap = self.max_participants_counted.map_or(u32::MAX, u32::from);
        let mut counted = 0u32;
        for r in reasons.iter_mut().filter(|r| **r == RowReason::Counted) {
            if reason.is_some() {
                *r = RowReason::OccasionNotCounted;
            } else if counted < cap {
                counted += 1;
            } else {
                *r = RowReason::OverCap;
            }
        }
        let amount_minor =
            if reason.is_none() { i64::from(counted) * self.amount_per_participant_minor + self.amount_per_occasion_minor } else { 0 };
        Evaluation {
            counted: reason.is_none(),
            reason,
            participants_in_age: in_range,
            participants_counted: counted,
            leaders,
            amount_minor,
        }
    }
}

/// Marks the rows of a person already seen as `DuplicatePerson` (see [`ActivityRules::evaluate`]).
fn mark_duplicates(attendees: &[Attendee], reasons: &mut [RowReason]) {
    let n = attendees.len();
    if n <= 64 {
        // Occasions are small: a quadratic scan beats sorting and allocates nothing.
        for i in 0..n {
            let a = attendees[i];
            let dup = match a.role {
                Role::Leader => attendees[..i].iter().any(|b| b.role == Role::Leader && b.person == a.person),
                Role::Participant => attendees
                    .iter()
                    .enumerate()
                    .any(|(j, b)| b.person == a.person && (b.role == Role::Leader || (j < i && b.role == Role::Participant))),
            };
            if dup {
                reasons[i] = RowReason::DuplicatePerson;
            }
        }
        return;
    }
    // The same decision for large occasions: by person, leaders first, then row order; the
    // first of each person keeps their row.
    let mut order: Vec<(PersonKey, u8, usize)> =
        attendees.iter().enumerate().map(|(i, a)| (a.person, u8::from(a.role == Role::Participant), i)).collect();
    order.sort_unstable();
    for w in order.windows(2) {
        if w[0].0 == w[1].0 {
            reasons[w[1].2] = RowReason::DuplicatePerson;
        }
    }
}

/// A person's role on an attendance row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// A participant (deltagare).
    Participant,
    /// A leader (ledare).
    Leader,
}

/// Tells the rows of one person apart from those of others, without being the number: its
/// `Debug` shows nothing, and it is never stored or reported.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersonKey(u64);

impl PersonKey {
    /// The key of a parsed number.
    pub fn of(pin: &PersonalIdentityNumber) -> Self {
        PersonKey(pin.digits().bytes().fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0')))
    }

    /// A key from any number (tests and synthetic data).
    pub fn from_raw(raw: u64) -> Self {
        PersonKey(raw)
    }
}

impl std::fmt::Debug for PersonKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonKey(…)")
    }
}

/// One row of an occasion as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attendee {
    /// Participant or leader.
    pub role: Role,
    /// The date of birth (for a coordination number, the real one: the day less 60).
    pub birth_date: NaiveDate,
    /// Who it is, for spotting the same person twice.
    pub person: PersonKey,
}

/// The time of an occasion; the group and activity do not matter to the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occasion {
    /// The day.
    pub date: NaiveDate,
    /// Start, minutes after midnight.
    pub start: u16,
    /// End, minutes after midnight (after `start`: occasions do not run over midnight).
    pub end: u16,
}

impl Occasion {
    /// Its length in minutes.
    pub fn minutes(&self) -> u16 {
        self.end.saturating_sub(self.start)
    }
}

/// What the rules need to know about other occasions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Context {
    /// The same occasion was already counted (in an earlier list, or earlier in this one).
    pub duplicate: bool,
    /// How many occasions of the same group on the same day were already counted.
    pub counted_same_day: u32,
}

/// The outcome of one occasion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    /// Whether it counts.
    pub counted: bool,
    /// Why not, when it does not.
    pub reason: Option<OccasionReason>,
    /// The distinct participants in the age range (before any cap).
    pub participants_in_age: u32,
    /// The participants paid for (0 when the occasion does not count).
    pub participants_counted: u32,
    /// The distinct leaders old enough to count as leaders.
    pub leaders: u32,
    /// The grant for it, in öre.
    pub amount_minor: i64,
}

/// Why an occasion does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OccasionReason {
    /// The same occasion (date, start, group) was already in an earlier list, or earlier in
    /// this one with another end time.
    DuplicateOccasion,
    /// Shorter than `minMinutes`.
    TooShort,
    /// No leader of at least `leaderMinAge` (when `leaderRequired`).
    NoLeader,
    /// Fewer than `minParticipants` distinct participants in the age range.
    TooFewParticipants,
    /// The group already has `maxOccasionsPerGroupPerDay` counted occasions that day.
    TooManyOccasionsThatDay,
}

impl OccasionReason {
    /// Every reason, in the order they are checked.
    pub const ALL: [OccasionReason; 5] = [
        OccasionReason::DuplicateOccasion,
        OccasionReason::TooShort,
        OccasionReason::NoLeader,
        OccasionReason::TooFewParticipants,
        OccasionReason::TooManyOccasionsThatDay,
    ];

    /// The code, as in JSON.
    pub fn code(self) -> &'static str {
        match self {
            OccasionReason::DuplicateOccasion => "duplicate_occasion",
            OccasionReason::TooShort => "too_short",
            OccasionReason::NoLeader => "no_leader",
            OccasionReason::TooFewParticipants => "too_few_participants",
            OccasionReason::TooManyOccasionsThatDay => "too_many_occasions_that_day",
        }
    }
}

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RowReason {
    /// A participant in the age range of an occasion that counts: paid for.
    Counted,
    /// A participant outside the age range.
    OutsideAge,
    /// The same person on an earlier row of the occasion (or as its leader): counted once.
    DuplicatePerson,
    /// A leader old enough to lead (leaders are not paid for as participants).
    Leader,
    /// A leader younger than `leaderMinAge`: not a leader, and not a participant either.
    LeaderTooYoung,
    /// A participant in the age range beyond `maxParticipantsCounted`.
    OverCap,
    /// A participant in the age range of an occasion that does not count.
    OccasionNotCounted,
}

impl RowReason {
    /// Every reason.
    pub const ALL: [RowReason; 7] = [
        RowReason::Counted,
        RowReason::OutsideAge,
        RowReason::DuplicatePerson,
        RowReason::Leader,
        RowReason::LeaderTooYoung,
        RowReason::OverCap,
        RowReason::OccasionNotCounted,
    ];

    /// The code, as in JSON.
    pub fn code(self) -> &'static str {
        match self {
            RowReason::Counted => "counted",
            RowReason::OutsideAge => "outside_age",
            RowReason::DuplicatePerson => "duplicate_person",
            RowReason::Leader => "leader",
            RowReason::LeaderTooYoung => "leader_too_young",
            RowReason::OverCap => "over_cap",
            RowReason::OccasionNotCounted => "occasion_not_counted",
        }
    }

    /// Whether the row is as it should be: a counted participant or a leader.
    pub fn is_fine(self) -> bool {
        matches!(self, RowReason::Counted | RowReason::Leader)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn p(n: u64, born: &str) -> Attendee {
        Attendee { role: Role::Participant, birth_date: d(born), person: PersonKey::from_raw(n) }
    }

    fn l(n: u64, born: &str) -> Attendee {
        Attendee { role: Role::Leader, birth_date: d(born), person: PersonKey::from_raw(n) }
    }

    fn occ(date: &str, start: u16, end: u16) -> Occasion {
        Occasion { date: d(date), start, end }
    }

    fn eval(rules: &ActivityRules, o: &Occasion, rows: &[Attendee], ctx: Context) -> (Evaluation, Vec<RowReason>) {
        let mut reasons = Vec::new();
        let e = rules.evaluate(o, rows, ctx, &mut reasons);
        (e, reasons)
    }

    #[test]
    fn ages_on_the_day_and_by_year_turned() {
        let b = AgeBasis::OnTheDay;
        assert_eq!(b.age(d("2010-05-10"), d("2017-05-09")), 6);
        assert_eq!(b.age(d("2010-05-10"), d("2017-05-10")), 7, "the birthday itself counts");
        assert_eq!(b.age(d("2010-05-10"), d("2009-01-01")), -2, "before birth");
        let y = AgeBasis::YearTurned;
        assert_eq!(y.age(d("2010-12-31"), d("2017-01-01")), 7, "turns 7 that year");
        assert_eq!(y.age(d("2010-12-31"), d("2016-12-31")), 6);
    }

    #[test]
    fn a_leap_day_birthday_comes_on_the_first_of_march_in_common_years() {
        let b = AgeBasis::OnTheDay;
        assert_eq!(b.age(d("2016-02-29"), d("2023-02-28")), 6);
        assert_eq!(b.age(d("2016-02-29"), d("2023-03-01")), 7);
        assert_eq!(b.age(d("2016-02-29"), d("2024-02-28")), 7, "leap year: not before the 29th");
        assert_eq!(b.age(d("2016-02-29"), d("2024-02-29")), 8);
    }

    /// The edge cases of the issue, each with the exact outcome. Rows: `p` participants, `l`
    /// leaders, with a person number and a birth date; the occasion is on 2027-09-14.
    #[test]
    fn edge_cases() {
        type Case = (&'static str, u16, u16, Vec<Attendee>, Context, Option<OccasionReason>, Vec<RowReason>);
        let adults = |n: usize| -> Vec<Attendee> { (0..n).map(|i| p(100 + i as u64, "2012-01-01")).collect() };
        let with = |mut v: Vec<Attendee>, more: &[Attendee]| {
            v.extend_from_slice(more);
            v
        };
        use RowReason::*;
        let cases: Vec<Case> = vec![
            (
                "turns 7 on the day: counted",
                1020,
                1080,
                with(adults(2), &[p(1, "2020-09-14"), l(9, "1990-01-01")]),
                Context::default(),
                None,
                vec![Counted, Counted, Counted, Leader],
            ),
            (
                "turns 7 the day after: outside the age range, and then too few",
                1020,
                1080,
                with(adults(2), &[p(1, "2020-09-15"), l(9, "1990-01-01")]),
                Context::default(),
                Some(OccasionReason::TooFewParticipants),
                vec![OccasionNotCounted, OccasionNotCounted, OutsideAge, Leader],
            ),
            (
                "turns 26 on the day: outside",
                1020,
                1080,
                with(adults(3), &[p(1, "2001-09-14"), l(9, "1990-01-01")]),
                Context::default(),
                None,
                vec![Counted, Counted, Counted, OutsideAge, Leader],
            ),
            (
                "exactly three participants",
                1020,
                1080,
                with(adults(3), &[l(9, "1990-01-01")]),
                Context::default(),
                None,
                vec![Counted, Counted, Counted, Leader],
            ),
            (
                "two participants",
                1020,
                1080,
                with(adults(2), &[l(9, "1990-01-01")]),
                Context::default(),
                Some(OccasionReason::TooFewParticipants),
                vec![OccasionNotCounted, OccasionNotCounted, Leader],
            ),
            (
                "59 minutes",
                1020,
                1079,
                with(adults(3), &[l(9, "1990-01-01")]),
                Context::default(),
                Some(OccasionReason::TooShort),
                vec![OccasionNotCounted, OccasionNotCounted, OccasionNotCounted, Leader],
            ),
            (
                "60 minutes",
                1020,
                1080,
                with(adults(3), &[l(9, "1990-01-01")]),
                Context::default(),
                None,
                vec![Counted, Counted, Counted, Leader],
            ),
            (
                "no leader",
                1020,
                1080,
                adults(3),
                Context::default(),
                Some(OccasionReason::NoLeader),
                vec![OccasionNotCounted, OccasionNotCounted, OccasionNotCounted],
            ),
            (
                "a leader of 12 is no leader",
                1020,
                1080,
                with(adults(3), &[l(9, "2015-01-01")]),
                Context::default(),
                Some(OccasionReason::NoLeader),
                vec![OccasionNotCounted, OccasionNotCounted, OccasionNotCounted, LeaderTooYoung],
            ),
            (
                "a leader of 13 on the day",
                1020,
                1080,
                with(adults(3), &[l(9, "2014-09-14")]),
                Context::default(),
                None,
                vec![Counted, Counted, Counted, Leader],
            ),
            (
                "the same person twice is counted once, and then there are too few",
                1020,
                1080,
                with(adults(2), &[p(100, "2012-01-01"), l(9, "1990-01-01")]),
                Context::default(),
                Some(OccasionReason::TooFewParticipants),
                vec![OccasionNotCounted, OccasionNotCounted, DuplicatePerson, Leader],
            ),
            (
                "a leader listed as a participant too is the leader",
                1020,
                1080,
                with(adults(3), &[p(9, "2005-01-01"), l(9, "2005-01-01")]),
                Context::default(),
                None,
                vec![Counted, Counted, Counted, DuplicatePerson, Leader],
            ),
            (
                "the same occasion in an earlier list",
                1020,
                1080,
                with(adults(3), &[l(9, "1990-01-01")]),
                Context { duplicate: true, counted_same_day: 0 },
                Some(OccasionReason::DuplicateOccasion),
                vec![OccasionNotCounted, OccasionNotCounted, OccasionNotCounted, Leader],
            ),
            (
                "a second occasion of the group that day",
                1140,
                1200,
                with(adults(3), &[l(9, "1990-01-01")]),
                Context { duplicate: false, counted_same_day: 1 },
                Some(OccasionReason::TooManyOccasionsThatDay),
                vec![OccasionNotCounted, OccasionNotCounted, OccasionNotCounted, Leader],
            ),
        ];
        let rules = ActivityRules::default();
        for (name, start, end, rows, ctx, reason, row_reasons) in cases {
            let (e, got) = eval(&rules, &occ("2027-09-14", start, end), &rows, ctx);
            assert_eq!(e.reason, reason, "{name}");
            assert_eq!(e.counted, reason.is_none(), "{name}");
            assert_eq!(got, row_reasons, "{name}");
            let paid = got.iter().filter(|r| **r == Counted).count() as i64;
            assert_eq!(e.amount_minor, paid * 800, "{name}");
        }
    }

    #[test]
    fn leap_day_participant_in_a_common_year() {
        // Born 2020-02-29: 7 on 2027-03-01, still 6 on 2027-02-28.
        let rules = ActivityRules::default();
        let rows = [p(1, "2020-02-29"), p(2, "2012-01-01"), p(3, "2012-01-01"), l(9, "1990-01-01")];
        let (e, r) = eval(&rules, &occ("2027-02-28", 600, 660), &rows, Context::default());
        assert_eq!((e.reason, r[0]), (Some(OccasionReason::TooFewParticipants), RowReason::OutsideAge));
        let (e, r) = eval(&rules, &occ("2027-03-01", 600, 660), &rows, Context::default());
        assert_eq!((e.reason, r[0], e.participants_counted), (None, RowReason::Counted, 3));
    }

    #[test]
    fn year_turned_counts_the_whole_year() {
        // Born in December 2020: on the day in September 2027 they are 6, but they turn 7
        // that year.
        let rows = [p(1, "2020-12-20"), p(2, "2012-01-01"), p(3, "2012-01-01"), l(9, "1990-01-01")];
        let o = occ("2027-09-14", 600, 660);
        let on_the_day = ActivityRules::default();
        let (e, r) = eval(&on_the_day, &o, &rows, Context::default());
        assert_eq!((e.counted, r[0]), (false, RowReason::OutsideAge));
        let year_turned = ActivityRules { age_basis: AgeBasis::YearTurned, ..ActivityRules::default() };
        let (e, r) = eval(&year_turned, &o, &rows, Context::default());
        assert_eq!((e.counted, r[0], e.participants_counted), (true, RowReason::Counted, 3));
        // ... and someone who turns 26 late in the year is out for all of it.
        let rows = [p(1, "2001-12-20"), p(2, "2012-01-01"), p(3, "2012-01-01"), p(4, "2012-01-01"), l(9, "1990-01-01")];
        let (_, r) = eval(&year_turned, &o, &rows, Context::default());
        assert_eq!(r[0], RowReason::OutsideAge);
        let (_, r) = eval(&on_the_day, &o, &rows, Context::default());
        assert_eq!(r[0], RowReason::Counted, "25 on the day");
    }

    #[test]
    fn the_cap_and_the_amount_per_occasion() {
        let rules = ActivityRules {
            max_participants_counted: Some(4),
            amount_per_participant_minor: 700,
            amount_per_occasion_minor: 2400,
            ..ActivityRules::default()
        };
        let mut rows: Vec<Attendee> = (0..6).map(|i| p(i, "2012-01-01")).collect();
        rows.push(l(9, "1990-01-01"));
        let (e, r) = eval(&rules, &occ("2027-09-14", 600, 700), &rows, Context::default());
        assert_eq!(e.participants_in_age, 6);
        assert_eq!(e.participants_counted, 4);
        assert_eq!(e.amount_minor, 4 * 700 + 2400);
        assert_eq!(&r[4..], [RowReason::OverCap, RowReason::OverCap, RowReason::Leader]);
    }

    #[test]
    fn no_leader_needed_when_the_programme_says_so() {
        let rules = ActivityRules { leader_required: false, ..ActivityRules::default() };
        let rows = [p(1, "2012-01-01"), p(2, "2012-01-01"), p(3, "2012-01-01")];
        let (e, _) = eval(&rules, &occ("2027-09-14", 600, 660), &rows, Context::default());
        assert!(e.counted);
    }

    #[test]
    fn large_occasions_mark_duplicates_like_small_ones() {
        // 100 rows: people 0..70 as participants, then 0..20 again, then leaders 5 and 5.
        let mut rows: Vec<Attendee> = (0..70).map(|i| p(i, "2012-01-01")).collect();
        rows.extend((0..20).map(|i| p(i, "2012-01-01")));
        rows.push(l(5, "1990-01-01"));
        rows.push(l(5, "1990-01-01"));
        let mut big = vec![RowReason::Counted; rows.len()];
        mark_duplicates(&rows, &mut big);
        for (i, r) in big.iter().enumerate() {
            let expect_dup = i == 5 || (70..90).contains(&i) || i == 91;
            assert_eq!(*r == RowReason::DuplicatePerson, expect_dup, "row {i}");
        }
        // And the quadratic path agrees on a small version of the same shape.
        let mut small_rows: Vec<Attendee> = (0..10).map(|i| p(i, "2012-01-01")).collect();
        small_rows.extend((0..3).map(|i| p(i, "2012-01-01")));
        small_rows.push(l(5, "1990-01-01"));
        small_rows.push(l(5, "1990-01-01"));
        let mut small = vec![RowReason::Counted; small_rows.len()];
        mark_duplicates(&small_rows, &mut small);
        let mut padded = small_rows.clone();
        padded.extend((1000..1060).map(|i| p(i, "2012-01-01")));
        let mut sorted = vec![RowReason::Counted; padded.len()];
        mark_duplicates(&padded, &mut sorted);
        assert_eq!(small[..], sorted[..small.len()]);
        assert_eq!(small.iter().filter(|r| **r == RowReason::DuplicatePerson).count(), 5);
    }

    #[test]
    fn checks_every_setting() {
        let mut v = Violations::default();
        ActivityRules::default().check(&mut v, "rules");
        assert!(v.0.is_empty(), "{:?}", v.0);
        let bad = ActivityRules {
            min_age: 30,
            max_age: 20,
            min_participants: 0,
            max_participants_counted: Some(0),
            min_minutes: 2000,
            leader_min_age: 200,
            amount_per_participant_minor: -1,
            amount_per_occasion_minor: MAX_AMOUNT_MINOR + 1,
            max_occasions_per_group_per_day: 0,
            ..ActivityRules::default()
        };
        let mut v = Violations::default();
        bad.check(&mut v, "rules");
        let got: Vec<(&str, &str)> = v.0.iter().map(|x| (x.field.as_str(), x.rule)).collect();
        assert_eq!(
            got,
            [
                ("rules.maxAge", "order"),
                ("rules.minParticipants", "out_of_range"),
                ("rules.maxParticipantsCounted", "out_of_range"),
                ("rules.minMinutes", "out_of_range"),
                ("rules.leaderMinAge", "out_of_range"),
                ("rules.amountPerParticipantMinor", "out_of_range"),
                ("rules.amountPerOccasionMinor", "out_of_range"),
                ("rules.maxOccasionsPerGroupPerDay", "out_of_range"),
            ]
        );
        let mut v = Violations::default();
        ActivityRules { max_participants_counted: Some(2), amount_per_participant_minor: 0, ..ActivityRules::default() }.check(&mut v, "r");
        let got: Vec<(&str, &str)> = v.0.iter().map(|x| (x.field.as_str(), x.rule)).collect();
        assert_eq!(got, [("r.maxParticipantsCounted", "order")], "zero amounts are allowed: decided after the count");
    }

    #[test]
    fn json_names_defaults_and_unknown_fields() {
        let r: ActivityRules = serde_json::from_str(r#"{"maxAge": 20, "ageBasis": "year_turned"}"#).unwrap();
        assert_eq!(r, ActivityRules { max_age: 20, age_basis: AgeBasis::YearTurned, ..ActivityRules::default() });
        assert!(serde_json::from_str::<ActivityRules>(r#"{"maxAges": 20}"#).is_err());
        let json = serde_json::to_value(ActivityRules::default()).unwrap();
        assert_eq!(json["minAge"], 7);
        assert_eq!(json["ageBasis"], "on_the_day");
        assert_eq!(json["amountPerParticipantMinor"], 800);
        assert!(json.get("maxParticipantsCounted").is_none());
        for r in RowReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.code());
        }
        for r in OccasionReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.code());
        }
    }

    #[test]
    fn person_keys_hide_the_number() {
        let pin = PersonalIdentityNumber::parse("198112289874", d("2026-01-01")).unwrap();
        let k = PersonKey::of(&pin);
        assert_eq!(k, PersonKey::from_raw(198_112_289_874));
        let a = Attendee { role: Role::Participant, birth_date: pin.birth_date(), person: k };
        assert!(!format!("{a:?}").contains("9874"), "{a:?}");
    }
}
