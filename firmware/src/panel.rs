//! The thread that runs a board: renders the LED pattern and hands out button presses.

use std::io;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::{Board, ButtonPress, Clock, LedDriver, LedPattern};

/// How often the panel samples the button: a third of [`DEBOUNCE`](crate::DEBOUNCE), so a
/// press settles within a few samples.
pub const BUTTON_POLL: Duration = Duration::from_millis(10);

enum Command {
    Show(LedPattern),
    Stop,
}

/// The box's front panel: one thread owning the [`Board`], rendering the LED pattern with a
/// [`LedDriver`] and polling the button every [`BUTTON_POLL`]. The pattern can be switched
/// at any moment; presses arrive on [`Panel::presses`]. Dropping the panel stops it.
pub struct Panel<B: Board + 'static> {
    commands: Sender<Command>,
    presses: Receiver<ButtonPress>,
    thread: Option<JoinHandle<B>>,
}

impl<B: Board + 'static> Panel<B> {
    /// Starts the thread. The LED stays dark until [`Panel::show`].
    pub fn spawn<C: Clock>(board: B, clock: C) -> io::Result<Self> {
        let (commands, command_rx) = mpsc::channel();
        let (press_tx, presses) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("copi-panel".into())
            .spawn(move || run(board, clock, &command_rx, &press_tx))?;
        Ok(Panel {
            commands,
            presses,
            thread: Some(thread),
        })
    }

    /// Switches the LED to `pattern` now.
    pub fn show(&self, pattern: LedPattern) {
        // The thread only ends through `stop`, which takes the panel: it is listening.
        let _ = self.commands.send(Command::Show(pattern));
    }

    /// The button presses, in order, as soon as they are recognised.
    pub fn presses(&self) -> &Receiver<ButtonPress> {
        &self.presses
    }

    /// Darkens the LED, ends the thread and gives the board back (`None` if the thread
    /// panicked).
    pub fn stop(mut self) -> Option<B> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Option<B> {
        let thread = self.thread.take()?;
        let _ = self.commands.send(Command::Stop);
        thread.join().ok()
    }
}

impl<B: Board + 'static> Drop for Panel<B> {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn run<B: Board, C: Clock>(mut board: B, clock: C, commands: &Receiver<Command>, presses: &Sender<ButtonPress>) -> B {
    let mut led = LedDriver::new();
    // Log a failing LED once, not at every blink.
    let mut led_failing = false;
    loop {
        let now = clock.now();
        let led_next = match led.render(&mut board, now) {
            Ok(next) => {
                led_failing = false;
                next
            }
            Err(error) => {
                if !led_failing {
                    tracing::warn!(%error, "status LED write failed");
                    led_failing = true;
                }
                None
            }
        };
        while let Some(press) = board.poll_button() {
            let _ = presses.send(press);
        }
        let wake = led_next.map_or(now + BUTTON_POLL, |at| at.min(now + BUTTON_POLL));
        match commands.recv_timeout(wake.saturating_duration_since(clock.now())) {
            Ok(Command::Show(pattern)) => led.set_pattern(pattern, clock.now()),
            Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
    led.stop();
    if let Err(error) = led.render(&mut board, clock.now()) {
        tracing::warn!(%error, "could not darken the status LED");
    }
    board
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::SimulatedBoard;

    /// Waits (in real time, bounded) for the panel thread to reach a state.
    fn eventually(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn panel_drives_a_simulated_board_on_simulated_time() {
        let board = SimulatedBoard::new();
        let clock = board.clock();
        let panel = Panel::spawn(board.clone(), clock.clone()).unwrap();
        assert!(!board.led_on());

        panel.show(LedPattern::Error);
        eventually("the Error pattern", || {
            board.led() == Some(LedPattern::Error) && board.led_on()
        });
        clock.advance(Duration::from_millis(150));
        eventually("Error's off phase", || !board.led_on());
        panel.show(LedPattern::Idle);
        eventually("steady Idle", || {
            board.led() == Some(LedPattern::Idle) && board.led_on()
        });

        // Hold the button: the long press arrives while it is still held.
        board.set_button(true);
        let mut press = None;
        for _ in 0..300 {
            clock.advance(Duration::from_millis(100));
            // Long enough for the thread to sample each step (it polls every 10 ms).
            if let Ok(got) = panel.presses().recv_timeout(Duration::from_millis(20)) {
                press = Some(got);
                break;
            }
        }
        assert_eq!(press, Some(ButtonPress::Long));
        board.set_button(false);

        let returned = panel.stop().expect("the panel thread ended cleanly");
        assert!(!returned.led_on());
        assert_eq!(returned.led(), Some(LedPattern::Idle));
    }

    #[test]
    fn boxed_boards_run_in_a_panel() {
        let board = SimulatedBoard::new();
        let boxed: Box<dyn Board> = Box::new(board.clone());
        let panel = Panel::spawn(boxed, crate::SystemClock).unwrap();
        panel.show(LedPattern::Syncing);
        eventually("the Syncing pattern", || board.led() == Some(LedPattern::Syncing));
        drop(panel);
        assert!(!board.led_on());
    }
}
