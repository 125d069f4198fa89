//! W3C trace context in and out (CONTRACT §10): a `traceparent` from outside (an HTTP or NATS header, a Stripe
//! object's metadata) becomes a span's parent, and a span's own context becomes the `traceparent` it sends on.
//! Parsing and formatting are OpenTelemetry's `TraceContextPropagator`; an invalid value is ignored (the span
//! starts a new trace), never an error: W3C Trace Context says so.

use opentelemetry::{
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::TraceContextExt,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header (HTTP, NATS) that carries the trace context: the same name as its Stripe metadata key.
pub const TRACEPARENT: &str = crate::payment::metadata::TRACEPARENT_KEY;

/// Makes the trace of `traceparent` the parent of `span`, when it is a valid W3C value. Without one (or with an
/// invalid one) the span stays where it is: a root starts a new trace.
pub fn continue_trace(span: &Span, traceparent: Option<&str>) {
    if span.is_disabled() {
        return;
    }
    let Some(context) = traceparent.and_then(parent) else {
        return;
    };
    // Fails only when spans are not traced (no OpenTelemetry layer, or filtered out): nothing to continue then.
    let _ = span.set_parent(context);
}

/// The `traceparent` of `span` itself (its trace id, its own span id), when the span is traced.
pub fn traceparent(span: &Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = One(None);
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.0
}

/// The `traceparent` of the current span.
pub fn current() -> Option<String> {
    traceparent(&Span::current())
}

/// A remote parent from a `traceparent` value; `None` when the value is not valid W3C trace context.
fn parent(traceparent: &str) -> Option<opentelemetry::Context> {
    if !well_formed(traceparent) {
        return None;
    }
    let context = TraceContextPropagator::new().extract(&One(Some(traceparent.to_owned())));
    context.span().span_context().is_valid().then_some(context)
}

/// The field widths W3C requires (`2-32-16-2` lower-case hex digits; later versions may append `-…`). The
/// propagator checks the values (zero ids, version `ff`, flags) but reads a short id as if zero-padded: that would
/// continue a trace other than the caller's.
fn well_formed(traceparent: &str) -> bool {
    let bytes = traceparent.as_bytes();
    let hex = |range: std::ops::Range<usize>| {
        bytes[range]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    };
    bytes.len() >= 55
        && [2, 35, 52].iter().all(|&i| bytes[i] == b'-')
        && hex(0..2)
        && hex(3..35)
        && hex(36..52)
        && hex(53..55)
        && match &bytes[..2] {
            b"00" => bytes.len() == 55,
            _ => bytes.len() == 55 || bytes[55] == b'-',
        }
}

/// A carrier of the one `traceparent` value (tracestate is not carried: the contract names `traceparent` only).
struct One(Option<String>);

impl Extractor for One {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0.as_deref()).flatten()
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

impl Injector for One {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT {
            self.0 = Some(value);
        }
    }
}

/// The trace id of a `traceparent` value (32 hex digits), when it is valid.
pub fn trace_id(traceparent: &str) -> Option<String> {
    parent(traceparent).map(|c| c.span().span_context().trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::{parent, trace_id};

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn valid_values_are_parents_and_invalid_ones_are_ignored() {
        assert!(parent(VALID).is_some());
        assert_eq!(
            trace_id(VALID).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        // Not sampled is still a trace to continue; a later version may carry more fields.
        assert!(parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").is_some());
        assert!(parent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later").is_some());
        for invalid in [
            "",
            "garbage",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // zero trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // zero span id
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  // short trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0f067aa0ba902b7-001", // short span id
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // not hex
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", // extra field in version 00
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0é",
        ] {
            assert!(parent(invalid).is_none(), "{invalid:?}");
        }
    }
}
