//! Output for the command line: the annotated tree, protobuf text format, JSON and the
//! problem report. Each renderer only reads the document.

pub mod check;
pub mod json;
pub mod text;
pub mod tree;
