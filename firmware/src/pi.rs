//! The real board: the Raspberry Pi's GPIO through rppal, and its kernel LEDs through sysfs.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rppal::gpio::{Gpio, InputPin, OutputPin};

use crate::{Board, ButtonPress, Error, PressDetector};

/// Where the status LED is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedConfig {
    /// An LED (with its resistor) from this BCM GPIO pin to ground: lit while the pin is high.
    Gpio(u8),
    /// The Pi's green ACT LED, through the kernel: `/sys/class/leds/ACT` (`led0` on older
    /// kernels). Every Pi has one, so a bare board needs no wiring.
    Act,
    /// Another kernel LED, by its sysfs directory (`/sys/class/leds/<name>`).
    Sysfs(PathBuf),
}

/// How the status LED and the button are wired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiConfig {
    pub led: LedConfig,
    /// The BCM GPIO pin of a push button to ground (active low, with the Pi's pull-up);
    /// `None`: no button.
    pub button_pin: Option<u8>,
}

impl Default for PiConfig {
    /// The ACT LED and a button on GPIO 3 (header pin 5, ground on pin 6). GPIO 3 is the pin
    /// that also wakes a Pi that was shut down, so the same button that asks for a safe
    /// shutdown turns the hub back on.
    fn default() -> Self {
        PiConfig {
            led: LedConfig::Act,
            button_pin: Some(3),
        }
    }
}

/// The Raspberry Pi itself. rppal builds on any Linux but finds no GPIO elsewhere:
/// [`RppalBoard::open`] then fails, and callers fall back to the
/// [`SimulatedBoard`](crate::SimulatedBoard).
///
/// The button is sampled by [`Board::poll_button`] through a [`PressDetector`] on the
/// system's monotonic clock. Dropping the board releases the pins (an output pin goes back
/// to an input, so a GPIO LED goes dark) and gives a kernel LED back to its trigger.
#[derive(Debug)]
pub struct RppalBoard {
    led: Led,
    button: Option<InputPin>,
    detector: PressDetector,
}

#[derive(Debug)]
enum Led {
    Gpio(OutputPin),
    Sysfs(SysfsLed),
}

impl RppalBoard {
    /// Takes the LED and the button. Fails off the Pi, without access to the GPIO
    /// (`/dev/gpiomem`, the `gpio` group) or the LED's sysfs files (root, or a udev rule),
    /// or when a pin is taken or does not exist.
    pub fn open(config: &PiConfig) -> Result<Self, Error> {
        let led = match &config.led {
            LedConfig::Gpio(pin) => Led::Gpio(Gpio::new()?.get(*pin)?.into_output_low()),
            LedConfig::Act => Led::Sysfs(SysfsLed::act()?),
            LedConfig::Sysfs(dir) => Led::Sysfs(SysfsLed::open(dir)?),
        };
        let button = match config.button_pin {
            Some(pin) => Some(Gpio::new()?.get(pin)?.into_input_pullup()),
            None => None,
        };
        Ok(RppalBoard {
            led,
            button,
            detector: PressDetector::new(),
        })
    }
}

impl Board for RppalBoard {
    fn set_led_level(&mut self, on: bool) -> Result<(), Error> {
        match &mut self.led {
            Led::Gpio(pin) if on => pin.set_high(),
            Led::Gpio(pin) => pin.set_low(),
            Led::Sysfs(led) => led.set(on)?,
        }
        Ok(())
    }

    fn poll_button(&mut self) -> Option<ButtonPress> {
        let down = self.button.as_ref()?.is_low();
        self.detector.sample(down, Instant::now())
    }
}

/// A kernel LED driven through `/sys/class/leds/<name>/{trigger,brightness}`. Opening it
/// sets its trigger to `none` so the kernel stops blinking it for SD card activity; dropping
/// it puts the previous trigger back, so the LED keeps meaning something when CoPi is not
/// running.
#[derive(Debug)]
pub struct SysfsLed {
    dir: PathBuf,
    /// What to write to `brightness` to light it: its `max_brightness`.
    on_value: String,
    trigger_before: Option<String>,
}

const LEDS: &str = "/sys/class/leds";

impl SysfsLed {
    /// The ACT LED: `ACT` on current kernels, `led0` on older ones.
    pub fn act() -> Result<Self, Error> {
        Self::act_in(Path::new(LEDS))
    }

    fn act_in(leds: &Path) -> Result<Self, Error> {
        let dir = ["ACT", "led0"]
            .iter()
            .map(|name| leds.join(name))
            .find(|dir| dir.is_dir())
            .ok_or(Error::NoActLed)?;
        Self::open(dir)
    }

    /// Takes over the LED whose sysfs directory is `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let dir = dir.into();
        // "none rc-feedback [mmc0] timer …": the current trigger is in brackets.
        let triggers = read(&dir.join("trigger"))?;
        let trigger_before = triggers
            .split_whitespace()
            .find_map(|t| t.strip_prefix('[')?.strip_suffix(']'))
            .map(str::to_owned);
        let on_value = read(&dir.join("max_brightness"))
            .ok()
            .map(|max| max.trim().to_owned())
            .filter(|max| max.parse::<u32>().is_ok_and(|max| max > 0))
            .unwrap_or_else(|| "1".to_owned());
        write(&dir.join("trigger"), "none")?;
        Ok(SysfsLed {
            dir,
            on_value,
            trigger_before,
        })
    }

    pub fn set(&mut self, on: bool) -> Result<(), Error> {
        let value = if on { self.on_value.as_str() } else { "0" };
        write(&self.dir.join("brightness"), value)
    }
}

impl Drop for SysfsLed {
    fn drop(&mut self) {
        if let Some(trigger) = &self.trigger_before {
            if let Err(error) = write(&self.dir.join("trigger"), trigger) {
                tracing::warn!(%error, "could not give the LED back to the kernel");
            }
        }
    }
}

fn read(path: &Path) -> Result<String, Error> {
    fs::read_to_string(path).map_err(|source| Error::Led {
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, value: &str) -> Result<(), Error> {
    fs::write(path, value).map_err(|source| Error::Led {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake `/sys/class/leds/<name>` directory.
    fn fake_led(leds: &Path, name: &str, max_brightness: &str) -> PathBuf {
        let dir = leds.join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("trigger"), "none rc-feedback [mmc0] timer heartbeat\n").unwrap();
        fs::write(dir.join("brightness"), "0\n").unwrap();
        fs::write(dir.join("max_brightness"), max_brightness).unwrap();
        dir
    }

    fn contents(path: PathBuf) -> String {
        fs::read_to_string(path).unwrap()
    }

    #[test]
    fn sysfs_led_takes_the_led_from_its_trigger_and_gives_it_back() {
        let leds = tempfile::tempdir().unwrap();
        let dir = fake_led(leds.path(), "ACT", "255\n");
        let mut led = SysfsLed::open(&dir).unwrap();
        assert_eq!(contents(dir.join("trigger")), "none");
        led.set(true).unwrap();
        assert_eq!(contents(dir.join("brightness")), "255");
        led.set(false).unwrap();
        assert_eq!(contents(dir.join("brightness")), "0");
        drop(led);
        assert_eq!(contents(dir.join("trigger")), "mmc0");
    }

    #[test]
    fn act_led_is_found_under_either_name() {
        let leds = tempfile::tempdir().unwrap();
        assert!(matches!(SysfsLed::act_in(leds.path()), Err(Error::NoActLed)));
        let dir = fake_led(leds.path(), "led0", "1");
        let mut led = SysfsLed::act_in(leds.path()).unwrap();
        led.set(true).unwrap();
        assert_eq!(contents(dir.join("brightness")), "1");
    }

    #[test]
    fn rppal_board_drives_a_kernel_led_without_gpio() {
        let leds = tempfile::tempdir().unwrap();
        let dir = fake_led(leds.path(), "status", "garbage");
        let config = PiConfig {
            led: LedConfig::Sysfs(dir.clone()),
            button_pin: None,
        };
        let mut board = RppalBoard::open(&config).unwrap();
        board.set_led_level(true).unwrap();
        assert_eq!(contents(dir.join("brightness")), "1");
        assert_eq!(board.poll_button(), None);
        fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(board.set_led_level(false), Err(Error::Led { .. })));
    }

    #[test]
    fn opening_gpio_off_the_pi_fails() {
        let on_a_pi = fs::read_to_string("/proc/device-tree/model").is_ok_and(|model| model.contains("Raspberry Pi"));
        if on_a_pi {
            return;
        }
        let config = PiConfig {
            led: LedConfig::Gpio(17),
            button_pin: Some(3),
        };
        assert!(matches!(RppalBoard::open(&config), Err(Error::Gpio(_))));
        assert!(RppalBoard::open(&PiConfig::default()).is_err());
    }
}
