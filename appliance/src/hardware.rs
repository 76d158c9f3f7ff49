//! The box's status LED and button, when the hub runs on a Pi that has them.
//!
//! The LED shows the hub's state (steady: all well; slow blink: syncing; short flash: no
//! uplink, working offline; fast blink: the last sync failed); a short press asks for a sync
//! round, a long press (3 s) shuts the hub down cleanly and then powers the Pi off, so that
//! nobody pulls the plug on a card being written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use copi_firmware::{ButtonPress, LedPattern, Panel, PiConfig, RppalBoard, SystemClock};

use crate::syncer::SyncHealth;

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

/// The LED pattern for sync's state.
pub fn led_for(health: SyncHealth) -> LedPattern {
    match health {
        SyncHealth::Idle => LedPattern::Idle,
        SyncHealth::Syncing => LedPattern::Syncing,
        SyncHealth::Failing => LedPattern::Error,
        SyncHealth::Offline => LedPattern::NoUplink,
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
    let mut shown = led_for(sync.health());
    panel.show(shown);
    let spawned = std::thread::Builder::new()
        .name("copi-button".into())
        .spawn(move || loop {
            // The LED follows sync's state within a second; presses are answered at once.
            match panel.presses().recv_timeout(std::time::Duration::from_secs(1)) {
                Ok(ButtonPress::Short) => match sync.request_round() {
                    Ok(()) => tracing::info!("button: sync round requested"),
                    Err(why) => tracing::warn!("button: no sync round: {why}"),
                },
                Ok(ButtonPress::Long) => {
                    tracing::warn!("button: long press, shutting down");
                    power_off.0.store(true, Ordering::SeqCst);
                    shutdown.notify();
                    return;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
            }
            let wanted = led_for(sync.health());
            if wanted != shown {
                panel.show(wanted);
                shown = wanted;
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot watch the button");
    }
}
