//! The library crate's integration tests, one test binary (`cargo nextest run -p
//! cachearr-library --test library`): the matcher's quality on the evaluation sets, one module
//! each.

mod evaluation;
mod real_world_eval;
