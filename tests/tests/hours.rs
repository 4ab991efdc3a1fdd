//! Opening hours through the use cases and the database: versions, authorization, units
//! inheriting their facility's hours, and materialised intervals, queried through the GiST
//! index. The materialised rows are checked against intervals worked out by hand from each
//! schedule's local opening times on a "today" the test names, never against the evaluator
//! that produced them.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Stockholm;
use diesel::QueryableByName;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use registry_core::Clock;
use registry_core::Error;
use registry_core::auth::Principal;
use registry_core::hours::{OpeningHours, osm};
use tests::{TestDb, fixtures};
use uuid::Uuid;

#[derive(QueryableByName, Debug, PartialEq)]
struct Range {
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    s: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    e: DateTime<Utc>,
}

type Rows = Vec<(DateTime<Utc>, DateTime<Utc>)>;

async fn stored(db: &TestDb, facility: Uuid, unit: Option<Uuid>) -> Rows {
    let rows: Vec<Range> = diesel::sql_query(
        "SELECT lower(r) AS s, upper(r) AS e FROM open_intervals, unnest(during) AS r \
         WHERE facility_id = $1 AND unit_id IS NOT DISTINCT FROM $2 ORDER BY 1",
    )
    .bind::<diesel::sql_types::Uuid, _>(facility)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(unit)
    .load(&mut db.conn().await)
    .await
    .unwrap();
    rows.into_iter().map(|r| (r.s, r.e)).collect()
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// "Today" of the materialisation test: Monday 22 March 2027, 10:00 in Stockholm. Its week
/// holds Good Friday, Easter and the spring-forward night (Sunday 28 March, 02:00 → 03:00).
const TODAY: &str = "2027-03-22T09:00:00Z";
/// The end of the materialised window: 400 days later (2028 is a leap year), same instant.
const WINDOW_END: &str = "2028-04-25T09:00:00Z";

/// Sweden's public holidays in the window, written out by hand (Easter Day 2027 is 28 March,
/// 2028 is 16 April; midsummer and All Saints' Day are the Saturdays of 20–26 June and
/// 31 October–6 November; eves such as midsommarafton and julafton are not public holidays).
const PUBLIC_HOLIDAYS: [&str; 16] = [
    "2027-03-26", // långfredagen
    "2027-03-28", // påskdagen
    "2027-03-29", // annandag påsk
    "2027-05-01", // första maj (a Saturday)
    "2027-05-06", // Kristi himmelsfärdsdag
    "2027-05-16", // pingstdagen
    "2027-06-06", // nationaldagen (a Sunday)
    "2027-06-26", // midsommardagen
    "2027-11-06", // alla helgons dag
    "2027-12-25", // juldagen (a Saturday)
    "2027-12-26", // annandag jul
    "2028-01-01", // nyårsdagen (a Saturday)
    "2028-01-06", // trettondedag jul
    "2028-04-14", // långfredagen
    "2028-04-16", // påskdagen
    "2028-04-17", // annandag påsk
];

fn public_holiday(d: NaiveDate) -> bool {
    PUBLIC_HOLIDAYS.contains(&d.format("%Y-%m-%d").to_string().as_str())
}

/// Stockholm local time `hh:mm` ("24:00" is the next midnight) on `date`, as an instant.
fn local(date: NaiveDate, hhmm: &str) -> DateTime<Utc> {
    let (date, hhmm) = if hhmm == "24:00" { (date + Duration::days(1), "00:00") } else { (date, hhmm) };
    let time = NaiveTime::parse_from_str(hhmm, "%H:%M").unwrap();
    Stockholm.from_local_datetime(&date.and_time(time)).single().expect("no opening time falls in a DST gap or overlap").with_timezone(&Utc)
}

/// The intervals a schedule opens in the materialised window, worked out by hand: `day`
/// gives each local date's opening times; touching intervals join (the table stores a range
/// union, so Friday until midnight and Saturday from midnight are one row); the window cuts
/// the first and last.
fn by_hand(day: impl Fn(NaiveDate) -> Vec<(&'static str, &'static str)>) -> Rows {
    let (from, to) = (t(TODAY), t(WINDOW_END));
    let mut out: Rows = Vec::new();
    let mut date = NaiveDate::from_ymd_opt(2027, 3, 21).unwrap();
    while date <= NaiveDate::from_ymd_opt(2028, 4, 25).unwrap() {
        for (open, close) in day(date) {
            let (s, e) = (local(date, open), local(date, close));
            match out.last_mut() {
                Some(last) if last.1 == s => last.1 = e,
                _ => out.push((s, e)),
            }
        }
        date += Duration::days(1);
    }
    out.into_iter().filter(|(s, e)| *e > from && *s < to).map(|(s, e)| (s.max(from), e.min(to))).collect()
}

/// `Mo-Th 07:00-22:00; Sa,Su 09:00-18:00; Fr 07:00-01:00; PH off`, as OSM reads it
/// (opening_hours.js agrees): the hour after Friday's midnight belongs to Saturday and stands
/// because the Friday rule comes after the weekend's (in the other order the Saturday rule
/// would replace it); a Saturday holiday closes it, while Good Friday closes only the Friday.
fn winter_day(d: NaiveDate) -> Vec<(&'static str, &'static str)> {
    if public_holiday(d) {
        return vec![];
    }
    match d.weekday() {
        Weekday::Mon | Weekday::Tue | Weekday::Wed | Weekday::Thu => vec![("07:00", "22:00")],
        Weekday::Fri => vec![("07:00", "24:00")],
        Weekday::Sat => vec![("00:00", "01:00"), ("09:00", "18:00")],
        Weekday::Sun => vec![("09:00", "18:00")],
    }
}

/// `Jun-Aug Mo-Su 10:00-16:00; Sep-May Mo-Fr 08:00-20:00; Dec 24,Dec 31 off` (no PH rule:
/// public holidays keep their weekday's hours).
fn summer_day(d: NaiveDate) -> Vec<(&'static str, &'static str)> {
    match (d.month(), d.day(), d.weekday()) {
        (12, 24 | 31, _) => vec![],
        (6..=8, _, _) => vec![("10:00", "16:00")],
        (_, _, Weekday::Sat | Weekday::Sun) => vec![],
        _ => vec![("08:00", "20:00")],
    }
}

/// `Mo-Fr 16:00-21:00`.
fn unit_day(d: NaiveDate) -> Vec<(&'static str, &'static str)> {
    if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) { vec![] } else { vec![("16:00", "21:00")] }
}

/// Literal intervals, as Stockholm local times with their UTC offsets.
fn lit(pairs: &[(&str, &str)]) -> Rows {
    pairs.iter().map(|(s, e)| (t(s), t(e))).collect()
}

/// `rows` contains `run` as consecutive rows.
fn has_run(rows: &Rows, run: &Rows) -> bool {
    rows.windows(run.len()).any(|w| w == run.as_slice())
}

/// Fails with the first differing row rather than two lists of hundreds.
fn assert_rows(actual: &Rows, expected: &Rows, what: &str) {
    if let Some(i) = (0..actual.len().max(expected.len())).find(|&i| actual.get(i) != expected.get(i)) {
        panic!(
            "{what}: {} rows stored, {} expected; first difference at row {i}: stored {:?}, expected {:?}",
            actual.len(),
            expected.len(),
            actual.get(i),
            expected.get(i)
        );
    }
}

#[tokio::test]
async fn put_get_versions_and_materialisation() {
    let db = TestDb::new().await;
    let reg = db.registry().with_clock(Clock::starting_at(t(TODAY)));
    let editor = Principal::editor("key:kumla", "1881");
    let f = reg.create_facility(&editor, &fixtures::facility("1881", "Hall")).await.unwrap();
    let empty = reg.get_opening_hours(&Principal::anonymous(), f.id, None).await.unwrap();
    assert_eq!((empty.version, empty.inherited, empty.hours.periods.len()), (0, false, 0));

    let winter = osm::parse("Mo-Th 07:00-22:00; Sa,Su 09:00-18:00; Fr 07:00-01:00; PH off").unwrap_or_else(|e| panic!("{e}"));
    let s1 = reg.put_opening_hours(&editor, f.id, None, 0, &winter).await.unwrap();
    assert_eq!(s1.version, 1);
    let rows = stored(&db, f.id, None).await;
    let winter_rows = by_hand(winter_day);
    assert_rows(&rows, &winter_rows, "winter");
    // The hand-worked list itself, pinned at the places where it is easy to get wrong.
    let easter_week = lit(&[
        ("2027-03-22T10:00:00+01:00", "2027-03-22T22:00:00+01:00"), // the window opens at today's hour
        ("2027-03-23T07:00:00+01:00", "2027-03-23T22:00:00+01:00"),
        ("2027-03-24T07:00:00+01:00", "2027-03-24T22:00:00+01:00"),
        ("2027-03-25T07:00:00+01:00", "2027-03-25T22:00:00+01:00"),
        // Good Friday closed; its night's hour stands on Saturday (påskafton is no holiday).
        ("2027-03-27T00:00:00+01:00", "2027-03-27T01:00:00+01:00"),
        ("2027-03-27T09:00:00+01:00", "2027-03-27T18:00:00+01:00"),
        // Easter Day (the spring-forward Sunday) and Easter Monday closed; summer time from here.
        ("2027-03-30T07:00:00+02:00", "2027-03-30T22:00:00+02:00"),
    ]);
    assert_eq!(rows[..7], easter_week[..]);
    let midsummer = lit(&[
        ("2027-06-24T07:00:00+02:00", "2027-06-24T22:00:00+02:00"),
        ("2027-06-25T07:00:00+02:00", "2027-06-26T00:00:00+02:00"), // midsommardagen closes Saturday's first hour
        ("2027-06-27T09:00:00+02:00", "2027-06-27T18:00:00+02:00"),
    ]);
    assert!(has_run(&rows, &midsummer), "midsummer week");
    let fall_back = lit(&[
        ("2027-10-29T07:00:00+02:00", "2027-10-30T01:00:00+02:00"), // Friday night runs into Saturday
        ("2027-10-30T09:00:00+02:00", "2027-10-30T18:00:00+02:00"),
        ("2027-10-31T09:00:00+01:00", "2027-10-31T18:00:00+01:00"), // the first day of winter time
        ("2027-11-01T07:00:00+01:00", "2027-11-01T22:00:00+01:00"),
    ]);
    assert!(has_run(&rows, &fall_back), "the fall-back weekend");
    assert_eq!(rows.last(), Some(&(t("2028-04-25T07:00:00+02:00"), t("2028-04-25T11:00:00+02:00"))), "the window closes 400 days on");
    assert!(matches!(
        reg.put_opening_hours(&editor, f.id, None, 0, &winter).await,
        Err(Error::PreconditionFailed { expected: 0, actual: 1, .. })
    ));

    let summer = osm::parse("Jun-Aug Mo-Su 10:00-16:00; Sep-May Mo-Fr 08:00-20:00; Dec 24,Dec 31 off").unwrap();
    let s2 = reg.put_opening_hours(&editor, f.id, None, 1, &summer).await.unwrap();
    assert_eq!(s2.version, 2);
    let rows = stored(&db, f.id, None).await;
    let summer_rows = by_hand(summer_day);
    assert_rows(&rows, &summer_rows, "summer");
    assert_eq!(rows[0], (t("2027-03-22T10:00:00+01:00"), t("2027-03-22T20:00:00+01:00")));
    let season_change =
        lit(&[("2027-05-31T08:00:00+02:00", "2027-05-31T20:00:00+02:00"), ("2027-06-01T10:00:00+02:00", "2027-06-01T16:00:00+02:00")]);
    assert!(has_run(&rows, &season_change), "May to June");
    let christmas = lit(&[
        ("2027-12-23T08:00:00+01:00", "2027-12-23T20:00:00+01:00"),
        ("2027-12-27T08:00:00+01:00", "2027-12-27T20:00:00+01:00"), // julafton off, then the weekend
    ]);
    assert!(has_run(&rows, &christmas), "Christmas");
    assert_eq!(reg.get_opening_hours(&Principal::anonymous(), f.id, None).await.unwrap().hours, s2.hours);

    // A unit inherits until it has its own hours.
    let unit = f.units[0].id;
    let inherited = reg.get_opening_hours(&Principal::anonymous(), f.id, Some(unit)).await.unwrap();
    assert!(inherited.inherited && inherited.hours == s2.hours);
    let own = osm::parse("Mo-Fr 16:00-21:00").unwrap();
    let u1 = reg.put_opening_hours(&editor, f.id, Some(unit), 0, &own).await.unwrap();
    assert!(!u1.inherited);
    let unit_rows = stored(&db, f.id, Some(unit)).await;
    assert_rows(&unit_rows, &by_hand(unit_day), "unit");
    assert_eq!(unit_rows[0], (t("2027-03-22T16:00:00+01:00"), t("2027-03-22T21:00:00+01:00")));
    assert_rows(&stored(&db, f.id, None).await, &summer_rows, "the facility's rows after the unit's write");
    assert!(matches!(reg.get_opening_hours(&editor, f.id, Some(Uuid::now_v7())).await, Err(Error::NotFound { .. })));

    // An empty schedule: closed, nothing materialised.
    let s3 = reg.put_opening_hours(&editor, f.id, None, 2, &OpeningHours::default()).await.unwrap();
    assert!(stored(&db, f.id, None).await.is_empty());
    assert_eq!(s3.version, 3);

    // Every write is logged; the refresh job rebuilds the same rows.
    assert_eq!(db.count("SELECT count(*) AS n FROM change_log WHERE entity = 'opening_hours'").await, 4);
    reg.put_opening_hours(&editor, f.id, None, 3, &winter).await.unwrap();
    assert_rows(&stored(&db, f.id, None).await, &winter_rows, "winter again");
    db.conn().await.batch_execute("DELETE FROM open_intervals").await.unwrap();
    let (schedules, intervals) = reg.refresh_open_intervals().await.unwrap();
    assert_eq!((schedules, intervals), (2, winter_rows.len() + by_hand(unit_day).len()));
    assert_rows(&stored(&db, f.id, None).await, &winter_rows, "refreshed");
    assert_rows(&stored(&db, f.id, Some(unit)).await, &by_hand(unit_day), "refreshed unit");

    // Deleting the facility removes its intervals.
    reg.delete_facility(&editor, f.id, None).await.unwrap();
    assert_eq!(db.count("SELECT count(*) AS n FROM open_intervals").await, 0);
}

#[tokio::test]
async fn writes_are_authorized_and_validated() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let f = reg.create_facility(&Principal::operator("admin"), &fixtures::facility("0180", "Hall")).await.unwrap();
    let h = osm::parse("Mo-Fr 08:00-17:00").unwrap();
    assert!(matches!(reg.put_opening_hours(&Principal::anonymous(), f.id, None, 0, &h).await, Err(Error::Unauthenticated(_))));
    assert!(matches!(reg.put_opening_hours(&Principal::editor("key:gbg", "1480"), f.id, None, 0, &h).await, Err(Error::Forbidden(_))));
    let mut bad = h.clone();
    let first = bad.periods[0].weekly.monday[0];
    bad.periods[0].weekly.monday.push(first);
    let Err(Error::Invalid(v)) = reg.put_opening_hours(&Principal::editor("key:sthlm", "0180"), f.id, None, 0, &bad).await else {
        panic!()
    };
    assert_eq!((v[0].field.as_str(), v[0].rule), ("periods[0].weekly.monday[1]", "overlap"));
    assert_eq!(db.count("SELECT count(*) AS n FROM opening_hours").await, 0);
    assert_eq!(db.count("SELECT count(*) AS n FROM open_intervals").await, 0);
    assert!(matches!(
        reg.opening_intervals(&Principal::anonymous(), f.id, None, t("2026-01-01T00:00:00Z"), t("2027-06-01T00:00:00Z")).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        reg.opening_intervals(&Principal::anonymous(), f.id, None, t("2026-01-02T00:00:00Z"), t("2026-01-01T00:00:00Z")).await,
        Err(Error::Invalid(_))
    ));
}

#[tokio::test]
async fn the_open_at_filter_uses_the_gist_index() {
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    let h = osm::parse("Mo-Fr 07:00-21:00; Sa,Su 09:00-16:00; PH off").unwrap();
    for i in 0..40 {
        let f = reg.create_facility(&admin, &fixtures::facility("1881", &format!("Hall {i}"))).await.unwrap();
        reg.put_opening_hours(&admin, f.id, None, 0, &h).await.unwrap();
    }
    let mut conn = db.conn().await;
    // With 40 rows a sequential scan is cheaper; what matters is that the index can serve
    // the filter (the national table has hundreds of thousands of rows).
    conn.batch_execute("ANALYZE open_intervals; SET enable_seqscan = off").await.unwrap();
    let at = (Utc::now() + Duration::days(3)).to_rfc3339();
    let plan: Vec<Plan> =
        diesel::sql_query(format!("EXPLAIN SELECT DISTINCT facility_id FROM open_intervals WHERE during @> '{at}'::timestamptz"))
            .load(&mut conn)
            .await
            .unwrap();
    let text = plan.iter().map(|p| p.line.as_str()).collect::<Vec<_>>().join("\n");
    assert!(text.contains("open_intervals_during"), "no index in the plan:\n{text}");
    let during: Vec<Plan> = diesel::sql_query(format!(
        "EXPLAIN SELECT DISTINCT facility_id FROM open_intervals WHERE during @> tstzrange('{at}'::timestamptz, '{at}'::timestamptz + interval '2 hours')"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    let text = during.iter().map(|p| p.line.as_str()).collect::<Vec<_>>().join("\n");
    assert!(text.contains("open_intervals_during"), "no index in the plan:\n{text}");
}

#[tokio::test]
async fn unit_hours_survive_facility_updates_and_go_with_their_unit() {
    let db = TestDb::new().await;
    let reg = db.registry();
    let admin = Principal::operator("admin");
    let f = reg.create_facility(&admin, &fixtures::facility("1881", "Hall")).await.unwrap();
    let (keep, drop) = (f.units[0].id, f.units[1].id);
    let h = osm::parse("Mo-Fr 16:00-21:00").unwrap();
    reg.put_opening_hours(&admin, f.id, Some(keep), 0, &h).await.unwrap();
    reg.put_opening_hours(&admin, f.id, Some(drop), 0, &h).await.unwrap();
    let mut input = f.to_input();
    input.name = "Renamed".into();
    let f = reg.update_facility(&admin, f.id, 1, &input).await.unwrap();
    assert_eq!(reg.get_opening_hours(&admin, f.id, Some(keep)).await.unwrap().version, 1, "an update keeps the units' hours");
    assert_eq!(db.count("SELECT count(*) AS n FROM open_intervals").await, 2);
    let mut input = f.to_input();
    input.units.retain(|u| u.id == Some(keep));
    reg.update_facility(&admin, f.id, 2, &input).await.unwrap();
    assert!(matches!(reg.get_opening_hours(&admin, f.id, Some(drop)).await, Err(Error::NotFound { .. })));
    assert_eq!(db.count("SELECT count(*) AS n FROM opening_hours").await, 1, "the removed unit's hours went with it");
    assert_eq!(db.count("SELECT count(*) AS n FROM open_intervals").await, 1);
}
