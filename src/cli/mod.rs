//! Flags (clap) and one module per subcommand. Exit codes: 0 ok, 1 findings (check errors,
//! differences), 2 usage or input error.

mod bench;
mod build;
mod check;
mod diff;
mod explain;
mod graph;
mod init;
mod output;
mod progress;
mod publish;
mod restart;
mod schema;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_INPUT: i32 = 2;

#[derive(Parser)]
#[command(
    name = "platc",
    version,
    about = "Compile a platform (Nickel) and workload specs (Score) into a deterministic GitOps tree",
    after_help = "Examples:\n  platc build                      compile ./platform and the workloads into ./out\n  platc build -C ../shop --env prod only the prod environment of another workspace\n  platc check                      everything but writing; exit 1 on errors\n  platc graph --format mermaid --env dev\n\nExit codes: 0 ok, 1 findings, 2 usage or input error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print only errors and the command's output proper (no summary lines or notes).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print details: every file a build writes or removes.
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Args, Clone)]
pub struct Workspace {
    /// Run in this workspace (a directory with platform/main.ncl) instead of the current one.
    #[arg(
        short = 'C',
        long = "directory",
        value_name = "DIR",
        default_value = ".",
        value_parser = parse_dir
    )]
    pub dir: PathBuf,
    /// Only these environments (repeatable); default: all.
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    /// Worker threads (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// How objects become files: `files` (one object per file) or `manifest` (one
    /// `manifest.yaml` per application directory); default: the platform's `gitops.layout`.
    #[arg(long, value_name = "LAYOUT", value_parser = parse_layout)]
    pub layout: Option<platc::model::Layout>,
}

/// A workspace must exist: a mistyped `-C` must not quietly build the reference platform into a
/// directory it creates.
fn parse_dir(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    match std::fs::metadata(&p) {
        Ok(m) if m.is_dir() => Ok(p),
        Ok(_) => Err(format!("`{s}` is not a directory")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!("no directory `{s}`")),
        Err(e) => Err(format!("cannot open `{s}`: {e}")),
    }
}

pub(crate) fn parse_layout(s: &str) -> Result<platc::model::Layout, String> {
    platc::model::Layout::parse(s)
        .ok_or_else(|| format!("`{s}` is not a layout: use `files` or `manifest`"))
}

#[derive(Subcommand)]
enum Command {
    /// Create a new workspace: a platform that builds at once and one plain Score workload.
    #[command(
        after_help = "Examples:\n  platc init acme-platform && platc build -C acme-platform\n  platc init                    in the current directory (nothing existing is overwritten)"
    )]
    Init(init::InitArgs),
    /// Compile the workspace and write the GitOps tree.
    #[command(
        after_help = "Examples:\n  platc build --out ../gitops   write the tree into ../gitops (only files platc owns are replaced or pruned)\n  platc build --watch           rebuild on every saved change (only what changed is rendered again)\n  platc -v build                also every file written or removed, and each stage's time\n\nOn a terminal, a build that takes a while names the stage it is in on stderr."
    )]
    Build(build::BuildArgs),
    /// Load, resolve, graph and render without writing; report every error.
    Check(check::CheckArgs),
    /// Print the dependency graph (ordering and communication edges).
    #[command(
        after_help = "Examples:\n  platc graph --format dot --env prod | dot -Tsvg > prod.svg\n  platc graph --format json"
    )]
    Graph(graph::GraphArgs),
    /// Compare a fresh rendering with a directory, another Git revision or a published branch.
    Diff(diff::DiffArgs),
    /// Render and commit the tree to a branch of a GitOps repository.
    Publish(publish::PublishArgs),
    /// Say where a rendered file, object or field came from.
    Explain(explain::ExplainArgs),
    /// Print the JSON Schema of this platform's workload files (for editors and linters).
    #[command(
        after_help = "Examples:\n  platc schema > workload.schema.json\n  then start each workload file with:\n  # yaml-language-server: $schema=../../workload.schema.json"
    )]
    Schema(schema::SchemaArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  platc completions bash > ~/.local/share/bash-completion/completions/platc\n  platc completions zsh > \"${fpath[1]}/_platc\"\n  platc completions fish > ~/.config/fish/completions/platc.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Time the pipeline on a synthetic workspace (medians of several runs).
    #[command(
        after_help = "Example:\n  platc bench --workloads 1000 --runs 5   (use a release build)"
    )]
    Bench(bench::BenchArgs),
}

impl Command {
    /// The workspace a command reads, when it may be the embedded reference platform (publish
    /// refuses that instead).
    fn workspace(&self) -> Option<&Workspace> {
        match self {
            Command::Build(a) => Some(&a.ws),
            Command::Check(a) => Some(&a.ws),
            Command::Graph(a) => Some(&a.ws),
            Command::Diff(a) => Some(&a.ws),
            Command::Explain(a) => Some(&a.ws),
            Command::Schema(a) => Some(&a.ws),
            Command::Init(_)
            | Command::Publish(_)
            | Command::Completions { .. }
            | Command::Bench(_) => None,
        }
    }
}

pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_INPUT } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    output::set_verbosity(cli.quiet, cli.verbose);
    if let Some(ws) = cli.command.workspace() {
        ws.announce();
    }
    match cli.command {
        Command::Init(a) => init::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "platc", &mut std::io::stdout());
            EXIT_OK
        }
        Command::Build(a) => build::run(a),
        Command::Check(a) => check::run(a),
        Command::Graph(a) => graph::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Publish(a) => publish::run(a),
        Command::Explain(a) => explain::run(a),
    }
}

impl Workspace {
    /// Says so when the workspace has no platform of its own and the embedded reference platform
    /// stands in, naming the enclosing workspace when there is one (a command run in a
    /// workload's directory).
    pub fn announce(&self) {
        if platc::load::has_own_platform(&self.dir) {
            return;
        }
        let mut line = format!(
            "note: `{}` has no platform/main.ncl: using the embedded reference platform",
            self.dir.display()
        );
        if let Some(hint) = self.enclosing_hint() {
            line.push_str(&format!("; {hint}"));
        }
        output::note(&line);
    }

    /// Where the workspace probably is, when this directory lies inside one (a command run in a
    /// workload's directory).
    pub fn enclosing_hint(&self) -> Option<String> {
        platc::load::enclosing_workspace(&self.dir).map(|ws| {
            format!(
                "the workspace seems to be `{}`: run with -C {}",
                ws.display(),
                ws.display()
            )
        })
    }

    pub fn options(&self, out_dir: Option<PathBuf>) -> platc::pipeline::Options {
        let threads = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        platc::pipeline::Options {
            envs: self.envs.clone(),
            threads,
            out_dir,
            bytes_only: false,
            layout: self.layout,
            reuse_evaluation: false,
            free_models: false,
            record_origins: false,
        }
    }
}
