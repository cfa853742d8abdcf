//! Comparing states and releases: a field-level diff of two blobs ([`diff`]), and what
//! another release's schema makes of a blob ([`compat`]) or of every blob ([`schemas`]).

pub mod compat;
pub mod diff;
pub mod glob;
pub mod schemas;
