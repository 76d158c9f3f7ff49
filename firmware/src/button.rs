//! The button's state machine: raw level samples in, debounced and classified presses out.

use std::time::{Duration, Instant};

use crate::{ButtonPress, LONG_PRESS};

/// A level must hold this long before it counts: mechanical contacts chatter for a few
/// milliseconds when they close or open.
pub const DEBOUNCE: Duration = Duration::from_millis(30);

/// Turns `(level, time)` samples of the button into presses.
///
/// A press is [`ButtonPress::Short`] when released before [`LONG_PRESS`], and
/// [`ButtonPress::Long`] as soon as it has been held that long, while still held (the
/// release that follows reports nothing). A level counts once it has held for [`DEBOUNCE`];
/// the hold time runs from the first sample of the debounced press.
///
/// The detector starts as if the button were held: a button held (or stuck) when CoPi
/// starts counts only after it has been seen released, so it cannot shut the hub down
/// at every boot.
#[derive(Debug, Clone)]
pub struct PressDetector {
    /// The debounced level: `true` while held.
    down: bool,
    /// A different level seen since the given instant, not yet held for `DEBOUNCE`.
    change: Option<(bool, Instant)>,
    /// When the current press began; `None` while released, or while held from the start.
    pressed_at: Option<Instant>,
    long_reported: bool,
}

impl PressDetector {
    pub fn new() -> Self {
        PressDetector {
            down: true,
            change: None,
            pressed_at: None,
            long_reported: false,
        }
    }

    /// Feeds the level seen at `now` (`true`: held down). Samples must come in time order.
    pub fn sample(&mut self, down: bool, now: Instant) -> Option<ButtonPress> {
        if down == self.down {
            // Back to the debounced level before the change settled: it was a bounce.
            self.change = None;
        } else {
            match self.change {
                Some((level, since)) if level == down => {
                    if now.saturating_duration_since(since) >= DEBOUNCE {
                        self.change = None;
                        self.down = down;
                        if let Some(press) = self.settle(since) {
                            return Some(press);
                        }
                    }
                }
                _ => self.change = Some((down, now)),
            }
        }
        self.long_press_due(now)
    }

    /// The debounced level has just become `self.down`, starting at `since`.
    fn settle(&mut self, since: Instant) -> Option<ButtonPress> {
        if self.down {
            self.pressed_at = Some(since);
            self.long_reported = false;
            return None;
        }
        let pressed_at = self.pressed_at.take()?;
        if std::mem::take(&mut self.long_reported) {
            return None;
        }
        // Reached when samples were too sparse to see the long press while held.
        Some(ButtonPress::from_hold(since.saturating_duration_since(pressed_at)))
    }

    fn long_press_due(&mut self, now: Instant) -> Option<ButtonPress> {
        // While a release is settling the press may already be over: wait for it.
        if !self.down || self.long_reported || self.change.is_some() {
            return None;
        }
        let pressed_at = self.pressed_at?;
        if now.saturating_duration_since(pressed_at) >= LONG_PRESS {
            self.long_reported = true;
            return Some(ButtonPress::Long);
        }
        None
    }
}

impl Default for PressDetector {
    fn default() -> Self {
        PressDetector::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Feeds `(millisecond, level)` samples and returns the presses with when they came out.
    fn run(samples: &[(u64, bool)]) -> Vec<(u64, ButtonPress)> {
        let t0 = Instant::now();
        let mut detector = PressDetector::new();
        samples
            .iter()
            .filter_map(|&(at, down)| detector.sample(down, t0 + ms(at)).map(|p| (at, p)))
            .collect()
    }

    /// Samples every 10 ms from `from` up to (not including) `to`, all at `down`.
    fn hold(from: u64, to: u64, down: bool) -> Vec<(u64, bool)> {
        (from..to).step_by(10).map(|at| (at, down)).collect()
    }

    /// Released long enough to arm the detector, then `then`.
    fn armed(then: Vec<Vec<(u64, bool)>>) -> Vec<(u64, bool)> {
        let mut samples = hold(0, 100, false);
        samples.extend(then.into_iter().flatten());
        samples
    }

    #[test]
    fn bounces_are_filtered() {
        // Chatter every 5 ms for 40 ms, never stable for 30 ms, then released.
        let chatter: Vec<_> = (0..8).map(|i| (100 + i * 5, i % 2 == 0)).collect();
        let samples = armed(vec![chatter, hold(140, 400, false)]);
        assert_eq!(run(&samples), vec![]);
        // A 20 ms blip is no press either.
        let samples = armed(vec![hold(100, 120, true), hold(120, 400, false)]);
        assert_eq!(run(&samples), vec![]);
    }

    #[test]
    fn short_press_is_reported_once_the_release_settles() {
        let samples = armed(vec![hold(100, 300, true), hold(300, 600, false)]);
        assert_eq!(run(&samples), vec![(330, ButtonPress::Short)]);
    }

    #[test]
    fn chatter_on_the_edges_still_makes_one_press() {
        let samples = armed(vec![
            vec![(100, true), (103, false), (106, true), (109, false)],
            hold(110, 300, true),
            vec![(300, false), (303, true), (306, false)],
            hold(310, 600, false),
        ]);
        assert_eq!(run(&samples), vec![(340, ButtonPress::Short)]);
    }

    #[test]
    fn long_press_is_reported_at_three_seconds_while_held() {
        // Pressed at 100 ms, settled at 130 ms: the hold counts from 100 ms.
        let samples = armed(vec![hold(100, 5000, true), hold(5000, 5500, false)]);
        assert_eq!(run(&samples), vec![(3100, ButtonPress::Long)]);
        // Released just before: short.
        let samples = armed(vec![hold(100, 3090, true), hold(3090, 3500, false)]);
        assert_eq!(run(&samples), vec![(3120, ButtonPress::Short)]);
    }

    #[test]
    fn release_after_a_long_press_reports_nothing_more() {
        let samples = armed(vec![hold(100, 3200, true), hold(3200, 4000, false)]);
        assert_eq!(run(&samples), vec![(3100, ButtonPress::Long)]);
        // Another press afterwards is a new short one.
        let mut samples = samples;
        samples.extend(hold(4000, 4200, true));
        samples.extend(hold(4200, 4500, false));
        assert_eq!(
            run(&samples),
            vec![(3100, ButtonPress::Long), (4230, ButtonPress::Short)]
        );
    }

    #[test]
    fn a_long_hold_seen_only_at_its_release_is_long() {
        let samples = armed(vec![vec![(100, true), (140, true), (3500, false), (3540, false)]]);
        assert_eq!(run(&samples), vec![(3540, ButtonPress::Long)]);
        // Not twice: the release that follows is the end of the same press.
        let samples = armed(vec![vec![
            (100, true),
            (140, true),
            (3600, true),
            (3700, false),
            (3740, false),
        ]]);
        assert_eq!(run(&samples), vec![(3600, ButtonPress::Long)]);
    }

    #[test]
    fn a_button_held_at_start_counts_only_after_a_release() {
        let samples = [hold(0, 5000, true), hold(5000, 5100, false)].concat();
        assert_eq!(run(&samples), vec![]);
        let samples = [
            hold(0, 5000, true),
            hold(5000, 5100, false),
            hold(5100, 5300, true),
            hold(5300, 5400, false),
        ]
        .concat();
        assert_eq!(run(&samples), vec![(5330, ButtonPress::Short)]);
    }
}
