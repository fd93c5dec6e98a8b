//! The `honeybee-core` binary.
fn main() {}
