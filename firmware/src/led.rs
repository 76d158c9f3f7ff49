//! The LED's state machine: which level a pattern shows at a given instant.

use std::time::{Duration, Instant};

use crate::{Board, Error, LedPattern};

/// The LED level at an instant and when it next changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedFrame {
    pub on: bool,
    /// `None`: the level holds until the pattern is switched.
    pub next: Option<Instant>,
}

/// Renders a [`LedPattern`] over time. It never reads a clock: each call says what time it
/// is, and [`LedDriver::tick`] answers with the level and the next deadline, so a thread can
/// sleep until then and a test can jump there.
#[derive(Debug, Clone, Default)]
pub struct LedDriver {
    /// The pattern shown and when its first period began; `None`: dark.
    shown: Option<(LedPattern, Instant)>,
    /// What the board was last told, so that it is written only on changes.
    written_level: Option<bool>,
    written_pattern: Option<LedPattern>,
}

impl LedDriver {
    /// A driver with the LED dark until a pattern is set.
    pub fn new() -> Self {
        LedDriver::default()
    }

    pub fn pattern(&self) -> Option<LedPattern> {
        self.shown.map(|(pattern, _)| pattern)
    }

    /// Switches to `pattern` at `now`, starting with its on phase. Setting the pattern
    /// already shown changes nothing, so a status repeated every few seconds does not make
    /// the LED stutter.
    pub fn set_pattern(&mut self, pattern: LedPattern, now: Instant) {
        if self.pattern() != Some(pattern) {
            self.shown = Some((pattern, now));
        }
    }

    /// Darkens the LED until the next [`LedDriver::set_pattern`].
    pub fn stop(&mut self) {
        self.shown = None;
    }

    /// The level at `now` and when it changes next.
    pub fn tick(&self, now: Instant) -> LedFrame {
        let Some((pattern, since)) = self.shown else {
            return LedFrame { on: false, next: None };
        };
        let (on, off) = pattern.timing();
        if off.is_zero() || on.is_zero() {
            return LedFrame {
                on: !on.is_zero(),
                next: None,
            };
        }
        let period = (on + off).as_nanos();
        let phase = Duration::from_nanos((now.saturating_duration_since(since).as_nanos() % period) as u64);
        if phase < on {
            LedFrame {
                on: true,
                next: Some(now + (on - phase)),
            }
        } else {
            LedFrame {
                on: false,
                next: Some(now + (on + off - phase)),
            }
        }
    }

    /// Brings `board`'s LED to the level at `now`, writing only what changed, and returns
    /// when to call again. A failed write is retried at the next call.
    pub fn render<B: Board + ?Sized>(&mut self, board: &mut B, now: Instant) -> Result<Option<Instant>, Error> {
        match self.pattern() {
            Some(pattern) if self.written_pattern != Some(pattern) => {
                board.set_led(pattern);
                self.written_pattern = Some(pattern);
            }
            Some(_) => {}
            None => self.written_pattern = None,
        }
        let frame = self.tick(now);
        if self.written_level != Some(frame.on) {
            board.set_led_level(frame.on)?;
            self.written_level = Some(frame.on);
        }
        Ok(frame.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Clock, SimulatedBoard};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Follows the driver's deadlines from `t0` up to `until` ms: the level at each change,
    /// as (milliseconds since `t0`, on).
    fn edges(driver: &LedDriver, t0: Instant, until: u64) -> Vec<(u64, bool)> {
        let mut out = Vec::new();
        let mut now = t0;
        while now <= t0 + ms(until) {
            let frame = driver.tick(now);
            out.push(((now - t0).as_millis() as u64, frame.on));
            match frame.next {
                Some(next) => now = next,
                None => break,
            }
        }
        out
    }

    #[test]
    fn each_pattern_shows_its_on_off_sequence() {
        fn check(pattern: LedPattern, until: u64, expected: &[(u64, bool)]) {
            let t0 = Instant::now();
            let mut driver = LedDriver::new();
            driver.set_pattern(pattern, t0);
            assert_eq!(edges(&driver, t0, until), expected, "{pattern:?}");
        }
        check(LedPattern::Idle, 10_000, &[(0, true)]);
        check(
            LedPattern::Syncing,
            2000,
            &[(0, true), (500, false), (1000, true), (1500, false), (2000, true)],
        );
        check(
            LedPattern::Error,
            400,
            &[(0, true), (100, false), (200, true), (300, false), (400, true)],
        );
        check(
            LedPattern::NoUplink,
            6100,
            &[
                (0, true),
                (100, false),
                (3000, true),
                (3100, false),
                (6000, true),
                (6100, false),
            ],
        );
    }

    #[test]
    fn level_between_deadlines_follows_the_phase() {
        let t0 = Instant::now();
        let mut driver = LedDriver::new();
        driver.set_pattern(LedPattern::Syncing, t0);
        let check = |at: u64, on: bool, next: u64| {
            let frame = driver.tick(t0 + ms(at));
            assert_eq!(
                frame,
                LedFrame {
                    on,
                    next: Some(t0 + ms(next))
                },
                "at {at} ms"
            );
        };
        check(0, true, 500);
        check(499, true, 500);
        check(500, false, 1000);
        check(1250, true, 1500);
        // Long after the start: still on the same grid, no drift.
        check(3_600_000 + 700, false, 3_601_000);
    }

    #[test]
    fn switching_restarts_at_the_new_patterns_on_phase() {
        let t0 = Instant::now();
        let mut driver = LedDriver::new();
        assert_eq!(driver.tick(t0), LedFrame { on: false, next: None });
        driver.set_pattern(LedPattern::Syncing, t0);
        assert!(!driver.tick(t0 + ms(700)).on);
        // Mid-way through Syncing's off phase, switch to Error.
        let t1 = t0 + ms(700);
        driver.set_pattern(LedPattern::Error, t1);
        assert_eq!(driver.pattern(), Some(LedPattern::Error));
        assert_eq!(
            edges(&driver, t1, 300),
            vec![(0, true), (100, false), (200, true), (300, false)]
        );
        // Repeating the same pattern keeps its phase.
        driver.set_pattern(LedPattern::Error, t1 + ms(150));
        assert!(!driver.tick(t1 + ms(150)).on);
        // Then steady Idle, at once.
        driver.set_pattern(LedPattern::Idle, t1 + ms(150));
        assert_eq!(driver.tick(t1 + ms(150)), LedFrame { on: true, next: None });
        driver.stop();
        assert_eq!(driver.pattern(), None);
        assert_eq!(driver.tick(t1 + ms(200)), LedFrame { on: false, next: None });
    }

    #[test]
    fn render_drives_a_simulated_board_writing_only_changes() {
        let mut board = SimulatedBoard::default();
        let clock = board.clock();
        let t0 = clock.now();
        let mut driver = LedDriver::new();

        // Run the board as a thread would: jump from deadline to deadline.
        let run_until = |driver: &mut LedDriver, board: &mut SimulatedBoard, until: u64| loop {
            let next = driver.render(board, clock.now()).unwrap();
            match next {
                Some(next) if next <= t0 + ms(until) => {
                    clock.advance(next - clock.now());
                }
                _ => break,
            }
        };
        driver.set_pattern(LedPattern::NoUplink, t0);
        run_until(&mut driver, &mut board, 3100);
        assert_eq!(board.led(), Some(LedPattern::NoUplink));
        // A render with nothing to change writes nothing.
        driver.render(&mut board, clock.now()).unwrap();
        // Switch during NoUplink's dark phase.
        clock.advance(ms(50));
        driver.set_pattern(LedPattern::Syncing, clock.now());
        run_until(&mut driver, &mut board, 4150);
        assert_eq!(board.led(), Some(LedPattern::Syncing));
        driver.stop();
        driver.render(&mut board, clock.now()).unwrap();

        let changes: Vec<(u64, bool)> = board
            .led_changes()
            .into_iter()
            .map(|(at, on)| ((at - t0).as_millis() as u64, on))
            .collect();
        assert_eq!(
            changes,
            vec![
                (0, true),
                (100, false),
                (3000, true),
                (3100, false),
                (3150, true),
                (3650, false),
                (4150, true),
                // Stopped.
                (4150, false),
            ]
        );
        assert!(!board.led_on());
    }
}
