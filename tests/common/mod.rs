//! Helpers shared by the integration tests (each test file does `mod common;`).
#![allow(dead_code, unreachable_pub)]

pub mod pki;
