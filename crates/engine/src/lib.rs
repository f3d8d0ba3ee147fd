//! cachearr-engine (being built).
