#!/usr/bin/env python3
"""Where the service's CPU goes: folds `perf script` call stacks into a few buckets and lists the top self-time
symbols. A sample belongs to the bucket of its innermost frame that matches one (a malloc inside
StripeEvent::parse counts for StripeEvent::parse). Usage: perf script -i perf-service.data | perf-buckets.py"""
import collections, re, sys

BUCKETS = [
    ("pipeline: stripe::event::parse (full event -> serde_json::Value)", r"StripeEvent::parse|stripe::event::parse\b"),
    ("pipeline: ledger (KV create/update/entry)", r"pipeline::ledger|jetstream::kv::Store"),
    ("pipeline: PAYMENTS publish + ack", r"Processor::publish|ack_with"),
    ("pipeline: rest of Processor (consumer stream, outcome plan)", r"pipeline::processor|for_each_concurrent"),
    ("webhook: Stripe-Signature verify (HMAC-SHA256)", r"Verifier::verify"),
    ("webhook: EventHead::parse (id, type)", r"EventHead::parse"),
    ("webhook: Inbox::store (JetStream publish call)", r"pipeline::inbox"),
    ("metrics (recording, registry look-ups)", r"payments::metrics::|metrics_util::|metrics_exporter|metrics::"),
    ("tracing (spans, subscriber, OpenTelemetry)", r"tracing_subscriber::|tracing_core::|tracing::span|make_span|opentelemetry"),
    ("webhook: rest of handler (body, JSON reply)", r"http::webhook::receive|RawBody"),
    ("HTTP server: hyper/axum parsing, routing, writes (incl. socket syscalls)", r"hyper::|axum::|hyper_util"),
    ("NATS client: async-nats connection I/O (incl. socket syscalls)", r"async_nats::ConnectionHandler|async_nats::connection"),
    ("tokio runtime: scheduling, timers, epoll, futex", r"tokio::runtime|epoll_wait|futex"),
]

def main():
    samples, stack = [], []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            if stack:
                samples.append(stack)
            stack = []
            continue
        if line.startswith((" ", "\t")):
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                stack.append(parts[1])
        # header lines (comm pid time event) are skipped
    if stack:
        samples.append(stack)
    total = len(samples)
    counts = collections.Counter()
    kernel = collections.Counter()
    selfc = collections.Counter()
    for s in samples:
        found = None
        for frame in s:  # innermost first
            for name, pat in BUCKETS:
                if re.search(pat, frame):
                    found = name
                    break
            if found:
                break
        counts[found or "other"] += 1
        if s and "kernel.kallsyms" in s[0]:
            kernel[found or "other"] += 1
        leaf = re.sub(r"\+0x[0-9a-f]+", "", s[0]) if s else "?"
        selfc[leaf.split(" (")[0]] += 1
    alloc = sum(n for k, n in selfc.items() if re.search(r"malloc|free|_int_|realloc|unlink_chunk|consolidate", k))
    print(f"{total} samples")
    for name, n in counts.most_common():
        print(f"  {100*n/total:5.1f} %  {name}  (kernel {100*kernel[name]/total:.1f} %)")
    print(f"  (cross-cutting: glibc malloc/free self time {100*alloc/total:.1f} %)")
    print("top self symbols:")
    for k, n in selfc.most_common(25):
        try:
            print(f"  {100*n/total:5.1f} %  {k[:150]}")
        except BrokenPipeError:
            return

main()
