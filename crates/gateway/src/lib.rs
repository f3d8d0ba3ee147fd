//! cachearr-gateway (being built).
pub mod admin;
pub mod events;
pub mod metrics;
pub mod tags;
