//! The hosted Checkout page at a session's `url` (`/checkout/{id}`): a small self-contained HTML page (inline CSS,
//! no scripts) with the line items, the total and one form per action, whose buttons have stable ids for browser
//! tests: `#pay-card`, `#pay-declined-then-card`, `#pay-delayed-success`, `#pay-delayed-failure`, `#cancel`,
//! `#expire`.
//!
//! Paying answers `303` to the session's `success_url` (`{CHECKOUT_SESSION_ID}` replaced), cancelling `303` to its
//! `cancel_url`; a session that is no longer open shows its state instead of buttons. Money is written by
//! `price` (as `Intl` does); the pages after Checkout are in `result_page`.

use std::fmt::Write;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::flows::{self, FlowError, Method};
use crate::form;
use crate::objects::LineItem;
use crate::state::Shared;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/checkout/{id}", get(show))
        .route("/checkout/{id}/pay", post(pay))
        .route("/checkout/{id}/cancel", post(cancel))
        .route("/checkout/{id}/expire", post(expire))
}

async fn show(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    render(&shared, &id, StatusCode::OK, None)
}

async fn pay(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut pairs = form::pairs(query.unwrap_or_default().as_bytes());
    pairs.extend(form::pairs(&body));
    let method = pairs
        .into_iter()
        .find(|(k, _)| k == "method")
        .map_or_else(|| "card".to_owned(), |(_, v)| v);
    let paid = method
        .parse::<Method>()
        .and_then(|method| flows::pay(&shared, &id, method));
    match paid {
        Ok(paid) => match paid.redirect_url {
            Some(url) => see_other(&url),
            None => render(&shared, &id, StatusCode::OK, None),
        },
        Err(error) => failed(&shared, &id, &error),
    }
}

async fn cancel(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match flows::cancel(&shared, &id) {
        Ok(Some(url)) => see_other(&url),
        Ok(None) => html(
            StatusCode::OK,
            "Payment cancelled",
            "<p>You cancelled the payment.</p>",
        ),
        Err(error) => failed(&shared, &id, &error),
    }
}

async fn expire(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match flows::expire(&shared, &id) {
        Ok(_) => render(&shared, &id, StatusCode::OK, None),
        Err(error) => failed(&shared, &id, &error),
    }
}

fn see_other(url: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_owned())]).into_response()
}

fn failed(shared: &Shared, id: &str, error: &FlowError) -> Response {
    let status = match error {
        FlowError::NoSuchSession(_) => StatusCode::NOT_FOUND,
        FlowError::UnknownMethod(_) => StatusCode::BAD_REQUEST,
        FlowError::NotOpen { .. } | FlowError::NotPayable { .. } => StatusCode::CONFLICT,
    };
    render(shared, id, status, Some(&error.to_string()))
}

/// The page of session `id` in its current state, with an optional error notice.
fn render(shared: &Shared, id: &str, status: StatusCode, notice: Option<&str>) -> Response {
    let inner = shared.lock();
    let Some(stored) = inner.sessions.get(id) else {
        let body = format!(
            "<p class=\"notice\">No such Checkout Session: <code>{}</code>.</p>",
            escape(id)
        );
        return html(StatusCode::NOT_FOUND, "Checkout Session not found", &body);
    };
    let session = &stored.object;
    let text = |field: &str| session[field].as_str().unwrap_or_default().to_owned();
    let currency = text("currency");
    let mut body = String::new();
    if let Some(notice) = notice {
        let _ = write!(
            body,
            "<p class=\"notice\" id=\"notice\">{}</p>",
            escape(notice)
        );
    }
    body.push_str(&items(&stored.line_items, &currency));
    let total = session["amount_total"].as_i64().unwrap_or(0);
    let _ = write!(
        body,
        "<p class=\"total\">Total <strong id=\"total\">{}</strong></p>",
        money(total, &currency)
    );
    let intent_status = session["payment_intent"]
        .as_str()
        .and_then(|pi| inner.payment_intents.get(pi))
        .and_then(|pi| pi["status"].as_str())
        .unwrap_or_default();
    let state = match (text("status").as_str(), text("payment_status").as_str()) {
        ("open", _) => buttons(&shared.public_url, id),
        ("expired", _) => "This Checkout Session has expired.".to_owned(),
        ("complete", "paid") => "Payment complete. Thank you!".to_owned(),
        ("complete", _) if intent_status == "requires_payment_method" => {
            "The payment failed.".to_owned()
        }
        ("complete", _) => "Payment submitted: it is processing.".to_owned(),
        (other, _) => format!("This Checkout Session is {}.", escape(other)),
    };
    let _ = write!(
        body,
        "<div class=\"state\" id=\"state\" data-status=\"{}\" data-payment-status=\"{}\">{state}</div>",
        escape(&text("status")),
        escape(&text("payment_status"))
    );
    html(status, "Checkout (emulator)", &body)
}

fn items(items: &[LineItem], currency: &str) -> String {
    let mut rows = String::new();
    for item in items {
        let unit = item
            .unit_amount_decimal
            .parse::<f64>()
            .map_or_else(|_| String::new(), |u| money(u.round() as i64, currency));
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{unit}</td><td class=\"n\">{}</td></tr>",
            escape(&item.name),
            item.quantity,
            money(item.amount_subtotal, currency)
        );
    }
    format!(
        "<table id=\"line-items\"><thead><tr><th>Item</th><th class=\"n\">Qty</th><th class=\"n\">Unit</th>\
         <th class=\"n\">Amount</th></tr></thead><tbody>{rows}</tbody></table>"
    )
}

/// One form per action, posting to absolute URLs under `base` (the page may be shown at an action's URL).
fn buttons(base: &str, id: &str) -> String {
    let (base, id) = (escape(base), escape(id));
    let form = |action: &str, button: &str, label: &str, class: &str| {
        format!(
            "<form method=\"post\" action=\"{base}/checkout/{id}/{action}\"><button type=\"submit\" id=\"{button}\" \
             class=\"{class}\">{label}</button></form>"
        )
    };
    [
        form("pay?method=card", "pay-card", "Pay by card", "primary"),
        form(
            "pay?method=declined_then_card",
            "pay-declined-then-card",
            "Pay by card (declined once, then another card)",
            "",
        ),
        form(
            "pay?method=delayed_success",
            "pay-delayed-success",
            "Pay by bank debit (succeeds later)",
            "",
        ),
        form(
            "pay?method=delayed_failure",
            "pay-delayed-failure",
            "Pay by bank debit (fails later)",
            "",
        ),
        form("cancel", "cancel", "Cancel and go back", "quiet"),
        form("expire", "expire", "Expire the session", "quiet"),
    ]
    .concat()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}\
    h1{font-size:1.3rem}.tag{font-size:.75rem;background:#eef;border-radius:4px;padding:.1rem .4rem}\
    table{width:100%;border-collapse:collapse}th,td{padding:.4rem;border-bottom:1px solid #ddd;text-align:left}\
    .n{text-align:right}.total{font-size:1.1rem;text-align:right}form{margin:.4rem 0}\
    button{width:100%;padding:.6rem;border-radius:6px;border:1px solid #999;background:#fff;font-size:1rem;cursor:pointer}\
    button.primary{background:#635bff;color:#fff;border-color:#635bff}button.quiet{border-style:dashed}\
    .notice{background:#fee;border:1px solid #c66;padding:.5rem;border-radius:6px}.state{margin-top:1rem}";

pub(crate) fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width,initial-scale=1\"><title>{title}</title><style>{STYLE}</style></head><body>\
         <h1>{title} <span class=\"tag\">test mode</span></h1>{body}</body></html>"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

/// `amount` minor units of `currency` as a customer reads it, e.g. `$41.00`, `¥1,000`, `KWD 1.230`.
pub(crate) fn money(amount: i64, currency: &str) -> String {
    // The API's decimals come from the currency table shared with the service; an unknown code counts two.
    let digits = stripe_wire::Currency::lookup(currency).map_or(2, |c| c.exponent());
    crate::price::format(amount, currency, digits)
}

pub(crate) fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_money_in_major_units() {
        assert_eq!(money(4100, "usd"), "$41.00");
        assert_eq!(money(5, "eur"), "€0.05");
        assert_eq!(money(100_000, "jpy"), "¥100,000");
        assert_eq!(money(1230, "kwd"), "KWD\u{a0}1.230");
    }

    #[test]
    fn escapes_html() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
