//! Stripe's event list, one page at a time: async-stripe's typed `ListEvent` request (`types[]`, `created[gte]` /
//! `created[lte]`, `limit=100`, `starting_after`) sent through the service's own transport. The body is read
//! leniently, not into async-stripe's `Event`: events of any API version are kept, and each one's bytes are stored
//! exactly as Stripe listed them. A 429 is retried after its `Retry-After`, a 5xx or a network failure after a
//! growing pause, a bounded number of times; then the listing fails.

use std::time::Duration;

use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use stripe_client_core::StripeRequest;
use stripe_core::event::ListEvent;
use stripe_types::{RangeBoundsTs, RangeQueryTs};

use super::{ReconcileError, Window, EVENT_TYPES};
use crate::{
    config::Config,
    stripe::{
        event::EventHead,
        transport::{error_message, RawAnswer, Transport, TransportError},
    },
};

/// Events per page: Stripe's maximum.
pub const PAGE_SIZE: i64 = 100;

/// How failed list calls are retried.
#[derive(Debug, Clone)]
pub struct Retries {
    /// Attempts per page, the first included.
    pub attempts: u32,
    /// The pause after the first failure; doubled after each, up to `max_pause`.
    pub first_pause: Duration,
    pub max_pause: Duration,
    /// The longest `Retry-After` honoured (a longer one is shortened to this).
    pub max_retry_after: Duration,
}

impl Default for Retries {
    fn default() -> Self {
        Retries {
            attempts: 6,
            first_pause: Duration::from_millis(250),
            max_pause: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl Retries {
    fn pause(&self, failures: u32) -> Duration {
        stripe_wire::Backoff::new(self.first_pause, self.max_pause).after(failures)
    }
}

/// One listed event: its id and type (checked as the webhook checks them), `created`, and its exact bytes.
#[derive(Debug, Clone)]
pub struct Listed {
    pub head: EventHead,
    pub created: Option<i64>,
    pub body: Bytes,
}

/// A walk through the list, newest event first.
pub struct Listing {
    transport: Transport,
    secret: SecretString,
    window: Window,
    retries: Retries,
    cursor: Option<String>,
    done: bool,
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
    has_more: bool,
}

#[derive(Deserialize)]
struct Created {
    created: Option<i64>,
}

impl Listing {
    pub fn new(config: &Config, window: Window) -> Result<Self, ReconcileError> {
        let transport = Transport::new(
            &config.stripe_secret,
            &config.stripe_api_base,
            config.stripe_timeout,
        )
        .map_err(ReconcileError::BadList)?;
        Ok(Listing {
            transport,
            secret: config.stripe_secret.clone(),
            window,
            retries: Retries::default(),
            cursor: None,
            done: false,
        })
    }

    /// The next page, or `None` once the list is exhausted.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Listed>>, ReconcileError> {
        if self.done {
            return Ok(None);
        }
        let body = self.fetch().await?;
        let page: Page = serde_json::from_slice(&body)
            .map_err(|e| ReconcileError::BadList(format!("not a list of events ({e})")))?;
        let mut events = Vec::with_capacity(page.data.len());
        for raw in &page.data {
            events.push(listed(raw));
        }
        match events.last() {
            Some(last) if page.has_more => {
                if last.head.id.starts_with(UNPARSED) {
                    return Err(ReconcileError::BadList(
                        "the last event of a page has no id to continue from".into(),
                    ));
                }
                self.cursor = Some(last.head.id.clone());
            }
            _ => self.done = true,
        }
        Ok(Some(events))
    }

    fn request(&self) -> ListEvent {
        let created = RangeQueryTs::Bounds(RangeBoundsTs {
            gte: Some(self.window.since),
            lte: self.window.until,
            ..Default::default()
        });
        let types: Vec<String> = EVENT_TYPES.iter().map(|t| (*t).to_owned()).collect();
        let mut request = ListEvent::new()
            .types(types)
            .created(created)
            .limit(PAGE_SIZE);
        if let Some(cursor) = &self.cursor {
            request = request.starting_after(cursor.as_str());
        }
        request
    }

    /// One list call, retried as [`Retries`] says.
    async fn fetch(&self) -> Result<Bytes, ReconcileError> {
        let mut failures = 0;
        loop {
            let answer = self.transport.send_raw(self.request().build()).await;
            failures += 1;
            let last = failures >= self.retries.attempts;
            let pause = match answer {
                Ok(RawAnswer { status, body, .. }) if (200..300).contains(&status) => {
                    return Ok(body)
                }
                Ok(RawAnswer {
                    status,
                    retry_after,
                    ..
                }) if status == 429 || status >= 500 => {
                    if last {
                        return Err(ReconcileError::StripeUnavailable {
                            status,
                            attempts: failures,
                        });
                    }
                    let pause = self.retries.pause(failures);
                    match retry_after {
                        Some(wait) if status == 429 => wait.min(self.retries.max_retry_after),
                        _ => pause,
                    }
                }
                Ok(RawAnswer { status, body, .. }) => {
                    let message = error_message(&body)
                        .unwrap_or_else(|| "no error message".into())
                        .replace(self.secret.expose_secret(), "***");
                    return Err(ReconcileError::StripeRefused { status, message });
                }
                Err(source @ (TransportError::Timeout | TransportError::Unreachable { .. })) => {
                    if last {
                        let source = redact(source, &self.secret);
                        return Err(ReconcileError::StripeUnreachable {
                            attempts: failures,
                            source,
                        });
                    }
                    self.retries.pause(failures)
                }
                Err(other) => {
                    return Err(ReconcileError::BadList(
                        redact(other, &self.secret).to_string(),
                    ))
                }
            };
            tracing::info!(
                attempt = failures,
                pause_ms = pause.as_millis() as u64,
                "listing Stripe events failed; retrying"
            );
            tokio::time::sleep(pause).await;
        }
    }
}

fn redact(error: TransportError, secret: &SecretString) -> TransportError {
    match error {
        TransportError::Unexpected(text) => {
            TransportError::Unexpected(text.replace(secret.expose_secret(), "***"))
        }
        other => other,
    }
}

/// Ids given to list entries that are not events Stripe would send, as the webhook does for such bodies.
const UNPARSED: &str = "unparsed_";

fn listed(raw: &RawValue) -> Listed {
    let bytes = raw.get().as_bytes();
    let body = Bytes::copy_from_slice(bytes);
    let created = serde_json::from_slice::<Created>(bytes)
        .ok()
        .and_then(|c| c.created);
    let head = EventHead::parse(bytes).unwrap_or_else(|e| {
        // Kept, never dropped: stored under an id derived from its bytes, and reported unusable by the pipeline.
        tracing::warn!(reason = %e, "an entry of Stripe's event list is not an event");
        EventHead {
            id: format!("{UNPARSED}{}", hex::encode(&Sha256::digest(bytes)[..16])),
            event_type: "unparsed".into(),
            traceparent: None,
        }
    });
    Listed {
        head,
        created,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_cap() {
        let retries = Retries::default();
        let pauses: Vec<u128> = (1..=7).map(|n| retries.pause(n).as_millis()).collect();
        assert_eq!(pauses, [250, 500, 1000, 2000, 4000, 8000, 8000]);
    }

    #[test]
    fn list_entries_keep_their_exact_bytes() {
        let raw: Box<RawValue> = serde_json::from_str(
            r#"{"id":"evt_1", "type":"charge.succeeded","created":1700000000,"data":{"object":{}}}"#,
        )
        .unwrap();
        let event = listed(&raw);
        assert_eq!(event.head.id, "evt_1");
        assert_eq!(event.created, Some(1_700_000_000));
        assert_eq!(&event.body[..], raw.get().as_bytes());

        let odd: Box<RawValue> = serde_json::from_str(r#"{"object":"event"}"#).unwrap();
        let event = listed(&odd);
        assert!(event.head.id.starts_with(UNPARSED), "{:?}", event.head);
        assert_eq!(event.created, None);
    }
}
