//! cachearr-sim (being built).
