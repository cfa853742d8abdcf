//! Starting the disk write of a span of a file being written, so that the sync before its
//! rename waits for the last span only, not for the whole file at once.
#![allow(unsafe_code)] // sync_file_range(2): the one call here, on a file we hold open.

use std::fs::File;
use std::os::fd::AsRawFd;

/// Asks the kernel to start writing `len` bytes of `file` from `offset` to the disk and
/// returns at once. Only a hint: the sync that follows is what makes the bytes durable and
/// reports any failure, so an error here (a file system without it) is ignored.
pub(super) fn start(file: &File, offset: u64, len: u64) {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else { return };
    // SAFETY: the descriptor belongs to `file`, which is open for the whole call; the call
    // takes no pointers and only schedules writeback of the file's own pages.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}
