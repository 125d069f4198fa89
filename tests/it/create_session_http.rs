//! `POST /payments/create-session` over real HTTP, against the Stripe stand-in and a real nats-server.

use std::time::Duration;

use serde_json::{json, Value};
use stripe_standin::Fault;

use crate::support::{self, keys, TestApp, ORDER};

fn body(currency: &str, price: &str) -> String {
    format!(
        r#"{{"orderId":"{ORDER}","currency":"{currency}","items":[{{"name":"T-Shirt","price":{price},"quantity":2}}]}}"#
    )
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// Each request is refused with 400 and its message.
async fn refused_with<M: AsRef<str>>(app: &TestApp, cases: impl IntoIterator<Item = (String, M)>) {
    for (request, message) in cases {
        let (status, reply) = create(app, &request).await;
        let expected = json!({"status": 400, "message": message.as_ref()});
        assert_eq!((status, reply), (400, expected), "{request}");
    }
}

/// `POST /payments/create-session` with `request`; the status and the JSON reply.
async fn create(app: &TestApp, request: &str) -> (u16, Value) {
    json_of(app.post_json("/payments/create-session", request).await).await
}

#[tokio::test]
async fn creates_a_session_with_the_fields_stripe_expects() {
    let app = TestApp::spawn().await;
    let (status, reply) = create(&app, &body("usd", "20.5")).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        keys(&reply),
        ["cancelUrl", "expiresAt", "sessionId", "successUrl", "url"]
    );
    assert!(reply["sessionId"].as_str().unwrap().starts_with("cs_test_"));
    assert_eq!(
        reply["successUrl"],
        "http://localhost:3000/payments/success"
    );
    assert_eq!(reply["cancelUrl"], "http://localhost:3000/payments/cancel");
    assert!(reply["expiresAt"].as_i64().unwrap() > support::now());

    let requests = app.standin.requests();
    let create = requests
        .iter()
        .find(|r| r.path == "/v1/checkout/sessions")
        .expect("Stripe called");
    assert_eq!(create.method, "POST");
    assert_eq!(
        create.header("authorization"),
        Some(format!("Bearer {}", support::STRIPE_SECRET).as_str())
    );
    let expected = [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][product_data][name]", "T-Shirt"),
        ("line_items[0][price_data][unit_amount]", "2050"),
        ("line_items[0][quantity]", "2"),
        ("client_reference_id", ORDER),
        ("metadata[orderId]", ORDER),
        ("payment_intent_data[metadata][orderId]", ORDER),
        ("success_url", "http://localhost:3000/payments/success"),
        ("cancel_url", "http://localhost:3000/payments/cancel"),
    ];
    for (key, value) in expected {
        assert_eq!(create.form_value(key), Some(value), "form field {key}");
    }
    assert!(create.header("idempotency-key").is_some());
}

#[tokio::test]
async fn exact_minor_units_for_usd_jpy_kwd_and_the_alias_route() {
    let app = TestApp::spawn().await;
    for (currency, price, minor) in [
        ("usd", "19.99", "1999"),
        ("JPY", "1000", "1000"),
        ("kwd", "1.23", "1230"),
        ("ISK", "5", "500"),
    ] {
        let response = app
            .post_json("/payments/create-payment-session", &body(currency, price))
            .await;
        assert_eq!(response.status(), 200, "{currency}");
        let last = app.standin.requests().pop().unwrap();
        assert_eq!(
            last.form_value("line_items[0][price_data][unit_amount]"),
            Some(minor)
        );
        assert_eq!(
            last.form_value("line_items[0][price_data][currency]"),
            Some(currency.to_lowercase().as_str())
        );
    }
}

#[tokio::test]
async fn invalid_requests_get_400_naming_the_field_and_reach_no_stripe() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            body("usd", "-1"),
            "items[0].price must be a positive number",
        ),
        (
            body("usd", "1.001"),
            "items[0].price has more decimals than the currency allows (2)",
        ),
        (
            body("jpy", "10.5"),
            "items[0].price has more decimals than the currency allows (0)",
        ),
        (
            body("usdollar", "1"),
            "currency must be a three-letter ISO 4217 code of a currency Stripe supports",
        ),
        (
            body("usd", "1").replace("\"quantity\":2", "\"quantity\":0"),
            "items[0].quantity must be a positive integer",
        ),
        (
            body("usd", "1").replace("}]}", "}],\"extra\":1}"),
            "property extra should not exist",
        ),
        (
            r#"{"currency":"usd","items":[]}"#.to_owned(),
            "orderId is required",
        ),
        ("[]".to_owned(), "body must be a JSON object"),
    ];
    refused_with(&app, cases).await;
    let (status, reply) = create(&app, "{not json").await;
    assert_eq!(status, 400);
    assert!(reply["message"]
        .as_str()
        .unwrap()
        .starts_with("body is not valid JSON"));
    assert!(
        app.standin.requests().is_empty(),
        "no invalid request reaches Stripe"
    );
}

#[tokio::test]
async fn currencies_and_stripes_amount_rules_are_400s_before_stripe() {
    let app = TestApp::spawn().await;
    let currency = "currency must be a three-letter ISO 4217 code of a currency Stripe supports";
    let cases = [
        (body("abc", "1"), currency.to_owned()),
        (body("xxx", "1"), currency.to_owned()),
        (
            body("kwd", "1.234"),
            "items[0].price must be a multiple of 0.010 kwd: Stripe accepts kwd amounts whose last decimal is 0"
                .to_owned(),
        ),
        (
            body("isk", "5.5"),
            "items[0].price must be a whole number of isk: Stripe accepts no fraction of it".to_owned(),
        ),
        (
            body("usd", "1000000"),
            "items[0].price is above Stripe's maximum unit amount of 999999.99 usd".to_owned(),
        ),
        (
            body("jpy", "100000000"),
            "items[0].price is above Stripe's maximum unit amount of 99999999 jpy".to_owned(),
        ),
    ];
    refused_with(&app, cases).await;
    assert!(
        app.standin.requests().is_empty(),
        "no refused amount reaches Stripe"
    );
    // The limits themselves are accepted, and reach Stripe (the stand-in checks the same rules) as such.
    for (currency, price, minor) in [
        ("usd", "999999.99", "99999999"),
        ("kwd", "99999.99", "99999990"),
        ("isk", "999999", "99999900"),
    ] {
        let (status, reply) = create(&app, &body(currency, price)).await;
        assert_eq!(status, 200, "{currency} {price}: {reply}");
        let last = app.standin.requests().pop().unwrap();
        assert_eq!(
            last.form_value("line_items[0][price_data][unit_amount]"),
            Some(minor)
        );
    }
}

#[tokio::test]
async fn wrong_content_type_is_415_and_oversized_is_413() {
    let app = TestApp::spawn_with(&[("HTTP_BODY_LIMIT", "2048")]).await;
    let response = app
        .http
        .post(app.url("/payments/create-session"))
        .header("content-type", "text/plain")
        .body(body("usd", "1"))
        .send()
        .await
        .unwrap();
    let (status, reply) = json_of(response).await;
    assert_eq!((status, reply["status"].as_u64()), (415, Some(415)));

    let huge = body("usd", "1").replace("T-Shirt", &"x".repeat(4096));
    let (status, reply) = create(&app, &huge).await;
    assert_eq!(status, 413);
    assert_eq!(
        reply["message"],
        "request body is larger than the limit of 2048 bytes"
    );
}

#[tokio::test]
async fn stripe_refusal_is_502_with_stripes_message() {
    let app = TestApp::spawn().await;
    // Stripe's refusal (its message passed on) and Stripe's own failure: both 502.
    let cases = [
        (
            400,
            "invalid_request_error",
            "Amount must convert to at least 50 cents.",
            "mxn",
            "1",
            true,
        ),
        (500, "api_error", "Something went wrong", "usd", "2", false),
    ];
    for (stripe_status, error_type, message, currency, order, passed_on) in cases {
        let fault = Fault::Error {
            status: stripe_status,
            error_type: error_type.into(),
            message: message.into(),
        };
        app.standin.inject(fault, 1);
        let request = body(currency, order);
        let (status, reply) = create(&app, &request).await;
        assert_eq!(status, 502, "{reply}");
        if passed_on {
            assert_eq!(
                reply["message"],
                format!("Stripe refused the request: {message}")
            );
        }
    }
}

#[tokio::test]
async fn slow_or_unreachable_stripe_is_503() {
    let app = TestApp::spawn_with(&[("STRIPE_TIMEOUT", "300ms")]).await;
    app.standin.inject(Fault::Delay(Duration::from_secs(3)), 1);
    let (status, reply) = create(&app, &body("usd", "1")).await;
    assert_eq!(status, 503, "{reply}");
    assert_eq!(
        reply["message"],
        "Stripe is unavailable: Stripe did not answer in time"
    );

    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let base = format!("http://127.0.0.1:{port}");
    let down = TestApp::spawn_with(&[("STRIPE_API_BASE", base.as_str())]).await;
    let (status, reply) = json_of(
        down.post_json("/payments/create-session", &body("usd", "1"))
            .await,
    )
    .await;
    assert_eq!(status, 503, "{reply}");
    assert!(!reply["message"]
        .as_str()
        .unwrap()
        .contains(support::STRIPE_SECRET));
}

#[tokio::test]
async fn a_retried_identical_request_returns_the_same_session() {
    let app = TestApp::spawn().await;
    let (_, first) = create(&app, &body("usd", "20.5")).await;
    // Same request, written differently (key order, trailing zero, currency case).
    let again = format!(
        r#"{{"items":[{{"quantity":2,"price":20.50,"name":"T-Shirt"}}],"currency":"USD","orderId":"{ORDER}"}}"#
    );
    let (_, second) = create(&app, &again).await;
    assert_eq!(first["sessionId"], second["sessionId"]);
    assert_eq!(app.standin.sessions_created(), 1);

    // A caller's Idempotency-Key wins over the derived one.
    let keyed = |key: &'static str| {
        app.http
            .post(app.url("/payments/create-session"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body("usd", "20.5"))
            .send()
    };
    let (_, third) = json_of(keyed("order-42-attempt-1").await.unwrap()).await;
    assert_ne!(third["sessionId"], first["sessionId"]);
    assert_eq!(
        app.standin
            .requests()
            .last()
            .unwrap()
            .header("idempotency-key"),
        Some("order-42-attempt-1")
    );
    let (_, fourth) = json_of(keyed("order-42-attempt-1").await.unwrap()).await;
    assert_eq!(third["sessionId"], fourth["sessionId"]);
    assert_eq!(app.standin.sessions_created(), 2);
}

#[tokio::test]
async fn a_key_used_for_another_request_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let keyed = |key: &str, body: String| {
        app.http
            .post(app.url("/payments/create-session"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body)
            .send()
    };
    let (status, first) = json_of(keyed("cart-7", body("usd", "20.5")).await.unwrap()).await;
    assert_eq!(status, 200, "{first}");
    let requests_to_stripe = app.standin.requests().len();
    let conflict =
        json!({"status": 409, "message": "Idempotency-Key cart-7 was used for another request"});
    // Another price, currency, order, quantity, callback or metadata under the same key.
    let others = [
        body("usd", "20.6"),
        body("eur", "20.5"),
        body("usd", "20.5").replace(ORDER, "another-order"),
        body("usd", "20.5").replace("\"quantity\":2", "\"quantity\":3"),
        body("usd", "20.5").replace("}]}", "}],\"metadata\":{\"cartId\":\"c-1\"}}"),
    ];
    for other in others {
        let reply = json_of(keyed("cart-7", other.clone()).await.unwrap()).await;
        assert_eq!(reply, (409, conflict.clone()), "{other}");
    }
    assert_eq!(
        app.standin.requests().len(),
        requests_to_stripe,
        "a conflict never reaches Stripe"
    );
    // The first request again, written differently, is a retry: the same session.
    let again = format!(
        r#"{{"items":[{{"quantity":2,"price":20.50,"name":"T-Shirt"}}],"currency":"USD","orderId":"{ORDER}"}}"#
    );
    let (status, second) = json_of(keyed("cart-7", again).await.unwrap()).await;
    assert_eq!((status, &second["sessionId"]), (200, &first["sessionId"]));
    assert_eq!(app.standin.sessions_created(), 1);

    // A request's derived key is claimed as well: sent as another request's key, it is a conflict too.
    let (status, _) = create(&app, &body("usd", "30")).await;
    assert_eq!(status, 200);
    let derived = app
        .standin
        .requests()
        .last()
        .unwrap()
        .header("idempotency-key")
        .unwrap()
        .to_owned();
    let (status, reply) = json_of(keyed(&derived, body("usd", "31")).await.unwrap()).await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(app.standin.sessions_created(), 2);

    // Keys Stripe would not take are refused before anything else.
    for bad in ["", &"k".repeat(256)] {
        let (status, reply) = json_of(keyed(bad, body("usd", "1")).await.unwrap()).await;
        assert_eq!(status, 400, "{bad:?}: {reply}");
        assert_eq!(
            reply["message"],
            "Idempotency-Key must be 1 to 255 visible ASCII characters"
        );
    }
}

#[tokio::test]
async fn requests_racing_under_one_key_claim_it_once() {
    let app = TestApp::spawn().await;
    const N: usize = 8;
    let racers = (0..N).map(|i| {
        let request = app
            .http
            .post(app.url("/payments/create-session"))
            .header("content-type", "application/json")
            .header("idempotency-key", "race-1")
            .body(body("usd", &format!("{}", 10 + i)));
        async move { json_of(request.send().await.unwrap()).await.0 }
    });
    let mut statuses = futures::future::join_all(racers).await;
    statuses.sort_unstable();
    let mut expected = vec![200];
    expected.extend([409; N - 1]);
    assert_eq!(statuses, expected, "one request won the key");
    assert_eq!(app.standin.sessions_created(), 1);
}

#[tokio::test]
async fn pages_probes_and_unknown_routes() {
    let app = TestApp::spawn().await;
    let get = |path: &str| app.http.get(app.url(path)).send();
    assert_eq!(
        json_of(get("/payments/success").await.unwrap()).await,
        (200, json!({"ok": true, "message": "Payment successful"}))
    );
    assert_eq!(
        json_of(get("/payments/cancel").await.unwrap()).await,
        (200, json!({"ok": false, "message": "Payment cancelled"}))
    );
    assert_eq!(get("/health").await.unwrap().status(), 200);
    assert_eq!(get("/ready").await.unwrap().status(), 200);
    let (status, reply) = json_of(get("/nope").await.unwrap()).await;
    assert_eq!(
        (status, reply),
        (404, json!({"status": 404, "message": "Cannot GET /nope"}))
    );
    let (status, reply) = json_of(get("/payments/create-session").await.unwrap()).await;
    assert_eq!(
        (status, reply),
        (
            405,
            json!({"status": 405, "message": "GET is not allowed on /payments/create-session"})
        )
    );
}

#[tokio::test]
async fn request_ids_are_honoured_or_made_and_returned() {
    let app = TestApp::spawn().await;
    let given = app
        .http
        .get(app.url("/health"))
        .header("x-request-id", "req-from-gateway-1")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "req-from-gateway-1");
    let made = app.http.get(app.url("/health")).send().await.unwrap();
    let id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let error = app.post_json("/payments/create-session", "{}").await;
    assert!(
        error.headers().contains_key("x-request-id"),
        "errors carry it too"
    );
}

/// Counts the TCP connections made through it to `target`, relaying their bytes both ways.
async fn counting_relay(
    target: String,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::{atomic::AtomicUsize, atomic::Ordering, Arc};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let target = target.clone();
            tokio::spawn(async move {
                let mut outbound = tokio::net::TcpStream::connect(target).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
    });
    (base, accepted)
}

#[tokio::test]
async fn sessions_reuse_the_connection_to_stripe() {
    let nats = testkit::NatsServer::start();
    let standin = stripe_standin::StandIn::with_api_key(support::STRIPE_SECRET).await;
    let target = standin.base_url().trim_start_matches("http://").to_owned();
    let (relay, connections) = counting_relay(target).await;
    let mut app =
        TestApp::start_service(nats, standin, &[("STRIPE_API_BASE", relay.as_str())]).await;
    app.wait_ready().await;
    for price in ["1", "2", "3", "4", "5"] {
        let (status, reply) = create(&app, &body("usd", price)).await;
        assert_eq!(status, 200, "{reply}");
    }
    // One after another, five sessions need one connection: no TCP (and, against Stripe, TLS) handshake each.
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// A 200 from "Stripe" that is not a Checkout Session (a proxy's page, a truncated body) must not become a
/// session reply with empty fields: the caller gets a 502 that says so.
#[tokio::test]
async fn a_stripe_answer_that_is_not_a_session_is_502() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answers = [
        "<html>captive portal</html>",
        r#"{"object":"checkout.session"}"#,
    ];
    let nth = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let impostor = axum::Router::new().fallback(move || {
        let n = nth.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move { answers[n % answers.len()] }
    });
    tokio::spawn(async move { axum::serve(listener, impostor).await.unwrap() });
    let app = TestApp::spawn_with(&[("STRIPE_API_BASE", base.as_str())]).await;
    for price in ["1", "2"] {
        let (status, reply) = create(&app, &body("usd", price)).await;
        assert_eq!(status, 502, "{reply}");
        let message = reply["message"].as_str().unwrap();
        assert!(
            message.contains("unexpected response from Stripe"),
            "{message}"
        );
    }
}
