//! Mapping a large input file rather than copying it, and the guard that turns the file
//! being cut short underneath the mapping (SIGBUS) into an error message and exit code 2
//! instead of a crash.
#![allow(unsafe_code)] // mmap(2) and sigaction(2): each use says why it is sound.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Maps `file` (named `path` in messages) read-only, with the guard installed.
pub(super) fn map(file: &File, path: &Path) -> io::Result<memmap2::Mmap> {
    install_guard();
    name_in_guard(path);
    // SAFETY: the mapping is read-only and private. Another program may still change the
    // file under it. Cutting it short makes a read of a page past its new end raise SIGBUS,
    // which the guard answers by saying so and exiting, so no read returns. Bytes changed
    // in place read as whatever they now are: every reader of the input treats it as
    // untrusted and checks each length against the bytes present before using it.
    unsafe { memmap2::MmapOptions::new().map(file) }
}

static INSTALL: Once = Once::new();

/// The guard's message for the file mapped last: leaked, so a signal handler can read it
/// at any moment (one short message per mapped file).
static MESSAGE: AtomicPtr<Vec<u8>> = AtomicPtr::new(std::ptr::null_mut());

/// Makes the guard name `path` should the file be cut short.
fn name_in_guard(path: &Path) {
    let shown = crate::model::value::terminal_safe(&path.display().to_string()).into_owned();
    let message = format!(
        "statescope: error: {shown} was cut short by another program while it was being read; \
         nothing was written. Copy the file and open the copy.\n"
    );
    MESSAGE.store(Box::into_raw(Box::new(message.into_bytes())), Ordering::Release);
}

fn install_guard() {
    INSTALL.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid empty one; the handler is an `extern "C"`
        // function that only calls async-signal-safe functions (write, _exit).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_bus_error as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    });
}

/// Says which file was cut short and exits with 2 (an input could not be read).
extern "C" fn on_bus_error(_signal: libc::c_int) {
    let message = MESSAGE.load(Ordering::Acquire);
    // SAFETY: `message` is null or a leaked, never freed, never changed Vec; write and
    // _exit are async-signal-safe.
    unsafe {
        if let Some(message) = message.as_ref() {
            libc::write(2, message.as_ptr().cast(), message.len());
        }
        libc::_exit(2);
    }
}
