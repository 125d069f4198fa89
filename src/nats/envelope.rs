//! The two wire formats of `create.payment.session`, told apart per message (CONTRACT §3):
//! NestJS `ClientProxy.send` packets `{"pattern","data","id"}` and plain JSON bodies of any NATS client; and the
//! one mapping of errors to what NATS callers get: a status, the `{"status","message"}` body (alone, or as the
//! NestJS `err`), and the `Nats-Service-Error` headers.

use std::str::FromStr;

use async_nats::{HeaderMap, HeaderValue};
use serde::{de::IgnoredAny, Deserialize, Serialize};
use serde_json::value::RawValue;

use super::idempotency::ClaimError;
use crate::{error::Error, stripe::client::StripeError};

/// A request as it arrived.
#[derive(Debug)]
pub enum Incoming<'a> {
    /// A NestJS packet; without `id` it is an event and gets no reply.
    NestJs {
        id: Option<Box<RawValue>>,
        data: Option<Box<RawValue>>,
    },
    /// Anything else: the body is the request object itself.
    Plain(&'a [u8]),
}

#[derive(Deserialize)]
struct Packet {
    pattern: Option<IgnoredAny>,
    data: Option<Box<RawValue>>,
    id: Option<Box<RawValue>>,
}

/// NestJS packets are recognised by their `pattern` key; the create object has no such field.
pub fn classify(payload: &[u8]) -> Incoming<'_> {
    match serde_json::from_slice::<Packet>(payload) {
        Ok(Packet {
            pattern: Some(_),
            data,
            id,
        }) => Incoming::NestJs {
            id: id.filter(|id| id.get() != "null"),
            data,
        },
        _ => Incoming::Plain(payload),
    }
}

/// `{"status":400,"message":"…"}`: a plain reply's body, and a NestJS reply's `err`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub status: u16,
    pub message: String,
}

impl ErrorBody {
    /// The status is the one an HTTP caller gets for the same error (CONTRACT §3: NestJS callers read it).
    pub fn of(error: &Error) -> Self {
        let status = match error {
            Error::Invalid(_) | Error::Callback(_) => 400,
            Error::Claim(ClaimError::Conflict(_)) => 409,
            Error::Stripe(StripeError::Unavailable { .. })
            | Error::Claim(ClaimError::Unavailable(_))
            | Error::Unavailable(_) => 503,
            Error::Stripe(_) => 502,
            Error::Internal(_) => 500,
        };
        ErrorBody {
            status,
            message: error.client_message(),
        }
    }

    /// `Nats-Service-Error` and `Nats-Service-Error-Code`, as the NATS service API sets them.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        // Fallible conversion: the message may quote data from outside; a bad one must not panic. Header values
        // cannot hold line breaks.
        let text =
            HeaderValue::from_str(&self.message.replace(['\r', '\n'], " ")).unwrap_or_default();
        headers.insert("Nats-Service-Error", text);
        headers.insert("Nats-Service-Error-Code", self.status.to_string().as_str());
        headers
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NestReply<'a, T: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<&'a T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    err: Option<ErrorBody>,
    is_disposed: bool,
    id: &'a RawValue,
}

/// `{"response":…,"isDisposed":true,"id":…}` or `{"err":{"status","message"},"isDisposed":true,"id":…}`:
/// one reply, which NestJS's `ClientProxy` resolves (or rejects) and disposes.
pub fn nest_reply<T: Serialize>(id: &RawValue, result: &Result<T, Error>) -> Vec<u8> {
    let reply = match result {
        Ok(response) => NestReply {
            response: Some(response),
            err: None,
            is_disposed: true,
            id,
        },
        Err(error) => NestReply {
            response: None,
            err: Some(ErrorBody::of(error)),
            is_disposed: true,
            id,
        },
    };
    serde_json::to_vec(&reply).expect("reply serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nest_packets_and_plain_bodies_are_told_apart() {
        let nest = br#"{"pattern":"create.payment.session","data":{"orderId":"o"},"id":"a58ecc2686175684694c7"}"#;
        match classify(nest) {
            Incoming::NestJs { id, data } => {
                assert_eq!(id.unwrap().get(), r#""a58ecc2686175684694c7""#);
                assert_eq!(data.unwrap().get(), r#"{"orderId":"o"}"#);
            }
            other => panic!("{other:?}"),
        }
        let event = br#"{"pattern":"create.payment.session","data":{}}"#;
        assert!(matches!(classify(event), Incoming::NestJs { id: None, .. }));
        for plain in [
            &br#"{"orderId":"o","currency":"usd","items":[]}"#[..],
            b"not json",
            b"[]",
        ] {
            assert!(matches!(classify(plain), Incoming::Plain(_)));
        }
    }

    #[test]
    fn nest_replies_have_exactly_the_envelope_keys() {
        let id = RawValue::from_string(r#""x1""#.into()).unwrap();
        let ok: Result<_, Error> = Ok(serde_json::json!({"sessionId":"cs_1"}));
        let v: serde_json::Value = serde_json::from_slice(&nest_reply(&id, &ok)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"response":{"sessionId":"cs_1"},"isDisposed":true,"id":"x1"})
        );
        let err: Result<serde_json::Value, Error> =
            Err(crate::payment::checkout::Invalid::Missing("orderId".into()).into());
        let v: serde_json::Value = serde_json::from_slice(&nest_reply(&id, &err)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"err":{"status":400,"message":"orderId is required"},"isDisposed":true,"id":"x1"})
        );
    }
}
