//! statescope: open, browse and patch VM saved-state blobs (protobuf with nested
//! `google.protobuf.Any` payloads), resolving every Any against registered descriptors.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod decode;
pub mod edit;
pub mod files;
pub mod model;
pub mod mutate;
pub mod render;
pub mod samples;
pub mod ui;

#[doc(hidden)]
pub use linkme as __linkme;
