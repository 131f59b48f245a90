//! Helpers shared by the core's integration tests.

// Not every test file runs models through it.
#[allow(dead_code)]
pub mod exercise;
// Only the tag_batch_iter tests read sentences through it.
#[allow(dead_code)]
pub mod shifting;
// Only the segmentation tests build segmenters.
#[allow(dead_code)]
pub mod segmenter;
// Not every test file builds the tiny model.
#[allow(dead_code)]
pub mod tiny;

/// `blob` with its last four bytes set to the CRC-32 of the rest, so that a change
/// made to test the validation reaches it past the checksum.
#[allow(dead_code)]
pub fn with_crc(mut blob: Vec<u8>) -> Vec<u8> {
    let n = blob.len() - 4;
    let crc = postag_core::crc32(&blob[..n]);
    blob[n..].copy_from_slice(&crc.to_le_bytes());
    blob
}
