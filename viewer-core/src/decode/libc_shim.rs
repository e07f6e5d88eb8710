//! The few C library functions openjp2 (the HTJ2K decoder, [`super::htj2k`]) calls, for
//! `wasm32-unknown-unknown`, which has no C library: `malloc`, `calloc`, `realloc`, `free` over
//! Rust's global allocator, and `strcpy`. (compiler-builtins already provides `memcpy`/`memset` and
//! the `libm` functions there.) Natively the platform's C library provides them and this module is
//! not built.
//!
//! openjp2 also hands Rust's allocator a null pointer to free in some clean-up paths (harmless with the
//! C library's `free` natively, a trap in the wasm allocator), so the wasm build's global allocator is
//! [`NullTolerant`]: the system allocator, with deallocating null a no-op.
//!
//! Each block carries a 16-byte header holding its size, so that `free` and `realloc` can rebuild the
//! `Layout` Rust's allocator needs; blocks are 16-byte aligned, as C's `malloc` promises. A null
//! pointer is tolerated where C tolerates it (`free(NULL)`, `realloc(NULL, n)`), and an allocation
//! that fails or overflows returns null, which openjp2 reports as an error instead of aborting.
#![allow(unsafe_code)]

use std::alloc::{alloc, alloc_zeroed, dealloc, realloc as grow, GlobalAlloc, Layout, System};
use std::ffi::{c_char, c_void};
use std::ptr::null_mut;

/// The system allocator, tolerating `dealloc(null)` (see the module docs).
pub struct NullTolerant;

// SAFETY: every call goes to `System` unchanged, except a null `dealloc`, which frees nothing.
unsafe impl GlobalAlloc for NullTolerant {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !ptr.is_null() {
            unsafe { System.dealloc(ptr, layout) }
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: NullTolerant = NullTolerant;

const HEADER: usize = 16;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

/// A new block of `size` bytes, zeroed or not; null when it cannot be had.
unsafe fn block(size: usize, zeroed: bool) -> *mut c_void {
    let Some(l) = layout(size) else {
        return null_mut();
    };
    // SAFETY: `l` has a non-zero size (at least HEADER).
    let base = unsafe {
        if zeroed {
            alloc_zeroed(l)
        } else {
            alloc(l)
        }
    };
    if base.is_null() {
        return null_mut();
    }
    // SAFETY: `base` is a fresh block of HEADER + size bytes, aligned for usize.
    unsafe {
        base.cast::<usize>().write(size);
        base.add(HEADER).cast()
    }
}

/// C `malloc`.
///
/// # Safety
/// As C's: the result is freed with [`free`] only.
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    unsafe { block(size, false) }
}

/// C `calloc`.
///
/// # Safety
/// As C's.
#[no_mangle]
pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    match count.checked_mul(size) {
        Some(total) => unsafe { block(total, true) },
        None => null_mut(),
    }
}

/// C `free`; null is a no-op.
///
/// # Safety
/// `ptr` is null or came from this module's `malloc`/`calloc`/`realloc` and was not freed.
#[no_mangle]
pub unsafe extern "C" fn free(ptr: *mut c_void) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: the caller passes a block of ours, whose header sits HEADER bytes before it.
    unsafe {
        let base = ptr.cast::<u8>().sub(HEADER);
        let size = base.cast::<usize>().read();
        if let Some(l) = layout(size) {
            dealloc(base, l);
        }
    }
}

/// C `realloc`: null grows a new block; on failure the old block is left as it was and null returned.
///
/// # Safety
/// As [`free`] for `ptr`.
#[no_mangle]
pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    if ptr.is_null() {
        return unsafe { malloc(size) };
    }
    let Some(new) = layout(size) else {
        return null_mut();
    };
    // SAFETY: as in `free`; `grow` keeps the alignment of the old layout, which is ours.
    unsafe {
        let base = ptr.cast::<u8>().sub(HEADER);
        let old = base.cast::<usize>().read();
        let Some(old) = layout(old) else {
            return null_mut();
        };
        let moved = grow(base, old, new.size());
        if moved.is_null() {
            return null_mut();
        }
        moved.cast::<usize>().write(size);
        moved.add(HEADER).cast()
    }
}

/// C `strcpy`.
///
/// # Safety
/// As C's: `src` is NUL-terminated and `dst` holds it.
#[no_mangle]
pub unsafe extern "C" fn strcpy(dst: *mut c_char, src: *const c_char) -> *mut c_char {
    let mut i = 0;
    // SAFETY: the caller's contract.
    unsafe {
        loop {
            let c = src.add(i).read();
            dst.add(i).write(c);
            if c == 0 {
                return dst;
            }
            i += 1;
        }
    }
}
