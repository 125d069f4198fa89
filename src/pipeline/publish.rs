//! Publishing what settling decided: each outcome to `PAYMENTS` with the headers of CONTRACT §5, in its own span
//! (consumers continue the trace from the message), with what goes with it — its callback, its charge's index —
//! and the stream sequence it was stored under, for the trail.

use async_nats::{header::NATS_MESSAGE_ID, HeaderMap, HeaderValue};
use tracing::Instrument;

use super::{
    journal::{ChargeOwner, Publication, SentBy},
    processor::{ProcessError, Processor},
};
use crate::{
    error::{Error, Unavailable},
    metrics,
    nats::streams::PAYMENTS_STREAM,
    payment::{
        event::Event,
        outcome::{Message, Outcome, Report},
    },
    telemetry::{
        propagation::{self, TRACEPARENT},
        spans,
    },
    trail::Sent,
};

impl Processor {
    /// The messages `outcomes` are, complete enough for any worker to publish them.
    pub(super) fn publications(
        &self,
        event: &Event,
        report: &Report,
        outcomes: &[Outcome],
    ) -> Vec<Publication> {
        outcomes
            .iter()
            .map(|outcome| Publication {
                id: outcome.id.clone(),
                subject: outcome.message.subject().to_owned(),
                body: String::from_utf8_lossy(&outcome.message.to_json()).into_owned(),
                event_id: event.id.clone(),
                event_type: event.event_type.clone(),
                callback: report
                    .callback_id
                    .clone()
                    .zip(outcome.message.callback_status().map(str::to_owned)),
                charge: match (&outcome.message, &report.payment.intent) {
                    (
                        Message::Succeeded {
                            stripe_payment_id,
                            order_id,
                            ..
                        },
                        Some(intent),
                    ) => Some((
                        stripe_payment_id.clone(),
                        ChargeOwner {
                            order_id: order_id.clone(),
                            intent: intent.clone(),
                        },
                    )),
                    _ => None,
                },
                traceparent: propagation::current(),
            })
            .collect()
    }

    /// Publishes in order: what was sent, and why the next was not, if one failed.
    pub(super) async fn publish_all(
        &self,
        publications: &[Publication],
    ) -> (Vec<SentBy>, Result<(), ProcessError>) {
        let mut sent = Vec::with_capacity(publications.len());
        for publication in publications {
            match self.publish(publication).await {
                Ok(one) => sent.push(SentBy {
                    event_id: publication.event_id.clone(),
                    sent: one,
                }),
                Err(e) => return (sent, Err(e.into())),
            }
        }
        (sent, Ok(()))
    }

    async fn publish(&self, publication: &Publication) -> Result<Sent, Error> {
        let Publication { id, subject, .. } = publication;
        let span = spans::publish(subject, id, publication.traceparent.as_deref());
        self.publish_traced(publication).instrument(span).await
    }

    /// Publishes one message with what goes with it (its callback, its charge's index); what `PAYMENTS` stored.
    async fn publish_traced(&self, publication: &Publication) -> Result<Sent, Error> {
        // The publish span's own context: consumers continue the trace from this message.
        let traceparent = propagation::current();
        let headers = headers(publication, traceparent.as_deref())?;
        let Publication { id, subject, .. } = publication;
        let publish = async {
            self.js
                .publish_with_headers(subject.clone(), headers, publication.body.clone().into())
                .await?
                .await
        };
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(self.timeout, publish).await;
        metrics::jetstream_publish(PAYMENTS_STREAM, matches!(result, Ok(Ok(_))), started);
        let sequence = match result {
            // A duplicate's acknowledgement carries the sequence of the message first stored.
            Ok(Ok(ack)) => ack.sequence,
            Ok(Err(e)) => return Err(Unavailable::because(format!("publishing {id}"), e).into()),
            Err(_) => {
                return Err(Unavailable::new(format!(
                    "publishing {id}: no acknowledgement in time"
                ))
                .into())
            }
        };
        if let Some((callback_id, status)) = &publication.callback {
            crate::callback::enqueue(&self.js, callback_id, id, status, traceparent).await?;
        }
        if let Some((charge, owner)) = &publication.charge {
            self.journal.index_charge(charge, owner).await?;
        }
        Ok(Sent {
            subject: subject.clone(),
            sequence,
            msg_id: id.clone(),
        })
    }
}

/// The headers of CONTRACT §5. Event ids and types are checked printable when stored; still, data from outside
/// is converted fallibly: an odd value is an error, never a panic.
fn headers(publication: &Publication, traceparent: Option<&str>) -> Result<HeaderMap, Error> {
    let value = |name: &str, text: &str| {
        text.parse::<HeaderValue>().map_err(|_| {
            Error::Internal(format!(
                "{name} of {} cannot be a NATS header",
                publication.id
            ))
        })
    };
    let mut headers = HeaderMap::new();
    headers.insert(NATS_MESSAGE_ID, value("outcome id", &publication.id)?);
    headers.insert("Stripe-Event-Id", value("event id", &publication.event_id)?);
    headers.insert(
        "Stripe-Event-Type",
        value("event type", &publication.event_type)?,
    );
    // Our own formatting, so always a valid value; still, a trace never stops a publication.
    if let Some(traceparent) = traceparent.and_then(|t| t.parse::<HeaderValue>().ok()) {
        headers.insert(TRACEPARENT, traceparent);
    }
    Ok(headers)
}
