//! The dashboard benchmark (written below).

fn main() {}
