//! An in-test OpenTelemetry collector: OTLP/HTTP `POST /v1/traces` (protobuf) on a free loopback port, decoded with
//! `opentelemetry-proto`, every span kept, and a way to await spans instead of sleeping.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, extract::State, http::StatusCode, routing::post, Router};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::any_value::Value,
};
use prost::Message;
use tokio::sync::watch;

/// One exported span, as the collector decoded it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    /// The resource's `service.name`.
    pub service: String,
}

#[derive(Clone)]
struct Shared {
    spans: Arc<Mutex<Vec<Seen>>>,
    count: watch::Sender<usize>,
}

pub struct Collector {
    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: String,
    shared: Shared,
    _server: tokio::task::JoinHandle<()>,
}

impl Collector {
    pub async fn start() -> Collector {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared {
            spans: Arc::default(),
            count: watch::channel(0).0,
        };
        let app = Router::new()
            .route("/v1/traces", post(receive))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Collector {
            endpoint,
            shared,
            _server: server,
        }
    }

    pub fn spans(&self) -> Vec<Seen> {
        self.shared.spans.lock().unwrap().clone()
    }

    /// The spans of trace `trace_id` once `done` holds for them (within 20 s).
    pub async fn wait_trace(&self, trace_id: &str, done: impl Fn(&[Seen]) -> bool) -> Vec<Seen> {
        let mut count = self.shared.count.subscribe();
        let of_trace = || -> Vec<Seen> {
            self.spans()
                .into_iter()
                .filter(|s| s.trace_id == trace_id)
                .collect()
        };
        let waited = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let spans = of_trace();
                if done(&spans) {
                    return spans;
                }
                count.changed().await.unwrap();
            }
        })
        .await;
        waited.unwrap_or_else(|_| panic!("spans of {trace_id} in time; got {:#?}", of_trace()))
    }
}

async fn receive(State(shared): State<Shared>, body: Bytes) -> (StatusCode, Vec<u8>) {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new());
    };
    let mut seen = Vec::new();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|a| a.key == "service.name")
            .and_then(|a| a.value.as_ref()?.value.as_ref())
            .map(|v| match v {
                Value::StringValue(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                seen.push(Seen {
                    trace_id: hex::encode(&span.trace_id),
                    span_id: hex::encode(&span.span_id),
                    parent_span_id: hex::encode(&span.parent_span_id),
                    name: span.name,
                    service: service.clone(),
                });
            }
        }
    }
    let total = {
        let mut spans = shared.spans.lock().unwrap();
        spans.extend(seen);
        spans.len()
    };
    shared.count.send_replace(total);
    (
        StatusCode::OK,
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}
