//! The load generator's senders: one request of each kind (webhook, session over HTTP or NATS, raw JetStream
//! publish) and the HTTP connections they use.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use async_nats::jetstream;
use bytes::Bytes;

use crate::events::Pool;
use crate::load::{self, HttpConn, Outcome, Sender};
use crate::verify::{ACCEPTED, FAILED, REFUSED};

pub(super) struct Webhook {
    pub(super) conn: HttpConn,
    pub(super) pool: Rc<Pool>,
    pub(super) statuses: Rc<RefCell<Vec<u8>>>,
}

impl Sender for Webhook {
    async fn send(&mut self, i: usize) -> Outcome {
        let g = self.pool.base + i;
        // FAILED until answered: a request cancelled by the timeout stays FAILED.
        self.statuses.borrow_mut()[g] = FAILED;
        let outcome = match self.conn.exchange(self.pool.request(i)).await {
            Ok((s, _)) if (200..300).contains(&s) => Outcome::Ok,
            Ok((s, _)) => Outcome::Status(s),
            Err(_) => Outcome::Error,
        };
        self.statuses.borrow_mut()[g] = match outcome {
            Outcome::Ok => ACCEPTED,
            Outcome::Status(_) => REFUSED,
            Outcome::Error => FAILED,
        };
        outcome
    }
}

/// Any HTTP request whose 2xx means success (session creation, over HTTP or straight to the stand-in).
pub(super) struct Http {
    pub(super) conn: HttpConn,
    pub(super) pool: Rc<Pool>,
}

impl Sender for Http {
    async fn send(&mut self, i: usize) -> Outcome {
        match self.conn.exchange(self.pool.request(i)).await {
            Ok((s, body)) if (200..300).contains(&s) && load::find(body, b"\"url\"").is_some() => {
                Outcome::Ok
            }
            Ok((s, _)) if (200..300).contains(&s) => Outcome::Status(299),
            Ok((s, _)) => Outcome::Status(s),
            Err(_) => Outcome::Error,
        }
    }
}

/// A NestJS `send(subject, dto)`: request-reply on NATS with the NestJS envelope. The subject is
/// `create.payment.session` for the service, `bench.echo` for the no-op responder (the floor).
pub(super) struct NestJs {
    pub(super) client: async_nats::Client,
    pub(super) subject: &'static str,
    pub(super) pool: Rc<Pool>,
}

impl Sender for NestJs {
    async fn send(&mut self, i: usize) -> Outcome {
        let payload = Bytes::copy_from_slice(self.pool.request(i));
        match self.client.request(self.subject, payload).await {
            Ok(reply)
                if load::find(&reply.payload, b"\"response\"").is_some()
                    && load::find(&reply.payload, b"\"err\"").is_none() =>
            {
                Outcome::Ok
            }
            Ok(_) => Outcome::Status(500),
            Err(_) => Outcome::Error,
        }
    }
}

/// A bare JetStream publish-with-ack, as a minimal client does it.
pub(super) struct RawPublish {
    pub(super) js: jetstream::Context,
    pub(super) pool: Rc<Pool>,
}

impl Sender for RawPublish {
    async fn send(&mut self, i: usize) -> Outcome {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            "Nats-Msg-Id",
            format!("raw.{}", self.pool.base + i).as_str(),
        );
        headers.insert("Stripe-Event-Type", "charge.succeeded");
        let body = Bytes::copy_from_slice(self.pool.body(i));
        match self
            .js
            .publish_with_headers("bench.raw.charge.succeeded", headers, body)
            .await
        {
            Ok(ack) => match ack.await {
                Ok(ack) if !ack.duplicate => Outcome::Ok,
                Ok(_) => Outcome::Status(409),
                Err(_) => Outcome::Error,
            },
            Err(_) => Outcome::Error,
        }
    }
}

pub(super) async fn http_conns(targets: &[SocketAddr], n: usize) -> Vec<HttpConn> {
    let mut conns = Vec::with_capacity(n);
    for w in 0..n {
        // Round-robin over the replicas: connection w goes to replica w mod R.
        let mut conn = HttpConn::new(targets[w % targets.len()]);
        if let Err(e) = conn.connect().await {
            eprintln!("  connect {}: {e}", targets[w % targets.len()]);
        }
        conns.push(conn);
    }
    conns
}
