//! The `cachearr` binary: a thin clap front over the workspace crates.

fn main() {
    println!("cachearr");
}
