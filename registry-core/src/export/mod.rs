//! Bulk exports of associations and facilities for the whole country (or a filtered part).
//!
//! An export is one `COPY (SELECT …) TO STDOUT` in one read-only repeatable-read transaction on
//! a connection of its own: rows go from PostgreSQL to the caller as they come, memory does
//! not grow with the row count, and the export is a consistent snapshot even while writes go
//! on. The snapshot's change-log position (every change up to it is in the export, none after
//! it) lets a consumer continue from the change feeds. Dropping the stream before its end
//! cancels the query on the server.
//!
//! This module holds what an export is and the streaming; the rules (who gets which fields,
//! which filters are valid) are in `service/exports.rs`, the SQL in `db/exports.rs`.

mod binary;
mod stream;

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::model::RegistrationStatus;

/// The SQL of exports, under the name the benchmark and tests use.
pub use crate::db::exports as sql;
pub use crate::service::exports::plan;
pub(crate) use stream::Snapshot;
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
    /// Whose registrations that are not approved the rows show (besides every approved one).
    #[serde(skip)]
    pub unapproved: UnapprovedSeen,
}

/// Which of an association's registrations that are not approved an export shows, as
/// [`crate::auth::Action::ReadUnapproved`] allows the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum UnapprovedSeen {
    /// None: approved registrations only.
    #[default]
    None,
    /// Those with these municipalities.
    In(Vec<String>),
    /// Every one.
    All,
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

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        if e.is_closed() || e.as_db_error().is_none() {
            Error::database_unavailable(format!("the database connection failed: {e}"))
        } else {
            Error::Internal(format!("database error: {e}"))
        }
    }
}
