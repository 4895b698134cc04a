//! Helpers shared by the integration tests (each test file does `mod common;`).
#![allow(dead_code, unreachable_pub)]

pub mod bytes;
pub mod external;
pub mod interop;
pub mod peer;
pub mod pki;
pub mod recorder;
pub mod scenario;
pub mod server;
