//! The only module with `unsafe` code. Everything here is small and boring on purpose: safe
//! wrappers around the few C calls the `openssl` crate and std do not offer.
//!
//! Contract: every function exported from here is safe to call with any argument; every
//! `unsafe` block carries a `// SAFETY:` comment saying why its preconditions hold; no callback
//! into user code happens while C code is on the stack.
#![allow(unsafe_code)]

pub(crate) mod ciphers;
pub(crate) mod fd;
pub(crate) mod openssl;
pub(crate) mod poll;
pub(crate) mod x509;
