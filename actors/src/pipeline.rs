//! The event pipeline: what happens to an attack event between its session and the store.
//! So far: normalisation (the fields CORE.md promises on every event).

pub mod normalize;

pub use normalize::{Normalized, normalize};
