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

/// The anonymous memory (heap, stacks) a drain may keep resident before
/// it hands freed pages back between batches ([`Trimmer`]). Issue #10's
/// goal is a peak RSS of 64 MB in a 10,000-message drain; of that the
/// executable's pages are about 18 MB and a batch's working set a few MB.
/// Freed memory left among live allocations otherwise stays resident and
/// grows from batch to batch (the most anonymous memory seen 41-46 MB in
/// one binary's rounds, the peak 63-65 MB).
pub const DRAIN_ANON_BUDGET_BYTES: u64 = 36 * 1024 * 1024;

/// The least growth since the last trim worth another: a trim hands back
/// pages the next batch may fault in again, so while the live heap itself
/// is over the budget a drain does not trim after every batch.
pub const TRIM_MIN_GAIN_BYTES: u64 = 1024 * 1024;

/// Trims between a drain's batches while the anonymous memory is over
/// [`DRAIN_ANON_BUDGET_BYTES`] and has grown by [`TRIM_MIN_GAIN_BYTES`]
/// since the last trim. The 10,000-message drain of `make bench-daemon`
/// (`BENCH_AB`, 5 rounds alternated, session 51, fat LTO) peaked at
/// 57.96-59.37 MB RSS (median 58.75) against 62.86-64.15 (63.91) without,
/// with 35-42 trims in its 200 batches; a trim after every batch peaked at
/// 58.4 but cost 0.7 core-s more of the daemon's CPU (page faults of
/// pages handed back and needed again), these about 0.15 (within the
/// rounds' spread of ±0.6).
#[derive(Debug, Default)]
pub struct Trimmer {
    /// The anonymous memory after the last trim (or the least seen since).
    floor: Option<u64>,
    /// Trims so far.
    pub trims: u32,
}

impl Trimmer {
    /// After a batch is written and dropped: trims when due (never where
    /// [`trim`] does nothing), counted in `trims`.
    pub fn after_batch(&mut self) {
        if !cfg!(all(target_os = "linux", target_env = "gnu")) {
            return;
        }
        let Some(now) = anon_bytes() else {
            return;
        };
        let (due, floor) = trim_due(self.floor, now);
        self.floor = Some(floor);
        if due {
            trim();
            self.trims += 1;
            self.floor = anon_bytes().or(self.floor);
        }
    }
}

/// Whether anonymous memory at `now` bytes is due a trim, given the level
/// `floor` after the last one; and the floor to keep (the least seen).
fn trim_due(floor: Option<u64>, now: u64) -> (bool, u64) {
    let floor = floor.unwrap_or(now).min(now);
    let due = now > DRAIN_ANON_BUDGET_BYTES && now >= floor.saturating_add(TRIM_MIN_GAIN_BYTES);
    (due, floor)
}

/// The process's resident anonymous memory (`RssAnon` of
/// `/proc/self/status`), in bytes; None where there is no such file.
pub fn anon_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("RssAnon:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
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

#[cfg(test)]
mod trim_tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn a_drain_trims_only_over_the_budget_and_after_growth_since_the_last_trim() {
        let budget = DRAIN_ANON_BUDGET_BYTES;
        // The first batch sets the floor; nothing to compare with yet.
        assert_eq!(
            trim_due(None, budget + 10 * MIB),
            (false, budget + 10 * MIB)
        );
        // Under the budget: never, however much it grew.
        assert_eq!(trim_due(Some(10 * MIB), budget), (false, 10 * MIB));
        // Over it and grown since the floor: due.
        assert_eq!(trim_due(Some(30 * MIB), budget + MIB), (true, 30 * MIB));
        // Over it but the live heap itself is there: not after every batch.
        let after = budget + 5 * MIB;
        assert_eq!(trim_due(Some(after), after + MIB / 2), (false, after));
        assert_eq!(trim_due(Some(after), after + MIB), (true, after));
        // Memory given back otherwise lowers the floor.
        assert_eq!(trim_due(Some(after), 20 * MIB), (false, 20 * MIB));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_anonymous_memory_read_grows_with_touched_pages() {
        // Other tests of this process allocate and free meanwhile: one of
        // three tries must see the block's pages.
        let grew = (0..3).any(|_| {
            let mut block = vec![0u8; 64 * MIB as usize];
            let before = anon_bytes().expect("RssAnon in /proc/self/status");
            for page in block.chunks_mut(4096) {
                page[0] = 1;
            }
            let after = anon_bytes().expect("RssAnon");
            std::hint::black_box(&block);
            after >= before + 48 * MIB
        });
        assert!(grew);
    }
}
