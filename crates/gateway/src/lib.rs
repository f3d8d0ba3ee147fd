//! cachearr-gateway (being built).
