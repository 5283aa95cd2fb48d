//! The `breachwatch` binary: parses the command line and hands over to `cli`.

fn main() -> std::process::ExitCode {
    breachwatch::cli::main()
}
