//! The server helpers moved to `tests/common/server.rs`; this re-export keeps
//! `tests/server_abuse.rs` (`mod server_support; use server_support::*;`) building until it
//! uses `common::server` directly.
#![allow(unused_imports, unreachable_pub)]

pub use crate::common::server::*;
