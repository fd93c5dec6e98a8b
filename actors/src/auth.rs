//! Node authentication (PROTOCOL.md "Authentication"): TOTP codes with a durable replay guard
//! and lockouts against guessing. Pure logic with an injectable clock; the registry's
//! `Admission` decision point uses it.

pub mod gate;
pub mod identities;
pub mod lockout;
pub mod totp;
