//! gRPC `registry.v1.OpeningHoursService`: decode, call the core, encode.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use registry_core::auth::Principal;
use registry_core::hours::{self, HhMm, MonthDay, OpeningHours, osm};
use registry_core::validate::Violations;
use registry_core::{Error, Registry, calendar};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::convert::{from_timestamp, parse_id, timestamp};
use crate::errors::status;
use crate::proto::v1 as pb;
use crate::proto::v1::opening_hours_service_server::OpeningHoursService;

/// The service over the core.
#[derive(Clone)]
pub struct OpeningHoursGrpc {
    registry: Registry,
}

impl OpeningHoursGrpc {
    /// Wraps the core.
    pub fn new(registry: Registry) -> Self {
        OpeningHoursGrpc { registry }
    }
}

fn principal<T>(req: &Request<T>) -> Principal {
    req.extensions().get::<Principal>().cloned().unwrap_or_else(Principal::anonymous)
}

fn unit(s: &str) -> Result<Option<Uuid>, Status> {
    if s.trim().is_empty() { Ok(None) } else { parse_id(s, "unitId").map(Some).map_err(status) }
}

// ---- core → proto ----

fn spans(list: &[hours::TimeSpan]) -> Vec<pb::TimeSpan> {
    list.iter()
        .map(|s| pb::TimeSpan { opens: s.opens.to_string(), closes: s.closes.to_string(), crosses_midnight: s.crosses_midnight })
        .collect()
}

fn rule(r: &hours::HolidayRule) -> pb::HolidayRule {
    let mode = match r.mode {
        hours::HolidayMode::Normal => pb::HolidayMode::Normal,
        hours::HolidayMode::Closed => pb::HolidayMode::Closed,
        hours::HolidayMode::Hours => pb::HolidayMode::Hours,
    };
    pb::HolidayRule { mode: mode as i32, spans: spans(&r.spans) }
}

/// Core → proto.
pub fn opening_hours(h: &OpeningHours) -> pb::OpeningHours {
    pb::OpeningHours {
        periods: h
            .periods
            .iter()
            .map(|p| pb::Period {
                name: p.name.clone(),
                from: p.from.to_string(),
                to: p.to.to_string(),
                priority: p.priority,
                weekly: Some(pb::Weekly {
                    monday: spans(p.weekly.day(0)),
                    tuesday: spans(p.weekly.day(1)),
                    wednesday: spans(p.weekly.day(2)),
                    thursday: spans(p.weekly.day(3)),
                    friday: spans(p.weekly.day(4)),
                    saturday: spans(p.weekly.day(5)),
                    sunday: spans(p.weekly.day(6)),
                }),
            })
            .collect(),
        exceptions: h
            .exceptions
            .iter()
            .map(|e| pb::DateException { date: e.date.to_string(), spans: spans(&e.spans), reason: e.reason.clone() })
            .collect(),
        holidays: Some(pb::HolidayPolicy { public_holidays: Some(rule(&h.holidays.public_holidays)), eves: Some(rule(&h.holidays.eves)) }),
    }
}

fn stored(s: registry_core::service::StoredHours) -> pb::StoredOpeningHours {
    pb::StoredOpeningHours {
        facility_id: s.facility_id.to_string(),
        unit_id: s.unit_id.map(|u| u.to_string()).unwrap_or_default(),
        hours: Some(opening_hours(&s.hours)),
        version: s.version,
        updated_at: s.updated_at.map(timestamp),
        inherited: s.inherited,
        osm: osm::export(&s.hours),
    }
}

// ---- proto → core, reporting every malformed value ----

fn spans_in(v: &mut Violations, field: &str, list: &[pb::TimeSpan]) -> Vec<hours::TimeSpan> {
    list.iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let opens = HhMm::parse(&s.opens);
            let closes = HhMm::parse(&s.closes);
            if opens.is_none() {
                v.add(format!("{field}[{i}].opens"), "format", "must be a time HH:MM");
            }
            if closes.is_none() {
                v.add(format!("{field}[{i}].closes"), "format", "must be a time HH:MM (24:00 allowed)");
            }
            Some(hours::TimeSpan { opens: opens?, closes: closes?, crosses_midnight: s.crosses_midnight })
        })
        .collect()
}

fn rule_in(v: &mut Violations, field: &str, r: Option<&pb::HolidayRule>) -> hours::HolidayRule {
    let Some(r) = r else { return hours::HolidayRule::default() };
    let mode = match pb::HolidayMode::try_from(r.mode) {
        Ok(pb::HolidayMode::Unspecified | pb::HolidayMode::Normal) => hours::HolidayMode::Normal,
        Ok(pb::HolidayMode::Closed) => hours::HolidayMode::Closed,
        Ok(pb::HolidayMode::Hours) => hours::HolidayMode::Hours,
        Err(_) => {
            v.add(format!("{field}.mode"), "unknown_enum_value", format!("{} is not a HolidayMode value", r.mode));
            hours::HolidayMode::Normal
        }
    };
    hours::HolidayRule { mode, spans: spans_in(v, &format!("{field}.spans"), &r.spans) }
}

/// Proto → core.
pub fn opening_hours_in(h: &pb::OpeningHours) -> Result<OpeningHours, Error> {
    let mut v = Violations::default();
    let mut out = OpeningHours::default();
    for (i, p) in h.periods.iter().enumerate() {
        let f = format!("periods[{i}]");
        let from = MonthDay::parse(&p.from);
        let to = MonthDay::parse(&p.to);
        if from.is_none() {
            v.add(format!("{f}.from"), "format", "must be a day of the year MM-DD");
        }
        if to.is_none() {
            v.add(format!("{f}.to"), "format", "must be a day of the year MM-DD");
        }
        let w = p.weekly.clone().unwrap_or_default();
        let mut weekly = hours::Weekly::default();
        for (d, (name, list)) in
            hours::WEEKDAYS.iter().zip([&w.monday, &w.tuesday, &w.wednesday, &w.thursday, &w.friday, &w.saturday, &w.sunday]).enumerate()
        {
            *weekly.day_mut(d) = spans_in(&mut v, &format!("{f}.weekly.{name}"), list);
        }
        if let (Some(from), Some(to)) = (from, to) {
            out.periods.push(hours::Period { name: p.name.clone(), from, to, priority: p.priority, weekly });
        }
    }
    for (i, e) in h.exceptions.iter().enumerate() {
        let f = format!("exceptions[{i}]");
        match NaiveDate::parse_from_str(&e.date, "%Y-%m-%d") {
            Ok(date) => out.exceptions.push(hours::DateException {
                date,
                spans: spans_in(&mut v, &format!("{f}.spans"), &e.spans),
                reason: e.reason.clone(),
            }),
            Err(_) => v.add(format!("{f}.date"), "format", "must be a date YYYY-MM-DD"),
        }
    }
    let policy = h.holidays.clone().unwrap_or_default();
    out.holidays.public_holidays = rule_in(&mut v, "holidays.publicHolidays", policy.public_holidays.as_ref());
    out.holidays.eves = rule_in(&mut v, "holidays.eves", policy.eves.as_ref());
    v.finish()?;
    Ok(out)
}

#[tonic::async_trait]
impl OpeningHoursService for OpeningHoursGrpc {
    async fn get_opening_hours(&self, req: Request<pb::GetOpeningHoursRequest>) -> Result<Response<pb::GetOpeningHoursResponse>, Status> {
        let p = principal(&req);
        let r = req.into_inner();
        let s = self
            .registry
            .get_opening_hours(&p, parse_id(&r.facility_id, "facilityId").map_err(status)?, unit(&r.unit_id)?)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetOpeningHoursResponse { opening_hours: Some(stored(s)) }))
    }

    async fn set_opening_hours(&self, req: Request<pb::SetOpeningHoursRequest>) -> Result<Response<pb::SetOpeningHoursResponse>, Status> {
        let p = principal(&req);
        let r = req.into_inner();
        let facility = parse_id(&r.facility_id, "facilityId").map_err(status)?;
        let unit = unit(&r.unit_id)?;
        if r.expected_version < 0 {
            return Err(status(Error::invalid("expectedVersion", "out_of_range", "must be 0 (no schedule yet) or the version last read")));
        }
        let hours = match r.schedule {
            Some(pb::set_opening_hours_request::Schedule::Hours(h)) => opening_hours_in(&h).map_err(status)?,
            Some(pb::set_opening_hours_request::Schedule::Osm(s)) => osm::parse(s.trim())
                .map_err(|e| status(Error::Invalid(vec![registry_core::FieldViolation::new("osm", "osm_syntax", e.to_string())])))?,
            None => return Err(status(Error::invalid("schedule", "required", "set hours or osm"))),
        };
        let s = self.registry.put_opening_hours(&p, facility, unit, r.expected_version, &hours).await.map_err(status)?;
        Ok(Response::new(pb::SetOpeningHoursResponse { opening_hours: Some(stored(s)) }))
    }

    async fn list_open_intervals(
        &self,
        req: Request<pb::ListOpenIntervalsRequest>,
    ) -> Result<Response<pb::ListOpenIntervalsResponse>, Status> {
        let p = principal(&req);
        let r = req.into_inner();
        let from = r.from.as_ref().map(|t| from_timestamp(t, "from")).transpose().map_err(status)?.unwrap_or_else(|| self.registry.now());
        let to = r.to.as_ref().map(|t| from_timestamp(t, "to")).transpose().map_err(status)?.unwrap_or(from + Duration::days(7));
        let list = self
            .registry
            .opening_intervals(&p, parse_id(&r.facility_id, "facilityId").map_err(status)?, unit(&r.unit_id)?, from, to)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListOpenIntervalsResponse {
            intervals: list
                .into_iter()
                .map(|i| pb::OpenInterval {
                    start: Some(timestamp(i.start)),
                    end: Some(timestamp(i.end)),
                    start_local: i.start_local.to_rfc3339(),
                    end_local: i.end_local.to_rfc3339(),
                })
                .collect(),
        }))
    }

    async fn get_open_status(&self, req: Request<pb::GetOpenStatusRequest>) -> Result<Response<pb::GetOpenStatusResponse>, Status> {
        let p = principal(&req);
        let r = req.into_inner();
        let at: DateTime<Utc> =
            r.at.as_ref().map(|t| from_timestamp(t, "at")).transpose().map_err(status)?.unwrap_or_else(|| self.registry.now());
        let s = self
            .registry
            .open_status(&p, parse_id(&r.facility_id, "facilityId").map_err(status)?, unit(&r.unit_id)?, at)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::GetOpenStatusResponse { at: Some(timestamp(s.at)), open: s.open, next_change: s.next_change.map(timestamp) }))
    }

    async fn list_holidays(&self, req: Request<pb::ListHolidaysRequest>) -> Result<Response<pb::ListHolidaysResponse>, Status> {
        let year = match req.into_inner().year {
            0 => self.registry.clock().year(),
            y => y,
        };
        let list =
            calendar::holidays(year).ok_or_else(|| status(Error::invalid("year", "out_of_range", "must be between 1900 and 2200")))?;
        Ok(Response::new(pb::ListHolidaysResponse {
            holidays: list
                .into_iter()
                .map(|h| pb::Holiday {
                    date: h.date.to_string(),
                    id: h.id.into(),
                    name_sv: h.name_sv.into(),
                    name_en: h.name_en.into(),
                    kind: match h.kind {
                        calendar::HolidayKind::PublicHoliday => pb::HolidayKind::PublicHoliday,
                        calendar::HolidayKind::Eve => pb::HolidayKind::Eve,
                    } as i32,
                })
                .collect(),
        }))
    }
}
