//! The Raspberry Pi hardware that CoPi drives: a status LED and a push button.
//!
//! Everything goes through the [`Board`] trait. Off the Pi (and in tests) the
//! [`SimulatedBoard`] records what the LED shows and lets a test press the button; the
//! rppal-backed board for the real Pi arrives with the appliance work (issue 7).

use std::collections::VecDeque;
use std::time::Duration;

/// What the status LED tells a person standing next to the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedPattern {
    /// Steady on: the hub is serving and has nothing to report.
    Idle,
    /// Slow blink: a sync round is running.
    Syncing,
    /// Fast blink: something needs the admin's attention.
    Error,
    /// Short flash every few seconds: no uplink, the hub works offline.
    NoUplink,
}

impl LedPattern {
    /// The on/off durations of one period of the pattern.
    pub fn timing(self) -> (Duration, Duration) {
        match self {
            LedPattern::Idle => (Duration::from_secs(1), Duration::ZERO),
            LedPattern::Syncing => (Duration::from_millis(500), Duration::from_millis(500)),
            LedPattern::Error => (Duration::from_millis(100), Duration::from_millis(100)),
            LedPattern::NoUplink => (Duration::from_millis(100), Duration::from_millis(2900)),
        }
    }
}

/// A press of the button, told apart by how long it was held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonPress {
    /// Sync now.
    Short,
    /// Safe shutdown.
    Long,
}

/// Presses held at least this long are long presses.
pub const LONG_PRESS: Duration = Duration::from_secs(3);

impl ButtonPress {
    pub fn from_hold(held: Duration) -> Self {
        if held >= LONG_PRESS {
            ButtonPress::Long
        } else {
            ButtonPress::Short
        }
    }
}

/// The hardware seen by the hub.
pub trait Board: Send {
    fn set_led(&mut self, pattern: LedPattern);
    /// The next button press not yet handled, if any.
    fn poll_button(&mut self) -> Option<ButtonPress>;
}

/// A board with no hardware: it remembers the LED pattern and queues presses.
#[derive(Debug, Default)]
pub struct SimulatedBoard {
    led: Option<LedPattern>,
    presses: VecDeque<ButtonPress>,
}

impl SimulatedBoard {
    pub fn led(&self) -> Option<LedPattern> {
        self.led
    }

    /// Simulates holding the button for `held`.
    pub fn press(&mut self, held: Duration) {
        self.presses.push_back(ButtonPress::from_hold(held));
    }
}

impl Board for SimulatedBoard {
    fn set_led(&mut self, pattern: LedPattern) {
        self.led = Some(pattern);
    }

    fn poll_button(&mut self) -> Option<ButtonPress> {
        self.presses.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presses_are_told_apart_by_hold_time() {
        let mut board = SimulatedBoard::default();
        board.press(Duration::from_millis(200));
        board.press(Duration::from_secs(5));
        assert_eq!(board.poll_button(), Some(ButtonPress::Short));
        assert_eq!(board.poll_button(), Some(ButtonPress::Long));
        assert_eq!(board.poll_button(), None);
    }

    #[test]
    fn led_remembers_last_pattern() {
        let mut board = SimulatedBoard::default();
        assert_eq!(board.led(), None);
        board.set_led(LedPattern::Syncing);
        board.set_led(LedPattern::NoUplink);
        assert_eq!(board.led(), Some(LedPattern::NoUplink));
        let (on, off) = LedPattern::Error.timing();
        assert!(on > Duration::ZERO && off > Duration::ZERO);
    }
}
