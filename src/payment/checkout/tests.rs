use super::*;

fn parse(body: &str) -> Result<CreateSession, String> {
    CreateSession::from_json(body.as_bytes()).map_err(|e| e.to_string())
}

const VALID: &str = r#"{"orderId":"3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69","currency":"usd",
 "items":[{"name":"T-Shirt","price":20.5,"quantity":2}]}"#;

#[test]
fn a_valid_request_converts_exactly() {
    let req = parse(VALID).unwrap();
    assert_eq!(req.order_id, "3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69");
    assert_eq!(req.currency.code(), "usd");
    assert_eq!(
        req.items,
        vec![LineItem {
            name: "T-Shirt".into(),
            unit_amount: 2050,
            quantity: 2
        }]
    );
}

#[test]
fn every_rule_names_its_field() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"orderId":"","currency":"usd","items":[{"name":"a","price":1,"quantity":1}]}"#,
            "orderId must be a non-empty string",
        ),
        (
            r#"{"orderId":7,"currency":"usd","items":[{"name":"a","price":1,"quantity":1}]}"#,
            "orderId must be a non-empty string",
        ),
        (
            r#"{"currency":"usd","items":[{"name":"a","price":1,"quantity":1}]}"#,
            "orderId is required",
        ),
        (
            r#"{"orderId":"o","currency":"dollars","items":[{"name":"a","price":1,"quantity":1}]}"#,
            "currency must be a three-letter ISO 4217 code of a currency Stripe supports",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[]}"#,
            "items must be a non-empty array of at most 100 items",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":{}}"#,
            "items must be a non-empty array of at most 100 items",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":" ","price":1,"quantity":1}]}"#,
            "items[0].name must be a non-empty string",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":1,"quantity":1},{"name":"b","price":0,"quantity":1}]}"#,
            "items[1].price must be a positive number",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":-3,"quantity":1}]}"#,
            "items[0].price must be a positive number",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":"20","quantity":1}]}"#,
            "items[0].price must be a positive number",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":null,"quantity":1}]}"#,
            "items[0].price must be a positive number",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":1.005,"quantity":1}]}"#,
            "items[0].price has more decimals than the currency allows (2)",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":1,"quantity":0}]}"#,
            "items[0].quantity must be a positive integer",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":1,"quantity":1.5}]}"#,
            "items[0].quantity must be a positive integer",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":1,"quantity":-1}]}"#,
            "items[0].quantity must be a positive integer",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":1}]}"#,
            "items[0].quantity is required",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":1,"quantity":1}],"coupon":"x"}"#,
            "property coupon should not exist",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":1,"quantity":1,"sku":"x"}]}"#,
            "property items[0].sku should not exist",
        ),
        (r#"[1,2]"#, "body must be a JSON object"),
        // `null` is a value of the wrong type, not an absent property.
        (
            r#"{"orderId":null,"currency":"usd","items":[{"name":"a","price":1,"quantity":1}]}"#,
            "orderId must be a non-empty string",
        ),
        // The first problem in the body's order, whichever kind it is.
        (
            r#"{"coupon":1,"orderId":7,"currency":"usd","items":[{"name":"a","price":1,"quantity":1}]}"#,
            "property coupon should not exist",
        ),
        (
            r#"{"orderId":7,"coupon":1,"currency":"usd","items":[{"name":"a","price":1,"quantity":1}]}"#,
            "orderId must be a non-empty string",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":1,"quantity":1}],"callback":{"method":"PUT"}}"#,
            "callback.url is required",
        ),
        (
            r#"{"orderId":"o","currency":"usd","items":[{"name":"a","price":1,"quantity":1}],"callback":{"url":"https://x.example","to":1}}"#,
            "property callback.to should not exist",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(body).unwrap_err(), *expected, "body: {body}");
    }
}

#[test]
fn non_json_is_refused_with_its_position() {
    let msg = parse("orderId=1").unwrap_err();
    assert!(msg.starts_with("body is not valid JSON"), "{msg}");
    assert!(parse("").unwrap_err().starts_with("body is not valid JSON"));
}

#[test]
fn minor_units_for_usd_jpy_kwd() {
    let body = |cur: &str, price: &str| {
        format!(
            r#"{{"orderId":"o","currency":"{cur}","items":[{{"name":"a","price":{price},"quantity":1}}]}}"#
        )
    };
    assert_eq!(
        parse(&body("USD", "20.5")).unwrap().items[0].unit_amount,
        2050
    );
    assert_eq!(
        parse(&body("jpy", "1000")).unwrap().items[0].unit_amount,
        1000
    );
    assert_eq!(
        parse(&body("kwd", "1.23")).unwrap().items[0].unit_amount,
        1230
    );
    assert_eq!(parse(&body("isk", "5")).unwrap().items[0].unit_amount, 500);
    assert!(parse(&body("jpy", "1000.5")).is_err());
}

#[test]
fn stripe_amount_rules_name_the_price() {
    let body = |cur: &str, price: &str| {
        format!(
            r#"{{"orderId":"o","currency":"{cur}","items":[{{"name":"a","price":1,"quantity":1}},{{"name":"b","price":{price},"quantity":1}}]}}"#
        )
    };
    assert_eq!(
        parse(&body("kwd", "1.234")).unwrap_err(),
        "items[1].price must be a multiple of 0.010 kwd: Stripe accepts kwd amounts whose last decimal is 0"
    );
    assert_eq!(
        parse(&body("ISK", "5.5")).unwrap_err(),
        "items[1].price must be a whole number of isk: Stripe accepts no fraction of it"
    );
    assert_eq!(
        parse(&body("usd", "1000000")).unwrap_err(),
        "items[1].price is above Stripe's maximum unit amount of 999999.99 usd"
    );
    for currency in ["abc", "xxx", "XXX"] {
        assert_eq!(
            parse(&body(currency, "1")).unwrap_err(),
            "currency must be a three-letter ISO 4217 code of a currency Stripe supports"
        );
    }
}

#[test]
fn idempotency_key_follows_the_canonical_request() {
    let key = |request: CreateSession| {
        crate::payment::idempotency::IdempotencyKey::derived(&request)
            .as_str()
            .to_owned()
    };
    let a = key(parse(VALID).unwrap());
    let same = key(parse(r#"{"items":[{"quantity":2,"price":20.50,"name":"T-Shirt"}],"currency":"USD","orderId":"3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69"}"#)
        .unwrap());
    let other = key(parse(&VALID.replace("20.5", "20.6")).unwrap());
    assert_eq!(a, same);
    assert_ne!(a, other);
    assert!(a.len() <= 255);
}
