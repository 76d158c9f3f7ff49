//! A board with no hardware, for machines other than the Pi and for tests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::{Board, ButtonPress, Clock, Error, LedPattern, ManualClock, PressDetector, DEBOUNCE};

/// A board with no hardware: it records what the LED does and has a button a test can hold
/// down. Its time is a [`ManualClock`] (see [`SimulatedBoard::clock`]).
///
/// Clones share the same simulated hardware, so a test can keep one while a
/// [`Panel`](crate::Panel) thread drives another.
#[derive(Debug, Clone, Default)]
pub struct SimulatedBoard {
    state: Arc<Mutex<State>>,
    clock: ManualClock,
}

#[derive(Debug, Default)]
struct State {
    pattern: Option<LedPattern>,
    led_changes: Vec<(Instant, bool)>,
    button_down: bool,
    detector: PressDetector,
    /// Presses made whole by [`SimulatedBoard::press`].
    queued: VecDeque<ButtonPress>,
}

impl SimulatedBoard {
    /// A board with its own clock.
    pub fn new() -> Self {
        SimulatedBoard::default()
    }

    /// A board whose time is `clock`.
    pub fn with_clock(clock: ManualClock) -> Self {
        SimulatedBoard {
            state: Arc::default(),
            clock,
        }
    }

    /// The board's clock: advance it to move the board's time, or hand it to a
    /// [`Panel`](crate::Panel) so both see the same time.
    pub fn clock(&self) -> ManualClock {
        self.clock.clone()
    }

    /// The pattern last announced with [`Board::set_led`].
    pub fn led(&self) -> Option<LedPattern> {
        self.state().pattern
    }

    /// Whether the LED is lit now.
    pub fn led_on(&self) -> bool {
        self.state().led_changes.last().is_some_and(|&(_, on)| on)
    }

    /// Every level written to the LED, with the board's time of the write.
    pub fn led_changes(&self) -> Vec<(Instant, bool)> {
        self.state().led_changes.clone()
    }

    /// Holds the button down (`true`) or lets it go, from the board's current time on.
    pub fn set_button(&self, down: bool) {
        self.state().button_down = down;
    }

    /// Simulates holding the button for `held`, without waiting: the press goes through a
    /// [`PressDetector`] of its own, sampled every 10 ms on a private timeline, and what it
    /// recognises is queued for [`Board::poll_button`]. Holds shorter than [`DEBOUNCE`] are
    /// filtered out, as on the real button.
    pub fn press(&self, held: Duration) {
        let step = Duration::from_millis(10);
        let mut detector = PressDetector::new();
        let mut now = self.clock.now();
        let mut recognised = Vec::new();
        let mut feed = |down: bool, duration: Duration, now: &mut Instant| {
            let end = *now + duration;
            while *now < end {
                recognised.extend(detector.sample(down, *now));
                *now += step;
            }
        };
        // Released first: the detector counts only presses that start released.
        feed(false, DEBOUNCE + step, &mut now);
        feed(true, held, &mut now);
        feed(false, DEBOUNCE + step, &mut now);
        self.state().queued.extend(recognised);
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Board for SimulatedBoard {
    fn set_led_level(&mut self, on: bool) -> Result<(), Error> {
        let now = self.clock.now();
        self.state().led_changes.push((now, on));
        Ok(())
    }

    fn set_led(&mut self, pattern: LedPattern) {
        self.state().pattern = Some(pattern);
    }

    fn poll_button(&mut self) -> Option<ButtonPress> {
        let now = self.clock.now();
        let mut state = self.state();
        if let Some(press) = state.queued.pop_front() {
            return Some(press);
        }
        let down = state.button_down;
        state.detector.sample(down, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn presses_shorter_than_the_debounce_are_filtered() {
        let mut board = SimulatedBoard::new();
        board.press(ms(20));
        assert_eq!(board.poll_button(), None);
        board.press(ms(40));
        assert_eq!(board.poll_button(), Some(ButtonPress::Short));
        board.press(crate::LONG_PRESS);
        assert_eq!(board.poll_button(), Some(ButtonPress::Long));
        assert_eq!(board.poll_button(), None);
    }

    /// Polls every 10 ms of board time for `for_ms`, collecting presses with when they came.
    fn poll_for(board: &mut SimulatedBoard, t0: Instant, for_ms: u64) -> Vec<(u64, ButtonPress)> {
        let clock = board.clock();
        let mut out = Vec::new();
        for _ in 0..for_ms / 10 {
            if let Some(press) = board.poll_button() {
                out.push(((clock.now() - t0).as_millis() as u64, press));
            }
            clock.advance(ms(10));
        }
        out
    }

    #[test]
    fn holding_the_button_reports_a_long_press_while_held() {
        let mut board = SimulatedBoard::new();
        let t0 = board.clock().now();
        assert_eq!(poll_for(&mut board, t0, 100), vec![]);
        board.set_button(true);
        // Down from 100 ms: long at 3100 ms, while still held.
        assert_eq!(poll_for(&mut board, t0, 4000), vec![(3100, ButtonPress::Long)]);
        board.set_button(false);
        assert_eq!(poll_for(&mut board, t0, 500), vec![]);
        board.set_button(true);
        let pressed = poll_for(&mut board, t0, 200);
        board.set_button(false);
        let released = poll_for(&mut board, t0, 100);
        assert_eq!(pressed, vec![]);
        assert_eq!(released, vec![(4830, ButtonPress::Short)]);
    }
}
