use proptest::prelude::*;

use super::*;

const CHARGE: &str = include_str!("../../../tests/fixtures/stripe/charge.succeeded.json");

#[test]
fn reads_the_envelope_and_the_object() {
    let event = parse(CHARGE.as_bytes()).unwrap();
    assert_eq!(event.id, "evt_3RTqw0RMEOaIvYpU1k2TFajH");
    assert_eq!(event.event_type, "charge.succeeded");
    assert_eq!(event.str("id"), Some("ch_3RTqw0RMEOaIvYpU1M9ZYtjP"));
    assert_eq!(
        event.id_of("payment_intent"),
        Some("pi_3RTqw0RMEOaIvYpU1pQl3Lmp")
    );
    assert_eq!(event.int("amount"), Some(100));
    assert_eq!(event.metadata("orderId"), None);
    let head = EventHead::parse(CHARGE.as_bytes()).unwrap();
    assert_eq!(
        (head.id.as_str(), head.event_type.as_str()),
        (event.id.as_str(), "charge.succeeded")
    );
}

#[test]
fn an_old_api_version_shape_parses() {
    // 2017-08-15: no `request` object, `charges` embedded in intents, fewer fields.
    let body = r#"{"id":"evt_old","object":"event","api_version":"2017-08-15","created":1500000000,
        "data":{"object":{"id":"ch_old","object":"charge","amount":500,"metadata":{"orderId":"o-1"},
        "paid":true,"receipt_url":null}},"livemode":false,"pending_webhooks":1,"request":null,
        "type":"charge.succeeded"}"#;
    let event = parse(body.as_bytes()).unwrap();
    assert_eq!(event.metadata("orderId"), Some("o-1"));
    assert_eq!(event.str("receipt_url"), None);
}

#[test]
fn documented_errors_only() {
    assert_eq!(parse(b"nope"), Err(EventError::NotJson));
    assert_eq!(parse(b""), Err(EventError::NotJson));
    assert!(matches!(
        parse(br#"{"id":"evt_1","type":"x"}"#),
        Err(EventError::NotAnEvent(_))
    ));
    assert!(matches!(
        parse(br#"{"id":1,"type":"x","data":{"object":{}}}"#),
        Err(EventError::NotAnEvent(_))
    ));
    assert!(matches!(parse(br#"[]"#), Err(EventError::NotAnEvent(_))));
    assert!(matches!(
        EventHead::parse(br#"{"id":"","type":"x"}"#),
        Err(EventError::NotAnEvent(_))
    ));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&body);
        let _ = EventHead::parse(&body);
    }

    #[test]
    fn arbitrary_json_objects_never_panic(
        id in ".{0,20}", ty in ".{0,30}",
        object in proptest::collection::hash_map("[a-z_]{1,12}", any::<i64>(), 0..8),
    ) {
        let body = serde_json::json!({"id": id, "type": ty, "data": {"object": object}}).to_string();
        match parse(body.as_bytes()) {
            Ok(event) => prop_assert_eq!(event.id, id),
            Err(EventError::NotAnEvent(_)) => prop_assert!(id.is_empty() || ty.is_empty()),
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
        }
    }
}

#[test]
fn only_the_used_fields_are_kept() {
    let event = parse(CHARGE.as_bytes()).unwrap();
    assert!(event.object.contains_key("receipt_url"));
    assert!(
        !event.object.contains_key("payment_method_details"),
        "skipped, not built"
    );
    assert!(!event.object.contains_key("billing_details"));
}
