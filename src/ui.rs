//! The terminal UI (ratatui + crossterm) over the document model.

use std::path::Path;

use anyhow::Result;

use crate::cli::{Outcome, SchemaArgs};

/// Opens `file` (or the built-in sample) in the terminal browser.
pub fn run(_schema: &SchemaArgs, _file: Option<&Path>) -> Result<Outcome> {
    anyhow::bail!("the terminal UI is not built yet")
}
