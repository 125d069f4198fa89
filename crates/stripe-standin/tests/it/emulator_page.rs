//! The hosted Checkout page at a session's `url`: HTML with the line items, the total and the buttons; its forms
//! pay (303 to `success_url`), cancel (303 to `cancel_url`) and expire (event sent), and a session no longer open
//! shows its state instead of buttons.

use std::time::Duration;

use crate::support::raw::{post, status_json, T_SHIRTS};
use crate::support::receiver::{Receiver, SECRET};
use reqwest::redirect::Policy;
use reqwest::{Client, Response};
use stripe_standin::{Retry, StandIn};

const BUTTONS: [&str; 6] = [
    "id=\"pay-card\"",
    "id=\"pay-declined-then-card\"",
    "id=\"pay-delayed-success\"",
    "id=\"pay-delayed-failure\"",
    "id=\"cancel\"",
    "id=\"expire\"",
];

fn browser() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// A session whose success URL asks for the session id, as the service's does.
async fn session(standin: &StandIn) -> (String, String) {
    let body = T_SHIRTS.replace(
        "success_url=https%3A%2F%2Fshop.example%2Fok",
        "success_url=https%3A%2F%2Fshop.example%2Fok%3Fsession_id%3D%7BCHECKOUT_SESSION_ID%7D",
    );
    let (status, session) = status_json(post(standin, &body, None).await).await;
    assert_eq!(status, 200);
    let id = session["id"].as_str().unwrap().to_owned();
    (id, session["url"].as_str().unwrap().to_owned())
}

async fn html(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert_eq!(content_type, "text/html; charset=utf-8");
    (status, response.text().await.unwrap())
}

async fn submit(url: &str) -> Response {
    browser()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn shows_items_total_and_buttons() {
    let standin = StandIn::start().await;
    let (id, url) = session(&standin).await;
    assert_eq!(url, format!("{}/checkout/{id}", standin.base_url()));
    let (status, page) = html(browser().get(&url).send().await.unwrap()).await;
    assert_eq!(status, 200);
    for needle in ["T-Shirt", "Socks", "$20.50", "$41.00", "$43.99"] {
        assert!(page.contains(needle), "{needle} missing in {page}");
    }
    for button in BUTTONS {
        assert!(page.contains(button), "{button} missing");
    }
    assert!(page.contains(&format!("action=\"{url}/pay?method=card\"")));
    assert!(!page.contains("<script") && !page.contains("src=\"http"));
    // The page is not part of Stripe's API: not recorded, no key needed.
    assert_eq!(standin.requests().len(), 1);

    let (status, _) = html(
        browser()
            .get(format!("{}/checkout/cs_test_nope", standin.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn paying_redirects_to_the_success_url_with_the_session_id() {
    let standin = StandIn::start().await;
    let (id, url) = session(&standin).await;
    let response = submit(&format!("{url}/pay?method=card")).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(
        response.headers()["location"],
        format!("https://shop.example/ok?session_id={id}").as_str()
    );
    let session = standin.session(&id).unwrap();
    assert_eq!(
        (
            session["status"].as_str(),
            session["payment_status"].as_str()
        ),
        (Some("complete"), Some("paid"))
    );

    let (status, page) = html(browser().get(&url).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(page.contains("Payment complete"));
    assert!(BUTTONS.iter().all(|b| !page.contains(b)), "{page}");

    let (status, page) = html(submit(&format!("{url}/pay?method=card")).await).await;
    assert_eq!(status, 409);
    assert!(page.contains("no longer active"));
}

#[tokio::test]
async fn delayed_methods_and_unknown_methods() {
    let standin = StandIn::builder()
        .settle_delay(Duration::from_secs(3600))
        .start()
        .await;
    let (_, url) = session(&standin).await;
    let (status, page) = html(submit(&format!("{url}/pay?method=cash")).await).await;
    assert_eq!(status, 400);
    assert!(page.contains("Unknown payment method") && page.contains("id=\"pay-card\""));

    let response = submit(&format!("{url}/pay?method=delayed_success")).await;
    assert_eq!(response.status().as_u16(), 303);
    let (_, page) = html(browser().get(&url).send().await.unwrap()).await;
    assert!(page.contains("processing"), "{page}");
}

#[tokio::test]
async fn cancelling_redirects_to_the_cancel_url_and_sends_nothing() {
    let standin = StandIn::start().await;
    let (id, url) = session(&standin).await;
    let response = submit(&format!("{url}/cancel")).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "https://shop.example/no");
    assert_eq!(standin.session(&id).unwrap()["status"], "open");
    assert!(standin.events().is_empty());
}

#[tokio::test]
async fn expiring_shows_expired_and_sends_the_event() {
    let receiver = Receiver::start().await;
    let standin = StandIn::builder()
        .webhook_url(&receiver.url)
        .webhook_secret(SECRET)
        .retry(Retry::fast())
        .public_url("http://checkout.test:8080/")
        .start()
        .await;
    let (id, url) = session(&standin).await;
    assert_eq!(url, format!("http://checkout.test:8080/checkout/{id}"));
    let local = format!("{}/checkout/{id}", standin.base_url());
    let (_, page) = html(browser().get(&local).send().await.unwrap()).await;
    assert!(page.contains(&format!("action=\"{url}/expire\"")));

    let (status, page) = html(submit(&format!("{local}/expire")).await).await;
    assert_eq!(status, 200);
    assert!(page.contains("expired"));
    assert!(BUTTONS.iter().all(|b| !page.contains(b)));
    assert!(standin.wait_delivered(1, Duration::from_secs(10)).await);
    let received = receiver.received();
    received[0].verify(SECRET);
    assert_eq!(received[0].event_type(), "checkout.session.expired");
    assert_eq!(received[0].event()["data"]["object"]["id"], id.as_str());

    let (status, _) = html(submit(&format!("{local}/cancel")).await).await;
    assert_eq!(status, 409);
}
