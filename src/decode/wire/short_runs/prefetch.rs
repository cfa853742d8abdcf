//! Asking the processor for a walk's bytes before the walk reaches them: each step of a
//! walk over a run of small fields waits on the load before it (a field's end is read from
//! its length), so on bytes met for the first time every step would wait on memory.
#![allow(unsafe_code)] // _mm_prefetch: a hint, which reads nothing and never faults.

/// How far ahead of a walk its bytes are asked for: eight cache lines, a few dozen small
/// fields.
pub(super) const AHEAD: usize = 512;

/// Asks for the cache line of `buf` holding index `at`, if there is one: a hint only, so
/// an index past the end does no harm.
#[inline(always)]
pub(super) fn fetch(buf: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch neither reads into the program nor faults, at any address; the
    // pointer is made with `wrapping_add`, which is defined for any offset.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(buf.as_ptr().wrapping_add(at).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (buf, at);
}
