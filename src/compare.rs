//! Comparing states and releases: a field-level diff of two blobs ([`diff`]).

pub mod diff;
mod glob;
