//! `proto/` and the code cannot drift: the JSON the service really produces (and accepts) for every NATS message
//! is parsed as the proto3 JSON form of its message, with unknown fields refused, and printed back identically.
//! The `.proto` files are compiled here in pure Rust (protox): no `protoc` is needed.

use std::collections::BTreeSet;

use payments::{
    error::Error,
    nats::envelope::{self, ErrorBody},
    payment::{
        checkout::{CreateSession, SessionCreated},
        outcome::Message,
    },
};
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::{json, value::RawValue, Value};

fn pool() -> DescriptorPool {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/proto");
    let files: Vec<String> = std::fs::read_dir(format!("{root}/payments/v1"))
        .unwrap()
        .map(|e| format!("payments/v1/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|f| f.ends_with(".proto"))
        .collect();
    protox::Compiler::new([root])
        .unwrap()
        .open_files(files)
        .expect("proto/ compiles")
        .descriptor_pool()
}

/// Parses `json` as `message` (unknown fields are an error) and prints it back in proto3 JSON.
fn through_proto(pool: &DescriptorPool, message: &str, json: &[u8]) -> Value {
    let descriptor = pool
        .get_message_by_name(&format!("payments.v1.{message}"))
        .expect(message);
    let mut de = serde_json::Deserializer::from_slice(json);
    let dynamic = DynamicMessage::deserialize(descriptor, &mut de).unwrap_or_else(|e| {
        panic!(
            "{message} does not accept {}: {e}",
            String::from_utf8_lossy(json)
        )
    });
    let mut out = serde_json::Serializer::new(Vec::new());
    dynamic
        .serialize_with_options(
            &mut out,
            &SerializeOptions::new().skip_default_fields(false),
        )
        .unwrap();
    serde_json::from_slice(&out.into_inner()).unwrap()
}

fn assert_same(pool: &DescriptorPool, covered: &mut BTreeSet<String>, message: &str, json: &[u8]) {
    covered.insert(format!("payments.v1.{message}"));
    let ours: Value = serde_json::from_slice(json).unwrap();
    assert_eq!(
        through_proto(pool, message, json),
        ours,
        "{message} drifted from proto/"
    );
}

#[test]
fn every_nats_message_is_the_proto3_json_of_its_proto_message() {
    let pool = pool();
    let mut covered = BTreeSet::new();

    let request = br#"{"orderId":"3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69","currency":"usd","items":[{"name":"T-Shirt","price":20.5,"quantity":2}]}"#;
    assert!(
        payments::payment::checkout::CreateSession::from_json(request).is_ok(),
        "the service accepts it"
    );
    assert_same(&pool, &mut covered, "CreatePaymentSessionRequest", request);
    covered.insert("payments.v1.Item".into());

    let created = SessionCreated {
        session_id: "cs_test_a1".into(),
        url: Some("https://checkout.stripe.com/c/pay/cs_test_a1".into()),
        success_url: Some("https://shop.example/success".into()),
        cancel_url: Some("https://shop.example/cancel".into()),
        expires_at: 1_753_626_288,
    };
    let created_json = serde_json::to_vec(&created).unwrap();
    assert_same(
        &pool,
        &mut covered,
        "CreatePaymentSessionResponse",
        &created_json,
    );

    let invalid =
        br#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":0,"quantity":1}]}"#;
    let error = Error::from(CreateSession::from_json(invalid).unwrap_err());
    let body = ErrorBody::of(&error);
    assert_eq!(body.message, "items[0].price must be a positive number");
    assert_same(
        &pool,
        &mut covered,
        "Error",
        &serde_json::to_vec(&body).unwrap(),
    );
    let _: ErrorBody = serde_json::from_slice(&serde_json::to_vec(&body).unwrap()).unwrap();

    let packet = format!(
        r#"{{"pattern":"create.payment.session","data":{},"id":"a58ecc2686175684694c7"}}"#,
        String::from_utf8_lossy(request)
    );
    assert_same(&pool, &mut covered, "NestRequest", packet.as_bytes());
    let id = RawValue::from_string(r#""a58ecc2686175684694c7""#.into()).unwrap();
    assert_same(
        &pool,
        &mut covered,
        "NestReply",
        &envelope::nest_reply(&id, &Ok::<_, Error>(created)),
    );
    assert_same(
        &pool,
        &mut covered,
        "NestReply",
        &envelope::nest_reply::<SessionCreated>(&id, &Err(error)),
    );

    // Every event variant; the match has no wildcard, so a new variant cannot skip this test.
    let events = [
        Message::Succeeded {
            stripe_payment_id: "ch_1".into(),
            order_id: "o-1".into(),
            receipt_url: "https://pay.stripe.com/receipts/r".into(),
        },
        Message::AttemptFailed {
            order_id: "o-1".into(),
            stripe_payment_id: "pi_1".into(),
            reason: "Your card was declined.".into(),
        },
        Message::Failed {
            order_id: "o-1".into(),
            stripe_payment_id: "pi_1".into(),
            reason: "the delayed payment failed".into(),
        },
        Message::Expired {
            order_id: "o-1".into(),
            session_id: "cs_test_1".into(),
        },
        Message::Refunded {
            order_id: "o-1".into(),
            stripe_payment_id: "ch_1".into(),
            amount_refunded: 100,
            currency: "usd".into(),
            fully_refunded: false,
        },
        Message::Disputed {
            order_id: "o-1".into(),
            stripe_payment_id: "ch_1".into(),
            dispute_id: "du_1".into(),
            amount: 2050,
            currency: "usd".into(),
            reason: "fraudulent".into(),
        },
        Message::DisputeClosed {
            order_id: "o-1".into(),
            stripe_payment_id: "ch_1".into(),
            dispute_id: "du_1".into(),
            status: "won".into(),
        },
    ];
    for event in &events {
        let name = match event {
            Message::Succeeded { .. } => "PaymentSucceeded",
            Message::AttemptFailed { .. } => "PaymentAttemptFailed",
            Message::Failed { .. } => "PaymentFailed",
            Message::Expired { .. } => "PaymentExpired",
            Message::Refunded { .. } => "PaymentRefunded",
            Message::Disputed { .. } => "PaymentDisputed",
            Message::DisputeClosed { .. } => "PaymentDisputeClosed",
        };
        assert_same(&pool, &mut covered, name, &event.to_json());
    }

    let failed = payments::callback::Failed {
        id: "cs_test_1",
        order_id: "o-1",
        url: "https://orders.example.com/hooks/payments",
        attempts: 6,
        last_status: 503,
    };
    assert_same(
        &pool,
        &mut covered,
        "PaymentCallbackFailed",
        &serde_json::to_vec(&failed).unwrap(),
    );

    let declared: BTreeSet<String> = pool
        .all_messages()
        .map(|m| m.full_name().to_owned())
        .filter(|n| n.starts_with("payments.v1."))
        .collect();
    assert_eq!(
        declared, covered,
        "every proto message has a test against the code, and no test lacks one"
    );
}

#[test]
fn a_field_the_proto_lacks_is_caught() {
    let pool = pool();
    let descriptor = pool
        .get_message_by_name("payments.v1.PaymentSucceeded")
        .unwrap();
    let extra =
        json!({"stripePaymentId": "ch_1", "orderId": "o", "receiptUrl": "https://x", "amount": 5})
            .to_string();
    let mut de = serde_json::Deserializer::from_str(&extra);
    assert!(
        DynamicMessage::deserialize(descriptor, &mut de).is_err(),
        "the drift check would notice an extra key"
    );
}
