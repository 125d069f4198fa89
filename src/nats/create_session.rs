//! The NATS micro service `payments` with endpoint `create.payment.session` in queue group `payments`:
//! replicas share the requests, each is answered once, and `$SRV.PING|INFO|STATS` find the service.

use async_nats::service::ServiceExt;
use bytes::Bytes;
use futures::StreamExt;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use tracing::Instrument;

use super::envelope::{self, ErrorBody, Incoming};
use crate::{
    error::Error,
    telemetry::{propagation::TRACEPARENT, spans},
    usecase::create_checkout::{Checkout, CreateCheckout},
};

pub const SUBJECT: &str = "create.payment.session";
pub const SERVICE_NAME: &str = "payments";
pub const QUEUE_GROUP: &str = "payments";

/// Serves requests until `shutdown`; every request runs on `tracker` so shutdown can wait for it.
pub async fn serve(
    client: async_nats::Client,
    checkout: Checkout,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) -> Result<(), async_nats::Error> {
    let service = client
        .service_builder()
        .description("Stripe Checkout sessions and payment events")
        .queue_group(QUEUE_GROUP)
        .start(SERVICE_NAME, env!("CARGO_PKG_VERSION"))
        .await?;
    let mut endpoint = service
        .endpoint_builder()
        .name("create-payment-session")
        .add(SUBJECT)
        .await?;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            request = endpoint.next() => {
                let Some(request) = request else { break };
                let checkout = checkout.clone();
                tracker.spawn(async move { handle(&checkout, request).await });
            }
        }
    }
    // Unsubscribe first so no new request is taken; in-flight ones finish on the tracker.
    endpoint.stop().await?;
    service.stop().await?;
    Ok(())
}

/// Tells the wire format apart once, and answers in it, in a span carrying the caller's id.
async fn handle(checkout: &Checkout, request: async_nats::service::Request) {
    let incoming = envelope::classify(&request.message.payload);
    let request_id = request_id(&request.message, &incoming);
    let span = tracing::info_span!("nats_request", subject = SUBJECT, request_id);
    // The trace context travels as a NATS header in both wire formats (NestJS sends headers with a `NatsRecord`).
    let headers = request.message.headers.as_ref();
    let traceparent = headers.and_then(|h| h.get(TRACEPARENT)).map(|v| v.as_str());
    let traced = span.in_scope(|| spans::create_session("nats", traceparent));
    answer(checkout, &request, incoming)
        .instrument(traced)
        .await
}

async fn answer(
    checkout: &Checkout,
    request: &async_nats::service::Request,
    incoming: Incoming<'_>,
) {
    let message = &request.message;
    // Without a reply subject nobody could learn of the session: it is not a request (CONTRACT §3), and creating
    // one would let anyone with publish rights create Checkout Sessions blind. Both formats.
    if message.reply.is_none() {
        tracing::debug!("message without a reply subject is not a request: nothing created");
        return;
    }
    // A caller's key, in either wire format (NestJS can send NATS headers with a `NatsRecord`).
    let idempotency_key = message
        .headers
        .as_ref()
        .and_then(|h| h.get("Idempotency-Key"))
        .map(|v| v.as_str().to_owned());
    let input = |body: Bytes| CreateCheckout {
        idempotency_key: idempotency_key.clone(),
        ..CreateCheckout::new(body)
    };
    let sent = match incoming {
        Incoming::NestJs { id: None, .. } => {
            tracing::debug!("NestJS packet without id is an event: no reply");
            return;
        }
        Incoming::NestJs { id: Some(id), data } => {
            let body = data.as_ref().map_or("null", |d| d.get());
            let body = Bytes::copy_from_slice(body.as_bytes());
            let result = checkout.create(input(body)).await;
            log_result("nestjs", &result);
            request
                .respond(Ok(envelope::nest_reply(&id, &result).into()))
                .await
        }
        Incoming::Plain(_) => {
            let result = checkout.create(input(message.payload.clone())).await;
            log_result("plain", &result);
            match result {
                Ok(created) => {
                    let json = serde_json::to_vec(&created).expect("reply serialises");
                    request.respond(Ok(json.into())).await
                }
                Err(error) => {
                    // The service API's own error reply has an empty body; the contract wants the body too.
                    let body = ErrorBody::of(&error);
                    let json = serde_json::to_vec(&body).expect("error serialises");
                    request
                        .respond_with_headers(Ok(json.into()), body.headers())
                        .await
                }
            }
        }
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "could not reply (NATS gone)");
    }
}

fn log_result<T>(format: &'static str, result: &Result<T, Error>) {
    match result {
        Ok(_) => {
            crate::metrics::nats_request(format, 200);
            tracing::info!(format, "session created");
        }
        Err(e) => {
            let status = ErrorBody::of(e).status;
            crate::metrics::nats_request(format, status);
            let error = crate::causes::chain(e);
            tracing::info!(format, status, %error, "create refused");
        }
    }
}

/// The caller's id when it sent one (an x-request-id header, or the NestJS packet id), for correlation.
fn request_id(message: &async_nats::Message, incoming: &Incoming) -> String {
    if let Some(id) = message.headers.as_ref().and_then(|h| h.get("x-request-id")) {
        return id.to_string();
    }
    match incoming {
        Incoming::NestJs { id: Some(id), .. } => id.get().trim_matches('"').to_owned(),
        _ => String::new(),
    }
}
