//! Prometheus metrics: request counts and latencies by route and status, rate-limit
//! refusals, and the database pool. The recorder is process-wide (the `metrics` facade's
//! design); it is installed once.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use registry_core::db::Pool;

/// The route template of a REST response (e.g. `/v1/facilities/{id}`), for labels.
#[derive(Debug, Clone)]
pub struct RouteLabel(pub String);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Renders the metrics of this process.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    pool: Pool,
}

impl Metrics {
    /// Installs the recorder on first use.
    pub fn new(pool: Pool) -> Self {
        let handle = HANDLE
            .get_or_init(|| {
                let recorder = PrometheusBuilder::new()
                    .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
                    .expect("static buckets are valid")
                    .build_recorder();
                let handle = recorder.handle();
                // Another recorder may already be installed (e.g. by an embedding program); keep ours for rendering.
                let _ = metrics::set_global_recorder(recorder);
                handle
            })
            .clone();
        Metrics { handle, pool }
    }

    /// The text exposition format, with the pool's gauges taken now.
    pub fn render(&self) -> String {
        let s = self.pool.status();
        metrics::gauge!("db_pool_connections", "state" => "open").set(s.size as f64);
        metrics::gauge!("db_pool_connections", "state" => "idle").set(s.available as f64);
        metrics::gauge!("db_pool_connections_max").set(s.max_size as f64);
        metrics::gauge!("db_pool_waiting").set(s.waiting as f64);
        self.handle.render()
    }
}
