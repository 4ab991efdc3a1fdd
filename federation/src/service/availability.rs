//! The federated availability query: candidate facilities from search, their units grouped by
//! the vendor that books them, one fan-out through the federation engine, and one answer that
//! says per vendor what happened (docs/vendor-protocol.md §11).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use registry_core::Error;
use registry_core::auth::Principal;
use registry_core::model::Vendor;
use registry_core::search::FacilitySearch;
use registry_core::service::bookings::{BookingMode, vendor_takes};
use serde::Serialize;
use uuid::Uuid;

use super::Service;
use crate::{Status, pb};

/// The default and the largest overall deadline of a federated query.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(1);
/// See [`DEFAULT_DEADLINE`].
pub const MAX_DEADLINE: Duration = Duration::from_secs(5);
/// The longest window asked for.
pub const MAX_WINDOW: chrono::Duration = chrono::Duration::days(14);

/// A federated availability query as a front end decoded it; the use case checks its rules.
#[derive(Debug, Clone, Default)]
pub struct AvailabilityQuery {
    /// Which facilities (as for search); only those with bookable units are asked about.
    pub search: FacilitySearch,
    /// Window start (required).
    pub from: Option<DateTime<Utc>>,
    /// Window end (required; after `from`, at most [`MAX_WINDOW`] later).
    pub to: Option<DateTime<Utc>>,
    /// Only free stretches at least this long (1 to 1440 minutes).
    pub min_duration_minutes: Option<i64>,
    /// The overall deadline (1 to 5000 ms; default [`DEFAULT_DEADLINE`]).
    pub deadline_ms: Option<i64>,
}

/// An [`AvailabilityQuery`] that keeps its rules.
struct Checked {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    min_duration: Option<Duration>,
    deadline: Duration,
}

impl AvailabilityQuery {
    /// Checks every rule at once.
    fn check(&self) -> Result<Checked, Error> {
        let mut v = registry_core::validate::Violations::default();
        if self.from.is_none() {
            v.add("from", "required", "the window start, e.g. 2026-12-03T17:00:00+01:00");
        }
        if self.to.is_none() {
            v.add("to", "required", "the window end, e.g. 2026-12-03T22:00:00+01:00");
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if to <= from {
                v.add("to", "out_of_range", "must be after from");
            } else if to - from > MAX_WINDOW {
                v.add("to", "out_of_range", "the window is at most 14 days");
            }
        }
        let min_duration = match self.min_duration_minutes {
            None => None,
            Some(m) if (1..=24 * 60).contains(&m) => Some(Duration::from_secs(m.unsigned_abs() * 60)),
            Some(_) => {
                v.add("minDurationMinutes", "out_of_range", "must be between 1 and 1440");
                None
            }
        };
        let deadline = match self.deadline_ms {
            None => DEFAULT_DEADLINE,
            Some(ms) if ms >= 1 && Duration::from_millis(ms.unsigned_abs()) <= MAX_DEADLINE => Duration::from_millis(ms.unsigned_abs()),
            Some(_) => {
                v.add("deadlineMs", "out_of_range", "must be between 1 and 5000 milliseconds");
                DEFAULT_DEADLINE
            }
        };
        v.finish()?;
        match (self.from, self.to) {
            (Some(from), Some(to)) => Ok(Checked { from, to, min_duration, deadline }),
            _ => Err(Error::Internal("checked above".into())),
        }
    }
}

/// A federated availability answer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityAnswer {
    /// Window start.
    pub from: DateTime<Utc>,
    /// Window end.
    pub to: DateTime<Utc>,
    /// The candidate facilities, in search order, with their units' times.
    pub facilities: Vec<FacilityTimes>,
    /// What happened with each vendor asked (or not asked).
    pub vendors: Vec<VendorReport>,
    /// Token of the next page of facilities; empty on the last.
    pub next_page_token: String,
}

/// One facility's units and their times.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FacilityTimes {
    /// Facility id.
    pub facility_id: Uuid,
    /// Name.
    pub name: String,
    /// Municipality code.
    pub municipality_code: String,
    /// Municipality name.
    pub municipality_name: String,
    /// Distance from `near`, metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// Where it is (WGS84), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<registry_core::geo::LatLon>,
    /// Bookable units.
    pub units: Vec<UnitTimes>,
}

/// One unit's times.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UnitTimes {
    /// Unit id.
    pub unit_id: Uuid,
    /// Name.
    pub name: String,
    /// The vendor that books it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<Uuid>,
    /// `ok`, `no_vendor` (not bookable online), `unknown_unit` or `not_bookable` (as the
    /// vendor says), or the vendor's status when it did not answer (`timeout`, `error`, …).
    pub status: String,
    /// Slots in the window, by start.
    pub slots: Vec<SlotOut>,
}

/// A time on a unit.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SlotOut {
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// `free`, `request_only` or `booked`.
    pub state: String,
    /// Prices per customer type.
    pub prices: Vec<PriceOut>,
    /// Deep link to book in the vendor's own e-service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub booking_url: Option<String>,
}

/// A price.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PriceOut {
    /// `private_person`, `association` or `company`.
    pub customer_type: String,
    /// Minor units (öre) per hour.
    pub amount_minor_per_hour: i64,
    /// Currency, e.g. `SEK`.
    pub currency: String,
}

/// What happened with one vendor.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct VendorReport {
    /// Vendor id.
    pub vendor_id: Uuid,
    /// Vendor name.
    pub name: String,
    /// `ok`, `timeout`, `error`, `unavailable` (circuit open), `rate_limited`, `uncertified`
    /// (its certification failed or lapsed: not asked, and `message` says why) or `skipped`.
    pub status: String,
    /// A short explanation (error code, why skipped); never the vendor's raw message.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Milliseconds until its answer (or until it was given up).
    pub elapsed_ms: u64,
    /// Slots dropped from its answer as invalid.
    pub dropped_slots: usize,
    /// What was wrong with its answer, if anything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// How its units can be booked through the registry (`POST /v1/bookings`): `direct`
    /// and/or `request`, as its capabilities say; empty: only through its own booking page.
    pub takes_bookings: Vec<String>,
}

impl Service {
    /// Runs a federated query and gathers the whole answer.
    pub async fn query(&self, p: &Principal, query: &AvailabilityQuery) -> Result<AvailabilityAnswer, Error> {
        let mut run = self.start(p, query).await?;
        let mut facilities = run.candidates.clone();
        while let Some(event) = run.next().await {
            for (facility_id, unit) in event.units {
                if let Some(u) = facilities
                    .iter_mut()
                    .find(|f| f.facility_id == facility_id)
                    .and_then(|f| f.units.iter_mut().find(|u| u.unit_id == unit.unit_id))
                {
                    *u = unit;
                }
            }
        }
        let (from, to) = (run.from, run.to);
        Ok(AvailabilityAnswer { from, to, facilities, vendors: run.reports(), next_page_token: run.next_page_token.clone() })
    }

    /// Starts a federated query: the candidates (units still `pending` where a vendor is
    /// asked) at once, then each vendor's part as it answers ([`Run::next`]).
    pub async fn start(&self, p: &Principal, query: &AvailabilityQuery) -> Result<Run, Error> {
        let Checked { from, to, min_duration, deadline } = query.check()?;
        // Only facilities with a bookable unit have times to ask about.
        let search = FacilitySearch { bookable_only: true, ..query.search.clone() };
        let started = std::time::Instant::now();
        let page = self.registry.search_facilities(p, &search).await?;
        let ids: Vec<Uuid> = page.hits.iter().map(|h| h.facility.id).collect();
        let mapping = self.registry.vendor_units(p, &ids).await?;
        let mut by_vendor: BTreeMap<Uuid, Vec<&registry_core::service::VendorUnit>> = BTreeMap::new();
        for u in &mapping {
            by_vendor.entry(u.vendor_id).or_default().push(u);
        }
        let system = Principal::system("system:federation");
        let mut reports: BTreeMap<Uuid, VendorReport> = BTreeMap::new();
        let mut queries = Vec::new();
        let ts = |t: DateTime<Utc>| Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 });
        // One query for all the vendors' entries, however many there are.
        let ids: Vec<Uuid> = by_vendor.keys().copied().collect();
        let mut entries: HashMap<Uuid, Vendor> =
            self.registry.vendors_by_ids(&system, &ids).await?.into_iter().map(|v| (v.id, v)).collect();
        for (vendor_id, units) in &by_vendor {
            let Some(vendor) = entries.remove(vendor_id) else {
                reports.insert(*vendor_id, report(*vendor_id, "", "skipped", "not in the vendor directory".into()));
                continue;
            };
            if !vendor.certification.federated() {
                let why = format!("not asked: {}", vendor.certification.why_not());
                reports.insert(*vendor_id, report(*vendor_id, &vendor.name, "uncertified", why));
                continue;
            }
            if let Err(why) = self.ensure(&vendor) {
                tracing::warn!(vendor = %vendor.id, %why, "vendor not usable");
                reports
                    .insert(*vendor_id, report(*vendor_id, &vendor.name, "skipped", "the vendor is not configured for federation".into()));
                continue;
            }
            let mut r = report(*vendor_id, &vendor.name, "pending", String::new());
            r.takes_bookings = [(BookingMode::Direct, "direct"), (BookingMode::Request, "request")]
                .into_iter()
                .filter(|(m, _)| vendor_takes(&vendor, *m))
                .map(|(_, name)| name.to_string())
                .collect();
            reports.insert(*vendor_id, r);
            let req = pb::CheckAvailabilityRequest {
                unit_refs: units.iter().map(|u| u.external_ref.clone()).collect(),
                start: ts(from),
                end: ts(to),
                min_duration: min_duration.map(|d| prost_types::Duration { seconds: d.as_secs() as i64, nanos: 0 }),
                ..Default::default()
            };
            queries.push((vendor_id.to_string(), req));
        }
        let remaining = deadline.saturating_sub(started.elapsed()).max(Duration::from_millis(1));
        let rx = self.engine.fan_out(queries, remaining);
        let candidates = page
            .hits
            .iter()
            .map(|h| FacilityTimes {
                facility_id: h.facility.id,
                name: h.facility.name.clone(),
                municipality_code: h.facility.municipality_code.clone(),
                municipality_name: h.municipality_name.clone(),
                distance_m: h.distance_m,
                location: h.facility.location,
                units: h
                    .facility
                    .units
                    .iter()
                    .filter(|u| u.bookable)
                    .map(|u| {
                        let m = mapping.iter().find(|m| m.unit_id == u.id);
                        let status = match m {
                            None => "no_vendor".to_string(),
                            Some(m) => reports.get(&m.vendor_id).map_or("skipped".to_string(), |r| r.status.clone()),
                        };
                        UnitTimes { unit_id: u.id, name: u.name.clone(), vendor_id: m.map(|m| m.vendor_id), status, slots: vec![] }
                    })
                    .collect(),
            })
            .collect();
        Ok(Run { candidates, mapping, reports, rx, remaining, next_page_token: page.next_page_token, from, to })
    }
}

/// A federated query under way.
pub struct Run {
    /// The candidate facilities, as first known.
    pub candidates: Vec<FacilityTimes>,
    mapping: Vec<registry_core::service::VendorUnit>,
    reports: BTreeMap<Uuid, VendorReport>,
    rx: tokio::sync::mpsc::UnboundedReceiver<crate::VendorAnswer>,
    remaining: Duration,
    /// Token of the next page of facilities.
    pub next_page_token: String,
    /// The window asked about.
    pub from: DateTime<Utc>,
    /// See `from`.
    pub to: DateTime<Utc>,
}

/// One vendor's part of a federated answer.
#[derive(Debug, Clone)]
pub struct VendorEvent {
    /// What happened with the vendor.
    pub report: VendorReport,
    /// Its units (facility id, unit), with their times or its status.
    pub units: Vec<(Uuid, UnitTimes)>,
}

impl Run {
    /// The next vendor to finish, or None when all have.
    pub async fn next(&mut self) -> Option<VendorEvent> {
        let a = self.rx.recv().await?;
        let id = a.vendor_id.parse::<Uuid>().ok()?;
        let r = self.reports.get_mut(&id)?;
        r.status = a.status.name().into();
        r.message = match &a.status {
            Status::Error { code, .. } => format!("the vendor answered {code:?}"),
            Status::Skipped(why) => why.clone(),
            Status::Unavailable => "not asked: the vendor failed repeatedly and is paused".into(),
            Status::Timeout => format!("no answer within {} ms", self.remaining.as_millis()),
            _ => String::new(),
        };
        r.elapsed_ms = a.elapsed.as_millis() as u64;
        r.dropped_slots = a.dropped_slots;
        r.problems = a.problems.clone();
        let report = r.clone();
        let mut units = Vec::new();
        for c in &self.candidates {
            for u in c.units.iter().filter(|u| u.vendor_id == Some(id)) {
                let Some(m) = self.mapping.iter().find(|m| m.unit_id == u.unit_id) else { continue };
                let unit = match a.units.iter().find(|x| x.unit_ref == m.external_ref) {
                    Some(x) => UnitTimes {
                        status: match pb::UnitStatus::try_from(x.status) {
                            Ok(pb::UnitStatus::Ok) => "ok",
                            Ok(pb::UnitStatus::UnknownUnit) => "unknown_unit",
                            _ => "not_bookable",
                        }
                        .into(),
                        slots: x.slots.iter().filter_map(slot_out).collect(),
                        ..u.clone()
                    },
                    None => UnitTimes { status: report.status.clone(), slots: vec![], ..u.clone() },
                };
                units.push((c.facility_id, unit));
            }
        }
        Some(VendorEvent { report, units })
    }

    /// Every vendor's report as it stands.
    pub fn reports(&self) -> Vec<VendorReport> {
        self.reports.values().cloned().collect()
    }
}

fn report(vendor_id: Uuid, name: &str, status: &str, message: String) -> VendorReport {
    VendorReport {
        vendor_id,
        name: name.into(),
        status: status.into(),
        message,
        elapsed_ms: 0,
        dropped_slots: 0,
        problems: vec![],
        takes_bookings: vec![],
    }
}

fn slot_out(s: &pb::Slot) -> Option<SlotOut> {
    let t = |t: &prost_types::Timestamp| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32);
    Some(SlotOut {
        start: t(s.start.as_ref()?)?,
        end: t(s.end.as_ref()?)?,
        state: match pb::SlotState::try_from(s.state).ok()? {
            pb::SlotState::Free => "free",
            pb::SlotState::RequestOnly => "request_only",
            pb::SlotState::Booked => "booked",
            pb::SlotState::Unspecified => return None,
        }
        .into(),
        prices: s
            .prices
            .iter()
            .filter_map(|p| {
                let ct = match pb::CustomerType::try_from(p.customer_type).ok()? {
                    pb::CustomerType::PrivatePerson => "private_person",
                    pb::CustomerType::Association => "association",
                    pb::CustomerType::Company => "company",
                    pb::CustomerType::Unspecified => return None,
                };
                Some(PriceOut { customer_type: ct.into(), amount_minor_per_hour: p.amount_minor_per_hour, currency: p.currency.clone() })
            })
            .collect(),
        booking_url: Some(s.booking_url.clone()).filter(|u| u.starts_with("https://")),
    })
}
