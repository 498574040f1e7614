//! The C allocator, set up for training (glibc on Linux; elsewhere nothing changes).
//!
//! A training step allocates and frees the same large buffers over and over (activations,
//! gradients, new weights: megabytes each, tens of megabytes in a population). glibc serves
//! blocks above its mmap threshold with fresh `mmap`s and returns them with `munmap` at once, so
//! every step faults in and zeroes new pages, and the default heap trims freed memory back to
//! the OS. With `mmap` off for allocations (`M_MMAP_MAX = 0`; glibc still falls back to it if the
//! heap cannot grow) and a 1 GB trim threshold, freed buffers stay in the heap and are reused.
//! Measured on a 2-core Intel Xeon (AVX-512, 2.3 GHz): the default study as two populations of 27
//! went from 10.9 to 8.3 minutes (3.1 kernel minutes to 9 s); 9 runs of its net for 150 steps on
//! one thread, from 38.7 to 30.9-34.8 s (BENCHMARKS.md, "The allocator").

/// Keep freed memory in the process for reuse instead of unmapping it.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
