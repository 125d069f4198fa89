//! Pre-generated request pools: every request of a measured run is built (and, for webhooks, signed) before
//! the run starts, so neither JSON templating nor HMAC-SHA256 is paid for by the load generator while it
//! measures. Each webhook is a distinct `charge.succeeded` event (its own evt, ch, pi ids and orderId), so each
//! is a distinct payment outcome and JetStream de-duplication never flatters the figures.

use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use stripe_wire::signature::Signer;

/// Requests per chunk: pools are built in parallel, one contiguous buffer per chunk.
const CHUNK: usize = 4096;

/// A pool of complete requests (HTTP/1.1 head + body, or a bare NATS payload), indexed from `base`.
pub struct Pool {
    /// Global index of entry 0 (webhook pools of one run share one index space, for the exactly-once check).
    pub base: usize,
    chunks: Vec<Chunk>,
    len: usize,
}

struct Chunk {
    data: Vec<u8>,
    /// (start, body start, end) within `data`.
    spans: Vec<(u32, u32, u32)>,
}

impl Pool {
    pub fn len(&self) -> usize {
        self.len
    }

    /// The whole request (head and body).
    pub fn request(&self, i: usize) -> &[u8] {
        let chunk = &self.chunks[i / CHUNK];
        let (start, _, end) = chunk.spans[i % CHUNK];
        &chunk.data[start as usize..end as usize]
    }

    /// The body only.
    pub fn body(&self, i: usize) -> &[u8] {
        let chunk = &self.chunks[i / CHUNK];
        let (_, body, end) = chunk.spans[i % CHUNK];
        &chunk.data[body as usize..end as usize]
    }

    pub fn mean_body_len(&self) -> usize {
        if self.len == 0 {
            return 0;
        }
        let total: usize = self
            .chunks
            .iter()
            .flat_map(|c| c.spans.iter().map(|(_, b, e)| (e - b) as usize))
            .sum();
        total / self.len
    }

    pub fn bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.data.len()).sum()
    }

    /// Builds `len` entries with `make(global_index, out)` appending one entry to `out` and returning the
    /// offset, relative to the start of what it appended, where the body starts. Uses every core: it runs before measuring.
    pub fn build<F>(base: usize, len: usize, make: F) -> Pool
    where
        F: Fn(usize, &mut Vec<u8>) -> usize + Sync,
    {
        let n_chunks = len.div_ceil(CHUNK);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut chunks: Vec<Option<Chunk>> = (0..n_chunks).map(|_| None).collect();
        std::thread::scope(|scope| {
            let per = n_chunks.div_ceil(threads.max(1)).max(1);
            for (t, slots) in chunks.chunks_mut(per).enumerate() {
                let make = &make;
                scope.spawn(move || {
                    for (j, slot) in slots.iter_mut().enumerate() {
                        let c = t * per + j;
                        let range = c * CHUNK..((c + 1) * CHUNK).min(len);
                        *slot = Some(build_chunk(base, range, make));
                    }
                });
            }
        });
        Pool {
            base,
            chunks: chunks.into_iter().map(|c| c.expect("built")).collect(),
            len,
        }
    }
}

fn build_chunk<F>(base: usize, range: Range<usize>, make: &F) -> Chunk
where
    F: Fn(usize, &mut Vec<u8>) -> usize,
{
    let mut data = Vec::with_capacity(range.len() * 512);
    let mut spans = Vec::with_capacity(range.len());
    for i in range {
        let start = data.len();
        let body = make(base + i, &mut data);
        spans.push((start as u32, (start + body) as u32, data.len() as u32));
    }
    data.shrink_to_fit();
    Chunk { data, spans }
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Identifiers of one benchmark run: a random tag keeps ids realistic (Stripe ids are 24 base-62 characters
/// after the prefix) and makes the ids of two runs differ.
#[derive(Clone)]
pub struct Ids {
    tag: String,
    uuid_head: String,
}

impl Ids {
    pub fn new(seed: u64) -> Ids {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut x = seed | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let tag = (0..8)
            .map(|_| ALPHABET[(next() % 62) as usize] as char)
            .collect();
        let n = next();
        let uuid_head = format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}",
            n as u32,
            (n >> 32) as u16,
            (n >> 48) & 0xfff,
            next() & 0xfff
        );
        Ids { tag, uuid_head }
    }

    pub fn charge(&self, i: usize) -> String {
        format!("ch_{}{i:016}", self.tag)
    }
    pub fn intent(&self, i: usize) -> String {
        format!("pi_{}{i:016}", self.tag)
    }
    /// A UUID-shaped order id (orders-ms uses UUIDs) whose last 12 digits are the index.
    pub fn order(&self, i: usize) -> String {
        format!("{}-{i:012}", self.uuid_head)
    }
    /// The index back from an order id made by [`Ids::order`].
    pub fn index_of_order(&self, order: &str) -> Option<usize> {
        let (head, tail) = order.rsplit_once('-')?;
        if head != self.uuid_head {
            return None;
        }
        tail.parse().ok()
    }
    pub fn tag(&self) -> &str {
        &self.tag
    }
}

/// The `charge.succeeded` fixture with placeholders, split once into literal parts.
pub struct WebhookTemplate {
    parts: Vec<(String, Option<Slot>)>,
    /// Keyed once; the same signer the stand-in and `payments trigger` use (`stripe-wire`).
    signer: Signer,
    ids: Ids,
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    Event,
    Charge,
    Intent,
    Order,
    Created,
    Request,
}

const MARKERS: &[(&str, Slot)] = &[
    ("@@EVT@@", Slot::Event),
    ("@@CH@@", Slot::Charge),
    ("@@PI@@", Slot::Intent),
    ("@@ORDER@@", Slot::Order),
    ("\"@@CREATED@@\"", Slot::Created),
    ("@@REQ@@", Slot::Request),
];

impl WebhookTemplate {
    /// `fixture`: a real Stripe `charge.succeeded` event (tests/fixtures/stripe/charge.succeeded.json).
    pub fn new(fixture: &str, secret: &str, ids: Ids) -> WebhookTemplate {
        let mut event: serde_json::Value =
            serde_json::from_str(fixture).expect("the charge.succeeded fixture is JSON");
        event["id"] = "@@EVT@@".into();
        event["created"] = "@@CREATED@@".into();
        event["request"]["id"] = "@@REQ@@".into();
        let object = &mut event["data"]["object"];
        object["id"] = "@@CH@@".into();
        object["payment_intent"] = "@@PI@@".into();
        object["created"] = "@@CREATED@@".into();
        object["metadata"] = serde_json::json!({ "orderId": "@@ORDER@@" });
        // Stripe sends its events pretty-printed with two spaces, as serde_json does.
        let text = serde_json::to_string_pretty(&event).expect("serialises");
        let mut parts = Vec::new();
        let mut rest = text.as_str();
        loop {
            let next = MARKERS
                .iter()
                .filter_map(|(m, slot)| rest.find(m).map(|at| (at, m.len(), *slot)))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, len, slot)) => {
                    parts.push((rest[..at].to_owned(), Some(slot)));
                    rest = &rest[at + len..];
                }
                None => {
                    parts.push((rest.to_owned(), None));
                    break;
                }
            }
        }
        let signer = Signer::new(secret);
        WebhookTemplate { parts, signer, ids }
    }

    /// Appends the body of event `i`.
    pub fn body(&self, i: usize, created: i64, out: &mut Vec<u8>) {
        use std::io::Write;
        for (text, slot) in &self.parts {
            out.extend_from_slice(text.as_bytes());
            let _ = match slot {
                None => Ok(()),
                Some(Slot::Event) => write!(out, "evt_{}{i:016}", self.ids.tag),
                Some(Slot::Charge) => write!(out, "ch_{}{i:016}", self.ids.tag),
                Some(Slot::Intent) => write!(out, "pi_{}{i:016}", self.ids.tag),
                Some(Slot::Order) => write!(out, "{}-{i:012}", self.ids.uuid_head),
                Some(Slot::Created) => write!(out, "{created}"),
                Some(Slot::Request) => write!(out, "req_{}{i:014}", self.ids.tag),
            };
        }
    }

    /// `Stripe-Signature` for `body` signed at `t`: `t=<t>,v1=<hex HMAC-SHA256("<t>.<body>")>`.
    pub fn signature(&self, t: i64, body: &[u8]) -> String {
        self.signer.sign(t, body)
    }

    /// Appends a complete `POST /payments/webhook` request for event `i`, headed as Stripe sends it, signed now;
    /// returns where its body starts.
    pub fn request(&self, i: usize, t: i64, out: &mut Vec<u8>) -> usize {
        use std::io::Write;
        let entry = out.len();
        let mut body = Vec::with_capacity(3600);
        self.body(i, t, &mut body);
        let signature = self.signature(t, &body);
        let _ = write!(
            out,
            "POST /payments/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\r\n\
             Accept: */*; q=0.5, application/xml\r\nCache-Control: no-cache\r\nContent-Type: application/json; charset=utf-8\r\n\
             Stripe-Signature: {signature}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let at = out.len() - entry;
        out.extend_from_slice(&body);
        at
    }
}

/// The create-session request body (CONTRACT §2) for order `i`.
pub fn session_json(ids: &Ids, i: usize) -> String {
    format!(
        r#"{{"orderId":"{}","currency":"usd","items":[{{"name":"T-Shirt","price":20.5,"quantity":2}}]}}"#,
        ids.order(i)
    )
}

/// `POST /payments/create-session` to the service.
pub fn session_http_request(ids: &Ids, i: usize, out: &mut Vec<u8>) -> usize {
    use std::io::Write;
    let entry = out.len();
    let body = session_json(ids, i);
    let _ = write!(
        out,
        "POST /payments/create-session HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let at = out.len() - entry;
    out.extend_from_slice(body.as_bytes());
    at
}

/// The NestJS envelope a `ClientProxy.send('create.payment.session', dto)` puts on NATS.
pub fn session_nestjs_payload(ids: &Ids, i: usize, out: &mut Vec<u8>) -> usize {
    use std::io::Write;
    let _ = write!(
        out,
        r#"{{"pattern":"create.payment.session","data":{},"id":"{}-nest"}}"#,
        session_json(ids, i),
        ids.order(i)
    );
    0
}

/// `POST /v1/checkout/sessions` straight to the stand-in, with the parameters and headers the service's
/// Stripe client sends for the same order (form-encoded, bracket notation, Bearer key, Idempotency-Key).
pub fn standin_request(
    ids: &Ids,
    i: usize,
    success: &str,
    cancel: &str,
    out: &mut Vec<u8>,
) -> usize {
    use std::io::Write;
    let entry = out.len();
    let order = ids.order(i);
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let body = format!(
        "cancel_url={}&client_reference_id={order}&line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=usd\
         &line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=T-Shirt\
         &line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=2050&line_items%5B0%5D%5Bquantity%5D=2\
         &metadata%5BorderId%5D={order}&mode=payment&payment_intent_data%5Bmetadata%5D%5BorderId%5D={order}\
         &success_url={}",
        enc(cancel),
        enc(success)
    );
    let _ = write!(
        out,
        "POST /v1/checkout/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk_test_bench\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nUser-Agent: Stripe/v1 RustBindings/1.0.0-rc.10\r\n\
         Idempotency-Key: bench-{order}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let at = out.len() - entry;
    out.extend_from_slice(body.as_bytes());
    at
}
