//! `GET /v1/events`: Stripe's list semantics (order, limit, cursors, created and type filters), the fault knobs
//! that fail list calls, and withheld deliveries (events recorded and listed, never delivered).

use std::time::Duration;

use crate::support::raw::{admin, get, post, status_json, T_SHIRTS};
use crate::support::receiver::Receiver;
use serde_json::{json, Value};
use stripe_standin::{events, ListFault, Method, StandIn};

/// 25 events, `created` 1000, 1001, … (two per second from 1010 on), alternating two types.
fn recorded(standin: &StandIn) -> Vec<Value> {
    let events: Vec<Value> = (0..25)
        .map(|i| {
            let created = if i < 10 {
                1000 + i
            } else {
                1010 + (i - 10) / 2
            };
            let kind = if i % 2 == 0 {
                "charge.succeeded"
            } else {
                "charge.refunded"
            };
            let mut event =
                events::envelope(kind, json!({"id": format!("ch_{i}"), "object": "charge"}));
            event["id"] = json!(format!("evt_{i:02}"));
            event["created"] = json!(created);
            event
        })
        .collect();
    standin.record_events(events.clone());
    events
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(standin: &StandIn, query: &str) -> Value {
    let (status, body) = status_json(get(standin, &format!("/v1/events?{query}")).await).await;
    assert_eq!(status, 200, "{query}: {body}");
    assert_eq!(body["object"], "list");
    assert_eq!(body["url"], "/v1/events");
    body
}

#[tokio::test]
async fn lists_newest_first_with_cursors_and_filters() {
    let standin = StandIn::start().await;
    recorded(&standin);
    let newest: Vec<String> = (0..25).rev().map(|i| format!("evt_{i:02}")).collect();

    let first = list(&standin, "").await;
    assert_eq!(ids(&first), newest[..10], "default limit 10, newest first");
    assert_eq!(first["has_more"], true);

    // Walk every page with starting_after: each event once, in order.
    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let query = format!("limit=7{cursor}");
        let page = list(&standin, &query).await;
        walked.extend(ids(&page));
        if page["has_more"] == false {
            break;
        }
        cursor = format!("&starting_after={}", walked.last().unwrap());
    }
    assert_eq!(walked, newest);

    // ending_before: the events just newer than the cursor, newest first.
    let page = list(&standin, "limit=3&ending_before=evt_05").await;
    assert_eq!(ids(&page), ["evt_08", "evt_07", "evt_06"]);
    assert_eq!(page["has_more"], true);
    let page = list(&standin, "limit=5&ending_before=evt_22").await;
    assert_eq!(ids(&page), ["evt_24", "evt_23"]);
    assert_eq!(page["has_more"], false);

    let page = list(&standin, "limit=100&created[gte]=1003&created[lt]=1006").await;
    assert_eq!(ids(&page), ["evt_05", "evt_04", "evt_03"]);
    let page = list(&standin, "limit=100&created[gt]=1015&created[lte]=1016").await;
    assert_eq!(ids(&page), ["evt_23", "evt_22"]);
    let page = list(&standin, "limit=100&created=1001").await;
    assert_eq!(ids(&page), ["evt_01"]);

    let page = list(
        &standin,
        "limit=100&types[]=charge.refunded&created[lte]=1005",
    )
    .await;
    assert_eq!(ids(&page), ["evt_05", "evt_03", "evt_01"]);
    // async-stripe sends indexed arrays, percent-encoded.
    let page = list(
        &standin,
        "limit=100&types%5B0%5D=charge.refunded&types%5B1%5D=x&created%5Blte%5D=1003",
    )
    .await;
    assert_eq!(ids(&page), ["evt_03", "evt_01"]);
    let page = list(&standin, "limit=100&type=charge.*&created[lte]=1001").await;
    assert_eq!(ids(&page), ["evt_01", "evt_00"]);

    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        (
            "starting_after=evt_01&ending_before=evt_03",
            "ending_before",
        ),
        ("bogus=1", "bogus"),
    ] {
        let (status, body) = status_json(get(&standin, &format!("/v1/events?{query}")).await).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["param"], param, "{query}: {body}");
    }
    let (status, body) =
        status_json(get(&standin, "/v1/events?starting_after=evt_nope").await).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn list_calls_fail_as_told() {
    let standin = StandIn::start().await;
    recorded(&standin);
    standin.fail_event_lists(ListFault::RateLimited, 1);
    standin.fail_event_lists(ListFault::ServerError, 1);
    let response = get(&standin, "/v1/events").await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let (_, body) = status_json(response).await;
    assert_eq!(body["error"]["type"], "rate_limit_error");
    let (status, body) = status_json(get(&standin, "/v1/events").await).await;
    assert_eq!(status, 500);
    assert_eq!(body["error"]["type"], "api_error");
    list(&standin, "").await;

    // The same through the admin route.
    let fail_lists = |status| json!({"fail_event_lists": {"status": status, "count": 2}});
    let (_, state) = admin(&standin, "/_emulator/faults", &fail_lists(500)).await;
    assert_eq!(state["event_list_failures"], json!([500, 500]));
    assert_eq!(get(&standin, "/v1/events").await.status(), 500);
    assert_eq!(get(&standin, "/v1/events").await.status(), 500);
    list(&standin, "").await;
    let (refused, _) = admin(&standin, "/_emulator/faults", &fail_lists(404)).await;
    assert_eq!(refused, 400);
}

#[tokio::test]
async fn withheld_events_are_listed_but_not_delivered() {
    let receiver = Receiver::start().await;
    let standin = receiver.standin().withhold_deliveries(true).start().await;
    let (status, session) = status_json(post(&standin, T_SHIRTS, None).await).await;
    assert_eq!(status, 200);
    standin
        .pay(session["id"].as_str().unwrap(), Method::Card)
        .await
        .expect("paid");
    let listed = list(&standin, "").await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 3, "{listed}");
    assert!(standin.deliveries().is_empty());

    // Delivering again (admin route) applies to events created from then on.
    let (_, state) = admin(
        &standin,
        "/_emulator/faults",
        &json!({"withhold_deliveries": false}),
    )
    .await;
    assert_eq!(state["withhold_deliveries"], false);
    let refunded = events::envelope("charge.refunded", json!({"id": "ch_x", "object": "charge"}));
    let (recorded, _) = admin(&standin, "/_emulator/events", &refunded).await;
    assert_eq!(recorded, 201);
    assert!(standin.wait_delivered(1, Duration::from_secs(10)).await);
    assert_eq!(receiver.delivered_types(), ["charge.refunded"]);
    assert_eq!(
        list(&standin, "").await["data"].as_array().unwrap().len(),
        4
    );
}
