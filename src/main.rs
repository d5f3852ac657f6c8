//! The `platc` command line. Thin: parse flags, call the library, print, pick the exit code.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
