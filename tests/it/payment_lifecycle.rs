//! Truthful, ordered outcomes per order (CONTRACT §5) through the real service: a declined attempt then a payment,
//! a payment's events in shuffled order and repeated, two replicas at once, refunds and disputes before any success
//! event, disputes found by charge (in the service's records or at Stripe), test and live never mixing.

use serde_json::json;

use crate::support::{self, events::Payment, of_order, Published, Replica, TestApp};

async fn ok(base: &str, body: &str) {
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{base}/payments/webhook"))
        .header(
            "stripe-signature",
            support::sign_now(support::ENDPOINT_SECRET, body),
        )
        .body(body.to_owned())
        .send()
        .await
        .expect("webhook answers");
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// The subjects published for `order`, in stream order.
fn subjects_of<'p>(published: &'p [Published], order: &str) -> Vec<&'p str> {
    of_order(published, order)
        .into_iter()
        .map(|p| p.subject.as_str())
        .collect()
}

/// CONTRACT §5's guarantees over one order's messages.
fn assert_truthful(published: &[Published], order: &str) {
    let mine: Vec<&Published> = published
        .iter()
        .filter(|p| p.body["orderId"] == order)
        .collect();
    let mut ids: Vec<&str> = mine.iter().map(|p| p.msg_id.as_str()).collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "published twice: {mine:#?}");
    let paid_at = mine.iter().position(|p| p.subject == "payment.succeeded");
    for (i, p) in mine.iter().enumerate() {
        match p.subject.as_str() {
            "payment.attempt_failed" | "payment.failed" | "payment.expired" => assert!(
                paid_at.is_none_or(|paid| i < paid),
                "unpaid after paid: {mine:#?}"
            ),
            "payment.refunded" | "payment.disputed" | "payment.dispute_closed" => assert!(
                paid_at.is_some_and(|paid| paid < i),
                "after-payment message before succeeded: {mine:#?}"
            ),
            _ => {}
        }
    }
}

/// The events Stripe sends when a card is declined once and the customer pays with another in the same session,
/// then the charge is refunded and disputed.
fn decline_then_pay(payment: &Payment) -> Vec<String> {
    vec![
        payment.attempt_failed(1),
        payment.charge_succeeded(),
        payment.intent_succeeded(),
        payment.session_event("checkout.session.completed", true),
        payment.refunded(500, false),
        payment.dispute(None),
        payment.dispute(Some("lost")),
    ]
}

/// A small deterministic shuffle (no test may depend on luck): permutation `seed` of `items`, with the item at
/// `seed % len` repeated at the end (Stripe redelivers).
fn shuffled(items: &[String], seed: usize) -> Vec<String> {
    let mut items = items.to_vec();
    let mut state =
        (seed as u64).wrapping_mul(6_364_136_223_846_793_005) ^ 1_442_695_040_888_963_407;
    for i in (1..items.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        items.swap(i, (state >> 33) as usize % (i + 1));
    }
    let again = items[seed % items.len()].clone();
    items.push(again);
    items
}

#[tokio::test]
async fn a_declined_attempt_then_a_payment_is_attempt_failed_then_succeeded() {
    let app = TestApp::spawn().await;
    let payment = Payment::new("declined-then-paid");
    payment.register(&app.standin);
    for event in &decline_then_pay(&payment)[..4] {
        ok(&app.base, event).await;
        app.wait_pipeline_idle().await;
    }
    let published = app.payments().await;
    assert_eq!(
        subjects_of(&published, &payment.order),
        ["payment.attempt_failed", "payment.succeeded"]
    );
    assert_eq!(published[0].body["reason"], "Your card was declined.");
    assert_eq!(published[1].body, payment.succeeded_body());
    // A late copy of the decline says nothing more.
    ok(&app.base, &payment.attempt_failed(1)).await;
    ok(&app.base, &payment.attempt_failed(2)).await;
    app.wait_pipeline_idle().await;
    assert_eq!(app.payments().await.len(), 2, "superseded, not published");
}

#[tokio::test]
async fn a_payments_events_in_any_order_and_repeated_tell_the_truth() {
    let app = TestApp::spawn().await;
    for seed in 0..6 {
        let payment = Payment::new(&format!("shuffled{seed}"));
        payment.register(&app.standin);
        for event in shuffled(&decline_then_pay(&payment), seed) {
            ok(&app.base, &event).await;
            // One at a time: the order of delivery is the order of processing.
            app.wait_pipeline_idle().await;
        }
        let published = app.payments().await;
        assert_truthful(&published, &payment.order);
        let subjects = subjects_of(&published, &payment.order);
        for expected in [
            "payment.succeeded",
            "payment.refunded",
            "payment.disputed",
            "payment.dispute_closed",
        ] {
            assert_eq!(
                subjects.iter().filter(|s| **s == expected).count(),
                1,
                "seed {seed}: {subjects:?}"
            );
        }
    }
}

#[tokio::test]
async fn two_replicas_receiving_one_payments_events_at_once_agree() {
    let app = TestApp::spawn().await;
    let other = Replica::start(&app, &[]).await;
    support::wait_ready_at(&other.base).await;
    let mut orders = Vec::new();
    for n in 0..4 {
        let payment = Payment::new(&format!("replicas{n}"));
        payment.register(&app.standin);
        let events = decline_then_pay(&payment);
        // Every event to both replicas, all at once.
        let sends = events
            .iter()
            .flat_map(|e| [ok(&app.base, e), ok(&other.base, e)]);
        futures::future::join_all(sends).await;
        orders.push(payment.order.clone());
    }
    app.wait_pipeline_idle().await;
    let published = app.payments().await;
    for order in &orders {
        assert_truthful(&published, order);
        let subjects = subjects_of(&published, order);
        assert_eq!(
            subjects.len(),
            4 + usize::from(subjects[0] == "payment.attempt_failed"),
            "{subjects:?}"
        );
    }
    other.stop().await;
}

#[tokio::test]
async fn a_dispute_finds_its_order_in_the_services_records_or_at_stripe() {
    let app = TestApp::spawn().await;
    // Known: its payment was published here, so the charge's order is in the journal.
    let known = Payment::new("dispute-known");
    ok(&app.base, &known.charge_succeeded()).await;
    app.wait_pipeline_idle().await;
    let lookups_before = charge_lookups(&app);
    ok(&app.base, &known.dispute(None)).await;
    app.wait_pipeline_idle().await;
    assert_eq!(
        charge_lookups(&app),
        lookups_before,
        "found without asking Stripe"
    );

    // Only Stripe knows the charge: the first look-up fails (Stripe down), the retry finds it.
    let unknown = Payment::new("dispute-at-stripe");
    unknown.register(&app.standin);
    app.standin.inject(stripe_standin::Fault::server_error(), 1);
    ok(&app.base, &unknown.dispute(None)).await;
    ok(&app.base, &unknown.dispute(Some("won"))).await;
    app.wait_pipeline_idle().await;

    let published = app.payments().await;
    assert_eq!(
        subjects_of(&published, &known.order),
        ["payment.succeeded", "payment.disputed"]
    );
    let disputed = published
        .iter()
        .find(|p| p.subject == "payment.disputed")
        .unwrap();
    assert_eq!(
        disputed.body,
        json!({"orderId": known.order, "stripePaymentId": known.charge, "disputeId": format!("du_{}", known.charge),
            "amount": 2000, "currency": "usd", "reason": "fraudulent"})
    );
    assert_eq!(
        subjects_of(&published, &unknown.order),
        [
            "payment.succeeded",
            "payment.disputed",
            "payment.dispute_closed"
        ],
        "the payment is reported paid first, from the charge Stripe returned"
    );
    let closed = published
        .iter()
        .find(|p| p.subject == "payment.dispute_closed")
        .unwrap();
    assert_eq!(closed.body["status"], "won");
    assert_eq!(closed.body["stripePaymentId"], unknown.charge.as_str());

    // A charge nobody knows: unusable, kept, not retried forever.
    let stranger = Payment::new("dispute-stranger");
    ok(&app.base, &stranger.dispute(None)).await;
    app.wait_pipeline_idle().await;
    assert_eq!(app.payments().await.len(), published.len());
}

fn charge_lookups(app: &TestApp) -> usize {
    app.stripe_requests("/v1/charges/")
}

#[tokio::test]
async fn events_of_the_other_mode_and_odd_ids_publish_nothing_and_stop_nothing() {
    // Its own process: the `unusable` count read below is per process.
    let app = TestApp::spawn_process(&[]).await;
    let live = Payment::new("live-event");
    let mut event: serde_json::Value = serde_json::from_str(&live.charge_succeeded()).unwrap();
    event["livemode"] = json!(true);
    ok(&app.base, &event.to_string()).await;
    // An event id with a control character (it could not travel in a NATS header): kept, unusable, 200.
    let odd_payment = Payment::new("odd");
    let mut odd: serde_json::Value = serde_json::from_str(&odd_payment.charge_succeeded()).unwrap();
    odd["id"] = json!("evt_\u{1}odd");
    ok(&app.base, &odd.to_string()).await;
    // The pipeline goes on.
    let fine = Payment::new("after-odd");
    ok(&app.base, &fine.charge_succeeded()).await;
    app.wait_pipeline_idle().await;
    let published = app.payments().await;
    assert_eq!(subjects_of(&published, &live.order), Vec::<&str>::new());
    assert_eq!(
        subjects_of(&published, &odd_payment.order),
        Vec::<&str>::new()
    );
    assert_eq!(subjects_of(&published, &fine.order), ["payment.succeeded"]);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            r#"payments_webhook_events_total{event_type="charge.succeeded",result="unusable"}"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_outcome_the_earlier_ledger_published_is_not_published_again() {
    let app = TestApp::spawn().await;
    // What the previous version's ledger left for a payment it published: `<outcome id>` = `published`.
    let ledger = app.js.get_key_value("payment_outcomes").await.unwrap();
    let upgraded = Payment::new("before-upgrade");
    ledger
        .put(format!("succeeded.{}", upgraded.intent), "published".into())
        .await
        .unwrap();
    ok(&app.base, &upgraded.charge_succeeded()).await;
    let fresh = Payment::new("after-upgrade");
    ok(&app.base, &fresh.charge_succeeded()).await;
    app.wait_pipeline_idle().await;
    let published = app.payments().await;
    assert_eq!(subjects_of(&published, &upgraded.order), Vec::<&str>::new());
    assert_eq!(subjects_of(&published, &fresh.order), ["payment.succeeded"]);
}
