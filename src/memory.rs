//! The allocator's share of the daemon's RSS (glibc only; elsewhere these do
//! nothing). glibc gives each thread that allocates its own arena (up to 8
//! per core) and keeps freed memory in each: with tokio's workers, sqlx's
//! SQLite threads and the reader's threads, a drain's peak stayed resident
//! in a dozen arenas. Two arenas bound that; a trim after a drain hands the
//! freed pages back.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
        fn malloc_trim(pad: usize) -> i32;
    }
    /// glibc's `M_ARENA_MAX` (malloc.h).
    const M_ARENA_MAX: i32 = -8;

    pub fn limit_arenas(n: i32) {
        // SAFETY: mallopt only sets a tunable of the allocator; called before
        // the runtime starts its threads.
        unsafe {
            mallopt(M_ARENA_MAX, n);
        }
    }

    pub fn trim() {
        // SAFETY: malloc_trim only returns free pages to the kernel.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// At most `n` malloc arenas (call first thing in `main`).
pub fn limit_arenas(n: i32) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::limit_arenas(n);
    let _ = n;
}

/// Returns freed heap pages to the kernel (after a drain).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::trim();
}
