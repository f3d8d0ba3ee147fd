//! The gateway's integration tests, one test binary (`cargo nextest run -p cachearr-gateway
//! --test gateway`; one file with `-E 'test(/^proxy_sim::/)'`). One binary links the gateway
//! once instead of once per file; nextest still runs every test in its own process. Each
//! file is a module named after what it tests; the harnesses they share are in [`support`].

mod support;

mod batch_items_ids;
mod batch_named_ids;
mod batch_walk;
mod broken_images;
mod compressed_answers;
mod differential;
mod events_e2e;
mod http1_e2e;
mod http_hardening;
mod http_profile;
mod https_upstream;
mod identity_e2e;
mod jellyfin_upgrade;
mod listing_windows;
mod metrics_exposition;
mod movable_clock;
mod past_end_pages;
mod prefetch_e2e;
mod proxy_e2e;
mod proxy_jellyfin;
mod proxy_sim;
mod real_clients;
mod redis_gateways;
mod token_exposure;
mod user_scope;
