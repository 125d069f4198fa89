//! Verified events → `PAYMENTS`: each outcome once, whichever of a payment's events arrive, in any order,
//! however often Stripe repeats them.

use serde_json::{json, Value};

use crate::support::{self, events::Payment, keys, Published, TestApp};

async fn ok(app: &TestApp, event: &str) {
    let response = app.post_event(event).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// A service, and a payment its Stripe knows (its intent and charge can be looked up).
async fn known_payment(tag: &str) -> (TestApp, Payment) {
    let app = TestApp::spawn().await;
    let payment = Payment::new(tag);
    payment.register(&app.standin);
    (app, payment)
}

/// `PAYMENTS` holds one message, the payment's success; all of `PAYMENTS`.
async fn published_once(app: &TestApp, payment: &Payment) -> Vec<Published> {
    let published = app.payments().await;
    assert_eq!(published.len(), 1, "{published:#?}");
    assert_eq!(published[0].body, payment.succeeded_body());
    published
}

/// Delivers the payment's paid `checkout.session.completed`, no other event: its success is published once
/// (with the receipt the service looked up).
async fn paid_completion_alone(app: &TestApp, payment: &Payment) {
    let completed = payment.session_event("checkout.session.completed", true);
    handled(app, &completed).await;
    published_once(app, payment).await;
}

/// Delivers `event` (200) and waits until the pipeline has handled it.
async fn handled(app: &TestApp, event: &str) {
    ok(app, event).await;
    app.wait_pipeline_idle().await;
}

#[tokio::test]
async fn a_payments_three_events_in_every_order_publish_one_message() {
    let app = TestApp::spawn().await;
    let orders: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let mut payments = Vec::new();
    for (n, order) in orders.iter().enumerate() {
        let payment = Payment::new(&format!("perm{n}"));
        payment.register(&app.standin);
        let events = [
            payment.session_event("checkout.session.completed", true),
            payment.intent_succeeded(),
            payment.charge_succeeded(),
        ];
        for &i in order {
            ok(&app, &events[i]).await;
            // Let each event be processed before the next, so the order really is the order of processing.
            app.wait_pipeline_idle().await;
        }
        payments.push(payment);
    }
    // And all three at once, as Stripe usually sends them.
    let together = Payment::new("together");
    together.register(&app.standin);
    let events = [
        together.session_event("checkout.session.completed", true),
        together.intent_succeeded(),
        together.charge_succeeded(),
    ];
    futures::future::join_all(events.iter().map(|e| ok(&app, e))).await;
    app.wait_pipeline_idle().await;
    payments.push(together);

    let published = app.payments().await;
    assert_eq!(published.len(), payments.len(), "{published:#?}");
    for payment in &payments {
        let found: Vec<_> = published
            .iter()
            .filter(|p| p.body["orderId"] == payment.order.as_str())
            .collect();
        assert_eq!(found.len(), 1, "{}", payment.order);
        let message = found[0];
        assert_eq!(message.subject, "payment.succeeded");
        assert_eq!(message.body, payment.succeeded_body());
        assert_eq!(
            keys(&message.body),
            ["orderId", "receiptUrl", "stripePaymentId"]
        );
        assert_eq!(message.msg_id, format!("succeeded.{}", payment.intent));
        assert!(message.event_id.starts_with("evt_"));
        assert!(!message.event_type.is_empty());
    }
}

#[tokio::test]
async fn five_concurrent_duplicates_and_a_late_one_publish_once() {
    let app = TestApp::spawn().await;
    let payment = Payment::new("dup");
    let event = payment.charge_succeeded();
    let replies = futures::future::join_all((0..5).map(|_| app.post_event(&event))).await;
    for reply in replies {
        assert_eq!(reply.status(), 200);
        let body: Value = reply.json().await.unwrap();
        assert_eq!(
            body,
            json!({"received": true, "id": format!("evt_ch_{}", payment.charge)})
        );
    }
    app.wait_pipeline_idle().await;
    ok(&app, &event).await; // Stripe's retry, later, freshly signed
    app.wait_pipeline_idle().await;

    let published = published_once(&app, &payment).await;
    assert_eq!(published[0].event_id, format!("evt_ch_{}", payment.charge));
    assert_eq!(published[0].event_type, "charge.succeeded");
    let audit = support::read_stream(&app.js, "STRIPE_EVENTS").await;
    assert_eq!(audit.len(), 1, "the event is stored once");
}

#[tokio::test]
async fn checkout_session_completed_alone_gets_the_receipt_from_the_api() {
    let (app, payment) = known_payment("alone").await;
    paid_completion_alone(&app, &payment).await;
    let lookups = app.stripe_requests(&format!("/v1/payment_intents/{}", payment.intent));
    assert!(lookups > 0, "the payment intent was looked up");
}

#[tokio::test]
async fn a_delayed_payment_is_published_when_it_settles() {
    let (app, payment) = known_payment("async").await;
    handled(
        &app,
        &payment.session_event("checkout.session.completed", false),
    )
    .await;
    assert!(
        app.payments().await.is_empty(),
        "unpaid completion publishes nothing"
    );
    handled(
        &app,
        &payment.session_event("checkout.session.async_payment_succeeded", false),
    )
    .await;
    published_once(&app, &payment).await;
}

#[tokio::test]
async fn failed_expired_and_refunded_outcomes() {
    let app = TestApp::spawn().await;
    let failed = Payment::new("failed");
    ok(
        &app,
        &failed.session_event("checkout.session.async_payment_failed", false),
    )
    .await;
    ok(&app, &failed.intent_failed()).await; // the same failure, seen from the intent
    let declined = Payment::new("declined");
    ok(&app, &declined.intent_failed()).await;
    let expired = Payment::new("expired");
    ok(&app, &expired.expired()).await;
    let refunded = Payment::new("refunded");
    ok(&app, &refunded.refunded(100, false)).await;
    ok(&app, &refunded.refunded(100, false)).await; // redelivered
    ok(&app, &refunded.refunded(2000, true)).await; // the rest, later
    app.wait_pipeline_idle().await;

    let published = app.payments().await;
    let by = |subject: &str| {
        published
            .iter()
            .filter(|p| p.subject == subject)
            .collect::<Vec<_>>()
    };
    let failures = by("payment.failed");
    assert_eq!(failures.len(), 1, "only the final failure: {failures:#?}");
    assert_eq!(failures[0].body["orderId"], "order-failed");
    assert_eq!(
        keys(&failures[0].body),
        ["orderId", "reason", "stripePaymentId"]
    );
    assert_eq!(failures[0].body["stripePaymentId"], "pi_failed");
    let attempts = by("payment.attempt_failed");
    assert_eq!(attempts.len(), 2, "each declined attempt: {attempts:#?}");
    let decline = attempts
        .iter()
        .find(|p| p.body["orderId"] == "order-declined")
        .unwrap();
    assert_eq!(
        decline.body,
        json!({"orderId": "order-declined", "stripePaymentId": "pi_declined", "reason": "Your card was declined."})
    );

    let expiries = by("payment.expired");
    assert_eq!(expiries.len(), 1);
    assert_eq!(
        expiries[0].body,
        json!({"orderId": "order-expired", "sessionId": "cs_test_expired"})
    );

    let refunds = by("payment.refunded");
    assert_eq!(refunds.len(), 2, "{refunds:#?}");
    assert_eq!(
        refunds[0].body,
        json!({"orderId": "order-refunded", "stripePaymentId": "ch_refunded", "amountRefunded": 100, "currency": "usd", "fullyRefunded": false})
    );
    assert_eq!(refunds[1].body["amountRefunded"], 2000);
    assert_eq!(refunds[1].body["fullyRefunded"], true);
    // A refund before any success event: the payment is reported paid first, from the refunded charge.
    let refunded_order: Vec<_> = published
        .iter()
        .filter(|p| p.body["orderId"] == "order-refunded")
        .map(|p| p.subject.as_str())
        .collect();
    assert_eq!(
        refunded_order,
        ["payment.succeeded", "payment.refunded", "payment.refunded"]
    );
    assert_eq!(
        by("payment.succeeded")[0].body["stripePaymentId"],
        "ch_refunded"
    );
    assert_eq!(published.len(), 7);
}

#[tokio::test]
async fn unusable_and_unknown_events_are_200_kept_and_not_published() {
    let app = TestApp::spawn().await;
    // The real fixture: no orderId in its metadata.
    ok(&app, &support::fixture("charge.succeeded").to_string()).await;
    ok(
        &app,
        &support::events::envelope("customer.created", "evt_customer", |_| {}),
    )
    .await;
    ok(
        &app,
        &support::events::envelope("charge.succeeded", "evt_weird", |o| *o = json!({"id": 5})),
    )
    .await;
    // Authentic, but not an event at all.
    let response = app.post_event(r#"{"hello":"world"}"#).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"received": true, "id": null})
    );
    app.wait_pipeline_idle().await;
    assert!(app.payments().await.is_empty());
    assert_eq!(
        support::read_stream(&app.js, "STRIPE_EVENTS").await.len(),
        4,
        "all kept for audit"
    );
}

#[tokio::test]
async fn an_old_api_version_event_is_accepted_and_used() {
    let app = TestApp::spawn().await;
    let body = r#"{"id":"evt_2017","object":"event","api_version":"2017-08-15","created":1503000000,
      "data":{"object":{"id":"ch_2017","object":"charge","amount":2000,"currency":"usd","paid":true,
      "status":"succeeded","metadata":{"orderId":"order-2017"},
      "receipt_url":"https://pay.stripe.com/receipts/acct_1/ch_2017/rcpt_1","source":{"object":"card"}}},
      "livemode":false,"pending_webhooks":1,"request":"req_old","type":"charge.succeeded"}"#;
    handled(&app, body).await;
    let published = app.payments().await;
    assert_eq!(published.len(), 1);
    assert_eq!(
        published[0].body,
        json!({"stripePaymentId": "ch_2017", "orderId": "order-2017", "receiptUrl": "https://pay.stripe.com/receipts/acct_1/ch_2017/rcpt_1"})
    );
    assert_eq!(
        published[0].msg_id, "succeeded.ch_2017",
        "no payment intent in 2017: keyed by charge"
    );
}

#[tokio::test]
async fn a_payment_stripe_does_not_know_is_unusable_not_retried() {
    let app = TestApp::spawn().await;
    let stranger = Payment::new("stranger"); // not registered with the stand-in: Stripe answers 404
    handled(
        &app,
        &stranger.session_event("checkout.session.completed", true),
    )
    .await;
    assert!(app.payments().await.is_empty());
    let lookups = app
        .standin
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/payment_intents/"))
        .count();
    assert_eq!(lookups, 1, "looked up once, not retried");
}

#[tokio::test]
async fn a_stripe_outage_during_the_lookup_is_retried_until_it_works() {
    let (app, payment) = known_payment("flaky").await;
    app.standin.inject(stripe_standin::Fault::server_error(), 1);
    paid_completion_alone(&app, &payment).await;
    let lookups = app.stripe_requests("/v1/payment_intents/");
    assert_eq!(lookups, 2, "one failure, one retry");
}
