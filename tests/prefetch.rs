//! End-to-end tests of `cargo xtask prefetch` (filled in below).
