//! The box's status LED and button, when the hub runs on a Pi that has them.
//!
//! The LED shows the hub's state; a short press asks for a sync round, a long press (3 s)
//! shuts the hub down cleanly and then powers the Pi off, so that nobody pulls the plug on
//! a card being written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use copi_firmware::{ButtonPress, LedPattern, Panel, PiConfig, RppalBoard, SystemClock};

/// Set when a long press asked for the Pi to be powered off once the server has stopped.
#[derive(Debug, Clone, Default)]
pub struct PowerOff(Arc<AtomicBool>);

impl PowerOff {
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Powers the machine off (after the server and the store have been closed).
    pub fn power_off(&self) {
        tracing::warn!("powering off, as the button asked");
        if let Err(e) = std::process::Command::new("poweroff").status() {
            tracing::error!(error = %e, "poweroff failed");
        }
    }
}

/// Opens the Pi's LED and button and handles presses on a thread of their own; does
/// nothing off the Pi. A short press wakes the sync loop, as the admin's "sync now" does.
pub fn start(shutdown: rocket::Shutdown, power_off: PowerOff, sync: crate::syncer::SyncControl) {
    let board = match RppalBoard::open(&PiConfig::default()) {
        Ok(b) => b,
        Err(e) => {
            tracing::debug!(error = %e, "no Pi LED or button here");
            return;
        }
    };
    let panel = match Panel::spawn(board, SystemClock) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot drive the LED and button");
            return;
        }
    };
    panel.show(LedPattern::Idle);
    let spawned = std::thread::Builder::new().name("copi-button".into()).spawn(move || {
        for press in panel.presses().iter() {
            match press {
                ButtonPress::Short => match sync.request_round() {
                    Ok(()) => tracing::info!("button: sync round requested"),
                    Err(why) => tracing::warn!("button: no sync round: {why}"),
                },
                ButtonPress::Long => {
                    tracing::warn!("button: long press, shutting down");
                    power_off.0.store(true, Ordering::SeqCst);
                    shutdown.notify();
                    return;
                }
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot watch the button");
    }
}
