//! A long build's progress on stderr: the stage running now, on one line that is rewritten in
//! place and cleared at the end. Only on a terminal (never in a pipe, a log or CI output), never
//! with `--quiet`, and only once a build has taken longer than [`DELAY`], so a quick rebuild
//! prints nothing extra.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::output;

/// How long a build runs before its progress is shown.
const DELAY: Duration = Duration::from_millis(400);
/// How often the line's elapsed time is brought up to date.
const TICK: Duration = Duration::from_secs(1);

#[derive(Default)]
struct State {
    stage: Option<&'static str>,
    done: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

pub struct Progress {
    shared: Shared,
    painter: Option<JoinHandle<()>>,
}

impl Progress {
    /// Progress for one build; a silent one where progress is not wanted.
    pub fn start() -> Progress {
        let shared: Shared = Arc::default();
        let painter = (output::progress_wanted() && std::io::stderr().is_terminal()).then(|| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || paint(&shared))
        });
        Progress { shared, painter }
    }

    /// The stage that runs now.
    pub fn stage(&self, stage: &'static str) {
        if self.painter.is_some() {
            let (state, changed) = &*self.shared;
            if let Ok(mut s) = state.lock() {
                s.stage = Some(stage);
                changed.notify_all();
            }
        }
    }

    /// Ends the progress line (before the build's own output is printed).
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(painter) = self.painter.take() else {
            return;
        };
        let (state, changed) = &*self.shared;
        if let Ok(mut s) = state.lock() {
            s.done = true;
            changed.notify_all();
        }
        let _ = painter.join();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The painter thread: waits out the delay, then keeps the line up to date, and clears it when
/// the build is done.
fn paint(shared: &Shared) {
    let (state, changed) = &**shared;
    let started = Instant::now();
    let Ok(mut s) = state.lock() else { return };
    while !s.done && started.elapsed() < DELAY {
        let left = DELAY.saturating_sub(started.elapsed());
        s = match changed.wait_timeout(s, left) {
            Ok((s, _)) => s,
            Err(_) => return,
        };
    }
    let mut shown = false;
    let mut stderr = std::io::stderr();
    while !s.done {
        // Repainted on every change of stage and once a second, so the time keeps counting.
        if let Some(stage) = s.stage {
            let elapsed = started.elapsed().as_secs_f64();
            let _ = write!(stderr, "\r\x1b[2Kplatc: {stage}… ({elapsed:.0} s)");
            let _ = stderr.flush();
            shown = true;
        }
        s = match changed.wait_timeout(s, TICK) {
            Ok((s, _)) => s,
            Err(_) => return,
        };
    }
    if shown {
        let _ = write!(stderr, "\r\x1b[2K");
        let _ = stderr.flush();
    }
}
