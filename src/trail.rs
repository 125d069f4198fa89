//! The payment trail (`PAYMENT_TRAIL`, subjects `payments.trail.>`): what `payments inspect` reads. One small
//! message per thing that happened to an order's payment, written by whoever made it happen, its subject naming
//! the order and, for events, the Stripe objects, so a look-up by any of them is a subject filter (the server
//! answers it from its subject index, without reading messages):
//!
//! - `payments.trail.<order>.event.<evt>.<cs>.<pi>.<ch>`: a Stripe event processed for the order (`~` for an object
//!   the event does not name), with when it was stored here, where it came from (webhook or reconcile) and the
//!   outcomes it published to `PAYMENTS`, with their stream sequences: one write per event, on the hot path;
//! - `payments.trail.<order>.callback.<webhook id>`: one callback attempt, its HTTP status or error.
//!
//! (`payments.trail.<order>.published.<outcome>`, one message per outcome, was written by earlier versions; it is
//! still read.) Event records carry no `Nats-Msg-Id`: one written twice (a retry, a replay) is dropped by the
//! reader, so the server keeps no de-duplication entry for each of them.
//!
//! A message's time is its stream timestamp (the NATS server's clock), except an event's, which carries the time
//! its event was stored in the events stream. Ids from outside are subject tokens only when made of `[A-Za-z0-9_-]`
//! (every Stripe id and UUID); anything else is replaced by `~` and the SHA-256 of it ([`token`]).

use std::time::{Duration, SystemTime};

use async_nats::{header::NATS_MESSAGE_ID, jetstream, HeaderMap};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::nats::streams::{TRAIL_PREFIX, TRAIL_STREAM};
use crate::{nats::unavailable::Unavailable, payment::event::Event as StripeEvent};
/// The token of an object an event does not name.
pub const NONE: &str = "~";

/// What one trail message records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Record {
    #[serde(rename_all = "camelCase")]
    Event {
        order_id: String,
        id: String,
        #[serde(rename = "type")]
        event_type: String,
        source: String,
        /// When the event was stored in the events stream, RFC 3339.
        received: String,
        /// What processing it published (also after a retry: the order journal keeps what each event sent).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        published: Vec<Sent>,
    },
    /// One outcome, as earlier versions recorded it.
    #[serde(rename_all = "camelCase")]
    Published {
        order_id: String,
        #[serde(flatten)]
        sent: Sent,
    },
    #[serde(rename_all = "camelCase")]
    Callback {
        order_id: String,
        url: String,
        status: Option<u16>,
        error: Option<String>,
    },
}

/// An outcome as stored in `PAYMENTS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    pub subject: String,
    pub sequence: u64,
    pub msg_id: String,
}

/// Where and when an event entered the events stream, as its stored message says.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    pub at: SystemTime,
    /// `webhook` or `reconcile`.
    pub source: &'static str,
}

/// Writes trail messages; every write is acknowledged by JetStream within `timeout`.
#[derive(Clone)]
pub struct Trail {
    js: jetstream::Context,
    timeout: Duration,
}

impl Trail {
    pub fn new(js: jetstream::Context, timeout: Duration) -> Self {
        Self { js, timeout }
    }

    /// An event processed for `order_id`, with the outcomes it published.
    pub async fn event(
        &self,
        order_id: &str,
        event: &StripeEvent,
        received: &Received,
        published: Vec<Sent>,
    ) -> Result<(), Unavailable> {
        let [session, intent, charge] = objects(event);
        let subject = format!(
            "{TRAIL_PREFIX}.{}.event.{}.{}.{}.{}",
            token(order_id),
            token(&event.id),
            session.map_or_else(|| NONE.into(), token),
            intent.map_or_else(|| NONE.into(), token),
            charge.map_or_else(|| NONE.into(), token),
        );
        let record = Record::Event {
            order_id: order_id.to_owned(),
            id: event.id.clone(),
            event_type: event.event_type.clone(),
            source: received.source.to_owned(),
            received: humantime::format_rfc3339_micros(received.at).to_string(),
            published,
        };
        self.write(subject, None, &record).await
    }

    /// One callback attempt (each attempt is its own message).
    pub async fn callback(
        &self,
        order_id: &str,
        webhook_id: &str,
        attempt: u32,
        record: &Record,
    ) -> Result<(), Unavailable> {
        let subject = format!(
            "{TRAIL_PREFIX}.{}.callback.{}",
            token(order_id),
            token(webhook_id)
        );
        let msg_id = format!("trail.{webhook_id}.{attempt}");
        self.write(subject, Some(&msg_id), record).await
    }

    async fn write(
        &self,
        subject: String,
        msg_id: Option<&str>,
        record: &Record,
    ) -> Result<(), Unavailable> {
        let body = serde_json::to_vec(record).expect("trail records serialise");
        let mut headers = HeaderMap::new();
        if let Some(msg_id) = msg_id {
            headers.insert(NATS_MESSAGE_ID, msg_id);
        }
        let publish = async {
            self.js
                .publish_with_headers(subject, headers, body.into())
                .await?
                .await
        };
        match tokio::time::timeout(self.timeout, publish).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Unavailable::because("recording in the payment trail", e)),
            Err(_) => Err(Unavailable::new(
                "recording in the payment trail: no acknowledgement in time",
            )),
        }
    }
}

/// The Checkout Session, payment intent and charge an event names (its object, and the objects it refers to).
pub fn objects(event: &StripeEvent) -> [Option<&str>; 3] {
    let named = [
        event.str("id"),
        event.id_of("payment_intent"),
        event.id_of("charge"),
        event.id_of("latest_charge"),
    ];
    let find = |prefixes: &[&str]| {
        named
            .iter()
            .flatten()
            .copied()
            .find(|id| prefixes.iter().any(|p| id.starts_with(p)))
    };
    [find(&["cs_"]), find(&["pi_"]), find(&["ch_", "py_"])]
}

/// An id as one subject token: itself when made of `[A-Za-z0-9_-]` (at most 128 characters), otherwise `~` and
/// its SHA-256, so no id can add a token, a wildcard or whitespace to a subject, and no two ids share a token.
pub fn token(id: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !id.is_empty() && id.len() <= 128 && id.chars().all(safe) {
        id.to_owned()
    } else {
        format!("{NONE}{}", hex::encode(Sha256::digest(id.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::{objects, token, Record};
    use crate::stripe::event::parse;

    #[test]
    fn tokens_are_single_and_distinct() {
        assert_eq!(token("pi_3RTqw0"), "pi_3RTqw0");
        for odd in ["a.b", "*", ">", "a b", "", "~"] {
            let t = token(odd);
            assert!(t.starts_with('~') && t.len() == 65, "{odd:?} → {t}");
        }
        assert_ne!(token("a.b"), token("a_b"));
        assert_eq!(token(&"x".repeat(129)).len(), 65);
    }

    #[test]
    fn an_event_names_its_session_intent_and_charge() {
        let event = parse(
            br#"{"id":"evt_1","type":"charge.dispute.created","data":{"object":
                {"id":"dp_1","charge":"ch_9","payment_intent":"pi_7"}}}"#,
        )
        .unwrap();
        assert_eq!(objects(&event), [None, Some("pi_7"), Some("ch_9")]);
        let session = parse(
            br#"{"id":"evt_2","type":"checkout.session.completed","data":{"object":
                {"id":"cs_test_1","payment_intent":"pi_7"}}}"#,
        )
        .unwrap();
        assert_eq!(objects(&session), [Some("cs_test_1"), Some("pi_7"), None]);
    }

    #[test]
    fn records_read_back_as_written() {
        let record = Record::Callback {
            order_id: "o".into(),
            url: "https://x/cb".into(),
            status: None,
            error: Some("timed out".into()),
        };
        let json = serde_json::to_string(&record).unwrap();
        assert!(json.contains(r#""kind":"callback""#), "{json}");
        assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), record);
    }
}
