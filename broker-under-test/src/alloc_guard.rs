//! A global allocator that keeps hostile length prefixes from aborting the broker.
//!
//! kafka-protocol's decoders pre-allocate `Vec::with_capacity(n)` from an array length read off
//! the wire, before checking that `n` elements can fit in the frame. A 20-byte request claiming
//! 2^31 topics asks for ~80 GB; the kernel refuses, and Rust aborts the whole process on an
//! allocation failure. This allocator serves every allocation of at least `HUGE_BYTES` with an
//! anonymous `MAP_NORESERVE` mapping: address space only, no memory is committed until touched,
//! so the decoder runs out of input after a few elements, returns its error, and the mapping is
//! released. Smaller allocations go to the system allocator unchanged.

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations at least this large are served by `mmap(MAP_NORESERVE)`.
pub const HUGE_BYTES: usize = 1 << 30;
const PAGE_BYTES: usize = 4096;

/// The allocator; installed with `#[global_allocator]` in `lib.rs`.
#[derive(Debug)]
pub struct GuardedAllocator;

fn is_huge(layout: &Layout) -> bool {
    layout.size() >= HUGE_BYTES && layout.align() <= PAGE_BYTES
}

unsafe fn map(size: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping with no address hint has no preconditions.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        ptr.cast()
    }
}

// SAFETY: huge blocks are page-aligned mappings (alignment <= page size is checked), released
// with munmap using the same size; everything else is delegated to `System` with its layout.
unsafe impl GlobalAlloc for GuardedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            unsafe { map(layout.size()) }
        } else {
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            // Fresh anonymous mappings are zero-filled.
            unsafe { map(layout.size()) }
        } else {
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_huge(&layout) {
            // SAFETY: ptr came from `map(layout.size())`.
            let rc = unsafe { libc::munmap(ptr.cast(), layout.size()) };
            debug_assert_eq!(rc, 0, "munmap of a block we mapped");
        } else {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        if !is_huge(&layout) && !is_huge(&new_layout) {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let new_ptr = unsafe { self.alloc(new_layout) };
        if !new_ptr.is_null() {
            // SAFETY: both blocks are valid for the smaller of the two sizes and do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size)) };
            unsafe { self.dealloc(ptr, layout) };
        }
        new_ptr
    }
}

#[cfg(test)]
mod tests {
    /// Goal: a huge, untouched reservation neither aborts nor commits memory. Method: ask for
    /// 64 GiB (more than this machine's RAM) and drop it.
    #[test]
    fn huge_untouched_allocation_succeeds() {
        let v: Vec<u64> = Vec::with_capacity(8 << 30);
        assert!(v.capacity() >= 8 << 30);
        let mut small: Vec<u8> = Vec::with_capacity(16);
        small.extend_from_slice(b"still works");
        assert_eq!(&small, b"still works");
    }
}
