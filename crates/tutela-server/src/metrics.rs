//! Prometheus metrics. The recorder is process-global (the `metrics` facade
//! allows one), so it is installed once and shared by every router built in
//! the process, including the many test servers of one test binary.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::StatusCode;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Request latency buckets in seconds: the gating API aims at well under a
/// millisecond, uploads may take seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0,
];

/// The shared handle, installing the recorder on first use. `None` when some
/// other recorder was installed first (then `/metrics` says so).
pub(crate) fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    &LATENCY_BUCKETS,
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            metrics::describe_counter!(
                "tutela_http_requests_total",
                "HTTP requests by method, route template and status"
            );
            metrics::describe_histogram!(
                "tutela_http_request_duration_seconds",
                metrics::Unit::Seconds,
                "HTTP request latency by method and route template"
            );
            Some(handle)
        })
        .as_ref()
}

/// Counts one finished request. Labels are the route template, never the raw
/// path, so cardinality stays bounded and no identifier becomes a label.
pub(crate) fn record_request(method: &str, route: &str, status: StatusCode, elapsed: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!("tutela_http_requests_total", &labels).increment(1);
    metrics::histogram!(
        "tutela_http_request_duration_seconds",
        "method" => method.to_owned(),
        "route" => route.to_owned()
    )
    .record(elapsed.as_secs_f64());
}
