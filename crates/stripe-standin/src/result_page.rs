//! Readable pages for where the customer lands after Checkout, for local runs (`scripts/run.sh` points
//! `STRIPE_SUCCESS_URL` and `STRIPE_CANCEL_URL` here): `/checkout/{id}/result` tells the session's outcome (paid,
//! processing, failed, expired, not paid yet) with its amount and order, and `/checkout/cancelled` says that nothing
//! was charged. They stand in for a shop's own pages: the payments service's `/payments/success` and
//! `/payments/cancel` answer JSON by contract, for API clients, and stay so.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::page::{escape, html, money};
use crate::state::Shared;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/checkout/{id}/result", get(result))
        .route("/checkout/cancelled", get(cancelled))
}

async fn result(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let inner = shared.lock();
    let Some(stored) = inner.sessions.get(&id) else {
        let body = format!(
            "<p class=\"notice\">No such Checkout Session: <code>{}</code>.</p>",
            escape(&id)
        );
        return html(StatusCode::NOT_FOUND, "Checkout Session not found", &body);
    };
    let session = &stored.object;
    let text = |field: &str| session[field].as_str().unwrap_or_default().to_owned();
    let intent_status = session["payment_intent"]
        .as_str()
        .and_then(|pi| inner.payment_intents.get(pi))
        .and_then(|pi| pi["status"].as_str())
        .unwrap_or_default();
    let (title, outcome, line) = match (text("status").as_str(), text("payment_status").as_str()) {
        ("complete", "paid") => (
            "Payment successful",
            "paid",
            "Thank you! The payment went through.",
        ),
        ("complete", _) if intent_status == "requires_payment_method" => (
            "Payment failed",
            "failed",
            "The bank debit failed; nothing was charged.",
        ),
        ("complete", _) => (
            "Payment processing",
            "processing",
            "The bank debit is on its way; the result follows in a moment (reload this page).",
        ),
        ("expired", _) => (
            "Session expired",
            "expired",
            "This Checkout Session expired before it was paid.",
        ),
        _ => (
            "Not paid yet",
            "open",
            "This Checkout Session is still open.",
        ),
    };
    let order = session["metadata"]["orderId"]
        .as_str()
        .or_else(|| session["client_reference_id"].as_str())
        .unwrap_or("—");
    let mut body = format!(
        "<div class=\"state\" id=\"result\" data-outcome=\"{outcome}\"><p>{line}</p></div>\
         <table><tbody><tr><th>Amount</th><td class=\"n\" id=\"amount\">{}</td></tr>\
         <tr><th>Order</th><td class=\"n\" id=\"order\">{}</td></tr>\
         <tr><th>Checkout Session</th><td class=\"n\"><code>{}</code></td></tr></tbody></table>",
        money(
            session["amount_total"].as_i64().unwrap_or(0),
            &text("currency")
        ),
        escape(order),
        escape(&id)
    );
    let _ = write!(
        body,
        "<p><a href=\"{}/checkout/{}\">Back to the Checkout page</a></p>{NOTE}",
        escape(&shared.public_url),
        escape(&id)
    );
    html(StatusCode::OK, title, &body)
}

async fn cancelled() -> Response {
    let body = format!(
        "<div class=\"state\" id=\"result\" data-outcome=\"cancelled\"><p>You went back without paying; nothing \
         was charged. The Checkout Session stays open until it expires.</p></div>{NOTE}"
    );
    html(StatusCode::OK, "Payment cancelled", &body)
}

const NOTE: &str =
    "<p class=\"tag\">Checkout emulator: this page stands in for your shop's page after Checkout \
     (STRIPE_SUCCESS_URL / STRIPE_CANCEL_URL).</p>";
