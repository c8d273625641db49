//! The `swim` binary.

fn main() -> std::process::ExitCode {
    swim::cli::main()
}
