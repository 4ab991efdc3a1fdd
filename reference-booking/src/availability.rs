//! Bookable time: a unit's opening hours, cut into slots of its granularity from each opening,
//! less what is booked or blocked, within its lead time and horizon.

use chrono::{DateTime, Duration, Utc};
use registry_core::hours::OpeningHours;

use crate::model::{CustomerType, Rules};

/// What a slot is for the asking customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    /// Bookable directly.
    Free,
    /// Only by a booking request.
    RequestOnly,
    /// Taken by a confirmed booking or a block.
    Booked,
}

/// One slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Start.
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
    /// State.
    pub state: SlotState,
}

/// The open intervals of `hours` around `[from, to)`, whole (not clipped), so that slots are
/// counted from each real opening.
pub fn openings(hours: &OpeningHours, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    hours.intervals(from - Duration::days(1), to + Duration::days(1)).into_iter().map(|i| (i.start, i.end)).collect()
}

/// How `customer` may book (None: may not); without a customer type, how anyone may.
pub fn state_for(rules: &Rules, customer: Option<CustomerType>) -> Option<SlotState> {
    match customer {
        Some(t) if rules.direct_types.contains(&t) => Some(SlotState::Free),
        Some(t) if rules.request_types.contains(&t) => Some(SlotState::RequestOnly),
        Some(_) => None,
        None if !rules.direct_types.is_empty() => Some(SlotState::Free),
        None if !rules.request_types.is_empty() => Some(SlotState::RequestOnly),
        None => None,
    }
}

/// The slots of one unit inside `[from, to)`: whole slots only, none before `now` + lead time
/// or after the horizon, free or request-only runs shorter than `min_duration` left out.
/// `held` are the unit's confirmed bookings and blocks (start, end) that overlap the window.
#[allow(clippy::too_many_arguments)]
pub fn slots(
    rules: &Rules,
    hours: &OpeningHours,
    held: &[(DateTime<Utc>, DateTime<Utc>)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    customer: Option<CustomerType>,
    min_duration: Option<Duration>,
) -> Vec<Slot> {
    let Some(open_state) = state_for(rules, customer) else { return Vec::new() };
    let step = Duration::minutes(i64::from(rules.slot_minutes));
    let earliest = now + Duration::minutes(i64::from(rules.lead_minutes));
    let latest = now + Duration::days(i64::from(rules.horizon_days));
    // Confirmed bookings and blocks never overlap, so sorted by start they are sorted by end
    // too, and one pass over them alongside the slots finds what each slot meets.
    let mut confirmed: Vec<(DateTime<Utc>, DateTime<Utc>)> = held.to_vec();
    confirmed.sort();
    let mut next = 0;
    let mut out: Vec<Slot> = Vec::new();
    for (open, close) in openings(hours, from, to) {
        let mut s = open;
        while s + step <= close {
            let e = s + step;
            while next < confirmed.len() && confirmed[next].1 <= s {
                next += 1;
            }
            if s >= from && e <= to && s >= earliest && e <= latest {
                let taken = confirmed.get(next).is_some_and(|b| b.0 < e);
                out.push(Slot { start: s, end: e, state: if taken { SlotState::Booked } else { open_state } });
            }
            s = e;
        }
    }
    if let Some(min) = min_duration.filter(|d| *d > step) {
        // Keep bookable slots only where their run of adjacent bookable slots is long enough.
        let mut keep = vec![true; out.len()];
        let mut i = 0;
        while i < out.len() {
            if out[i].state == SlotState::Booked {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < out.len() && out[j + 1].state != SlotState::Booked && out[j + 1].start == out[j].end {
                j += 1;
            }
            if out[j].end - out[i].start < min {
                keep[i..=j].iter_mut().for_each(|k| *k = false);
            }
            i = j + 1;
        }
        let mut k = keep.into_iter();
        out.retain(|_| k.next().unwrap_or(true));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use registry_core::hours::{HhMm, MonthDay, Period, TimeSpan, Weekly};

    fn hours(opens: u16, closes: u16) -> OpeningHours {
        let mut weekly = Weekly::default();
        for d in 0..7 {
            weekly.day_mut(d).push(TimeSpan::day(HhMm::new(opens, 0).unwrap(), HhMm::new(closes, 0).unwrap()));
        }
        let year =
            Period { name: "Året".into(), from: MonthDay::new(1, 1).unwrap(), to: MonthDay::new(12, 31).unwrap(), priority: 0, weekly };
        OpeningHours { periods: vec![year], ..OpeningHours::default() }
    }

    fn t(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap()
    }

    #[test]
    fn slots_follow_the_hours_the_rules_and_the_bookings() {
        let rules = Rules { lead_minutes: 0, ..Rules::default() };
        // 17–22 local is 16–21 UTC in December.
        let h = hours(17, 22);
        let now = t(1, 0);
        let all = slots(&rules, &h, &[], t(3, 0), t(4, 0), now, None, None);
        assert_eq!(all.len(), 5);
        assert_eq!((all[0].start, all[4].end), (t(3, 16), t(3, 21)));
        assert!(all.iter().all(|s| s.state == SlotState::Free));
        // Associations send requests; a type that may not book gets nothing.
        let assoc = slots(&rules, &h, &[], t(3, 0), t(4, 0), now, Some(CustomerType::Association), None);
        assert!(assoc.iter().all(|s| s.state == SlotState::RequestOnly));
        let only_direct = Rules { request_types: vec![], ..rules.clone() };
        assert!(slots(&only_direct, &h, &[], t(3, 0), t(4, 0), now, Some(CustomerType::Association), None).is_empty());
        // Lead time and horizon cut the window.
        let lead = Rules { lead_minutes: 60 * 24 * 2 + 60 * 18, ..rules.clone() };
        assert_eq!(slots(&lead, &h, &[], t(3, 0), t(4, 0), now, None, None).len(), 3, "from 18 UTC on the 3rd");
        let horizon = Rules { horizon_days: 1, ..rules.clone() };
        assert!(slots(&horizon, &h, &[], t(3, 0), t(4, 0), now, None, None).is_empty());
        // Only whole slots inside the window.
        assert_eq!(slots(&rules, &h, &[], t(3, 16) + Duration::minutes(30), t(3, 19), now, None, None).len(), 2);
    }
}
