//! The gateway's integration tests, one test binary (`cargo nextest run -p cachearr-gateway
//! --test gateway`; one file with `-E 'test(/^proxy_sim::/)'`). One binary links the gateway
//! once instead of once per file; nextest still runs every test in its own process. Each
//! file is a module named after what it tests; the harnesses they share are in [`support`].

mod support;

mod admin_api;
mod admin_e2e;
mod admin_guard;
mod batch_walk;
mod broken_images;
mod change_feed;
mod compressed_answers;
mod copy_counts;
mod dashboard_browser;
mod differential;
mod events_e2e;
mod http1_e2e;
mod http_hardening;
mod http_profile;
mod https_upstream;
mod identity_e2e;
mod index_answers;
mod index_answers_jellyfin;
mod index_e2e;
mod jellyfin_upgrade;
mod listing_windows;
mod match_api;
mod metrics_exposition;
mod movable_clock;
mod operator_start;
mod prefetch_e2e;
mod proxy_e2e;
mod proxy_jellyfin;
mod proxy_sim;
mod random_sorts;
mod real_clients;
mod redis_background;
mod redis_gateways;
mod restricted_users;
mod token_exposure;
mod user_scope;
mod walk_answers;
