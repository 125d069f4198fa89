//! The Checkout redirect targets, answering as the NestJS service did.

use axum::Json;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Page {
    ok: bool,
    message: &'static str,
}

/// Where Stripe Checkout sends the customer after paying.
#[utoipa::path(get, path = "/payments/success", tag = "pages", responses((status = 200, body = Page)))]
pub async fn success() -> Json<Page> {
    Json(Page {
        ok: true,
        message: "Payment successful",
    })
}

/// Where Stripe Checkout sends the customer who cancels.
#[utoipa::path(get, path = "/payments/cancel", tag = "pages", responses((status = 200, body = Page)))]
pub async fn cancel() -> Json<Page> {
    Json(Page {
        ok: false,
        message: "Payment cancelled",
    })
}
