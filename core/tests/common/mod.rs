//! Helpers shared by the core's integration tests.

// Not every test file runs models through it.
#[allow(dead_code)]
pub mod exercise;
// Only the batch tests read sentences through it.
#[allow(dead_code)]
pub mod shifting;
pub mod tiny;
