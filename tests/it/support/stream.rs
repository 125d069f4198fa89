//! Messages read back from a JetStream stream, with the headers the contract names, in stream order.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use serde_json::Value;

/// A message read back from a stream.
#[derive(Debug, Clone)]
pub struct Published {
    pub subject: String,
    pub msg_id: String,
    pub event_id: String,
    pub event_type: String,
    pub body: Value,
}

/// The messages of `published` about `order`, in stream order.
pub fn of_order<'p>(published: &'p [Published], order: &str) -> Vec<&'p Published> {
    published
        .iter()
        .filter(|p| p.body["orderId"] == order)
        .collect()
}

/// Every message in the stream `name`, in order.
pub async fn read_stream(js: &jetstream::Context, name: &str) -> Vec<Published> {
    let mut stream = js.get_stream(name).await.expect("stream exists");
    let count = stream.info().await.expect("stream info").state.messages as usize;
    if count == 0 {
        return Vec::new();
    }
    let consumer = stream
        .create_consumer(pull::OrderedConfig::default())
        .await
        .expect("ordered consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("message in time")
            .expect("stream open")
            .expect("message");
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        out.push(Published {
            subject: message.subject.to_string(),
            msg_id: header("Nats-Msg-Id"),
            event_id: header("Stripe-Event-Id"),
            event_type: header("Stripe-Event-Type"),
            body: serde_json::from_slice(&message.payload).unwrap_or(Value::Null),
        });
    }
    out
}

/// How many messages the stream `name` holds now.
pub async fn stream_len(js: &jetstream::Context, name: &str) -> u64 {
    let mut stream = js.get_stream(name).await.expect("stream exists");
    stream.info().await.expect("stream info").state.messages
}
