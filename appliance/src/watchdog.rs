//! The service manager's watchdog (systemd's `sd_notify` protocol): `READY=1` once the hub
//! answers, then `WATCHDOG=1` at half the interval systemd asks for, but only while the
//! store answers a query, so that a hub stuck on its storage is restarted. The hardware
//! watchdog (`/dev/watchdog`) is systemd's to pet (`RuntimeWatchdogSec`), or busybox's
//! `watchdog` applet on images without systemd.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::store::Store;

/// Where notifications go: `NOTIFY_SOCKET`, a path or `@abstract`.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    target: String,
}

impl Notifier {
    pub fn from_env() -> Option<Notifier> {
        let target = std::env::var("NOTIFY_SOCKET").ok().filter(|s| !s.is_empty())?;
        let socket = UnixDatagram::unbound().ok()?;
        Some(Notifier { socket, target })
    }

    pub fn notify(&self, state: &str) -> std::io::Result<()> {
        if let Some(name) = self.target.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            self.socket.send_to_addr(state.as_bytes(), &addr).map(|_| ())
        } else {
            self.socket
                .send_to(state.as_bytes(), PathBuf::from(&self.target))
                .map(|_| ())
        }
    }
}

/// The interval systemd expects pings within (`WATCHDOG_USEC`, for this process).
pub fn interval_from_env() -> Option<Duration> {
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok() != Some(std::process::id()) {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// Tells the service manager the hub is ready and keeps petting its watchdog while the
/// store answers. Does nothing when not run by a service manager.
pub fn start(store: Arc<Store>) {
    let Some(notifier) = Notifier::from_env() else { return };
    if let Err(e) = notifier.notify("READY=1\nSTATUS=serving") {
        tracing::warn!(error = %e, "cannot notify the service manager");
        return;
    }
    let Some(interval) = interval_from_env() else { return };
    let period = interval / 2;
    let spawned = std::thread::Builder::new()
        .name("copi-watchdog".into())
        .spawn(move || loop {
            let healthy = store
                .read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
                .is_ok();
            if healthy {
                let _ = notifier.notify("WATCHDOG=1");
            } else {
                tracing::error!("store does not answer: not petting the watchdog");
            }
            std::thread::sleep(period);
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the watchdog thread");
    }
}
