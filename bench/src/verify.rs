//! After ingestion: wait until the service's pipeline is idle, then read all of `PAYMENTS` and check that every
//! event answered 2xx was published exactly once.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;

use crate::events::Ids;

pub const EVENTS_STREAM: &str = "STRIPE_EVENTS";
pub const PAYMENTS_STREAM: &str = "PAYMENTS";
pub const PIPELINE_CONSUMER: &str = "payments-pipeline";

/// Per-event status recorded by the load generator.
pub const NOT_SENT: u8 = 0;
pub const ACCEPTED: u8 = 1;
pub const REFUSED: u8 = 2;
pub const FAILED: u8 = 3;

#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    pub events_stored: u64,
    pub payments: u64,
    pub pending: u64,
    pub ack_pending: u64,
    pub redelivered: u64,
}

pub async fn pipeline_state(js: &jetstream::Context) -> Result<Pipeline, async_nats::Error> {
    let mut events = js.get_stream(EVENTS_STREAM).await?;
    let events_stored = events.info().await?.state.messages;
    let mut payments = js.get_stream(PAYMENTS_STREAM).await?;
    let payments_n = payments.info().await?.state.messages;
    let info = events.consumer_info(PIPELINE_CONSUMER).await?;
    Ok(Pipeline {
        events_stored,
        payments: payments_n,
        pending: info.num_pending,
        ack_pending: info.num_ack_pending as u64,
        redelivered: info.num_redelivered as u64,
    })
}

/// Polls until the pipeline consumer has nothing pending or unacknowledged and `PAYMENTS` stopped growing.
/// Returns the state and the moment it went idle, or the last state seen if `timeout` passed.
pub async fn wait_idle(js: &jetstream::Context, timeout: Duration) -> (Pipeline, Option<Instant>) {
    let until = Instant::now() + timeout;
    let mut last: Option<Pipeline> = None;
    loop {
        let now = Instant::now();
        match pipeline_state(js).await {
            Ok(state) => {
                let stable = last.as_ref().is_some_and(|l| {
                    l.payments == state.payments && l.events_stored == state.events_stored
                });
                if state.pending == 0 && state.ack_pending == 0 && stable {
                    return (state, Some(now));
                }
                last = Some(state);
            }
            Err(e) => eprintln!("  (pipeline state not available yet: {e})"),
        }
        if now > until {
            return (last.unwrap_or_default(), None);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[derive(Debug, Clone, Default)]
pub struct Check {
    pub accepted: u64,
    pub payments_messages: u64,
    pub missing: u64,
    pub duplicated: u64,
    /// Published although the webhook was not answered 2xx (allowed: a 503 may still have been stored).
    pub published_without_2xx: u64,
    /// Messages whose body or headers do not match the event they came from.
    pub mismatched: u64,
    pub foreign: u64,
    pub read_secs: f64,
}

/// Reads every message of `PAYMENTS` and compares with `statuses` (indexed by event index).
pub async fn exactly_once(
    js: &jetstream::Context,
    ids: &Ids,
    statuses: &[u8],
) -> Result<Check, async_nats::Error> {
    let started = Instant::now();
    let mut stream = js.get_stream(PAYMENTS_STREAM).await?;
    let total = stream.info().await?.state.messages;
    let mut seen = vec![0u32; statuses.len()];
    let mut check = Check {
        accepted: statuses.iter().filter(|s| **s == ACCEPTED).count() as u64,
        payments_messages: total,
        ..Default::default()
    };
    if total > 0 {
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                deliver_policy: jetstream::consumer::DeliverPolicy::All,
                ..Default::default()
            })
            .await?;
        let mut messages = consumer.messages().await?;
        let mut read = 0u64;
        while read < total {
            let message = tokio::time::timeout(Duration::from_secs(30), messages.next())
                .await
                .map_err(|_| "reading PAYMENTS timed out")?
                .ok_or("PAYMENTS consumer ended")??;
            read += 1;
            let body: serde_json::Value = match serde_json::from_slice(&message.payload) {
                Ok(v) => v,
                Err(_) => {
                    check.foreign += 1;
                    continue;
                }
            };
            let Some(i) = body["orderId"].as_str().and_then(|o| ids.index_of_order(o)) else {
                check.foreign += 1;
                continue;
            };
            if i >= seen.len() {
                check.foreign += 1;
                continue;
            }
            seen[i] += 1;
            let msg_id = message
                .headers
                .as_ref()
                .and_then(|h| h.get("Nats-Msg-Id"))
                .map(|v| v.to_string());
            let expected_id = format!("succeeded.{}", ids.intent(i));
            if message.subject.as_str() != "payment.succeeded"
                || msg_id.as_deref() != Some(expected_id.as_str())
                || body["stripePaymentId"].as_str() != Some(ids.charge(i).as_str())
                || !body["receiptUrl"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("https://"))
            {
                check.mismatched += 1;
            }
        }
    }
    for (status, n) in statuses.iter().zip(&seen) {
        if *status == ACCEPTED && *n == 0 {
            check.missing += 1;
        }
        if *n > 1 {
            check.duplicated += u64::from(*n - 1);
        }
        if *status != ACCEPTED && *n > 0 {
            check.published_without_2xx += 1;
        }
    }
    check.read_secs = started.elapsed().as_secs_f64();
    Ok(check)
}

/// Pauses (`Some(RFC 3339 time)`) or resumes (`None`) the pipeline's durable consumer through the JetStream API
/// (nats-server ≥ 2.11). A diagnostic only: events stay durable in the events stream while it is paused.
pub async fn pause_pipeline(
    client: &async_nats::Client,
    until: Option<&str>,
) -> Result<bool, async_nats::Error> {
    let subject = format!("$JS.API.CONSUMER.PAUSE.{EVENTS_STREAM}.{PIPELINE_CONSUMER}");
    let body = match until {
        Some(t) => serde_json::json!({ "pause_until": t }).to_string(),
        None => "{}".to_owned(),
    };
    let reply = client.request(subject, body.into()).await?;
    let v: serde_json::Value = serde_json::from_slice(&reply.payload)?;
    if let Some(e) = v.get("error") {
        return Err(format!("consumer pause: {e}").into());
    }
    Ok(v["paused"].as_bool().unwrap_or(false))
}
