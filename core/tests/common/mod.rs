//! Helpers shared by the core's integration tests.

// Not every test file runs models through it.
#[allow(dead_code)]
pub mod exercise;
// Only the tag_batch_iter tests read sentences through it.
#[allow(dead_code)]
pub mod shifting;
// Not every test file builds the tiny model.
#[allow(dead_code)]
pub mod tiny;
