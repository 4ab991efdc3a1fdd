# syntax=docker/dockerfile:1
# One image with the three binaries: `registry` (the API, migrations, keys, the hours refresh),
# `geodata-sync` and `reference-booking`. Built with the workspace's toolchain; runs on a slim
# Debian as an unprivileged user, with nothing written to the root filesystem.
#
#   docker build -t registry:dev .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=postgres://… registry:dev serve
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY . .
# The caches keep crates and build output between builds; the binaries are copied out of them.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin registry --bin geodata-sync --bin reference-booking \
 && mkdir -p /out \
 && cp target/release/registry target/release/geodata-sync target/release/reference-booking /out/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin registry
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
# In a container the API listens on every interface; the database always comes from
# DATABASE_URL (the embedded cluster is for a developer's machine, and this image has no
# PostgreSQL binaries).
ENV REGISTRY_LISTEN=0.0.0.0:8080 \
    REGISTRY_LOG=info
EXPOSE 8080
ENTRYPOINT ["registry"]
CMD ["serve"]
