use clap::Args;

use super::{EXIT_INPUT, Workspace};

#[derive(Args)]
pub struct PublishArgs {
    #[command(flatten)]
    ws: Workspace,
}

pub fn run(_a: PublishArgs) -> i32 {
    eprintln!("error: `platc publish` is not implemented yet");
    EXIT_INPUT
}
