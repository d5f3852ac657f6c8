use clap::Args;

use super::{EXIT_INPUT, Workspace};

#[derive(Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    ws: Workspace,
}

pub fn run(_a: ExplainArgs) -> i32 {
    eprintln!("error: `platc explain` is not implemented yet");
    EXIT_INPUT
}
