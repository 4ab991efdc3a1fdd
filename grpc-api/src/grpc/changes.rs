//! `registry.v1.ChangeService`: the change log, live; thin over the core, like REST.

use std::pin::Pin;
use std::time::Duration;

use registry_core::auth::Principal;
use registry_core::{Error, Registry};
use tokio::sync::{mpsc, watch};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::errors::ApiError;
use crate::proto::v1 as pb;
use crate::proto::v1::change_service_server::ChangeService;

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

/// The gRPC service over the change log.
#[derive(Clone)]
pub struct ChangesGrpc {
    registry: Registry,
    notifier: ChangeNotifier,
}

impl ChangesGrpc {
    /// The service over `registry`.
    pub fn new(registry: Registry) -> Self {
        let notifier = ChangeNotifier::start(registry.clone());
        ChangesGrpc { registry, notifier }
    }
}

fn principal<T>(req: &Request<T>) -> Principal {
    req.extensions().get::<Principal>().cloned().unwrap_or_else(Principal::anonymous)
}

fn status(e: Error) -> Status {
    ApiError::Core(e).into()
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchChangesResponse, Status>> + Send>>;

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
                        at: Some(super::convert::timestamp(c.at)),
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
