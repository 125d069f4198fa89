//! The OpenTelemetry tracer provider: spans are exported over OTLP http/protobuf when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and nowhere otherwise. The SDK reads the standard variables
//! itself (`OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT`, `OTEL_TRACES_SAMPLER[_ARG]`, `OTEL_BSP_*`,
//! `OTEL_RESOURCE_ATTRIBUTES`); `OTEL_SERVICE_NAME` defaults to `payments`. Export runs in the batch processor's
//! own thread: a slow or absent collector costs dropped spans, never a slower or failed request.

use opentelemetry::{Key, Value};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::{
    trace::{Sampler, SdkTracerProvider},
    Resource,
};

const ENDPOINTS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];
const DEFAULT_SERVICE_NAME: &str = "payments";
/// What the SDK names a service that has no name of its own.
const UNNAMED: &str = "unknown_service";

/// Where spans go, as the environment says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Export {
    /// No endpoint configured (or `OTEL_SDK_DISABLED=true`): spans are made (their context travels on) and dropped.
    Nowhere,
    /// OTLP http/protobuf to the endpoint the SDK resolves from the environment (named here for the log).
    Otlp { endpoint: String },
}

/// Reads the export settings from `var` (the process environment in production).
pub fn export(var: impl Fn(&str) -> Option<String>) -> Result<Export, String> {
    let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    if set("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return Ok(Export::Nowhere);
    }
    let Some((name, endpoint)) = ENDPOINTS
        .iter()
        .find_map(|name| set(name).map(|v| (*name, v)))
    else {
        return Ok(Export::Nowhere);
    };
    // The SDK falls back to localhost:4318 on a value it cannot parse: say so at start-up instead.
    match url::Url::parse(endpoint.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
        _ => return Err(format!("{name} must be an http(s) URL (got {endpoint:?})")),
    }
    if let Some(protocol) = set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|| set("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .filter(|p| p.trim() != "http/protobuf")
    {
        return Err(format!(
            "OTEL_EXPORTER_OTLP_PROTOCOL={protocol} is not supported: this service exports http/protobuf"
        ));
    }
    Ok(Export::Otlp { endpoint })
}

/// The provider for `export`; its batch processor (when exporting) runs until [`SdkTracerProvider::shutdown`].
pub fn provider(export: &Export) -> Result<SdkTracerProvider, String> {
    let builder = SdkTracerProvider::builder().with_resource(resource());
    let builder = match export {
        // Nothing exports the spans, so none is recorded: a new trace is not sampled (flag 00), a caller's sampled
        // trace still is (its flag travels on unchanged). Every span keeps its context, so the trace ids still go
        // to Stripe, the published messages and the callbacks; the webhook path pays for no span it would drop.
        Export::Nowhere => builder.with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOff))),
        Export::Otlp { .. } => {
            let exporter = SpanExporter::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .build()
                .map_err(|e| format!("the OTLP exporter cannot be built: {e}"))?;
            builder.with_batch_exporter(exporter)
        }
    };
    Ok(builder.build())
}

/// The SDK's resource (from `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`), named `payments` unless those
/// name it.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    let named = detected
        .get(&Key::from_static_str("service.name"))
        .is_some_and(|name| name != Value::from(UNNAMED));
    if named {
        detected
    } else {
        Resource::builder()
            .with_service_name(DEFAULT_SERVICE_NAME)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::{export, Export};

    fn with(vars: &[(&str, &str)]) -> Result<Export, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        export(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn nothing_is_exported_without_an_endpoint() {
        assert_eq!(with(&[]), Ok(Export::Nowhere));
        assert_eq!(
            with(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", " "),
                ("OTEL_SERVICE_NAME", "x")
            ]),
            Ok(Export::Nowhere)
        );
        assert_eq!(
            with(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_SDK_DISABLED", "true")
            ]),
            Ok(Export::Nowhere)
        );
    }

    #[test]
    fn either_endpoint_variable_turns_export_on() {
        assert_eq!(
            with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]),
            Ok(Export::Otlp {
                endpoint: "http://collector:4318".into()
            })
        );
        assert!(matches!(
            with(&[(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://collector/v1/traces"
            )]),
            Ok(Export::Otlp { .. })
        ));
    }

    #[test]
    fn unusable_settings_are_named() {
        let err = with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")]).unwrap_err();
        assert!(err.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{err}");
        let err = with(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap_err();
        assert!(err.contains("grpc"), "{err}");
    }
}
