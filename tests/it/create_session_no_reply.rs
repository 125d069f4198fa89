//! `create.payment.session` messages without a reply subject are not requests (CONTRACT §3): nobody could learn
//! of the session, so none is created, in either wire format.

use bytes::Bytes;

use crate::support::TestApp;

const DATA: &str = r#"{"orderId":"3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69","currency":"usd","items":[{"name":"T-Shirt","price":20.5,"quantity":2}]}"#;

#[tokio::test]
async fn messages_without_a_reply_subject_create_nothing() {
    let app = TestApp::spawn().await;
    // Different orders each time, so that each would be a new session (no idempotent replay could hide one).
    let plain = |order: &str| DATA.replace("3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69", order);
    for i in 0..5 {
        app.client
            .publish(
                "create.payment.session",
                Bytes::from(plain(&format!("blind-{i}"))),
            )
            .await
            .unwrap();
        let packet = format!(
            r#"{{"pattern":"create.payment.session","data":{},"id":"nest-{i}"}}"#,
            plain(&format!("blind-nest-{i}"))
        );
        app.client
            .publish("create.payment.session", Bytes::from(packet))
            .await
            .unwrap();
    }
    // Requests sent after them are served in order of arrival; two full round trips later, anything the blind
    // messages had started would have reached the stand-in.
    for order in ["asked-1", "asked-2"] {
        let reply = app.create_over_nats(plain(order)).await;
        assert!(reply["sessionId"].is_string(), "{reply}");
    }
    assert_eq!(
        app.standin.sessions_created(),
        2,
        "only the two requests with a reply subject created a session"
    );
    let orders: Vec<String> = app
        .standin
        .requests()
        .iter()
        .filter_map(|r| r.form_value("metadata[orderId]").map(str::to_owned))
        .collect();
    assert_eq!(orders, ["asked-1", "asked-2"]);
}
