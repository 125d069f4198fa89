//! `payments trigger` end to end: for every supported event type the CLI builds and signs the event, registers its
//! objects with the emulator, posts it to the running service, and the outcome the contract names reaches
//! `PAYMENTS`. And what the CLI itself guarantees, checked at a plain receiver: events in test mode, signed, their
//! objects fetchable from the emulator; a live key refused; a loud warning when the objects cannot exist where the
//! service looks them up.

use payments::stripe::signature::Verifier;
use serde_json::Value;
use stripe_standin::StandIn;

use crate::support::{
    self, of_order,
    process::{output_of, payments},
    receiver::Receiver,
    Published, TestApp, ENDPOINT_SECRET, STRIPE_SECRET,
};

const CASES: [(&str, &str); 7] = [
    ("checkout.session.completed", "payment.succeeded"),
    (
        "checkout.session.async_payment_succeeded",
        "payment.succeeded",
    ),
    ("checkout.session.async_payment_failed", "payment.failed"),
    ("checkout.session.expired", "payment.expired"),
    ("payment_intent.succeeded", "payment.succeeded"),
    ("charge.succeeded", "payment.succeeded"),
    ("charge.refunded", "payment.refunded"),
];

/// The types of issue 12 and what reaches `PAYMENTS` for each, in order (CONTRACT section 5): a declined attempt
/// is not final and `charge.failed` publishes nothing; a dispute arriving before any success is preceded by
/// `payment.succeeded`, and a dispute's closing by its opening.
const NEW_CASES: [(&str, &[&str]); 4] = [
    ("payment_intent.payment_failed", &["payment.attempt_failed"]),
    ("charge.failed", &[]),
    (
        "charge.dispute.created",
        &["payment.succeeded", "payment.disputed"],
    ),
    (
        "charge.dispute.closed",
        &[
            "payment.succeeded",
            "payment.disputed",
            "payment.dispute_closed",
        ],
    ),
];

async fn trigger(app: &TestApp, args: &[&str]) -> (i32, String) {
    let url = app.url("/payments/webhook");
    let args: Vec<&str> = ["trigger"]
        .into_iter()
        .chain(args.iter().copied())
        .chain(["--url", &url])
        .collect();
    support::run_cli(app, &args, &[]).await
}

/// Triggers `event_type` for `order` at the service: sent, accepted, its objects registered with the emulator.
async fn trigger_for(app: &TestApp, event_type: &str, order: &str) {
    let (code, out) = trigger(app, &[event_type, "--order-id", order]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("→ 200 OK") && out.contains(r#""received":true"#),
        "{out}"
    );
    assert!(
        out.contains("registered"),
        "objects registered with the emulator: {out}"
    );
}

/// Triggers each of `event_types` for an order of its own (`order(i)`) and waits until the pipeline has handled
/// them; all of `PAYMENTS`.
async fn trigger_each<'t>(
    app: &TestApp,
    event_types: impl IntoIterator<Item = &'t str>,
    order: impl Fn(usize) -> String,
) -> Vec<Published> {
    for (i, event_type) in event_types.into_iter().enumerate() {
        trigger_for(app, event_type, &order(i)).await;
    }
    app.wait_pipeline_idle().await;
    app.payments().await
}

/// Runs `payments trigger <args> --url <url>` with the test environment, `STRIPE_API_BASE` = `api` (unset when
/// `None`) and `extra` variables; the exit code, stdout and stderr.
async fn trigger_at(
    url: &str,
    api: Option<&str>,
    args: &[&str],
    extra: &[(&str, &str)],
) -> (i32, String) {
    let vars = support::vars("nats://127.0.0.1:1", api.unwrap_or_default(), extra)
        .into_iter()
        .filter(|(k, _)| k != "STRIPE_API_BASE" || api.is_some());
    let mut cmd = payments();
    cmd.envs(vars)
        .arg("trigger")
        .args(args)
        .args(["--url", url]);
    output_of(cmd).await
}

#[tokio::test]
async fn every_supported_type_reaches_its_outcome() {
    let app = TestApp::spawn().await;
    let order = |i| format!("00000000-0000-4000-8000-00000000000{i}");
    let published = trigger_each(&app, CASES.iter().map(|(t, _)| *t), order).await;
    for (i, (event_type, subject)) in CASES.iter().enumerate() {
        let mine = of_order(&published, &order(i));
        // A refund of a payment never reported paid reports it paid first (CONTRACT §5).
        let last = mine.last().expect("published");
        assert_eq!(
            mine.len(),
            1 + usize::from(*subject == "payment.refunded"),
            "{event_type}: {published:#?}"
        );
        assert_eq!(
            mine[0].subject.as_str(),
            if mine.len() == 2 {
                "payment.succeeded"
            } else {
                subject
            }
        );
        assert_eq!(last.subject, *subject, "{event_type}");
        assert_eq!(last.event_type, *event_type);
    }
}

/// The service side of these types is the lead's change of issue 12 (items 1-4): until it lands, this fails
/// (today `payment_intent.payment_failed` publishes `payment.failed` and disputes publish nothing).
#[tokio::test]
async fn declines_and_disputes_reach_their_contract_outcomes() {
    let app = TestApp::spawn().await;
    let order = |i| format!("00000000-0000-4000-8000-00000000010{i}");
    let published = trigger_each(&app, NEW_CASES.iter().map(|(t, _)| *t), order).await;
    for (i, (event_type, subjects)) in NEW_CASES.iter().enumerate() {
        let mine = of_order(&published, &order(i));
        let got: Vec<&str> = mine.iter().map(|p| p.subject.as_str()).collect();
        assert_eq!(got, *subjects, "{event_type}: {published:#?}");
        if let Some(last) = mine.last() {
            assert_eq!(last.event_type, *event_type);
        }
    }
    let attempt = published
        .iter()
        .find(|p| p.subject == "payment.attempt_failed")
        .unwrap();
    assert_eq!(attempt.body["reason"], stripe_standin::DECLINE_MESSAGE);
    let disputed = published
        .iter()
        .find(|p| p.subject == "payment.disputed")
        .unwrap();
    assert!(disputed.body["disputeId"]
        .as_str()
        .unwrap()
        .starts_with("du_"));
    assert_eq!(
        (
            disputed.body["amount"].as_i64(),
            disputed.body["reason"].as_str()
        ),
        (Some(4100), Some("fraudulent"))
    );
}

/// GET `path` from the stand-in, as the service would.
async fn fetch(standin: &StandIn, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", standin.base_url()))
        .bearer_auth(STRIPE_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn new_types_are_sent_signed_in_test_mode_with_objects_the_service_can_find() {
    let standin = StandIn::start().await;
    let receiver = Receiver::start(&[]).await;
    let verifier = Verifier::new([ENDPOINT_SECRET], std::time::Duration::from_secs(300));
    for (i, (event_type, _)) in NEW_CASES.iter().enumerate() {
        let order = format!("order-{i}");
        let args = [*event_type, "--order-id", &order];
        let (code, out) = trigger_at(&receiver.url, Some(&standin.base_url()), &args, &[]).await;
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("registered") && !out.contains("warning"),
            "{out}"
        );
        let received = receiver.wait_for(i + 1).await;
        let request = &received[i];
        let signature = request
            .headers
            .get("stripe-signature")
            .map(|v| v.as_bytes());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        verifier.verify(signature, &request.body, now).unwrap();
        let event = request.json();
        assert_eq!(event["type"], *event_type);
        assert_eq!(event["livemode"], false);
        let object = &event["data"]["object"];
        assert_eq!(object["livemode"], false);
        // The service finds the order from what the event refers to.
        let charge_id = match object["object"].as_str().unwrap() {
            "dispute" => {
                let id = object["id"].as_str().unwrap();
                assert_eq!(
                    &fetch(&standin, &format!("/v1/disputes/{id}")).await,
                    object
                );
                assert_eq!(object["metadata"], serde_json::json!({}));
                object["charge"].as_str().unwrap().to_owned()
            }
            "payment_intent" => {
                let id = object["id"].as_str().unwrap();
                let pi = fetch(&standin, &format!("/v1/payment_intents/{id}")).await;
                assert_eq!(pi["metadata"]["orderId"], order.as_str());
                assert_eq!(pi["last_payment_error"]["code"], "card_declined");
                object["latest_charge"].as_str().unwrap().to_owned()
            }
            _ => object["id"].as_str().unwrap().to_owned(),
        };
        let path = format!("/v1/charges/{charge_id}?expand[]=payment_intent");
        let charge = fetch(&standin, &path).await;
        assert_eq!(
            charge["metadata"]["orderId"],
            order.as_str(),
            "{event_type}"
        );
        assert_eq!(
            charge["payment_intent"]["metadata"]["orderId"],
            order.as_str()
        );
    }
}

#[tokio::test]
async fn a_live_key_is_refused_before_anything_is_sent() {
    let standin = StandIn::start().await;
    let receiver = Receiver::start(&[]).await;
    for key in ["sk_live_51Hxyz", "rk_live_51Hxyz"] {
        let extra = [("STRIPE_SECRET", key)];
        let args = ["charge.succeeded"];
        let (code, out) = trigger_at(&receiver.url, Some(&standin.base_url()), &args, &extra).await;
        assert_eq!(code, 2, "{out}");
        assert!(
            out.contains("live key") && out.contains("STRIPE_SECRET"),
            "{out}"
        );
        assert!(!out.contains(key), "the key itself is never printed: {out}");
    }
    let (code, out) = trigger_at(
        &receiver.url,
        Some(&standin.base_url()),
        &["charge.succeeded"],
        &[],
    )
    .await;
    assert_eq!(code, 0, "a test key runs: {out}");
    assert_eq!(
        receiver.wait_for(1).await.len(),
        1,
        "only the test-key run sent an event"
    );
}

#[tokio::test]
async fn objects_that_cannot_exist_are_warned_about() {
    let receiver = Receiver::start(&[]).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let cases = [
        (None, "no STRIPE_API_BASE"),
        (Some("https://api.stripe.com"), "Stripe itself"),
        (Some(closed.as_str()), "could not be reached"),
    ];
    for (i, (api, why)) in cases.into_iter().enumerate() {
        let (code, out) = trigger_at(&receiver.url, api, &["charge.dispute.created"], &[]).await;
        assert_eq!(code, 0, "the event is still sent: {out}");
        assert!(
            out.contains("warning") && out.contains("exist nowhere"),
            "{out}"
        );
        assert!(out.contains(why), "{api:?}: {out}");
        assert!(
            out.contains("du_") && out.contains("ch_"),
            "names the objects: {out}"
        );
        assert_eq!(receiver.wait_for(i + 1).await.len(), i + 1);
    }
}

#[tokio::test]
async fn bad_input_is_explained() {
    let app = TestApp::spawn().await;
    let (code, out) = trigger(&app, &["customer.created"]).await;
    assert_eq!(code, 2);
    assert!(
        out.contains("unsupported event type") && out.contains("charge.dispute.created"),
        "{out}"
    );
    let (code, out) = trigger(&app, &["charge.succeeded", "--secret", "whsec_wrong"]).await;
    assert_eq!(code, 1, "a refused signature is a failure: {out}");
    assert!(
        out.contains("400") && out.contains("Webhook Error"),
        "{out}"
    );
}
