//! `registry.v1.ChangeService` (the change log, live) and `registry.v1.ExportService` (bulk
//! exports as streamed chunks): thin over the core, like REST.

use std::pin::Pin;
use std::time::Duration;

use registry_core::auth::Principal;
use registry_core::export::{ExportFilter, ExportFormat, ExportKind, ExportRequest};
use registry_core::{Error, Registry};
use tokio::sync::{mpsc, watch};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::errors::ApiError;
use crate::proto::v1 as pb;
use crate::proto::v1::change_service_server::ChangeService;
use crate::proto::v1::export_service_server::ExportService;
use crate::rest_exports::ExportSlots;

/// How often the newest log position is read while someone is watching.
const POLL: Duration = Duration::from_millis(200);
/// A `CaughtUp` at least this often while nothing changes (keeps proxies from closing the stream).
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Entries read per round trip.
const BATCH: i64 = 500;

/// The newest change-log position, read by one task for every watcher, only while watched.
#[derive(Clone)]
pub struct ChangeNotifier {
    rx: watch::Receiver<i64>,
}

impl ChangeNotifier {
    /// Starts the poller; it reads only while there are watchers.
    pub fn start(registry: Registry) -> Self {
        let (tx, rx) = watch::channel(0i64);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if tx.is_closed() {
                    return;
                }
                // The poller's own receiver is held by the notifier: more than one means a watcher.
                if tx.receiver_count() <= 1 {
                    continue;
                }
                match registry.latest_change().await {
                    Ok(seq) => {
                        tx.send_if_modified(|cur| std::mem::replace(cur, seq) != seq);
                    }
                    Err(e) => tracing::warn!(error = %e, "reading the newest change-log position"),
                }
            }
        });
        ChangeNotifier { rx }
    }
}

/// The gRPC services over the change log and exports.
#[derive(Clone)]
pub struct ChangesGrpc {
    registry: Registry,
    notifier: ChangeNotifier,
    slots: ExportSlots,
}

impl ChangesGrpc {
    /// The services over `registry`, sharing the export slots with REST.
    pub fn new(registry: Registry, slots: ExportSlots) -> Self {
        let notifier = ChangeNotifier::start(registry.clone());
        ChangesGrpc { registry, notifier, slots }
    }
}

fn principal<T>(req: &Request<T>) -> Principal {
    req.extensions().get::<Principal>().cloned().unwrap_or_else(Principal::anonymous)
}

fn status(e: Error) -> Status {
    ApiError::Core(e).into()
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchChangesResponse, Status>> + Send>>;
type ExportStream = Pin<Box<dyn Stream<Item = Result<pb::ExportChunk, Status>> + Send>>;

fn caught_up(position: i64) -> pb::WatchChangesResponse {
    pb::WatchChangesResponse { event: Some(pb::watch_changes_response::Event::CaughtUp(pb::CaughtUp { position })) }
}

#[tonic::async_trait]
impl ChangeService for ChangesGrpc {
    type WatchChangesStream = WatchStream;

    async fn watch_changes(&self, req: Request<pb::WatchChangesRequest>) -> Result<Response<WatchStream>, Status> {
        let p = principal(&req);
        let r = req.into_inner();
        let known = ["facility", "association", "opening_hours", "vendor"];
        if let Some((i, e)) = r.entities.iter().enumerate().find(|(_, e)| !known.contains(&e.as_str())) {
            return Err(status(Error::invalid(
                format!("entities[{i}]"),
                "unknown_enum_value",
                format!("'{e}' is not one of facility, association, opening_hours, vendor"),
            )));
        }
        if r.after_seq < 0 {
            return Err(status(Error::invalid("afterSeq", "out_of_range", "must not be negative")));
        }
        // The first read checks the key, so a caller who may not watch gets the error at once.
        let (first, upto) = self.registry.changes_since(&p, r.after_seq, BATCH).await.map_err(status)?;
        let (tx, rx) = mpsc::channel::<Result<pb::WatchChangesResponse, Status>>(64);
        let registry = self.registry.clone();
        let mut newest = self.notifier.rx.clone();
        let entities = r.entities;
        tokio::spawn(async move {
            let mut batch = Some((first, upto));
            let mut after = r.after_seq;
            loop {
                let (entries, upto, full) = match batch.take() {
                    Some((e, u)) => (e, u, u > after),
                    None => match registry.changes_since(&p, after, BATCH).await {
                        Ok((e, u)) => (e, u, u > after),
                        Err(e) => {
                            let _ = tx.send(Err(status(e))).await;
                            return;
                        }
                    },
                };
                for c in entries {
                    if !entities.is_empty() && !entities.contains(&c.entity) {
                        continue;
                    }
                    let entry = pb::ChangeEntry {
                        seq: c.seq,
                        entity: c.entity,
                        entity_id: c.entity_id.to_string(),
                        operation: c.operation,
                        at: Some(crate::convert::timestamp(c.at)),
                        data_json: c.data.map(|d| d.to_string()).unwrap_or_default(),
                    };
                    let msg = pb::WatchChangesResponse { event: Some(pb::watch_changes_response::Event::Change(entry)) };
                    if tx.send(Ok(msg)).await.is_err() {
                        return;
                    }
                }
                after = upto;
                if full {
                    // There may be more right behind: read again before waiting.
                    continue;
                }
                if tx.send(Ok(caught_up(after))).await.is_err() {
                    return;
                }
                // Wait for a newer position, a heartbeat, or the client going away.
                loop {
                    tokio::select! {
                        changed = newest.changed() => {
                            if changed.is_err() { return; }
                            if *newest.borrow_and_update() > after { break; }
                        }
                        _ = tokio::time::sleep(HEARTBEAT) => {
                            if tx.send(Ok(caught_up(after))).await.is_err() { return; }
                        }
                        _ = tx.closed() => return,
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }
}

fn export_request(kind: ExportKind, r: pb::ExportRequest) -> Result<ExportRequest, Error> {
    let format = match pb::ExportFormat::try_from(r.format) {
        Ok(pb::ExportFormat::Unspecified | pb::ExportFormat::Ndjson) => ExportFormat::Ndjson,
        Ok(pb::ExportFormat::Csv) => ExportFormat::Csv,
        Ok(pb::ExportFormat::Geojson) => ExportFormat::GeoJson,
        Err(_) => return Err(Error::invalid("format", "unknown_enum_value", format!("{} is not an ExportFormat", r.format))),
    };
    let updated_since = r.updated_since.as_ref().map(|t| crate::convert::from_timestamp(t, "updatedSince")).transpose()?;
    Ok(ExportRequest {
        kind,
        format,
        filter: ExportFilter {
            municipalities: r.municipalities,
            counties: r.counties,
            activities: r.activities,
            categories: r.categories,
            registration_statuses: r.registration_statuses,
            updated_since,
        },
        include_personal_data: r.include_personal_data,
    })
}

impl ChangesGrpc {
    async fn export(&self, kind: ExportKind, req: Request<pb::ExportRequest>) -> Result<Response<ExportStream>, Status> {
        let p = principal(&req);
        let req = export_request(kind, req.into_inner()).map_err(status)?;
        registry_core::export::plan(&p, &req).map_err(status)?;
        let permit = self
            .slots
            .0
            .clone()
            .try_acquire_owned()
            .map_err(|_| status(Error::Unavailable("the most exports that may run at once are running; retry in a minute".into())))?;
        let mut stream = self.registry.export(&p, &req).await.map_err(status)?;
        let summary = stream.summary_handle();
        let out = async_stream_chunks(move |tx: mpsc::Sender<Result<pb::ExportChunk, Status>>| async move {
            let _permit = permit;
            while let Some(chunk) = stream.next().await {
                let msg = chunk.map(|data| pb::ExportChunk { part: Some(pb::export_chunk::Part::Data(data.to_vec())) }).map_err(status);
                let failed = msg.is_err();
                if tx.send(msg).await.is_err() || failed {
                    return;
                }
            }
            if let Some(s) = summary.get() {
                let s = pb::ExportSummary {
                    row_count: s.row_count,
                    change_log_position: s.change_log_position,
                    snapshot_at: Some(crate::convert::timestamp(s.snapshot_at)),
                };
                let _ = tx.send(Ok(pb::ExportChunk { part: Some(pb::export_chunk::Part::Summary(s)) })).await;
            }
        });
        Ok(Response::new(out))
    }
}

/// Runs `produce` in a task feeding a bounded channel (so a slow client slows the export
/// instead of filling memory) and returns the receiving end as a stream. When the client
/// goes away, the send fails, the task ends and drops the export, which cancels its query.
fn async_stream_chunks<F, Fut>(produce: F) -> ExportStream
where
    F: FnOnce(mpsc::Sender<Result<pb::ExportChunk, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(produce(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

#[tonic::async_trait]
impl ExportService for ChangesGrpc {
    type ExportAssociationsStream = ExportStream;
    type ExportFacilitiesStream = ExportStream;

    async fn export_associations(&self, req: Request<pb::ExportRequest>) -> Result<Response<ExportStream>, Status> {
        self.export(ExportKind::Associations, req).await
    }

    async fn export_facilities(&self, req: Request<pb::ExportRequest>) -> Result<Response<ExportStream>, Status> {
        self.export(ExportKind::Facilities, req).await
    }
}
