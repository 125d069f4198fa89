//! The spans of a payment's trace (CONTRACT §10), one constructor each, all under the target [`TARGET`] that the
//! OpenTelemetry layer follows (and only it: the service's other spans stay logging context). Where a hop starts
//! from outside, the caller's `traceparent` becomes the parent (`propagation::continue_trace`).

use tracing::Span;

use super::propagation::continue_trace;

/// The target of the traced spans; the OpenTelemetry layer sees these and nothing else.
pub const TARGET: &str = "payments::trace";

/// Creating a Checkout Session, over `transport` (`http` or `nats`), continuing the caller's trace.
pub fn create_session(transport: &'static str, traceparent: Option<&str>) -> Span {
    let span =
        tracing::info_span!(target: TARGET, "create_session", otel.kind = "server", transport);
    continue_trace(&span, traceparent);
    span
}

/// A call to the Stripe API (`path` below `/v1`), as a child of the current span.
pub fn stripe_call(method: &str, path: &str) -> Span {
    tracing::info_span!(
        target: TARGET,
        "stripe",
        otel.name = format!("stripe {method} {}", route(path)),
        otel.kind = "client",
        http.request.method = method,
        url.path = path,
        http.response.status_code = tracing::field::Empty,
    )
}

/// `/payment_intents/pi_3MtwBw…` → `/v1/payment_intents/{id}`: span names stay a small set. Stripe's resource
/// names are lower case without digits; its ids are not.
fn route(path: &str) -> String {
    let id = |segment: &str| {
        segment
            .bytes()
            .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    };
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| if id(segment) { "{id}" } else { segment })
        .collect();
    format!("/v1{}", segments.join("/"))
}

/// Spans that only a collector can use: their context is sent nowhere (the webhook intake stores the body as it
/// came, and processing continues the trace from the event's own metadata). Without an exporter they are not made
/// at all: on the webhook path a span costs as much as verifying the signature.
pub const EXPORT_ONLY: &[&str] = &["webhook_intake"];

/// A webhook delivery stored durably, in the trace of the session it is about when its metadata says.
pub fn webhook_intake(event_id: &str, event_type: &str, traceparent: Option<&str>) -> Span {
    let span = tracing::info_span!(
        target: TARGET,
        "webhook_intake",
        otel.kind = "server",
        stripe.event.id = event_id,
        stripe.event.type = event_type,
    );
    continue_trace(&span, traceparent);
    span
}

/// Processing one stored event into outcomes, in the trace of the session it is about when its metadata says.
pub fn processing(event_id: &str, event_type: &str, traceparent: Option<&str>) -> Span {
    let span = tracing::info_span!(
        target: TARGET,
        "process_event",
        otel.kind = "consumer",
        stripe.event.id = event_id,
        stripe.event.type = event_type,
    );
    continue_trace(&span, traceparent);
    span
}

/// Publishing one outcome to `PAYMENTS`, in the trace of the processing that decided it.
pub fn publish(subject: &str, outcome_id: &str, traceparent: Option<&str>) -> Span {
    let span = tracing::info_span!(
        target: TARGET,
        "publish",
        otel.name = format!("publish {subject}"),
        otel.kind = "producer",
        messaging.destination.name = subject,
        messaging.message.id = outcome_id,
    );
    continue_trace(&span, traceparent);
    span
}

/// One callback attempt, in the trace of the outcome it reports.
pub fn callback_attempt(webhook_id: &str, attempt: u32, traceparent: Option<&str>) -> Span {
    let span = tracing::info_span!(
        target: TARGET,
        "callback_attempt",
        otel.kind = "client",
        webhook.id = webhook_id,
        attempt,
        http.response.status_code = tracing::field::Empty,
    );
    continue_trace(&span, traceparent);
    span
}

#[cfg(test)]
mod tests {
    use super::route;

    #[test]
    fn stripe_routes_name_no_object() {
        assert_eq!(route("/checkout/sessions"), "/v1/checkout/sessions");
        assert_eq!(
            route("/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa"),
            "/v1/payment_intents/{id}"
        );
        assert_eq!(route("/charges/ch_1abc"), "/v1/charges/{id}");
        assert_eq!(route("/events"), "/v1/events");
    }
}
