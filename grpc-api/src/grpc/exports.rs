//! `registry.v1.ExportService`: bulk exports as streamed chunks; thin over the core, like REST.

use std::pin::Pin;

use registry_core::auth::Principal;
use registry_core::export::{ExportFilter, ExportFormat, ExportKind, ExportRequest};
use registry_core::{Error, Registry};
use tokio::sync::mpsc;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::errors::ApiError;
use crate::proto::v1 as pb;
use crate::proto::v1::export_service_server::ExportService;
use crate::shared::ExportSlots;

/// The gRPC service over exports.
#[derive(Clone)]
pub struct ExportsGrpc {
    registry: Registry,
    slots: ExportSlots,
}

impl ExportsGrpc {
    /// The service over `registry`, sharing the export slots with REST.
    pub fn new(registry: Registry, slots: ExportSlots) -> Self {
        ExportsGrpc { registry, slots }
    }
}

fn principal<T>(req: &Request<T>) -> Principal {
    req.extensions().get::<Principal>().cloned().unwrap_or_else(Principal::anonymous)
}

fn status(e: Error) -> Status {
    ApiError::Core(e).into()
}

type ExportStream = Pin<Box<dyn Stream<Item = Result<pb::ExportChunk, Status>> + Send>>;

fn export_request(kind: ExportKind, r: pb::ExportRequest) -> Result<ExportRequest, Error> {
    let format = match pb::ExportFormat::try_from(r.format) {
        Ok(pb::ExportFormat::Unspecified | pb::ExportFormat::Ndjson) => ExportFormat::Ndjson,
        Ok(pb::ExportFormat::Csv) => ExportFormat::Csv,
        Ok(pb::ExportFormat::Geojson) => ExportFormat::GeoJson,
        Err(_) => return Err(Error::invalid("format", "unknown_enum_value", format!("{} is not an ExportFormat", r.format))),
    };
    let updated_since = r.updated_since.as_ref().map(|t| super::convert::from_timestamp(t, "updatedSince")).transpose()?;
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

impl ExportsGrpc {
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
                    snapshot_at: Some(super::convert::timestamp(s.snapshot_at)),
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
impl ExportService for ExportsGrpc {
    type ExportAssociationsStream = ExportStream;
    type ExportFacilitiesStream = ExportStream;

    async fn export_associations(&self, req: Request<pb::ExportRequest>) -> Result<Response<ExportStream>, Status> {
        self.export(ExportKind::Associations, req).await
    }

    async fn export_facilities(&self, req: Request<pb::ExportRequest>) -> Result<Response<ExportStream>, Status> {
        self.export(ExportKind::Facilities, req).await
    }
}
