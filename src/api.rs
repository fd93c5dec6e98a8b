//! The operator surface's JSON shapes. Only this module knows them: the export sink writes
//! events exactly as the HTTP API returns them.

pub mod event;
