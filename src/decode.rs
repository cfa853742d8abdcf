//! The facts at the bottom: the wire scanner, the descriptor registry, what the schema
//! implies beyond its descriptors, and root type detection. Nothing here knows the
//! document model; the model is built on top of these.

pub mod detect;
pub mod registry;
pub mod schema;
pub mod wire;
