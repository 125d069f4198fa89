//! The emulator's pages after Checkout (`/checkout/{id}/result`, `/checkout/cancelled`): readable HTML telling the
//! session's outcome with its amount and order, where `scripts/run.sh` sends the customer instead of raw JSON.

use std::time::Duration;

use crate::support::raw::{post, status_json, T_SHIRTS};
use reqwest::redirect::Policy;
use reqwest::Client;
use stripe_standin::{Method, StandIn};

async fn session(standin: &StandIn) -> String {
    let (status, session) = status_json(post(standin, T_SHIRTS, None).await).await;
    assert_eq!(status, 200);
    session["id"].as_str().unwrap().to_owned()
}

async fn page(url: &str) -> (u16, String) {
    let response = Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn the_result_page_tells_the_outcome_with_amount_and_order() {
    let standin = StandIn::builder()
        .settle_delay(Duration::from_secs(3600))
        .start()
        .await;
    let result = |id: &str| format!("{}/checkout/{id}/result", standin.base_url());

    let open = session(&standin).await;
    let (status, html) = page(&result(&open)).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-outcome=\"open\""), "{html}");

    let paid = session(&standin).await;
    standin.pay(&paid, Method::Card).await.unwrap();
    let (status, html) = page(&result(&paid)).await;
    assert_eq!(status, 200);
    assert!(html.contains("<title>Payment successful</title>"), "{html}");
    assert!(html.contains("data-outcome=\"paid\""), "{html}");
    assert!(html.contains("id=\"amount\">$43.99<"), "{html}");
    assert!(html.contains("id=\"order\">ord_7<"), "{html}");
    assert!(!html.contains("\"object\""), "raw JSON in {html}");

    let processing = session(&standin).await;
    standin
        .pay(&processing, Method::DelayedSuccess)
        .await
        .unwrap();
    let (_, html) = page(&result(&processing)).await;
    assert!(html.contains("data-outcome=\"processing\""), "{html}");

    let (status, _) = page(&result("cs_test_nope")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_cancelled_page_says_nothing_was_charged() {
    let standin = StandIn::start().await;
    let (status, html) = page(&format!("{}/checkout/cancelled", standin.base_url())).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-outcome=\"cancelled\""), "{html}");
    assert!(html.contains("nothing was charged"), "{html}");
}
