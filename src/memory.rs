//! The allocator's share of the daemon's RSS (glibc only; elsewhere these do
//! nothing). glibc gives each thread that allocates its own arena (up to 8
//! per core) and keeps freed memory in each: with tokio's workers, sqlx's
//! SQLite threads and the reader's threads, a drain's peak stayed resident
//! in a dozen arenas. Two arenas bound that; large allocations get their own
//! mappings, handed back when freed; a trim after a drain hands the freed
//! pages back.

/// At most this many malloc arenas (glibc's `M_ARENA_MAX`).
pub const ARENAS: i32 = 2;

/// Allocations of this many bytes or more get a mapping of their own, which
/// goes back to the kernel when freed (glibc's `M_MMAP_THRESHOLD`, fixed).
/// Left to itself glibc raises the threshold, up to 32 MiB, each time such a
/// block is freed: a drain's raw mails, fetch buffers and statements then
/// come from the arenas and their freed pages stay resident. Fixed at
/// glibc's starting value, the 10,000-message drain peaked at 76.7 / 76.8 MB
/// RSS (most anonymous memory seen 54.2 / 56.4 MB) against 82.7 / 86.0 MB
/// (64.3 / 67.7 MB), INBOX empty in 4.80 / 3.96 s against 5.21 / 4.42 s
/// (`make bench-daemon`, session 24, the same binary with and without
/// `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072`).
pub const MMAP_THRESHOLD: i32 = 128 * 1024;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
        fn malloc_trim(pad: usize) -> i32;
    }
    /// glibc's `M_MMAP_THRESHOLD` and `M_ARENA_MAX` (malloc.h).
    const M_MMAP_THRESHOLD: i32 = -3;
    const M_ARENA_MAX: i32 = -8;

    /// Sets both; false when glibc refused either.
    pub fn configure(arenas: i32, mmap_threshold: i32) -> bool {
        // SAFETY: mallopt only sets tunables of the allocator; called before
        // the runtime starts its threads.
        unsafe {
            mallopt(M_ARENA_MAX, arenas) == 1 && mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1
        }
    }

    pub fn trim() {
        // SAFETY: malloc_trim only returns free pages to the kernel.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Sets the allocator up for a long-running daemon: [`ARENAS`] arenas and
/// the fixed [`MMAP_THRESHOLD`] (call first thing in `main`). False when
/// glibc refused a setting (the daemon runs on, with glibc's defaults);
/// true where there is nothing to set.
pub fn configure() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    return glibc::configure(ARENAS, MMAP_THRESHOLD);
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    true
}

/// Returns freed heap pages to the kernel (after a drain).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::trim();
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    const CHILD: &str = "BREACHWATCH_MEMORY_TEST_CHILD";

    /// With the threshold fixed, a large block freed does not raise it: a
    /// 256 KiB block still gets a mapping of its own after a 1 MiB one was
    /// freed (left to itself, glibc would have raised the threshold to 1 MiB
    /// and served the 256 KiB from an arena). Checked in a fresh process
    /// (this test binary run again for this test alone): in the test
    /// process other tests' freed memory could serve the block whatever the
    /// threshold, since glibc only maps what its free lists cannot serve.
    #[test]
    fn a_large_block_freed_does_not_raise_the_mmap_threshold() {
        if std::env::var_os(CHILD).is_some() {
            assert!(super::configure());
            drop(std::hint::black_box(Vec::<u8>::with_capacity(1 << 20)));
            let v = std::hint::black_box(Vec::<u8>::with_capacity(256 * 1024));
            // glibc marks a chunk with a mapping of its own in its size
            // field (IS_MMAPPED, bit 1), the word before the block.
            // SAFETY: reads the allocator's header word just before a live
            // malloc'd block (the Vec's buffer, freed only after the read).
            let size_field = unsafe { v.as_ptr().cast::<usize>().sub(1).read() };
            assert_ne!(size_field & 2, 0, "the 256 KiB block came from an arena");
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "memory::tests::a_large_block_freed_does_not_raise_the_mmap_threshold",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
