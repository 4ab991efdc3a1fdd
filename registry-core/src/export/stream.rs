//! The running export: a `COPY … TO STDOUT` on a connection of its own, framed into the body.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use tokio::task::JoinHandle;

use super::binary::AssociationDecoder;
use super::{ExportFields, ExportFormat, ExportKind, ExportRequest};
use crate::changelog;
use crate::db::{Pool, exports};
use crate::error::{Error, Result};

/// Rows are gathered into chunks of about this size before they go to the socket: one write
/// per row would cost more than the rows, one per export would hold the export in memory.
const CHUNK: usize = 64 * 1024;

/// What an export contained: the last line (NDJSON), the closing members (GeoJSON) or the
/// HTTP trailers (CSV) carry it, and gRPC sends it as the last message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportSummary {
    /// Rows in the export.
    pub row_count: u64,
    /// The change-log position of the snapshot: every change up to and including it is in the
    /// export, none after it. Continue from the feeds after it.
    pub change_log_position: i64,
    /// When the snapshot was taken.
    pub snapshot_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Rows,
    Done,
}

/// An export in progress: a stream of body chunks in the requested format. Dropping it before
/// the end cancels the query on the server.
pub struct ExportStream {
    format: ExportFormat,
    fields: ExportFields,
    position: i64,
    snapshot_at: DateTime<Utc>,
    rows: Pin<Box<tokio_postgres::CopyOutStream>>,
    _client: tokio_postgres::Client,
    cancel: tokio_postgres::CancelToken,
    connection: JoinHandle<()>,
    state: State,
    header_pending: bool,
    count: u64,
    buf: Vec<u8>,
    decoder: Option<AssociationDecoder>,
    summary: Arc<OnceLock<ExportSummary>>,
    audit: Option<(Pool, i64)>,
}

impl std::fmt::Debug for ExportStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportStream").field("format", &self.format).field("position", &self.position).finish_non_exhaustive()
    }
}

/// A connection of the export's own, inside the read-only repeatable-read transaction whose
/// snapshot the export reads.
pub(crate) struct Snapshot {
    client: tokio_postgres::Client,
    connection: JoinHandle<()>,
    /// The snapshot's change-log position.
    pub(crate) position: i64,
    /// When the snapshot was taken.
    pub(crate) at: DateTime<Utc>,
}

impl Snapshot {
    /// Opens a connection to `url` and takes the snapshot.
    pub(crate) async fn take(url: &str) -> Result<Snapshot> {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| Error::database_unavailable(format!("cannot connect to the database for the export: {e}")))?;
        let connection = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "export connection ended");
            }
        });
        let (position, at) = exports::begin_snapshot(&client).await?;
        Ok(Snapshot { client, connection, position, at })
    }
}

impl ExportStream {
    /// Starts the COPY of `req` with `fields` on `snapshot`; `audit` is the pool and id of the
    /// audit row to complete when the export ends (personal-data exports).
    pub(crate) async fn open(
        snapshot: Snapshot,
        req: &ExportRequest,
        fields: ExportFields,
        audit: Option<(Pool, i64)>,
    ) -> Result<ExportStream> {
        let Snapshot { client, connection, position, at: snapshot_at } = snapshot;
        let rows = exports::copy_out(&client, req.kind, req.format, &fields, &req.filter).await?;
        let fields_for_decoder = fields.clone();
        Ok(ExportStream {
            format: req.format,
            header_pending: req.format == ExportFormat::Csv,
            fields,
            position,
            snapshot_at,
            rows: Box::pin(rows),
            cancel: client.cancel_token(),
            _client: client,
            connection,
            state: State::Start,
            count: 0,
            buf: Vec::with_capacity(CHUNK + 4096),
            decoder: (req.kind == ExportKind::Associations && req.format == ExportFormat::Ndjson)
                .then(|| AssociationDecoder::new(&fields_for_decoder)),
            summary: Arc::new(OnceLock::new()),
            audit,
        })
    }

    /// The field set of this export.
    pub fn fields(&self) -> &ExportFields {
        &self.fields
    }

    /// The snapshot's change-log position (known before the first row).
    pub fn position(&self) -> i64 {
        self.position
    }

    /// When the snapshot was taken.
    pub fn snapshot_at(&self) -> DateTime<Utc> {
        self.snapshot_at
    }

    /// The summary, filled in when the last row has been read: for trailers sent after the body.
    pub fn summary_handle(&self) -> Arc<OnceLock<ExportSummary>> {
        self.summary.clone()
    }

    /// The CSV header columns of an export of `kind` with `fields`, in order.
    pub fn csv_columns(kind: ExportKind, fields: &ExportFields) -> Vec<&'static str> {
        exports::csv_columns(kind, fields)
    }

    fn push_row(&mut self, row: &[u8]) -> Result<()> {
        if let Some(d) = &mut self.decoder {
            self.count += d.feed(row, &mut self.buf).map_err(|e| Error::Internal(e.to_string()))?;
            return Ok(());
        }
        let line = row.strip_suffix(b"\n").unwrap_or(row);
        match self.format {
            ExportFormat::Csv if self.header_pending => {
                self.header_pending = false;
                self.buf.extend_from_slice(line);
                self.buf.extend_from_slice(b"\r\n");
                return Ok(());
            }
            ExportFormat::Csv => {
                self.buf.extend_from_slice(line);
                self.buf.extend_from_slice(b"\r\n");
            }
            ExportFormat::Ndjson => {
                self.buf.extend_from_slice(line);
                self.buf.extend_from_slice(b"\n");
            }
            ExportFormat::GeoJson => {
                self.buf.extend_from_slice(if self.count == 0 { b"\n" } else { b",\n" });
                self.buf.extend_from_slice(line);
            }
        }
        self.count += 1;
        Ok(())
    }

    fn start(&mut self) {
        if self.format == ExportFormat::GeoJson {
            let head = serde_json::json!({
                "type": "FeatureCollection",
                "changeLogPosition": self.position,
                "snapshotAt": self.snapshot_at,
            })
            .to_string();
            // The object stays open: features follow, then the closing members.
            self.buf.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
            self.buf.extend_from_slice(b",\"features\":[");
        }
    }

    fn finish(&mut self) {
        let summary = ExportSummary { row_count: self.count, change_log_position: self.position, snapshot_at: self.snapshot_at };
        match self.format {
            ExportFormat::Ndjson => {
                let line = serde_json::json!({ "exportSummary": summary }).to_string();
                self.buf.extend_from_slice(line.as_bytes());
                self.buf.extend_from_slice(b"\n");
            }
            ExportFormat::GeoJson => {
                self.buf.extend_from_slice(format!("\n],\"numberReturned\":{}}}\n", self.count).as_bytes());
            }
            ExportFormat::Csv => {}
        }
        let _ = self.summary.set(summary);
        self.state = State::Done;
        self.record(true);
        tracing::info!(rows = self.count, position = self.position, "export finished");
    }

    /// Completes the audit row of a personal-data export with what was actually sent.
    fn record(&mut self, complete: bool) {
        let Some((pool, id)) = self.audit.take() else { return };
        let patch = serde_json::json!({ "rowCount": self.count, "complete": complete });
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        handle.spawn(async move {
            match pool.get().await {
                Ok(mut conn) => {
                    if let Err(e) = changelog::audit_amend(&mut conn, id, patch).await {
                        tracing::error!(error = %e, audit_id = id, "cannot complete the audit row of an export");
                    }
                }
                Err(e) => tracing::error!(error = %e, audit_id = id, "cannot complete the audit row of an export"),
            }
        });
    }

    fn take(&mut self) -> Bytes {
        Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + 4096)))
    }
}

impl Stream for ExportStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.state == State::Done {
            return Poll::Ready(None);
        }
        if this.state == State::Start {
            this.start();
            this.state = State::Rows;
        }
        loop {
            if this.buf.len() >= CHUNK {
                return Poll::Ready(Some(Ok(this.take())));
            }
            match this.rows.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(row))) => {
                    if let Err(e) = this.push_row(&row) {
                        this.state = State::Done;
                        this.record(false);
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.state = State::Done;
                    this.record(false);
                    return Poll::Ready(Some(Err(e.into())));
                }
                Poll::Ready(None) if this.decoder.as_ref().is_some_and(|d| !d.finished()) => {
                    this.state = State::Done;
                    this.record(false);
                    return Poll::Ready(Some(Err(Error::Internal("the binary COPY data ended without its end marker".into()))));
                }
                Poll::Ready(None) => {
                    this.finish();
                    return Poll::Ready(Some(Ok(this.take())));
                }
                Poll::Pending if this.buf.is_empty() => return Poll::Pending,
                Poll::Pending => return Poll::Ready(Some(Ok(this.take()))),
            }
        }
    }
}

impl Drop for ExportStream {
    fn drop(&mut self) {
        if self.state == State::Done && self.audit.is_none() {
            return;
        }
        // The caller went away mid-export: stop the query on the server rather than let it
        // run to the end into a closed socket, and record what was sent.
        tracing::info!(rows = self.count, "export interrupted; cancelling its query");
        self.record(false);
        let cancel = self.cancel.clone();
        self.connection.abort();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = cancel.cancel_query(tokio_postgres::NoTls).await;
            });
        }
    }
}
