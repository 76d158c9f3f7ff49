//! `hostapd.conf`: the access point visitors join.

use std::fmt::Write;

use super::HEADER;
use crate::config::{WifiConfig, AP_INTERFACE};

pub(super) fn render(wifi: &WifiConfig, ssid: &str) -> String {
    let country = wifi.country.as_deref().unwrap_or_default().to_ascii_uppercase();
    let mut s = String::from(HEADER);
    s.push_str("# The access point visitors join.\n");
    let _ = writeln!(s, "interface={AP_INTERFACE}");
    s.push_str("driver=nl80211\n");
    // hostapd_cli reads the connected devices here (the admin page counts them).
    s.push_str("ctrl_interface=/run/hostapd\n");
    // The rest of the line is the SSID, byte for byte; the config refuses line breaks.
    let _ = writeln!(s, "ssid={ssid}");
    s.push_str("utf8_ssid=1\n");
    s.push_str("# The country sets the channels and transmit power allowed.\n");
    let _ = writeln!(s, "country_code={country}");
    s.push_str("ieee80211d=1\n");
    s.push_str("hw_mode=g\n");
    let _ = writeln!(s, "channel={}", wifi.channel);
    s.push_str("ieee80211n=1\n");
    s.push_str("wmm_enabled=1\n");
    s.push_str("auth_algs=1\n");
    s.push_str("ignore_broadcast_ssid=0\n");
    s.push_str("# Visitors' devices reach the hub, never each other: no neighbour can pose as the hub\n");
    s.push_str("# (ARP spoofing) or serve pages to the others.\n");
    s.push_str("ap_isolate=1\n");
    match &wifi.passphrase {
        Some(passphrase) => {
            s.push_str("# WPA2 with a passphrase.\n");
            s.push_str("wpa=2\n");
            s.push_str("wpa_key_mgmt=WPA-PSK\n");
            s.push_str("rsn_pairwise=CCMP\n");
            let _ = writeln!(s, "wpa_passphrase={passphrase}");
        }
        None => s.push_str("# An open network: anyone in range may join and read the hub.\n"),
    }
    s
}
