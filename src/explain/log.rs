//! Reading a restore failure as OpenVMM prints it. The formats, from OpenVMM's sources:
//!
//! - `state_unit` (vmm_core/state_unit/src/lib.rs, `UnitErrorSet`'s `Display`) prints the
//!   failed units as a debug map after the operation: `restore failed: {rtc: chain, com1:
//!   chain}`, each chain an error and its causes joined by `: ` (anyhow's `{:#}`);
//! - `mesh_protobuf` (support/mesh/mesh_protobuf/src/lib.rs, `Error`'s `Display`) prints
//!   `decoding failed in Outer/…/Inner` (Rust type paths, outermost first), and its cause
//!   follows in the chain (`DecodeErrorKind`'s words, `missing enum variant` from
//!   oneof.rs, `protobuf type mismatch, expected X, got Y` from message.rs).
//!
//! Other log lines around the failure are passed over; a line that speaks of a failure in
//! a form not read here is kept, so that it can be said that it was not understood.

/// One unit's failure, as the log tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The log line it is on (1-based).
    pub line: usize,
    /// The unit's name; `None` for a bare `decoding failed in …` line.
    pub unit: Option<String>,
    /// The whole error chain, as printed.
    pub chain: String,
    /// The Rust type paths of `decoding failed in`, outermost first.
    pub types: Vec<String>,
    /// What went wrong, in the VMM's words: the chain after the type paths (or, without
    /// them, its last part).
    pub cause: String,
}

/// What a log holds: the failures read, and the failure lines that could not be read.
#[derive(Debug, Default)]
pub struct RestoreLog {
    /// Every unit failure, in log order.
    pub failures: Vec<Failure>,
    /// Lines that speak of a restore or decode failure in a form not understood.
    pub not_understood: Vec<(usize, String)>,
}

const RESTORE_FAILED: &str = "restore failed: {";
const DECODING_FAILED: &str = "decoding failed in ";

/// Reads the failures out of `log`. `unit_names` (the blob's own) tell where one unit's
/// chain ends and the next begins, as a chain may itself hold `, ` (a type mismatch does).
pub fn parse(log: &str, unit_names: &[String]) -> RestoreLog {
    let mut read = RestoreLog::default();
    for (i, line) in log.lines().enumerate() {
        let number = i + 1;
        if let Some(start) = line.find(RESTORE_FAILED) {
            let body = &line[start + RESTORE_FAILED.len()..];
            match body.rfind('}') {
                Some(end) if !body[..end].trim().is_empty() => {
                    for (unit, chain) in split_units(&body[..end], unit_names) {
                        read.failures.push(failure(number, Some(unit), chain));
                    }
                }
                _ => read.not_understood.push((number, line.to_owned())),
            }
        } else if let Some(start) = line.find(DECODING_FAILED) {
            read.failures.push(failure(number, None, line[start..].trim_end_matches(['"', '\'']).trim_end()));
        } else if line.contains("restore failed") || line.contains("failed to decode protobuf") {
            read.not_understood.push((number, line.to_owned()));
        }
    }
    read
}

/// The `name: chain` entries of a debug map's body.
fn split_units<'a>(body: &'a str, unit_names: &[String]) -> Vec<(String, &'a str)> {
    // Where an entry starts: the body's start, or `, ` followed by `name: ` (a blob's unit
    // name, or failing that a word with no space, as unit names are).
    let starts_entry = |rest: &str| {
        let Some((name, _)) = rest.split_once(": ") else { return false };
        unit_names.iter().any(|n| n == name) || (!name.is_empty() && !name.contains([' ', ',', '/']))
    };
    let mut entries = Vec::new();
    let mut from = 0;
    let mut search = 0;
    while let Some(found) = body[search..].find(", ") {
        let at = search + found;
        if starts_entry(&body[at + 2..]) {
            entries.push(&body[from..at]);
            from = at + 2;
        }
        search = at + 2;
    }
    entries.push(&body[from..]);
    entries
        .into_iter()
        .filter_map(|entry| {
            let (name, chain) = entry.split_once(": ")?;
            Some((name.trim().trim_matches('"').to_owned(), chain.trim()))
        })
        .collect()
}

/// One failure's chain, taken apart.
fn failure(line: usize, unit: Option<String>, chain: &str) -> Failure {
    let parts: Vec<&str> = chain.split(": ").collect();
    let (types, cause) = match parts.iter().position(|p| p.starts_with(DECODING_FAILED)) {
        Some(i) => {
            let types = parts[i][DECODING_FAILED.len()..].split('/').map(str::to_owned).collect();
            (types, parts[i + 1..].join(": "))
        }
        None => (Vec::new(), parts.last().copied().unwrap_or_default().to_owned()),
    };
    Failure { line, unit, chain: chain.to_owned(), types, cause }
}

/// The proto message name a Rust type path ends in (`chipset::cmos_rtc::…::SavedState`
/// → `SavedState`; generic arguments dropped), and the module path's words.
pub fn rust_type_parts(path: &str) -> (&str, Vec<&str>) {
    let path = path.split('<').next().unwrap_or(path);
    let mut segments: Vec<&str> = path.split("::").collect();
    let name = segments.pop().unwrap_or(path);
    (name, segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_unit_map_with_causes_that_hold_commas_is_read_unit_by_unit() {
        let log = "\
2026-11-29T04:00:00Z INFO restoring 10 units
2026-11-29T04:00:01Z ERROR restore failed: {rtc: failed to decode protobuf: decoding failed in \
chipset::cmos_rtc::save_restore::state::SavedState: expected a byte array, pit: protobuf type mismatch, \
expected type.googleapis.com/chipset.pit.SavedState, got typo.googleapis.com/chipset.pit.SavedState, \
vmtime: duplicate unit name}
decoding failed in vmbus_server::channels::saved_state::SavedState/vmbus_server::channels::saved_state::Channel: eof parsing a varint
restore failed: oops
";
        let names = ["rtc", "pit", "vmtime"].map(str::to_owned);
        let read = parse(log, &names);
        let units: Vec<_> = read.failures.iter().map(|f| (f.line, f.unit.as_deref(), f.cause.as_str())).collect();
        assert_eq!(
            units,
            [
                (2, Some("rtc"), "expected a byte array"),
                (
                    2,
                    Some("pit"),
                    "protobuf type mismatch, expected type.googleapis.com/chipset.pit.SavedState, got \
                     typo.googleapis.com/chipset.pit.SavedState"
                ),
                (2, Some("vmtime"), "duplicate unit name"),
                (3, None, "eof parsing a varint"),
            ]
        );
        assert_eq!(read.failures[0].types, ["chipset::cmos_rtc::save_restore::state::SavedState"]);
        assert_eq!(read.failures[3].types.len(), 2, "outermost first");
        assert_eq!(read.not_understood, [(4, "restore failed: oops".to_owned())]);
    }

    #[test]
    fn a_rust_type_path_ends_in_its_message_name() {
        assert_eq!(rust_type_parts("a::b_c::Saved<u8>"), ("Saved", vec!["a", "b_c"]));
        assert_eq!(rust_type_parts("Plain"), ("Plain", vec![]));
    }
}
