//! Settling one event against its order (the protocol is described in `journal`): find the order a dispute
//! belongs to, decide with the lifecycle rules, publish what they say in order, and record it.

use std::time::{Duration, Instant};

use async_nats::{header::NATS_MESSAGE_ID, HeaderMap, HeaderValue};
use tracing::Instrument;

use super::{
    journal::{ChargeOwner, Publication, Record, Snapshot},
    processor::{Attempt, ProcessError, Processed, Processor},
};
use crate::{
    error::{Error, Unavailable},
    metrics,
    nats::streams::PAYMENTS_STREAM,
    payment::event::Event,
    payment::{
        lifecycle::{self, History, Verdict},
        outcome::{ChargeLookup, Message, News, Outcome, Receipt, Report, Unused},
    },
    stripe::client::StripeError,
    telemetry::{
        propagation::{self, TRACEPARENT},
        spans,
    },
};

/// Longest pause between two looks at a busy order.
const MAX_PAUSE: Duration = Duration::from_millis(200);

impl Processor {
    /// Fills in what the event does not carry: the order and payment of a charge (disputes), from the journal's
    /// charge index first, else from the Stripe API. `Err(Unused)` when nobody knows the charge's order.
    pub(super) async fn resolve(
        &self,
        mut report: Report,
        event: &Event,
    ) -> Result<Result<Report, Unused>, ProcessError> {
        // Unpaid news needs no payment intent (a session can expire before it has one).
        let needs_intent =
            !matches!(&report.news, News::Outcome(o) if o.message.meaning().is_unpaid());
        if report.order_id.is_some() && (report.payment.intent.is_some() || !needs_intent) {
            return Ok(Ok(report));
        }
        let unusable = |why: &str| {
            Ok(Err(Unused::Unusable(format!(
                "{}: {why}",
                event.event_type
            ))))
        };
        let Some(ChargeLookup::Charge(charge)) = report.lookup.clone() else {
            return unusable("no orderId in metadata");
        };
        if let Some(owner) = self.journal.charge_owner(&charge).await? {
            report.order_id.get_or_insert(owner.order_id);
            report.payment.intent.get_or_insert(owner.intent);
        } else {
            let details = match self.stripe.charge_details(&charge).await {
                Ok(details) => details,
                Err(StripeError::NotFound { message }) => {
                    return unusable(&format!("charge {charge} is unknown to Stripe ({message})"))
                }
                Err(e) => return Err(e.into()),
            };
            if report.order_id.is_none() {
                report.order_id = details.order_id;
            }
            report.callback_id = report.callback_id.or(details.callback_id);
            report
                .payment
                .intent
                .get_or_insert(details.intent.unwrap_or_else(|| charge.clone()));
            if let (None, Some(url)) = (&report.payment.receipt, details.receipt.receipt_url) {
                report.payment.receipt = Some(Receipt {
                    charge_id: details.receipt.charge_id,
                    receipt_url: url,
                });
            }
        }
        let Some(order) = report.order_id.clone() else {
            return unusable(&format!(
                "charge {charge} has no orderId in its or its payment intent's metadata"
            ));
        };
        for outcome in report.news.outcomes_mut() {
            outcome.message = outcome.message.clone().for_order(&order);
        }
        Ok(Ok(report))
    }

    /// Decides and publishes under the order's journal entry; see `journal` for the protocol.
    pub(super) async fn settle(
        &self,
        event: &Event,
        mut report: Report,
        attempt: Attempt,
    ) -> Result<Processed, ProcessError> {
        let order_id = report.order_id.clone().unwrap_or_default();
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        // Outcomes an earlier version's ledger published, learnt when the order has no entry yet.
        let mut legacy: Option<Vec<Outcome>> = None;
        loop {
            let snapshot = self.journal.read(&order_id).await?;
            if !snapshot.record.pending.is_empty() {
                let revision = snapshot.revision.unwrap_or_default();
                let holder_gone = attempt.redelivered
                    && snapshot.record.pending_event.as_deref() == Some(event.id.as_str());
                if holder_gone || self.journal.is_stale(&order_id, revision) {
                    tracing::warn!(
                        order_id,
                        "completing a publication whose worker did not finish"
                    );
                    self.complete(&order_id, &snapshot).await?;
                } else if started.elapsed() >= attempt.patience {
                    return Err(ProcessError::Busy(order_id));
                } else {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_PAUSE);
                }
                continue;
            }
            let mut history = snapshot.record.history.clone();
            history.record(&report.payment, legacy.as_deref().unwrap_or_default());
            let outcomes = match lifecycle::decide(
                &history,
                &order_id,
                &report.payment,
                &report.news,
            ) {
                Verdict::Publish(outcomes) => outcomes,
                Verdict::Duplicate(id) => return Ok(Processed::Duplicate(id)),
                Verdict::Superseded(why) => {
                    if !report.news.is_unpaid() {
                        tracing::error!(order_id, event_id = %event.id, reason = %why,
                            "money moved on a Checkout Session already reported failed or expired; not published");
                    }
                    return Ok(Processed::Superseded(why));
                }
                Verdict::NeedReceipt => {
                    match self.receipt(&report).await? {
                        Ok(receipt) => report.payment.receipt = Some(receipt),
                        Err(unusable) => return Ok(Processed::Ignored(unusable)),
                    }
                    continue;
                }
            };
            if snapshot.revision.is_none() && legacy.is_none() {
                let found = self.published_by_ledger(&outcomes).await?;
                let any = !found.is_empty();
                legacy = Some(found);
                if any {
                    continue; // decide again, knowing what the old ledger published
                }
            }
            let publications = self.publications(event, &report, &outcomes);
            let mut after = history.clone();
            after.record(&report.payment, &outcomes);
            let record = Record {
                history: after,
                pending: publications,
                pending_event: Some(event.id.clone()),
            };
            let Some(revision) = self.journal.write(&order_id, &snapshot, &record).await? else {
                continue; // another worker wrote first: decide again on what it wrote
            };
            let held = Snapshot {
                record,
                revision: Some(revision),
            };
            let published = self.publish_all(&order_id, &held.record.pending).await;
            // Before returning, whatever happened: the claim is the journal's pending entry.
            return match published {
                Ok(()) => {
                    self.clear(&order_id, &held, held.record.history.clone())
                        .await?;
                    for outcome in &outcomes {
                        tracing::info!(event_id = %event.id, outcome = %outcome.id,
                            subject = outcome.message.subject(), "outcome published");
                    }
                    Ok(Processed::Published(
                        outcomes.into_iter().map(|o| o.id).collect(),
                    ))
                }
                Err((done, e)) => {
                    history.record(&report.payment, &outcomes[..done]);
                    if let Err(release) = self.clear(&order_id, &held, history).await {
                        tracing::warn!(order_id, error = %release, "could not release a failed publication");
                    }
                    Err(e)
                }
            };
        }
    }

    /// `--force`: publishes what the event reports as if nothing had been published, under new outcome ids.
    pub(super) async fn force(
        &self,
        event: &Event,
        mut report: Report,
        suffix: &str,
    ) -> Result<Processed, ProcessError> {
        let order_id = report.order_id.clone().unwrap_or_default();
        let outcomes = loop {
            let fresh = History::default();
            match lifecycle::decide(&fresh, &order_id, &report.payment, &report.news) {
                Verdict::Publish(outcomes) => break outcomes,
                Verdict::NeedReceipt => match self.receipt(&report).await? {
                    Ok(receipt) => report.payment.receipt = Some(receipt),
                    Err(unusable) => return Ok(Processed::Ignored(unusable)),
                },
                Verdict::Duplicate(id) => return Ok(Processed::Duplicate(id)),
                Verdict::Superseded(why) => return Ok(Processed::Superseded(why)),
            }
        };
        let outcomes: Vec<Outcome> = outcomes
            .into_iter()
            .map(|o| Outcome {
                id: format!("{}.{suffix}", o.id),
                ..o
            })
            .collect();
        let publications = self.publications(event, &report, &outcomes);
        self.publish_all(&order_id, &publications)
            .await
            .map_err(|(_, e)| e)?;
        Ok(Processed::Published(
            outcomes.into_iter().map(|o| o.id).collect(),
        ))
    }

    /// Publishes a publication another worker left pending, then clears it.
    async fn complete(&self, order_id: &str, snapshot: &Snapshot) -> Result<(), ProcessError> {
        self.publish_all(order_id, &snapshot.record.pending)
            .await
            .map_err(|(_, e)| e)?;
        self.clear(order_id, snapshot, snapshot.record.history.clone())
            .await
    }

    /// Ends a publication: `history` without anything pending. Losing the race means another worker completed it.
    async fn clear(
        &self,
        order_id: &str,
        held: &Snapshot,
        history: History,
    ) -> Result<(), ProcessError> {
        let record = Record {
            history,
            ..Record::default()
        };
        self.journal.write(order_id, held, &record).await?;
        Ok(())
    }

    async fn published_by_ledger(&self, outcomes: &[Outcome]) -> Result<Vec<Outcome>, Error> {
        let mut published = Vec::new();
        for outcome in outcomes {
            if self.journal.published_by_ledger(&outcome.id).await? {
                published.push(outcome.clone());
            }
        }
        Ok(published)
    }

    /// The charge and receipt of the report's payment, from the Stripe API.
    async fn receipt(&self, report: &Report) -> Result<Result<Receipt, Unused>, ProcessError> {
        let found = match &report.lookup {
            Some(ChargeLookup::LatestOf(intent)) => self.stripe.latest_charge(intent).await,
            Some(ChargeLookup::Charge(charge)) => self.stripe.charge(charge).await.map(Some),
            None => return Ok(Err(Unused::Unusable("no charge to look up".into()))),
        };
        let receipt = match found {
            Ok(receipt) => receipt,
            // An event of another account or mode: no retry will find it.
            Err(StripeError::NotFound { message }) => return Ok(Err(Unused::Unusable(message))),
            Err(e) => return Err(e.into()),
        };
        // A succeeded payment has a charge with a receipt; until Stripe shows it, try again later.
        let receipt = receipt.ok_or(ProcessError::NotYet("the payment has no charge yet"))?;
        let receipt_url = receipt
            .receipt_url
            .ok_or(ProcessError::NotYet("the charge has no receipt URL yet"))?;
        Ok(Ok(Receipt {
            charge_id: receipt.charge_id,
            receipt_url,
        }))
    }

    fn publications(
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

    /// Publishes in order; on failure, how many were published and why the next was not.
    async fn publish_all(
        &self,
        order_id: &str,
        publications: &[Publication],
    ) -> Result<(), (usize, ProcessError)> {
        for (done, publication) in publications.iter().enumerate() {
            self.publish(order_id, publication)
                .await
                .map_err(|e| (done, e.into()))?;
        }
        Ok(())
    }

    async fn publish(&self, order_id: &str, publication: &Publication) -> Result<(), Error> {
        let Publication { id, subject, .. } = publication;
        let span = spans::publish(subject, id, publication.traceparent.as_deref());
        self.publish_traced(order_id, publication)
            .instrument(span)
            .await
    }

    async fn publish_traced(&self, order_id: &str, publication: &Publication) -> Result<(), Error> {
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
        self.trail
            .published(order_id, subject, id, sequence)
            .await?;
        if let Some((callback_id, status)) = &publication.callback {
            crate::callback::enqueue(&self.js, callback_id, id, status, traceparent).await?;
        }
        if let Some((charge, owner)) = &publication.charge {
            self.journal.index_charge(charge, owner).await?;
        }
        Ok(())
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
