# syntax=docker/dockerfile:1
#
# Two images from one build:
#   runtime (the default, last stage)  production: /usr/local/bin/payments only, built with --no-default-features
#                                      (no `trigger`, no stand-in code); `serve` by default, `healthcheck` for
#                                      HEALTHCHECK
#   emulator                           development: /usr/local/bin/stripe-standin, the offline Stripe API stand-in
#                                      that docker-compose.yml runs in place of Stripe
#
#   docker build -t payments:dev .
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" -t payments:0.1.0 .
#   docker build --target emulator -t stripe-standin:dev .

ARG RUST_VERSION=1.95

# ---------------------------------------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0

# 1. Dependencies only. The workspace manifests, the lock file and stub sources for every workspace member (keep
#    this list in step with `[workspace] members` in Cargo.toml: scripts/validate-deploy.sh checks it). This layer,
#    the slow one, is rebuilt only when Cargo.toml or Cargo.lock change, not on every source edit. COPY keeps the
#    real sources' own (older) mtimes, so cargo could take the stub builds for up to date: they are cleaned away.
COPY Cargo.toml Cargo.lock ./
# Build flags: mimalloc with lazy arena commit (see .cargo/config.toml).
COPY .cargo .cargo
COPY crates/stripe-standin/Cargo.toml crates/stripe-standin/
COPY crates/stripe-wire/Cargo.toml crates/stripe-wire/
COPY crates/testkit/Cargo.toml crates/testkit/
RUN mkdir -p src crates/stripe-standin/src crates/stripe-wire/src crates/testkit/src \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && echo 'fn main() {}' > crates/stripe-standin/src/main.rs && touch crates/stripe-standin/src/lib.rs \
 && touch crates/stripe-wire/src/lib.rs crates/testkit/src/lib.rs \
 && cargo fetch --locked \
 && cargo build --release --locked --offline -p payments --no-default-features --bins \
 && cargo build --release --locked --offline -p stripe-standin --bins \
 && cargo clean --release --offline -p payments -p stripe-standin -p stripe-wire -p testkit

# 2. The workspace's own code. Only what the binaries compile from (see .dockerignore). `install -s` strips the
#    symbol tables (payments: 32 MB -> 22 MB); panics still report their message and source location.
#    --no-default-features leaves out the `dev-tools` feature: the production binary has no stand-in in it.
COPY src src
COPY crates crates
RUN cargo build --release --locked --offline -p payments --no-default-features --bins \
 && install -s -D -m 0755 -t /out target/release/payments

# ---------------------------------------------------------------------------------------------------------------
# The emulator's binary, built only when a target needs it (`--target emulator`, docker compose).
FROM builder AS emulator-builder
RUN cargo build --release --locked --offline -p stripe-standin --bins \
 && install -s -D -m 0755 -t /out target/release/stripe-standin

# ---------------------------------------------------------------------------------------------------------------
# Development only: the offline Stripe API stand-in (docker-compose.yml's `stripe` service). Production has no
# such image: the service talks to https://api.stripe.com.
FROM gcr.io/distroless/cc-debian12:nonroot AS emulator
COPY --from=emulator-builder /out/stripe-standin /usr/local/bin/
USER 65532:65532
# All interfaces (the stand-in's default is loopback), so that other containers reach it as http://stripe:12111.
ENV HOST=0.0.0.0 \
    PORT=12111
EXPOSE 12111
ENTRYPOINT ["/usr/local/bin/stripe-standin"]

# ---------------------------------------------------------------------------------------------------------------
# Production (the default target, so it stays last): glibc + libgcc only (the binary is dynamically linked against
# bookworm's glibc, which distroless cc-debian12 carries). No shell, no curl, no OpenSSL, no ca-certificates: TLS to Stripe is rustls with bundled
# webpki roots. The :nonroot tag runs as uid/gid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="payments" \
      org.opencontainers.image.description="Stripe Checkout and webhooks in front of a NATS JetStream bus: a drop-in successor of the NestJS payments-ms" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

COPY --from=builder /out/payments /usr/local/bin/

# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 3000
# The service finishes in-flight work within SHUTDOWN_GRACE (25s) after SIGTERM, then exits 0: give it at least
# 30s (docker stop -t 30, compose stop_grace_period, Kubernetes terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
# `payments healthcheck` GETs http://127.0.0.1:$PORT/health (liveness, not NATS readiness) and exits 0 on a 200.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/payments", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/payments"]
CMD ["serve"]
