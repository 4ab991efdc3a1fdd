//! Bulk exports of associations and facilities for the whole country (or a filtered part).
//!
//! An export is one `COPY (SELECT …) TO STDOUT` in one read-only repeatable-read transaction on
//! a connection of its own: rows go from PostgreSQL to the caller as they come, memory does
//! not grow with the row count, and the export is a consistent snapshot even while writes go
//! on. The snapshot's change-log position (every change up to it is in the export, none after
//! it) lets a consumer continue from the change feeds. Dropping the stream before its end
//! cancels the query on the server.

mod binary;
pub mod sql;
mod stream;

use chrono::{DateTime, Utc};

use crate::auth::{self, Action, Principal};
use crate::codes;
use crate::error::{Error, Result};
use crate::model::RegistrationStatus;
use crate::validate::Violations;

pub use stream::{ExportStream, ExportSummary};

/// What is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ExportKind {
    /// Associations (föreningar).
    Associations,
    /// Facilities (anläggningar) with their units.
    Facilities,
}

impl ExportKind {
    /// `associations` or `facilities`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Associations => "associations",
            ExportKind::Facilities => "facilities",
        }
    }
}

/// The format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ExportFormat {
    /// One JSON object per line, then a summary line.
    Ndjson,
    /// RFC 4180 CSV (UTF-8, CRLF, header row); the summary is in HTTP trailers.
    Csv,
    /// A GeoJSON FeatureCollection (facilities only) with the summary as foreign members.
    GeoJson,
}

impl ExportFormat {
    /// `ndjson`, `csv` or `geojson`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::Csv => "csv",
            ExportFormat::GeoJson => "geojson",
        }
    }

    /// The format named `name` (as in `format=`), if any.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ndjson" | "jsonl" => Some(ExportFormat::Ndjson),
            "csv" => Some(ExportFormat::Csv),
            "geojson" => Some(ExportFormat::GeoJson),
            _ => None,
        }
    }

    /// The media type of the response body.
    pub fn media_type(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "application/x-ndjson",
            ExportFormat::Csv => "text/csv; charset=utf-8; header=present",
            ExportFormat::GeoJson => "application/geo+json",
        }
    }
}

/// Filters of an export; each list is "any of", and different filters combine with AND.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportFilter {
    /// Municipality codes (kommunkod).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub municipalities: Vec<String>,
    /// County codes (länskod, two digits).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub counties: Vec<String>,
    /// Activity codes: rows with at least one of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub activities: Vec<String>,
    /// Facility categories (facilities only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Registration statuses (associations only), as codes (`approved`) or JSON names
    /// (`REGISTRATION_STATUS_APPROVED`); default approved.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub registration_statuses: Vec<String>,
    /// Only rows changed at or after this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_since: Option<DateTime<Utc>>,
}

/// An export as asked for.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// What.
    pub kind: ExportKind,
    /// In which format.
    pub format: ExportFormat,
    /// Which rows.
    pub filter: ExportFilter,
    /// Include contact persons (personal data): needs the personal-data scope, and is audited.
    pub include_personal_data: bool,
}

/// The field set an export carries, decided by the caller's role.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportFields {
    /// Member statistics (national bodies, admins, and editors for their own municipality).
    pub member_statistics: bool,
    /// Contact persons (personal data).
    pub contact_persons: bool,
    /// The registration statuses exported (associations).
    #[serde(skip)]
    pub statuses: Vec<RegistrationStatus>,
}

impl ExportFields {
    /// Names of the optional field groups included, for the audit log and the summary.
    pub fn names(&self) -> Vec<&'static str> {
        let mut n = vec!["public"];
        if self.member_statistics {
            n.push("memberStatistics");
        }
        if self.contact_persons {
            n.push("contactPersons");
        }
        n
    }
}

const MAX_FILTER_VALUES: usize = 300;

/// Checks `req` and decides what `p` gets: the field set, or the first rule broken (invalid
/// filter values name their field; a field set the caller may not have is forbidden).
pub fn plan(p: &Principal, req: &ExportRequest) -> Result<ExportFields> {
    auth::authorize(p, Action::ReadPublic)?;
    let f = &req.filter;
    let mut v = Violations::default();
    for (i, m) in f.municipalities.iter().enumerate() {
        codes::check_municipality(&mut v, &format!("municipalities[{i}]"), m);
    }
    if f.municipalities.len() > MAX_FILTER_VALUES {
        v.add("municipalities", "max_items", format!("must have at most {MAX_FILTER_VALUES} entries"));
    }
    for (i, c) in f.counties.iter().enumerate() {
        if !codes::municipalities().iter().any(|m| &m.county_code == c) {
            v.add(format!("counties[{i}]"), "unknown_code", format!("'{c}' is not a Swedish county code (two digits, e.g. 18)"));
        }
    }
    if f.counties.len() > MAX_FILTER_VALUES {
        v.add("counties", "max_items", format!("must have at most {MAX_FILTER_VALUES} entries"));
    }
    v.codes("activities", &f.activities, MAX_FILTER_VALUES, codes::is_activity, "activity");
    let mut statuses = Vec::new();
    match req.kind {
        ExportKind::Facilities => {
            v.codes("categories", &f.categories, MAX_FILTER_VALUES, codes::is_category, "facility category");
            if !f.registration_statuses.is_empty() {
                v.add("registrationStatus", "not_applicable", "facilities have no registration status");
            }
            if req.include_personal_data {
                v.add("includePersonalData", "not_applicable", "facility exports hold no personal data");
            }
        }
        ExportKind::Associations => {
            if !f.categories.is_empty() {
                v.add("category", "not_applicable", "associations have no facility category");
            }
            if req.format == ExportFormat::GeoJson {
                v.add("format", "not_applicable", "associations have no location; use ndjson or csv");
            }
            for (i, s) in f.registration_statuses.iter().enumerate() {
                let parsed = RegistrationStatus::parse(s).or_else(|| serde_json::from_value(serde_json::json!(s)).ok());
                match parsed {
                    Some(s) if !statuses.contains(&s) => statuses.push(s),
                    Some(_) => v.add(format!("registrationStatus[{i}]"), "duplicate", format!("'{s}' is listed more than once")),
                    None => v.add(
                        format!("registrationStatus[{i}]"),
                        "unknown_code",
                        format!("'{s}' is not a registration status (pending, approved, rejected, needs_completion)"),
                    ),
                }
            }
        }
    }
    v.finish()?;
    if req.kind == ExportKind::Facilities {
        return Ok(ExportFields::default());
    }
    if statuses.is_empty() {
        statuses.push(RegistrationStatus::Approved);
    }
    // The municipalities the export can contain: every permission must hold for each of them.
    let scope: Vec<&str> = codes::municipalities()
        .iter()
        .filter(|m| f.municipalities.is_empty() || f.municipalities.iter().any(|c| c.trim() == m.code))
        .filter(|m| f.counties.is_empty() || f.counties.contains(&m.county_code))
        .map(|m| m.code.as_str())
        .collect();
    let everywhere = |action: &dyn Fn(&str) -> bool| scope.iter().all(|m| action(m));
    if statuses.iter().any(|s| *s != RegistrationStatus::Approved) && !everywhere(&|m| auth::allowed(p, Action::ReadUnapproved(m))) {
        let denied = scope.iter().find(|m| !auth::allowed(p, Action::ReadUnapproved(m))).expect("some municipality is denied");
        auth::authorize(p, Action::ReadUnapproved(denied))?;
    }
    if req.include_personal_data && !everywhere(&|m| auth::allowed(p, Action::ReadContactPersons(m))) {
        let denied = scope.iter().find(|m| !auth::allowed(p, Action::ReadContactPersons(m))).expect("some municipality is denied");
        auth::authorize(p, Action::ReadContactPersons(denied))?;
    }
    Ok(ExportFields {
        member_statistics: everywhere(&|m| auth::allowed(p, Action::ReadMemberStatistics(m))),
        contact_persons: req.include_personal_data,
        statuses,
    })
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.is_closed() || e.as_db_error().is_none() {
            Error::Unavailable(format!("the database connection failed: {e}"))
        } else {
            Error::Internal(format!("database error: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn req(kind: ExportKind) -> ExportRequest {
        ExportRequest { kind, format: ExportFormat::Ndjson, filter: ExportFilter::default(), include_personal_data: false }
    }

    #[test]
    fn field_sets_follow_the_role() {
        let r = req(ExportKind::Associations);
        assert_eq!(plan(&Principal::anonymous(), &r).unwrap().names(), ["public"]);
        let body = Principal::with_role("k", Role::NationalBody);
        assert_eq!(plan(&body, &r).unwrap().names(), ["public", "memberStatistics"]);
        // An editor gets statistics only for an export of its own municipality.
        let editor = Principal::editor("k", "1880");
        assert_eq!(plan(&editor, &r).unwrap().names(), ["public"]);
        let mut own = r.clone();
        own.filter.municipalities = vec!["1880".into()];
        assert_eq!(plan(&editor, &own).unwrap().names(), ["public", "memberStatistics"]);
    }

    #[test]
    fn personal_data_needs_the_scope_everywhere_in_the_export() {
        let mut r = req(ExportKind::Associations);
        r.include_personal_data = true;
        assert!(matches!(plan(&Principal::anonymous(), &r), Err(Error::Unauthenticated(_))));
        let body = Principal::with_role("k", Role::NationalBody);
        assert!(matches!(plan(&body, &r), Err(Error::Forbidden(_))));
        assert_eq!(plan(&body.with_personal_data(), &r).unwrap().names(), ["public", "memberStatistics", "contactPersons"]);
        let editor = Principal::editor("k", "1880").with_personal_data();
        assert!(matches!(plan(&editor, &r), Err(Error::Forbidden(_))), "the whole country is not the editor's");
        r.filter.counties = vec!["18".into()];
        assert!(matches!(plan(&editor, &r), Err(Error::Forbidden(_))), "nor is the whole county");
        r.filter.municipalities = vec!["1880".into()];
        assert!(plan(&editor, &r).unwrap().contact_persons);
    }

    #[test]
    fn unapproved_registrations_need_the_right() {
        let mut r = req(ExportKind::Associations);
        r.filter.registration_statuses = vec!["pending".into()];
        assert!(matches!(plan(&Principal::anonymous(), &r), Err(Error::Unauthenticated(_))));
        assert!(matches!(plan(&Principal::with_role("k", Role::Vendor), &r), Err(Error::Forbidden(_))));
        let fields = plan(&Principal::with_role("k", Role::NationalBody), &r).unwrap();
        assert_eq!(fields.statuses, [RegistrationStatus::Pending]);
    }

    #[test]
    fn bad_filters_name_their_field() {
        let mut r = req(ExportKind::Facilities);
        r.filter.municipalities = vec!["9999".into(), "18".into()];
        r.filter.counties = vec!["99".into()];
        r.filter.activities = vec!["juggling_on_ice".into()];
        r.filter.categories = vec!["castle".into()];
        r.filter.registration_statuses = vec!["approved".into()];
        r.include_personal_data = true;
        let Err(Error::Invalid(v)) = plan(&Principal::anonymous(), &r) else { panic!("invalid") };
        let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "municipalities[0]",
                "municipalities[1]",
                "counties[0]",
                "activities[0]",
                "categories[0]",
                "registrationStatus",
                "includePersonalData"
            ]
        );
        let mut a = req(ExportKind::Associations);
        a.format = ExportFormat::GeoJson;
        a.filter.registration_statuses = vec!["approved".into(), "approved".into(), "maybe".into()];
        let Err(Error::Invalid(v)) = plan(&Principal::anonymous(), &a) else { panic!("invalid") };
        let fields: Vec<&str> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["format", "registrationStatus[1]", "registrationStatus[2]"]);
    }
}
