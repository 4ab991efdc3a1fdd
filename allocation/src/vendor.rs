//! What the units' booking systems have booked, read before a run so that the allocation keeps
//! every existing booking at the vendor as a hard rule (docs/allocation.md, "Bookings at the
//! vendors"). Each vendor is asked for its units' `BOOKED` times over the dates that matter
//! (vendor.v1 `CheckAvailability`, window by window); a vendor that does not answer leaves its
//! units `unavailable` in the run's report rather than stopping the run, since the series
//! booked from the final allocation meet the vendor's bookings again in any case.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Timelike};
use chrono_tz::Europe::Stockholm;
use federation::service::Service;
use registry_core::auth::Principal;
use registry_core::{Error, Registry};
use uuid::Uuid;

use crate::build::{UnitInfo, hhmm};
use crate::model::{BookedTime, VendorCheck};

/// Per unit and date, the booked intervals in minutes since local midnight.
pub type ByDate = BTreeMap<Uuid, BTreeMap<NaiveDate, Vec<(u16, u16)>>>;

/// What the vendors said.
#[derive(Debug, Default)]
pub struct Booked {
    /// Per unit, for the run's report.
    pub checks: Vec<VendorCheck>,
    /// The booked times on the dates that matter.
    pub by_date: ByDate,
}

/// Splits a booked stretch into local dates and minutes (a booking past midnight continues on
/// the next date).
fn local_parts(a: chrono::DateTime<chrono::Utc>, b: chrono::DateTime<chrono::Utc>) -> Vec<(NaiveDate, u16, u16)> {
    let (a, b) = (a.with_timezone(&Stockholm).naive_local(), b.with_timezone(&Stockholm).naive_local());
    let mut out = Vec::new();
    let mut day = a.date();
    while day <= b.date() && out.len() < 400 {
        let start = if day == a.date() { (a.hour() * 60 + a.minute()) as u16 } else { 0 };
        let end = if day == b.date() { (b.hour() * 60 + b.minute() + u32::from(b.second() > 0)) as u16 } else { 24 * 60 };
        if start < end {
            out.push((day, start, end));
        }
        day = day.succ_opt().unwrap_or(day);
        if day == NaiveDate::MAX {
            break;
        }
    }
    out
}

/// Groups a unit's booked times by weekday and time for the report.
fn summary(dates: &BTreeMap<NaiveDate, Vec<(u16, u16)>>) -> Vec<BookedTime> {
    let mut by: BTreeMap<(u8, u16, u16), (NaiveDate, u32)> = BTreeMap::new();
    for (date, list) in dates {
        let day = date.weekday().number_from_monday() as u8;
        for &(a, b) in list {
            let e = by.entry((day, a, b)).or_insert((*date, 0));
            e.1 += 1;
        }
    }
    by.into_iter().map(|((day, a, b), (first_date, dates))| BookedTime { day, start: hhmm(a), end: hhmm(b), first_date, dates }).collect()
}

/// Asks the vendors of `units` what they have booked on `dates` (the season's dates outside its
/// breaks for training times, the dates asked for in match requests). Without `federation`
/// nothing is asked and every unit is `not_checked`.
pub async fn read(
    registry: &Registry,
    federation: Option<&Service>,
    units: &BTreeMap<Uuid, UnitInfo>,
    dates: &BTreeSet<NaiveDate>,
) -> Result<Booked, Error> {
    let check =
        |unit_id: Uuid, status: &str, message: Option<String>| VendorCheck { unit_id, status: status.into(), message, booked: Vec::new() };
    let Some(federation) = federation else {
        return Ok(Booked {
            checks: units
                .keys()
                .map(|u| check(*u, "not_checked", Some("the run was made without asking the booking systems".into())))
                .collect(),
            by_date: BTreeMap::new(),
        });
    };
    let (Some(&first), Some(&last)) = (dates.first(), dates.last()) else {
        return Ok(Booked { checks: units.keys().map(|u| check(*u, "ok", None)).collect(), by_date: BTreeMap::new() });
    };
    let system = Principal::system("system:allocation");
    let facilities: BTreeSet<Uuid> = units.values().map(|u| u.facility).collect();
    let facilities: Vec<Uuid> = facilities.into_iter().collect();
    let mapping = registry.vendor_units(&system, &facilities).await?;
    let mut by_vendor: BTreeMap<Uuid, Vec<(Uuid, String)>> = BTreeMap::new();
    for m in mapping.into_iter().filter(|m| units.contains_key(&m.unit_id)) {
        by_vendor.entry(m.vendor_id).or_default().push((m.unit_id, m.external_ref));
    }
    let mut checks: BTreeMap<Uuid, VendorCheck> = units
        .keys()
        .map(|u| (*u, check(*u, "no_vendor", Some("not booked through a booking system connected to the registry".into()))))
        .collect();
    let mut by_date: ByDate = BTreeMap::new();
    let from = registry_core::hours::local_instant(first, 0);
    let to = registry_core::hours::local_instant(last + chrono::Duration::days(1), 0);
    // Every vendor at once: a run waits for the slowest, not for the sum of them.
    let asked = futures_util::future::join_all(by_vendor.into_iter().map(|(vendor_id, list)| {
        let system = system.clone();
        async move {
            let refs: Vec<String> = list.iter().map(|(_, r)| r.clone()).collect();
            let answer = match registry.get_vendor(&system, vendor_id).await {
                Ok(vendor) => federation.booked_at(&vendor, &refs, from, to).await.map_err(|e| format!("{}: {e}", vendor.name)),
                Err(e) => Err(e.to_string()),
            };
            (vendor_id, list, answer)
        }
    }))
    .await;
    for (vendor_id, list, answer) in asked {
        match answer {
            Ok(booked) => {
                for (unit, r) in &list {
                    let mut dated: BTreeMap<NaiveDate, Vec<(u16, u16)>> = BTreeMap::new();
                    for &(a, b) in booked.get(r).map(Vec::as_slice).unwrap_or_default() {
                        for (date, s, e) in local_parts(a, b) {
                            if dates.contains(&date) {
                                dated.entry(date).or_default().push((s, e));
                            }
                        }
                    }
                    for l in dated.values_mut() {
                        l.sort_unstable();
                        l.dedup();
                    }
                    checks.insert(*unit, VendorCheck { unit_id: *unit, status: "ok".into(), message: None, booked: summary(&dated) });
                    if !dated.is_empty() {
                        by_date.insert(*unit, dated);
                    }
                }
            }
            Err(why) => {
                tracing::warn!(vendor = %vendor_id, %why, "allocation: a booking system did not say what it has booked");
                for (unit, _) in &list {
                    checks.insert(
                        *unit,
                        check(
                            *unit,
                            "unavailable",
                            Some(format!("its booked times could not be read, so they were not taken into account ({why})")),
                        ),
                    );
                }
            }
        }
    }
    Ok(Booked { checks: checks.into_values().collect(), by_date })
}

/// The weekly times booked in any of the dates: per unit, per weekday.
pub fn weekly(by_date: &ByDate) -> BTreeMap<Uuid, [Vec<(u16, u16)>; 7]> {
    by_date
        .iter()
        .map(|(u, dates)| {
            let mut week: [Vec<(u16, u16)>; 7] = Default::default();
            for (d, list) in dates {
                week[d.weekday().num_days_from_monday() as usize].extend(list.iter().copied());
            }
            for w in &mut week {
                w.sort_unstable();
                w.dedup();
            }
            (*u, week)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_booking_past_midnight_is_split_into_local_dates() {
        // 2027-01-15 22:00 to 01:00 the next day, local (UTC+1 in winter).
        let a = chrono::Utc.with_ymd_and_hms(2027, 1, 15, 21, 0, 0).unwrap();
        let b = chrono::Utc.with_ymd_and_hms(2027, 1, 16, 0, 0, 0).unwrap();
        let d = |n| NaiveDate::from_ymd_opt(2027, 1, n).unwrap();
        assert_eq!(local_parts(a, b), vec![(d(15), 22 * 60, 24 * 60), (d(16), 0, 60)]);
        // Summer time: UTC+2.
        let a = chrono::Utc.with_ymd_and_hms(2027, 6, 1, 15, 0, 0).unwrap();
        let b = chrono::Utc.with_ymd_and_hms(2027, 6, 1, 16, 30, 0).unwrap();
        assert_eq!(local_parts(a, b), vec![(NaiveDate::from_ymd_opt(2027, 6, 1).unwrap(), 17 * 60, 18 * 60 + 30)]);
    }

    #[test]
    fn booked_times_are_summarised_per_weekday_and_time() {
        let d = |n| NaiveDate::from_ymd_opt(2027, 9, n).unwrap();
        // Tuesdays 7th and 14th 18:00–19:30, Wednesday 8th 17:00–18:00.
        let dates = BTreeMap::from([(d(7), vec![(1080, 1170)]), (d(8), vec![(1020, 1080)]), (d(14), vec![(1080, 1170)])]);
        let s = summary(&dates);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].day, s[0].start.as_str(), s[0].end.as_str(), s[0].first_date, s[0].dates), (2, "18:00", "19:30", d(7), 2));
        assert_eq!((s[1].day, s[1].first_date, s[1].dates), (3, d(8), 1));
        let w = weekly(&BTreeMap::from([(Uuid::nil(), dates)]));
        assert_eq!(w[&Uuid::nil()][1], vec![(1080, 1170)]);
        assert_eq!(w[&Uuid::nil()][2], vec![(1020, 1080)]);
    }
}
