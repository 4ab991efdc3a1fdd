//! The domain: rounds, their units and principles, applications, runs and their results, as
//! clients send and see them (JSON field names are lowerCamelCase, as everywhere).

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// A round's state: applications are taken while `open` (within the application period); a
/// run published to the applicants makes it `preliminary`; staff register the `final`
/// allocation, after which nothing is rerun.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RoundStatus {
    /// Taking applications (within the period), runs and what-ifs.
    Open,
    /// A preliminary allocation is published to the applicants, who may comment.
    Preliminary,
    /// The final allocation is registered.
    Final,
}

impl RoundStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Preliminary => "preliminary",
            Self::Final => "final",
        }
    }

    /// From the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Self::Open,
            "preliminary" => Self::Preliminary,
            "final" => Self::Final,
            _ => return None,
        })
    }
}

/// A break in the season (a holiday, the autumn break): no training those dates.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = RoundBreak))]
pub struct Break {
    /// First date.
    pub from: NaiveDate,
    /// Last date (inclusive).
    pub to: NaiveDate,
    /// What it is, e.g. `Höstlov`.
    #[serde(default)]
    pub name: String,
}

/// A time window on one weekday: `day` 1 = Monday … 7 = Sunday, `from` and `to` as `HH:MM`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayTime {
    /// ISO weekday, 1 = Monday … 7 = Sunday.
    pub day: u8,
    /// Start, `HH:MM` local time.
    #[cfg_attr(feature = "openapi", schema(example = "16:00"))]
    pub from: String,
    /// End, `HH:MM` local time (same day).
    #[cfg_attr(feature = "openapi", schema(example = "22:00"))]
    pub to: String,
    /// Why (blocks only), e.g. `Skolans tid`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// A unit in a round: what it suits and when it can be allocated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoundUnit {
    /// The unit (of a facility in the round's municipality).
    pub unit_id: Uuid,
    /// Activity codes it suits (empty: any).
    #[serde(default)]
    pub activities: Vec<String>,
    /// The weekly times it can be allocated; empty: its opening hours in the registry (the
    /// season's first full week).
    #[serde(default)]
    pub hours: Vec<DayTime>,
    /// Weekly times that are not allocated (school use, public swimming, maintenance).
    #[serde(default)]
    pub blocks: Vec<DayTime>,
}

/// A priority group of the principles and its weight.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriorityGroup {
    /// One of `children_youth` (teams whose oldest are at most `maxAge`), `activity_grant`
    /// (ages within 7–25 and at least three participants: what the national activity grant
    /// counts), `underrepresented_gender` (teams of the `genders` named), `local` (associations
    /// based in the municipality), `previous_season` (teams with a time in the municipality's
    /// previous final round).
    pub code: String,
    /// Points it adds, relative to a base of 1 (≥ 0, at most 100).
    pub weight: f64,
    /// `children_youth`: the oldest age that counts (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u8>,
    /// `underrepresented_gender`: which team genders (default `female`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genders: Vec<Gender>,
}

/// The principles (fördelningsprinciper) the committee decides and publishes.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Principles {
    /// The priority groups and their weights.
    pub groups: Vec<PriorityGroup>,
    /// How much an alternative is worth less per rank down (0–1; default 0.25: the second
    /// choice is worth 75 % of the first).
    #[serde(default = "default_decay")]
    pub rank_decay: f64,
    /// The most hours a week one association may get (none: no cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_hours_per_association: Option<f64>,
    /// A team trains at most once a day (default true).
    #[serde(default = "yes")]
    pub one_session_per_team_per_day: bool,
    /// Free text published with the principles (the committee's decision).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

fn default_decay() -> f64 {
    0.25
}

fn yes() -> bool {
    true
}

/// A round as written by staff.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoundInput {
    /// The municipality (kommunkod).
    pub municipality_code: String,
    /// Name, e.g. `Hösten 2027`.
    pub name: String,
    /// The season's first date.
    pub season_start: NaiveDate,
    /// The season's last date (at most a year later).
    pub season_end: NaiveDate,
    /// Breaks in the season.
    #[serde(default)]
    pub breaks: Vec<Break>,
    /// When applications open.
    pub applications_open: DateTime<Utc>,
    /// When applications close.
    pub applications_close: DateTime<Utc>,
    /// Start grid in minutes: 15, 30 (default) or 60.
    #[serde(default = "default_grid")]
    pub grid_minutes: u16,
    /// The units in the round.
    pub units: Vec<RoundUnit>,
    /// The principles in force.
    pub principles: Principles,
}

fn default_grid() -> u16 {
    30
}

/// A round.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Round {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// As written.
    #[serde(flatten)]
    pub input: RoundInput,
    /// Its state.
    pub status: RoundStatus,
    /// The run published to the applicants (preliminary), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_run: Option<Uuid>,
    /// The final allocation's run, if registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_run: Option<Uuid>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A team's gender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = TeamGender))]
pub enum Gender {
    /// Girls or women.
    Female,
    /// Boys or men.
    Male,
    /// Mixed.
    Mixed,
}

/// The team or group an application is for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    /// Its name in the association, e.g. `F12 Blå`.
    pub name: String,
    /// Activity code (the registry's list), e.g. `floorball`.
    pub activity: String,
    /// Youngest age.
    pub age_from: u8,
    /// Oldest age.
    pub age_to: u8,
    /// Gender.
    pub gender: Gender,
    /// How many take part.
    pub participants: u16,
    /// Level, free text (e.g. `Division 3`, `Motion`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub level: String,
}

/// One acceptable alternative of a wanted weekly time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = WishAlternative))]
pub struct Alternative {
    /// ISO weekday, 1 = Monday … 7 = Sunday.
    pub day: u8,
    /// Earliest start, `HH:MM`.
    pub earliest_start: String,
    /// Latest end, `HH:MM`.
    pub latest_end: String,
    /// The acceptable units (of the round), best first.
    pub units: Vec<Uuid>,
}

/// A wanted weekly time: its length, how many times a week, and ranked alternatives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Wish {
    /// Minutes per session.
    pub duration_minutes: u16,
    /// Sessions a week (1–5), on different days.
    #[serde(default = "one")]
    pub times_per_week: u8,
    /// Alternatives, best first (1–5).
    pub alternatives: Vec<Alternative>,
}

fn one() -> u8 {
    1
}

/// An application as sent by an association's representative.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationInput {
    /// The association applying.
    pub association_id: Uuid,
    /// The team.
    pub team: Team,
    /// Its wanted weekly times (1–5).
    pub wishes: Vec<Wish>,
}

/// An application.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AllocationApplication))]
pub struct Application {
    /// Id.
    pub id: Uuid,
    /// The round.
    pub round_id: Uuid,
    /// As sent.
    #[serde(flatten)]
    pub input: ApplicationInput,
    /// The association's name.
    pub association_name: String,
    /// `submitted` or `withdrawn`.
    pub status: String,
    /// When it was sent.
    pub submitted_at: DateTime<Utc>,
    /// Version.
    pub version: i64,
}

/// Where one session went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AllocationSlot))]
pub struct Slot {
    /// The unit.
    pub unit_id: Uuid,
    /// ISO weekday.
    pub day: u8,
    /// The date, for a match time (weekly training times have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// Start, `HH:MM`.
    pub start: String,
    /// End, `HH:MM`.
    pub end: String,
}

/// One session of a wish, and what became of it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AllocationDecision))]
pub struct Decision {
    /// The application.
    pub application_id: Uuid,
    /// The match request, in a run of match times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_id: Option<Uuid>,
    /// The association.
    pub association_id: Uuid,
    /// The association's name.
    pub association_name: String,
    /// The team's name.
    pub team: String,
    /// Which wish (0-based; 0 for a match).
    pub wish: u16,
    /// Which of its weekly sessions (0-based; 0 for a match).
    pub session: u16,
    /// The priority points the principles gave the team.
    pub priority: i64,
    /// The priority groups it belongs to.
    pub groups: Vec<String>,
    /// Where it went (none: not placed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<Slot>,
    /// The alternative it got (0 = first choice; none: placed by staff outside the wish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative: Option<u16>,
    /// Kept where it is in reruns (decided, or placed by staff).
    pub locked: bool,
    /// For each better alternative and unit not given: why, in words (English and Swedish).
    pub why_not: Vec<WhyNot>,
}

/// Why a better alternative was not given.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhyNot {
    /// The alternative (0-based rank).
    pub alternative: u16,
    /// The unit.
    pub unit_id: Uuid,
    /// `team_busy`, `cap_reached`, `locked`, `taken_by`, `no_room`, or a hard rule:
    /// `closed` (outside the unit's hours, or blocked), `booked_at_vendor` (the unit's booking
    /// system has the time booked: in any week of the season, for weekly times), `training`
    /// (a match time held by the final weekly allocation), `match_decided` (held by a match
    /// already decided), `unsuitable_activity`, `too_small`.
    pub rule: String,
    /// The sessions that hold the time (`taken_by`, `locked`, `team_busy`), as
    /// "association: team (priority)".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_by: Vec<String>,
    /// What giving it would have cost the round's total (`taken_by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<i64>,
    /// In English.
    pub message: String,
    /// På svenska.
    pub message_sv: String,
}

/// A run's summary figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunFigures {
    /// The total value.
    pub objective: i64,
    /// No allocation can be worth more.
    pub bound: i64,
    /// Whether the total is proven the best possible.
    pub proven_optimal: bool,
    /// Sessions wanted.
    pub wanted: u32,
    /// Sessions placed.
    pub placed: u32,
    /// Sessions placed at their first choice.
    pub first_choice: u32,
    /// Per priority group: `[group, wanted, placed, first choice]`.
    pub groups: Vec<GroupFigures>,
}

/// One priority group's figures in a run (fairness).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupFigures {
    /// The group's code.
    pub group: String,
    /// Sessions wanted by its teams.
    pub wanted: u32,
    /// Placed.
    pub placed: u32,
    /// At the first choice.
    pub first_choice: u32,
}

/// A run of the allocator: the principles it used, its figures and every decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AllocationRun))]
pub struct Run {
    /// Id.
    pub id: Uuid,
    /// The round.
    pub round_id: Uuid,
    /// What it is, e.g. `preliminary` or `what-if: girls ×2`.
    pub label: String,
    /// `training` (the weekly training times) or `matches` (match times).
    pub kind: RunKind,
    /// The run it started from (what-ifs, edits), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_run: Option<Uuid>,
    /// The principles it used.
    pub principles: Principles,
    /// Its figures.
    pub figures: RunFigures,
    /// What each unit's booking system had booked when the run was made (kept free by it).
    #[serde(default)]
    pub vendor_checks: Vec<VendorCheck>,
    /// Every session's decision, by application, wish and session.
    pub decisions: Vec<Decision>,
    /// Who made it (staff edit reason included for edits).
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// What a run allocates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AllocationRunKind))]
pub enum RunKind {
    /// The weekly training times of the season.
    #[default]
    Training,
    /// Match times on their dates, later in the season.
    Matches,
}

impl RunKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Training => "training",
            Self::Matches => "matches",
        }
    }

    /// From the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "training" => Self::Training,
            "matches" => Self::Matches,
            _ => return None,
        })
    }
}

/// What one unit's booking system had booked when a run was made. A run keeps every time
/// listed here free: for weekly times, a time booked in any week of the season (breaks
/// excluded), since a weekly series is booked whole.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AllocationVendorCheck))]
pub struct VendorCheck {
    /// The unit.
    pub unit_id: Uuid,
    /// `ok` (its booking system was asked; what it has booked is kept free), `no_vendor` (not
    /// booked through a booking system connected to the registry), `unavailable` (its booking
    /// system did not answer: its bookings were not taken into account; see `message`) or
    /// `not_checked` (the run was made without asking).
    pub status: String,
    /// Why, when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The booked times, by weekday and time (each with its first date and how many dates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub booked: Vec<BookedTime>,
}

/// A time a unit's booking system has booked, on one or more dates.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AllocationBookedTime))]
pub struct BookedTime {
    /// ISO weekday.
    pub day: u8,
    /// Start, `HH:MM` local time.
    pub start: String,
    /// End, `HH:MM` local time (`24:00` at midnight).
    pub end: String,
    /// The first date it is booked.
    pub first_date: NaiveDate,
    /// On how many dates.
    pub dates: u32,
}

/// One acceptable alternative of a match time: a date, a window and units.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MatchAlternative))]
pub struct MatchAlternative {
    /// The date (in the season).
    pub date: NaiveDate,
    /// Earliest start, `HH:MM`.
    pub earliest_start: String,
    /// Latest end, `HH:MM`.
    pub latest_end: String,
    /// The acceptable units (of the round), best first.
    pub units: Vec<Uuid>,
}

/// A request for one match time (matchtid), e.g. a home match of the league's schedule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MatchRequestInput))]
pub struct MatchInput {
    /// Minutes (the match with warm-up and changeover).
    pub duration_minutes: u16,
    /// Alternatives, best first (1–5).
    pub alternatives: Vec<MatchAlternative>,
    /// What it is, e.g. `Hemmamatch mot IK Sävbo` (public with the allocation).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A match request and what became of it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MatchRequest))]
pub struct Match {
    /// Id.
    pub id: Uuid,
    /// The round.
    pub round_id: Uuid,
    /// The team's application.
    pub application_id: Uuid,
    /// The association.
    pub association_id: Uuid,
    /// Its name.
    pub association_name: String,
    /// The team.
    pub team: String,
    /// As sent.
    #[serde(flatten)]
    pub input: MatchInput,
    /// `requested` (not decided yet, or not placed by the last registered run), `allocated`
    /// or `withdrawn`.
    pub status: String,
    /// Where and when, once allocated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<Slot>,
    /// The registered match run that decided it (or last could not place it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_run: Option<Uuid>,
    /// For each better alternative not given by that run: why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub why_not: Vec<WhyNot>,
    /// When it was sent.
    pub submitted_at: DateTime<Utc>,
    /// Version.
    pub version: i64,
}
