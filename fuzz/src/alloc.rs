//! A global allocator that refuses (returns null for) any single allocation larger than
//! [`MAX_ALLOCATION`]: the fuzzers' malloc limit without a sanitizer.
//!
//! libFuzzer's `-malloc_limit_mb` needs a sanitizer's allocator hooks; CI fuzzes on stable with `-s none`,
//! where it is ignored. So this allocator enforces it, the way a browser tab enforces it on the wasm build:
//! a request over the core's own decoded-size limit fails. Code that asked with `try_reserve` gets an error
//! and must turn it into a typed error (`limit-exceeded`, or whatever the parser makes of it); code that
//! allocates infallibly aborts ("memory allocation of N bytes failed"), which libFuzzer reports as a crash
//! and keeps the input, and which fails the regression test (`tests/tests/fuzz_regressions.rs` installs the
//! same allocator). Each refusal is also printed (the first few per process), so a size taken from a file
//! and not checked is visible even when it was handled. It also records the largest request per thread
//! ([`take_largest`]) for the parse allocation budget of the laws, which the regression test checks on every
//! input (with a list of known exceptions) and the fuzzers under `LUCENT_FUZZ_STRICT_ALLOC=1`, which also
//! makes a refusal abort (so libFuzzer keeps the input). Shared through `#[path]` like the laws; only `std`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::laws::MAX_ALLOCATION;

/// [`System`], refusing allocations over [`MAX_ALLOCATION`] bytes.
pub struct Limited;

thread_local! {
    /// What this thread is running (the regression test sets the input's name), printed with a refusal.
    static LABEL: RefCell<String> = const { RefCell::new(String::new()) };
    /// The largest single request on this thread since [`take_largest`] (refused or not).
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// Allocations refused in this process.
static REFUSED: AtomicUsize = AtomicUsize::new(0);

/// Abort on a refusal instead of failing the allocation (`LUCENT_FUZZ_STRICT_ALLOC=1`, see [`init`]).
static STRICT: AtomicBool = AtomicBool::new(false);

/// How many refusals are printed per process.
const PRINTED: usize = 5;

/// Reads `LUCENT_FUZZ_STRICT_ALLOC`: when it is `1`, a request over the limit aborts, so libFuzzer keeps
/// the input as a crash even when the code would have handled the failure.
#[allow(dead_code)] // not called by the regression test, which counts refusals per input instead
pub fn init() {
    let strict = std::env::var_os("LUCENT_FUZZ_STRICT_ALLOC").is_some_and(|v| v == "1");
    STRICT.store(strict, Ordering::Relaxed);
}

/// Names the input this thread runs now, for the message of a refused allocation.
pub fn set_label(label: &str) {
    LABEL.with(|l| {
        let mut l = l.borrow_mut();
        l.clear();
        l.push_str(label);
    });
}

/// Whether `LUCENT_FUZZ_STRICT_ALLOC=1` was set (see [`init`]).
pub fn strict() -> bool {
    STRICT.load(Ordering::Relaxed)
}

/// The largest single allocation requested on this thread since the last call (refused or not).
pub fn take_largest() -> usize {
    LARGEST.with(|c| c.replace(0))
}

fn note(size: usize) -> usize {
    let _ = LARGEST.try_with(|c| c.set(c.get().max(size)));
    size
}

/// Allocations refused so far in this process.
pub fn refused() -> usize {
    REFUSED.load(Ordering::Relaxed)
}

#[cold]
fn refuse(size: usize) -> *mut u8 {
    let n = REFUSED.fetch_add(1, Ordering::Relaxed);
    let strict = STRICT.load(Ordering::Relaxed);
    if n < PRINTED || strict {
        // No allocation here: formatting integers and writing to stderr do not allocate.
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "fuzz allocator: refused an allocation of {size} bytes, over the limit of {MAX_ALLOCATION} \
             (the core's decoded-size limit + 64 MiB)"
        );
        let _ = LABEL.try_with(|l| {
            if let Ok(l) = l.try_borrow() {
                if !l.is_empty() {
                    let _ = write!(err, ", running {}", l.as_str());
                }
            }
        });
        let _ = writeln!(err);
    }
    if strict {
        std::process::abort();
    }
    std::ptr::null_mut()
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, or returns null, which
// GlobalAlloc allows for any request (allocation failure).
unsafe impl GlobalAlloc for Limited {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if note(layout.size()) > MAX_ALLOCATION {
            return refuse(layout.size());
        }
        // SAFETY: forwarded as is (GlobalAlloc's contract is the caller's).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if note(layout.size()) > MAX_ALLOCATION {
            return refuse(layout.size());
        }
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if note(new_size) > MAX_ALLOCATION {
            // a failed realloc leaves the old block allocated, as GlobalAlloc requires
            return refuse(new_size);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}
