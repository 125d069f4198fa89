//! Durable intake of verified events: a publish to the events stream with `Nats-Msg-Id` = Stripe event id,
//! acknowledged by JetStream before the webhook answers 2xx. Concurrent and late redeliveries of one event are
//! stored once (within the de-duplication window).

use std::time::Duration;

use async_nats::{header::NATS_MESSAGE_ID, jetstream, HeaderMap};
use bytes::Bytes;

use super::pressure::Pressure;
use crate::{
    error::{BoxError, Error, Unavailable},
    nats::connection::Nats,
    nats::streams::event_subject,
    stripe::event::EventHead,
};

#[derive(Clone)]
pub struct Inbox {
    nats: Nats,
    js: jetstream::Context,
    timeout: Duration,
    pressure: Pressure,
}

/// Where a stored event came from: a webhook delivery (no header, the usual case) or reconciliation with
/// Stripe's event list (header `Payments-Source: reconcile`, so the audit trail tells them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Webhook,
    Reconcile,
}

/// The header that marks events recovered by reconciliation.
pub const SOURCE_HEADER: &str = "Payments-Source";

/// Whether JetStream already had this event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Duplicate,
}

impl Inbox {
    pub fn new(nats: Nats, timeout: Duration) -> Self {
        let js = jetstream::new(nats.client.clone());
        Self {
            nats,
            js,
            timeout,
            pressure: Pressure::default(),
        }
    }

    /// How busy storing is; the pipeline defers to it.
    pub fn pressure(&self) -> Pressure {
        self.pressure.clone()
    }

    /// Stores the event's exact bytes; an error means it is not durable and Stripe must send it again.
    pub async fn store(&self, head: &EventHead, body: Bytes) -> Result<Stored, Error> {
        self.store_from(head, body, Source::Webhook).await
    }

    /// [`Inbox::store`], saying where the event came from.
    pub async fn store_from(
        &self,
        head: &EventHead,
        body: Bytes,
        source: Source,
    ) -> Result<Stored, Error> {
        let unavailable = |why: BoxError| {
            tracing::warn!(event_id = %head.id, why = %crate::causes::chain(&*why), "event not stored");
            Error::from(Unavailable::because(
                "the event could not be stored durably; Stripe will deliver it again",
                why,
            ))
        };
        // While disconnected a publish would only be buffered: refuse at once instead.
        if !self.nats.is_ready() {
            return Err(unavailable("NATS JetStream is not available".into()));
        }
        // Only webhooks count as pressure: Stripe waits for their answer, reconciliation waits for nobody.
        let _storing = (source == Source::Webhook).then(|| self.pressure.storing());
        let mut headers = HeaderMap::new();
        headers.insert(NATS_MESSAGE_ID, head.id.as_str());
        headers.insert("Stripe-Event-Type", head.event_type.as_str());
        if source == Source::Reconcile {
            headers.insert(SOURCE_HEADER, "reconcile");
        }
        let publish = async {
            self.js
                .publish_with_headers(event_subject(&head.event_type), headers, body)
                .await?
                .await
        };
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(self.timeout, publish).await;
        crate::metrics::jetstream_publish("events", matches!(result, Ok(Ok(_))), started);
        match result {
            Ok(Ok(ack)) if ack.duplicate => Ok(Stored::Duplicate),
            Ok(Ok(_)) => Ok(Stored::New),
            Ok(Err(e)) => Err(unavailable(e.into())),
            Err(_) => Err(unavailable("JetStream did not acknowledge in time".into())),
        }
    }
}
