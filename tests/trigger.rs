//! `payments trigger` end to end for every supported event type: the CLI builds and signs the event, registers
//! its objects with the emulator, posts it to the running service, and the expected outcome reaches `PAYMENTS`.

mod common;

use common::TestApp;

const CASES: [(&str, &str); 8] = [
    ("checkout.session.completed", "payment.succeeded"),
    (
        "checkout.session.async_payment_succeeded",
        "payment.succeeded",
    ),
    ("checkout.session.async_payment_failed", "payment.failed"),
    ("checkout.session.expired", "payment.expired"),
    ("payment_intent.succeeded", "payment.succeeded"),
    ("payment_intent.payment_failed", "payment.attempt_failed"),
    ("charge.succeeded", "payment.succeeded"),
    ("charge.refunded", "payment.refunded"),
];

async fn trigger(app: &TestApp, args: &[&str]) -> (i32, String) {
    let url = app.url("/payments/webhook");
    let args: Vec<&str> = ["trigger"]
        .into_iter()
        .chain(args.iter().copied())
        .chain(["--url", &url])
        .collect();
    common::run_cli(app, &args, &[]).await
}

#[tokio::test]
async fn every_supported_type_reaches_its_outcome() {
    let app = TestApp::spawn().await;
    for (i, (event_type, _)) in CASES.iter().enumerate() {
        let order = format!("00000000-0000-4000-8000-00000000000{i}");
        let (code, out) = trigger(&app, &[event_type, "--order-id", &order]).await;
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
    app.wait_pipeline_idle().await;
    let published = app.payments().await;
    for (i, (event_type, subject)) in CASES.iter().enumerate() {
        let order = format!("00000000-0000-4000-8000-00000000000{i}");
        let mine: Vec<_> = published
            .iter()
            .filter(|p| p.body["orderId"] == order.as_str())
            .collect();
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

#[tokio::test]
async fn bad_input_is_explained() {
    let app = TestApp::spawn().await;
    let (code, out) = trigger(&app, &["customer.created"]).await;
    assert_eq!(code, 2);
    assert!(
        out.contains("unsupported event type") && out.contains("charge.refunded"),
        "{out}"
    );
    let (code, out) = trigger(&app, &["charge.succeeded", "--secret", "whsec_wrong"]).await;
    assert_eq!(code, 1, "a refused signature is a failure: {out}");
    assert!(
        out.contains("400") && out.contains("Webhook Error"),
        "{out}"
    );
}
