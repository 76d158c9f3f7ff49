//! The Raspberry Pi hardware that CoPi drives: a status LED and a push button.
//!
//! Everything goes through the [`Board`] trait, which only knows levels: light the LED or
//! not, is the button down. What the levels mean lives in pure state machines that are told
//! the time instead of reading it, so tests never sleep:
//!
//! - [`LedDriver`] renders a [`LedPattern`] as on/off phases over time;
//! - [`PressDetector`] debounces the button and tells short presses from long ones, reporting
//!   a long press as soon as it has lasted [`LONG_PRESS`];
//! - [`Panel`] is the thread that runs both on a board with a [`Clock`] and hands presses
//!   out through a channel.
//!
//! On the Pi, [`RppalBoard`] drives a GPIO LED or the kernel's ACT LED and reads a GPIO
//! button; off the Pi it fails to open and callers use the [`SimulatedBoard`], which also
//! lets tests press the button and read back what the LED did.

mod button;
mod clock;
mod led;
mod panel;
mod pi;
mod simulated;

#[cfg(test)]
mod boot_files;

use std::path::PathBuf;
use std::time::Duration;

pub use button::{PressDetector, DEBOUNCE};
pub use clock::{Clock, ManualClock, SystemClock};
pub use led::{LedDriver, LedFrame};
pub use panel::{Panel, BUTTON_POLL};
pub use pi::{LedConfig, PiConfig, RppalBoard, SysfsLed};
pub use simulated::SimulatedBoard;

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
    /// The on/off durations of one period of the pattern; no off time means steady on.
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
    /// Lights (`true`) or darkens (`false`) the status LED now.
    fn set_led_level(&mut self, on: bool) -> Result<(), Error>;

    /// Tells the board which pattern the LED shows from now on. [`LedDriver::render`] calls
    /// it on each switch, then renders the pattern through [`Board::set_led_level`]; calling
    /// it does not light anything. Only the simulated board keeps it; the default ignores it.
    fn set_led(&mut self, pattern: LedPattern) {
        let _ = pattern;
    }

    /// Samples the button now and returns the press its [`PressDetector`] recognised, if
    /// any. Call it at least every [`BUTTON_POLL`]: presses are only seen by sampling.
    fn poll_button(&mut self) -> Option<ButtonPress>;
}

impl<B: Board + ?Sized> Board for Box<B> {
    fn set_led_level(&mut self, on: bool) -> Result<(), Error> {
        (**self).set_led_level(on)
    }

    fn set_led(&mut self, pattern: LedPattern) {
        (**self).set_led(pattern);
    }

    fn poll_button(&mut self) -> Option<ButtonPress> {
        (**self).poll_button()
    }
}

/// Why the hardware could not be opened or driven.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No Raspberry Pi GPIO here (another machine, or no access to `/dev/gpiomem`), or the
    /// pin is taken or does not exist.
    #[error("GPIO: {0}")]
    Gpio(#[from] rppal::gpio::Error),
    #[error("no ACT LED: neither /sys/class/leds/ACT nor /sys/class/leds/led0 exists")]
    NoActLed,
    #[error("LED {}: {source}", path.display())]
    Led { path: PathBuf, source: std::io::Error },
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

    #[test]
    fn boxed_boards_are_boards() {
        let sim = SimulatedBoard::default();
        let mut boxed: Box<dyn Board> = Box::new(sim.clone());
        boxed.set_led(LedPattern::Error);
        boxed.set_led_level(true).unwrap();
        assert_eq!(sim.led(), Some(LedPattern::Error));
        assert!(sim.led_on());
    }
}
