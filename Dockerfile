# cachearr container image: a small Debian runtime with one static-ish binary, run as a
# non-root user, config and data under /config.
#
#   podman build -t cachearr .            (or docker build)
#   podman run -p 8484:8484 -v ./config:/config -e CACHEARR_PLEX=http://plex:32400 \
#       -e CACHEARR_PLEX_TOKEN_FILE=/run/secrets/plex_token cachearr
#
# BUILD_FROM=source (the default) compiles cachearr in a Rust image; BUILD_FROM=prebuilt copies a
# binary built beforehand with `cargo build --release -p cachearr` (target/release/cachearr), for
# machines that have the toolchain but no registry (scripts/container-test uses it).

ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim
ARG BUILD_FROM=source

FROM ${RUST_IMAGE} AS build-source
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p cachearr \
 && mkdir -p /out && cp target/release/cachearr /out/cachearr

FROM ${RUNTIME_IMAGE} AS build-prebuilt
COPY target/release/cachearr /out/cachearr

FROM build-${BUILD_FROM} AS build

FROM ${RUNTIME_IMAGE}
# ca-certificates: https upstreams (Plex "Secure connections: Required", Jellyfin behind TLS).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --user-group --no-create-home --home-dir /config --shell /usr/sbin/nologin cachearr \
 && mkdir -p /config \
 && chown cachearr:cachearr /config
COPY --from=build /out/cachearr /usr/local/bin/cachearr

# Inside a container the proxy listens on every interface, so other containers (Tautulli,
# Overseerr, Kometa) reach it as http://cachearr:8484. The admin listener stays on loopback
# unless an admin token is given: set CACHEARR_ADMIN_TOKEN(_FILE) and
# CACHEARR_ADMIN_LISTEN=0.0.0.0:8485 to publish the dashboard and the admin API.
ENV CACHEARR_LISTEN=0.0.0.0:8484 \
    CACHEARR_DATA_DIR=/config/data
USER cachearr
VOLUME /config
EXPOSE 8484 8485
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["cachearr", "health", "--timeout", "5"]
ENTRYPOINT ["cachearr"]
CMD ["serve"]
