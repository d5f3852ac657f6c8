use clap::Args;

use super::{EXIT_INPUT, Workspace};

#[derive(Args)]
pub struct DiffArgs {
    #[command(flatten)]
    ws: Workspace,
}

pub fn run(_a: DiffArgs) -> i32 {
    eprintln!("error: `platc diff` is not implemented yet");
    EXIT_INPUT
}
