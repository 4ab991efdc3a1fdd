//! `GET /v1/exports/{associations|facilities}`: the whole country (or a filtered part) in one
//! streamed response, as NDJSON, CSV or GeoJSON, gzip-compressed when the client accepts it.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use hyper::body::{Frame, SizeHint};
use registry_core::auth::Principal;
use registry_core::export::{ExportFilter, ExportFormat, ExportKind, ExportRequest, ExportStream, ExportSummary};
use registry_core::{Error, Registry};
use serde::Deserialize;
use tokio::sync::OwnedSemaphorePermit;
use tokio_stream::Stream;
use utoipa::IntoParams;

use super::query;
use crate::errors::ApiError;
use crate::shared::ExportSlots;

/// The export routes; compressed with gzip (fastest level) when the client asks for it.
pub fn router() -> Router<Registry> {
    let gzip = tower_http::compression::CompressionLayer::new()
        .gzip(true)
        .no_br()
        .no_deflate()
        .no_zstd()
        .quality(tower_http::CompressionLevel::Fastest);
    Router::new().route("/v1/exports/{kind}", get(export)).layer(gzip)
}

/// Filters and format of an export. Lists are comma-separated and mean "any of"; different
/// filters combine with AND.
#[derive(Deserialize, IntoParams, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `ndjson`, `csv` or `geojson` (facilities); overrides `Accept`.
    format: Option<String>,
    /// Municipality codes, e.g. `1880,0180`.
    municipalities: Option<String>,
    /// Two-digit county (län) codes, e.g. `18,01`.
    counties: Option<String>,
    /// Activity codes: rows with at least one of them.
    activities: Option<String>,
    /// Facility category codes (facilities).
    categories: Option<String>,
    /// Registration statuses (associations): default `approved`; the others need the right to
    /// see unapproved registrations of every municipality in the export.
    registration_status: Option<String>,
    /// Only rows changed at or after this RFC 3339 time.
    updated_since: Option<String>,
    /// Include contact persons (personal data). Needs a key with the personal-data scope whose
    /// role may read them in every municipality of the export; the export is audited.
    include_personal_data: Option<bool>,
}

fn list(s: Option<String>) -> Vec<String> {
    s.map(|s| s.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect()).unwrap_or_default()
}

/// The format: `format=` if given, otherwise the first of `Accept` we serve, otherwise NDJSON.
fn negotiate(format: Option<&str>, headers: &HeaderMap) -> Result<ExportFormat, ApiError> {
    if let Some(f) = format.filter(|f| !f.is_empty()) {
        return ExportFormat::parse(f).ok_or_else(|| {
            ApiError::Core(Error::invalid("format", "unknown_enum_value", format!("'{f}' is not a format: use ndjson, csv or geojson")))
        });
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    for range in accept.split(',') {
        let essence = range.split(';').next().unwrap_or("").trim();
        match essence {
            "text/csv" => return Ok(ExportFormat::Csv),
            "application/geo+json" => return Ok(ExportFormat::GeoJson),
            "application/x-ndjson" | "application/jsonl" | "application/json" | "*/*" | "" => return Ok(ExportFormat::Ndjson),
            _ => {}
        }
    }
    Err(ApiError::NotAcceptable("application/x-ndjson, text/csv, application/geo+json"))
}

/// Exports associations or facilities.
#[utoipa::path(get, path = "/v1/exports/{kind}", tag = "exports",
    params(("kind" = String, Path, description = "`associations` or `facilities`"), ExportQuery),
    responses((status = 200, description = "The rows of one consistent snapshot, streamed. NDJSON: one resource per line (the fields of GET /v1/associations/{id} or /v1/facilities/{id}), then a last line `{\"exportSummary\": {\"rowCount\", \"changeLogPosition\", \"snapshotAt\"}}`. CSV (RFC 4180, UTF-8, CRLF, header row; columns in docs/exports.md): the summary in the HTTP trailers `Row-Count` and `Change-Log-Position` (sent to clients that send `TE: trailers`). GeoJSON: a FeatureCollection with `changeLogPosition`, `snapshotAt` and `numberReturned`. The header `Change-Log-Position` is on every response. A body that ends without its summary was cut off.",
        content((String = "application/x-ndjson"), (String = "text/csv"), (String = "application/geo+json"))), super::problem::Errors))]
pub async fn export(
    State(reg): State<Registry>,
    Extension(p): Extension<Principal>,
    Extension(slots): Extension<ExportSlots>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    q: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let kind = match kind.as_str() {
        "associations" => ExportKind::Associations,
        "facilities" => ExportKind::Facilities,
        other => return Err(ApiError::RouteNotFound(format!("/v1/exports/{other}"))),
    };
    let q = query(q)?;
    let format = negotiate(q.format.as_deref(), &headers)?;
    let req = ExportRequest {
        kind,
        format,
        filter: ExportFilter {
            municipalities: list(q.municipalities),
            counties: list(q.counties),
            activities: list(q.activities),
            categories: list(q.categories),
            registration_statuses: list(q.registration_status),
            updated_since: super::timestamp_param(&q.updated_since, "updatedSince")?,
        },
        include_personal_data: q.include_personal_data.unwrap_or(false),
    };
    // Checked before a slot is taken, so a bad request is told so even when all slots are busy.
    registry_core::export::plan(&p, &req)?;
    let permit =
        slots.0.clone().try_acquire_owned().map_err(|_| {
            ApiError::Core(Error::Unavailable("the most exports that may run at once are running; retry in a minute".into()))
        })?;
    let stream = reg.export(&p, &req).await?;
    let position = stream.position();
    let summary = stream.summary_handle();
    let filename = format!(
        "{}-{}.{}",
        kind.as_str(),
        position,
        match format {
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::Csv => "csv",
            ExportFormat::GeoJson => "geojson",
        }
    );
    let trailers = format == ExportFormat::Csv;
    let body = Body::new(ExportBody { stream, summary, trailers, trailers_sent: false, _permit: permit });
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    h.insert(HeaderName::from_static("change-log-position"), HeaderValue::from(position));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if trailers {
        h.insert(header::TRAILER, HeaderValue::from_static("row-count, change-log-position"));
    }
    Ok(res)
}

/// The response body: the export's chunks, then (CSV) the summary as trailers. Holds the
/// export's slot until it is dropped.
struct ExportBody {
    stream: ExportStream,
    summary: Arc<OnceLock<ExportSummary>>,
    trailers: bool,
    trailers_sent: bool,
    _permit: OwnedSemaphorePermit,
}

impl hyper::body::Body for ExportBody {
    type Data = axum::body::Bytes;
    type Error = ApiError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            Poll::Ready(Some(Err(e))) => {
                tracing::error!(error = %e, "export failed mid-stream; the body ends without its summary");
                Poll::Ready(Some(Err(ApiError::Core(e))))
            }
            Poll::Ready(None) if this.trailers && !this.trailers_sent => {
                this.trailers_sent = true;
                let Some(s) = this.summary.get() else { return Poll::Ready(None) };
                let mut t = HeaderMap::new();
                t.insert(HeaderName::from_static("row-count"), HeaderValue::from(s.row_count));
                t.insert(HeaderName::from_static("change-log-position"), HeaderValue::from(s.change_log_position));
                Poll::Ready(Some(Ok(Frame::trailers(t))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
