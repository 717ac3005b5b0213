//! `samsa`: the command-line edge of the harness.

fn main() {}
