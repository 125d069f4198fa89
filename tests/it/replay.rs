//! `payments replay` against stored events: de-duplication still applies, `--force` republishes under a new id.

use crate::support::{self, events::Payment, TestApp};

async fn replay(app: &TestApp, args: &[&str]) -> (i32, String) {
    let args: Vec<&str> = ["replay"].into_iter().chain(args.iter().copied()).collect();
    support::run_cli(app, &args, &[]).await
}

#[tokio::test]
async fn replay_publishes_nothing_new_unless_forced() {
    let app = TestApp::spawn().await;
    let paid = Payment::new("replayed");
    let expired = Payment::new("replay-expired");
    assert_eq!(app.post_event(&paid.charge_succeeded()).await.status(), 200);
    assert_eq!(app.post_event(&expired.expired()).await.status(), 200);
    assert_eq!(
        app.post_event(&support::fixture("charge.succeeded").to_string())
            .await
            .status(),
        200
    );
    app.wait_pipeline_idle().await;
    assert_eq!(app.payments().await.len(), 2);

    let event_id = format!("evt_ch_{}", paid.charge);
    let (code, out) = replay(&app, &["--event", &event_id]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("{event_id} charge.succeeded → nothing published: succeeded.pi_replayed was already published")), "{out}");
    assert_eq!(app.payments().await.len(), 2, "nothing new");

    let (code, out) = replay(&app, &["--since", "1h"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("replayed 3 event(s), 0 failed"), "{out}");
    assert!(
        out.contains("unusable"),
        "the fixture without orderId is reported: {out}"
    );
    assert_eq!(app.payments().await.len(), 2);

    let (code, out) = replay(&app, &["--event", &event_id, "--force"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("republished as succeeded.pi_replayed.replay-"),
        "{out}"
    );
    let published = app.payments().await;
    assert_eq!(published.len(), 3);
    assert!(published[2]
        .msg_id
        .starts_with("succeeded.pi_replayed.replay-"));
    assert_eq!(
        published[2].body,
        paid.succeeded_body(),
        "the same body, under a new id"
    );

    let (code, out) = replay(&app, &["--event", "evt_does_not_exist"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("evt_does_not_exist: not found"), "{out}");

    // Two unknown ids and a known one: each unknown named on its own line, the known one handled, exit 1.
    let (code, out) = replay(
        &app,
        &[
            "--event",
            "evt_unknown_a",
            "--event",
            &event_id,
            "--event",
            "evt_unknown_b",
        ],
    )
    .await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("evt_unknown_a: not found in the events stream"),
        "{out}"
    );
    assert!(
        out.contains("evt_unknown_b: not found in the events stream"),
        "{out}"
    );
    assert!(
        out.contains(&format!("{event_id} charge.succeeded → nothing published")),
        "{out}"
    );
    assert!(
        out.contains("replayed 1 event(s), 0 failed (2 of the named ids not found)"),
        "{out}"
    );
    let (code, out) = replay(&app, &[]).await;
    assert_eq!(code, 2, "{out}");
}
