//! The admin listener's end-to-end tests, one test binary (`cargo nextest run -p
//! cachearr-admin --test admin`; one file with `-E 'test(/^admin_api::/)'`): a real gateway
//! serving the admin API (`cachearr_testkit::sim_gateway`) in front of the simulator, driven
//! over HTTP and, for the dashboard, in a headless browser. Each file is a module named after
//! what it tests.

mod admin_api;
mod admin_e2e;
mod admin_guard;
mod dashboard_browser;
