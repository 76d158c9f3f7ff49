//! mDNS: announces the hub as `<name>.local` with an `_http._tcp` service, so that phones
//! and laptops on its Wi-Fi find it without typing an address. Addresses are followed
//! automatically (re-announced when an interface comes or goes).

use std::collections::HashMap;

use mdns_sd::{ServiceDaemon, ServiceInfo};

use crate::error::{Error, Result};

/// The service type announced.
pub const SERVICE_TYPE: &str = "_http._tcp.local.";

/// What to announce.
#[derive(Debug, Clone)]
pub struct Announcement {
    /// Host label: `copi` gives `copi.local`.
    pub host: String,
    /// Instance name shown by browsers: the hub's name.
    pub instance: String,
    pub port: u16,
    /// Path of the home page, in the TXT record.
    pub path: String,
}

/// A running announcement; dropping it withdraws the service.
pub struct Announcer {
    daemon: ServiceDaemon,
    fullname: String,
}

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcer").field("fullname", &self.fullname).finish()
    }
}

impl Announcer {
    pub fn start(a: &Announcement) -> Result<Announcer> {
        let fail = |e: mdns_sd::Error| Error::Config(format!("mDNS announcement failed: {e}"));
        let daemon = ServiceDaemon::new().map_err(fail)?;
        let mut txt = HashMap::new();
        txt.insert("path".to_owned(), a.path.clone());
        txt.insert("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned());
        txt.insert("product".to_owned(), "copi".to_owned());
        let host = format!("{}.local.", a.host);
        let info = ServiceInfo::new(SERVICE_TYPE, &a.instance, &host, "", a.port, txt)
            .map_err(fail)?
            .enable_addr_auto();
        let fullname = info.get_fullname().to_owned();
        daemon.register(info).map_err(fail)?;
        tracing::info!(host = %host, service = %fullname, "announced over mDNS");
        Ok(Announcer { daemon, fullname })
    }

    pub fn fullname(&self) -> &str {
        &self.fullname
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        let _ = self.daemon.unregister(&self.fullname);
        let _ = self.daemon.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Browses with a second, independent mDNS daemon (its own sockets, like another
    /// machine's resolver) and waits for the hub's service to resolve.
    #[test]
    fn a_browser_finds_the_hub() {
        let announcer = match Announcer::start(&Announcement {
            host: format!("copitest{}", fastrand::u32(..)),
            instance: "Hub de test".into(),
            port: 8000,
            path: "/".into(),
        }) {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        let browser = ServiceDaemon::new().unwrap();
        let events = browser.browse(SERVICE_TYPE).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut found = None;
        while Instant::now() < deadline {
            if let Ok(mdns_sd::ServiceEvent::ServiceResolved(info)) = events.recv_timeout(Duration::from_millis(500)) {
                if info.get_fullname() == announcer.fullname() {
                    found = Some(info);
                    break;
                }
            }
        }
        let info = found.expect("the service resolves within 20 s");
        assert_eq!(info.get_port(), 8000);
        assert_eq!(info.get_property_val_str("path"), Some("/"));
        assert_eq!(info.get_property_val_str("version"), Some(env!("CARGO_PKG_VERSION")));
        let _ = browser.shutdown();
    }
}
