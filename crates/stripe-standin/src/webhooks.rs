//! Webhook delivery, as Stripe does it: each event is POSTed as JSON to the configured URL with a
//! `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` header (re-signed on each attempt), and retried
//! with backoff on a non-2xx answer, a connection error or a timeout.
//!
//! Each event is delivered by its own task. Events sharing an ordering key (a session id) make their first attempt
//! in order of creation; retries are independent, so one failing event never holds back the others.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::delivery::Delivery;
use crate::ids;
use crate::state::{Inner, Shared};

/// The `Stripe-Signature` header value for `body` signed at `timestamp` with `secret` (the whole `whsec_…`
/// string is the HMAC key, as Stripe does): `stripe-wire`'s signer, the same code the service verifies with.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    stripe_wire::signature::sign(secret, timestamp, body)
}

/// Records `event` (so `GET /v1/events/{id}` and [`crate::StandIn::events`] show it) and, with a webhook URL,
/// starts delivering it after the previous event of `key`.
pub(crate) fn emit(shared: &Arc<Shared>, inner: &mut Inner, key: &str, event: Value) {
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let event_type = event["type"].as_str().unwrap_or_default().to_owned();
    let body = serde_json::to_vec(&event).unwrap_or_default();
    inner.event_order.push(id.clone());
    inner.events.insert(id.clone(), event);
    let Some(url) = shared.webhook_url.clone() else {
        if shared.log_deliveries {
            eprintln!("stripe-standin: {event_type} {id}: no WEBHOOK_URL, not delivered");
        }
        return;
    };
    if shared.withhold.load(Ordering::SeqCst) {
        if shared.log_deliveries {
            eprintln!("stripe-standin: {event_type} {id}: deliveries withheld, not delivered");
        }
        return;
    }
    let index = inner.deliveries.len();
    inner.deliveries.push(Delivery {
        event_id: id,
        event_type,
        attempts: 0,
        last_status: None,
        last_error: None,
        delivered: false,
        gave_up: false,
    });
    let (first_done, next_waits) = oneshot::channel();
    let after = inner.chains.insert(key.to_owned(), next_waits);
    while inner.tasks.try_join_next().is_some() {}
    inner
        .tasks
        .spawn(deliver(shared.clone(), url, index, body, after, first_done));
}

async fn deliver(
    shared: Arc<Shared>,
    url: String,
    index: usize,
    body: Vec<u8>,
    after: Option<oneshot::Receiver<()>>,
    first_done: oneshot::Sender<()>,
) {
    if let Some(previous) = after {
        // An error means the previous delivery task ended (or was aborted): go on either way.
        let _ = previous.await;
    }
    let mut first_done = Some(first_done);
    let retry = shared.retry.clone();
    for attempt in 1..=retry.max_attempts.max(1) {
        let result = post(&shared, &url, &body).await;
        let ok = matches!(result, Ok(status) if (200..300).contains(&status));
        let last = attempt >= retry.max_attempts;
        record(&shared, index, attempt, result, ok, last);
        if let Some(done) = first_done.take() {
            let _ = done.send(());
        }
        if ok || last {
            return;
        }
        tokio::time::sleep(retry.delay_after(attempt)).await;
    }
}

async fn post(shared: &Shared, url: &str, body: &[u8]) -> Result<u16, String> {
    let signature = signature(&shared.webhook_secret, ids::now(), body);
    let response = shared
        .http
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .header(
            "user-agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .header("stripe-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| describe(&e))?;
    Ok(response.status().as_u16())
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        error.to_string()
    }
}

fn record(
    shared: &Shared,
    index: usize,
    attempt: u32,
    result: Result<u16, String>,
    ok: bool,
    last: bool,
) {
    let line = {
        let mut inner = shared.lock();
        let Some(delivery) = inner.deliveries.get_mut(index) else {
            return;
        };
        delivery.attempts = attempt;
        let outcome = match &result {
            Ok(status) => status.to_string(),
            Err(error) => error.clone(),
        };
        (delivery.last_status, delivery.last_error) = match result {
            Ok(status) => (Some(status), None),
            Err(error) => (None, Some(error)),
        };
        delivery.delivered = ok;
        delivery.gave_up = !ok && last;
        let verdict = match (ok, last) {
            (true, _) => "delivered",
            (false, true) => "giving up",
            (false, false) => "will retry",
        };
        format!(
            "stripe-standin: {} {} attempt {attempt}: {outcome} ({verdict})",
            delivery.event_type, delivery.event_id
        )
    };
    if shared.log_deliveries {
        eprintln!("{line}");
    }
    shared.changes.send_modify(|n| *n += 1);
}

/// Waits until `done` holds for the deliveries (checked now and after every attempt), at most `timeout`; whether
/// it held.
pub(crate) async fn wait_until(
    shared: &Shared,
    timeout: Duration,
    mut done: impl FnMut(&[Delivery]) -> bool,
) -> bool {
    let mut changes = shared.changes.subscribe();
    let wait = async {
        loop {
            changes.borrow_and_update();
            let deliveries = shared.lock().deliveries.clone();
            if done(&deliveries) {
                return true;
            }
            if changes.changed().await.is_err() {
                return false;
            }
        }
    };
    tokio::time::timeout(timeout, wait).await.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_stripe() {
        // The known answer of the verifier's tests (stripe-wire's signature.rs), computed by Python's hmac.
        assert_eq!(
            signature("whsec_test_secret", 1_700_000_000, br#"{"id":"evt_1"}"#),
            "t=1700000000,v1=248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a"
        );
    }
}
