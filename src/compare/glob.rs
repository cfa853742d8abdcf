//! Path patterns for `--ignore`: `*` stands for any run of characters within one step,
//! `[*]` for any index; a pattern also covers every path under what it names.

/// A compiled path pattern.
#[derive(Debug, Clone)]
pub struct Glob {
    pattern: Vec<u8>,
}

impl Glob {
    /// Compiles `pattern` (`units[*].state.*`).
    pub fn new(pattern: &str) -> Glob {
        Glob { pattern: pattern.as_bytes().to_vec() }
    }

    /// Whether `path` is what the pattern names or lies under it.
    pub fn covers(&self, path: &str) -> bool {
        let path = path.as_bytes();
        (0..=path.len())
            .filter(|&end| end == path.len() || matches!(path[end], b'.' | b'['))
            .any(|end| matches(&self.pattern, &path[..end]))
    }
}

/// Whether `pattern` matches all of `text`: a table over both, so no pattern takes more
/// than their lengths multiplied.
fn matches(pattern: &[u8], text: &[u8]) -> bool {
    // can[j]: the pattern so far matches text[..j].
    let mut can = vec![false; text.len() + 1];
    can[0] = true;
    let mut p = 0;
    while p < pattern.len() {
        let mut next = vec![false; text.len() + 1];
        if pattern[p..].starts_with(b"[*]") {
            // `[` digits `]`
            for j in (0..text.len()).filter(|&j| can[j] && text[j] == b'[') {
                let digits = text[j + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                if digits > 0 && text.get(j + 1 + digits) == Some(&b']') {
                    next[j + digits + 2] = true;
                }
            }
            p += 3;
        } else if pattern[p] == b'*' {
            // Any run within one step: no `.` or `[`.
            for j in 0..=text.len() {
                if can[j] {
                    next[j] = true;
                    let run = text[j..].iter().take_while(|b| !matches!(b, b'.' | b'[')).count();
                    (1..=run).for_each(|k| next[j + k] = true);
                }
            }
            p += 1;
        } else {
            for j in (0..text.len()).filter(|&j| can[j] && text[j] == pattern[p]) {
                next[j + 1] = true;
            }
            p += 1;
        }
        can = next;
    }
    can[text.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_stand_for_a_step_or_an_index_and_a_pattern_covers_what_is_under_it() {
        let g = Glob::new("units[*].state.vmtime");
        assert!(g.covers("units[0].state.vmtime"));
        assert!(g.covers("units[12].state.vmtime"));
        assert!(!g.covers("units[x].state.vmtime"));
        assert!(!g.covers("units[0].state.vmtime_offset"));
        let under = Glob::new("units[3]");
        assert!(under.covers("units[3].state.cmos") && under.covers("units[3]"));
        assert!(!under.covers("units[30]"));
        let step = Glob::new("units[*].state.*");
        assert!(step.covers("units[1].state.timers.field1[0].cr"));
        assert!(!Glob::new("*.cmos").covers("units[1].state.cmos"), "`*` stays within one step");
        assert!(Glob::new("units[*].*.cmos").covers("units[1].state.cmos"));
    }
}
