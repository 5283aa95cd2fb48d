//! The `breachwatch` binary: parses the command line and hands over to `cli`.

fn main() -> std::process::ExitCode {
    // Before any thread: the drain's peak must not stay resident (`memory`).
    breachwatch::memory::configure();
    breachwatch::cli::main()
}
