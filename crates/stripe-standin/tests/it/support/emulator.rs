//! An emulator with a webhook receiver and the typed client, for the tests of the flows beyond a plain payment.

use std::time::Duration;

use serde_json::Value;
use stripe_standin::{Method, Paid, StandIn};

use super::receiver::{Receiver, SECRET};
use super::{client, raw};

pub const WAIT: Duration = Duration::from_secs(10);
pub const PAID: [&str; 3] = [
    "charge.succeeded",
    "payment_intent.succeeded",
    "checkout.session.completed",
];

pub struct Emulator {
    pub receiver: Receiver,
    pub standin: StandIn,
    pub client: stripe::Client,
}

pub async fn emulator() -> Emulator {
    let receiver = Receiver::start().await;
    let standin = receiver.standin().start().await;
    let client = client::client(&standin);
    Emulator {
        receiver,
        standin,
        client,
    }
}

impl Emulator {
    /// A new session of 41.00 USD for order `ord_42`, paid with `method`.
    pub async fn pay(&self, method: Method) -> Paid {
        let session = client::t_shirts().send(&self.client).await.unwrap();
        self.standin.pay(session.id.as_str(), method).await.unwrap()
    }

    /// Waits for `expected` (all events so far, in order), each verified; the events.
    pub async fn expect(&self, expected: &[&str]) -> Vec<Value> {
        let n = expected.len();
        assert!(
            self.standin.wait_delivered(n, WAIT).await,
            "{:?}",
            self.standin.deliveries()
        );
        assert_eq!(self.receiver.delivered_types(), expected);
        self.receiver
            .received()
            .iter()
            .map(|r| {
                r.verify(SECRET);
                r.event()
            })
            .collect()
    }

    pub async fn admin(&self, path: &str, body: Value) -> (u16, Value) {
        raw::admin(&self.standin, path, &body).await
    }
}
