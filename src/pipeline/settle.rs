//! Settling one event against its order (the protocol is described in `journal`): find the order a dispute
//! belongs to, decide with the lifecycle rules, publish what they say in order, and record it.

use std::time::{Duration, Instant};

use super::{
    journal::{Record, SentBy, Snapshot},
    processor::{Attempt, ProcessError, Processed, Processor},
};
use crate::{
    error::Error,
    payment::event::Event,
    payment::{
        lifecycle::{self, History, Verdict},
        outcome::{ChargeLookup, News, Outcome, Receipt, Report, Unused},
    },
    stripe::client::StripeError,
    trail::Sent,
};

/// How an event was settled, and what it published (for its trail record).
#[derive(Debug)]
pub struct Settled {
    pub processed: Processed,
    pub sent: Vec<Sent>,
}

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
    ) -> Result<Settled, ProcessError> {
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
            // What this event published before, should it have been processed already (see `journal`).
            let earlier = |processed| Settled {
                processed,
                sent: snapshot.record.sent_by(&event.id),
            };
            let mut history = snapshot.record.history.clone();
            history.record(&report.payment, legacy.as_deref().unwrap_or_default());
            let outcomes = match lifecycle::decide(
                &history,
                &order_id,
                &report.payment,
                &report.news,
            ) {
                Verdict::Publish(outcomes) => outcomes,
                Verdict::Duplicate(id) => return Ok(earlier(Processed::Duplicate(id))),
                Verdict::Superseded(why) => {
                    if !report.news.is_unpaid() {
                        tracing::error!(order_id, event_id = %event.id, reason = %why,
                            "money moved on a Checkout Session already reported failed or expired; not published");
                    }
                    return Ok(earlier(Processed::Superseded(why)));
                }
                Verdict::NeedReceipt => {
                    match self.receipt(&report).await? {
                        Ok(receipt) => report.payment.receipt = Some(receipt),
                        Err(unusable) => return Ok(earlier(Processed::Ignored(unusable))),
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
                sent: snapshot.record.sent.clone(),
            };
            let Some(revision) = self.journal.write(&order_id, &snapshot, &record).await? else {
                continue; // another worker wrote first: decide again on what it wrote
            };
            let held = Snapshot {
                record,
                revision: Some(revision),
            };
            let (sent, published) = self.publish_all(&held.record.pending).await;
            let done = sent.len();
            // Before returning, whatever happened: the claim is the journal's pending entry.
            return match published {
                Ok(()) => {
                    let cleared = self
                        .clear(&order_id, &held, held.record.history.clone(), sent)
                        .await?;
                    for outcome in &outcomes {
                        tracing::info!(event_id = %event.id, outcome = %outcome.id,
                            subject = outcome.message.subject(), "outcome published");
                    }
                    Ok(Settled {
                        processed: Processed::Published(
                            outcomes.into_iter().map(|o| o.id).collect(),
                        ),
                        sent: cleared.sent_by(&event.id),
                    })
                }
                Err(e) => {
                    history.record(&report.payment, &outcomes[..done]);
                    if let Err(release) = self.clear(&order_id, &held, history, sent).await {
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
    ) -> Result<Settled, ProcessError> {
        let order_id = report.order_id.clone().unwrap_or_default();
        let nothing = |processed| Settled {
            processed,
            sent: Vec::new(),
        };
        let outcomes = loop {
            let fresh = History::default();
            match lifecycle::decide(&fresh, &order_id, &report.payment, &report.news) {
                Verdict::Publish(outcomes) => break outcomes,
                Verdict::NeedReceipt => match self.receipt(&report).await? {
                    Ok(receipt) => report.payment.receipt = Some(receipt),
                    Err(unusable) => return Ok(nothing(Processed::Ignored(unusable))),
                },
                Verdict::Duplicate(id) => return Ok(nothing(Processed::Duplicate(id))),
                Verdict::Superseded(why) => return Ok(nothing(Processed::Superseded(why))),
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
        let (sent, published) = self.publish_all(&publications).await;
        published?;
        Ok(Settled {
            processed: Processed::Published(outcomes.into_iter().map(|o| o.id).collect()),
            sent: sent.into_iter().map(|s| s.sent).collect(),
        })
    }

    /// Publishes a publication another worker left pending, then clears it.
    async fn complete(&self, order_id: &str, snapshot: &Snapshot) -> Result<(), ProcessError> {
        let (sent, published) = self.publish_all(&snapshot.record.pending).await;
        published?;
        self.clear(order_id, snapshot, snapshot.record.history.clone(), sent)
            .await?;
        Ok(())
    }

    /// Ends a publication: `history` without anything pending, and what was `sent` added to the entry's; the
    /// entry as written. Losing the race means another worker completed it, publishing under the same ids.
    async fn clear(
        &self,
        order_id: &str,
        held: &Snapshot,
        history: History,
        sent: Vec<SentBy>,
    ) -> Result<Record, ProcessError> {
        let mut record = Record {
            history,
            sent: held.record.sent.clone(),
            ..Record::default()
        };
        record.add_sent(sent);
        self.journal.write(order_id, held, &record).await?;
        Ok(record)
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
}
