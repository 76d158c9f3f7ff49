//! Addresses and uplinks: systemd-networkd `.network` files, wpa_supplicant for a Wi-Fi
//! uplink, and `copi-network.env` for the image's scripts.

use std::fmt::Write;

use super::{SystemFile, DNSMASQ_DROPIN_DIR, HEADER};
use crate::config::{Config, UplinkWifi, AP_INTERFACE, ETHERNET_INTERFACE};

pub(super) fn render(config: &Config) -> Vec<SystemFile> {
    let mut files = vec![SystemFile::new("10-copi-ap.network", access_point(config))];
    if config.uplink.ethernet {
        files.push(SystemFile::new(
            "20-copi-ethernet.network",
            uplink(ETHERNET_INTERFACE, "Ethernet", 100),
        ));
    }
    if let Some(wifi) = &config.uplink.wifi {
        files.push(SystemFile::new(
            "30-copi-wifi-uplink.network",
            uplink(&wifi.interface, "Wi-Fi", 600),
        ));
        files.push(SystemFile::secret(
            format!("wpa_supplicant-{}.conf", wifi.interface),
            wpa_supplicant(config, wifi),
        ));
    }
    files
}

fn access_point(config: &Config) -> String {
    let mut s = String::from(HEADER);
    s.push_str("# The access point's fixed address; dnsmasq hands out the others.\n");
    let _ = writeln!(s, "[Match]\nName={AP_INTERFACE}\n");
    let _ = writeln!(s, "[Network]\nAddress={}", config.network.address);
    s.push_str("# Set before hostapd brings the radio up, and kept when the last device leaves.\n");
    s.push_str("ConfigureWithoutCarrier=yes\n");
    s.push_str("IgnoreCarrierLoss=yes\n");
    s.push_str("LinkLocalAddressing=no\n");
    s.push_str("IPv6AcceptRA=no\n\n");
    s.push_str("[Link]\nRequiredForOnline=no\n");
    s
}

/// An uplink takes its address by DHCP; the lower metric wins when both are up.
fn uplink(interface: &str, what: &str, metric: u32) -> String {
    let mut s = String::from(HEADER);
    let _ = writeln!(
        s,
        "# {what} uplink, used for sync when it is up; the hub works without it."
    );
    let _ = writeln!(s, "[Match]\nName={interface}\n");
    s.push_str("[Network]\nDHCP=yes\n\n");
    let _ = writeln!(s, "[DHCPv4]\nRouteMetric={metric}\n");
    s.push_str("[Link]\nRequiredForOnline=no\n");
    s
}

fn wpa_supplicant(config: &Config, wifi: &UplinkWifi) -> String {
    let mut s = String::from(HEADER);
    let _ = writeln!(s, "# The network {} joins as an uplink.", wifi.interface);
    s.push_str("ctrl_interface=/run/wpa_supplicant\n");
    s.push_str("update_config=0\n");
    if let Some(country) = config.wifi.as_ref().and_then(|w| w.country.as_deref()) {
        let _ = writeln!(s, "country={}", country.to_ascii_uppercase());
    }
    s.push_str("\nnetwork={\n");
    let _ = writeln!(s, "\tssid={}", ssid(&wifi.ssid));
    // Hidden networks too.
    s.push_str("\tscan_ssid=1\n");
    match &wifi.passphrase {
        // The config refuses `"` in it, so the quotes hold it whole.
        Some(passphrase) => {
            let _ = writeln!(s, "\tpsk=\"{passphrase}\"");
        }
        None => s.push_str("\tkey_mgmt=NONE\n"),
    }
    s.push_str("}\n");
    s
}

/// wpa_supplicant takes an SSID quoted, or in hex when quotes could not hold it (a `"`,
/// non-ASCII bytes).
fn ssid(ssid: &str) -> String {
    if ssid.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'"') {
        format!("\"{ssid}\"")
    } else {
        ssid.bytes().map(|b| format!("{b:02x}")).collect()
    }
}

pub(super) fn render_env(config: &Config) -> String {
    let net = &config.network;
    let mut uplinks = Vec::new();
    if config.uplink.ethernet {
        uplinks.push(ETHERNET_INTERFACE);
    }
    if let Some(wifi) = &config.uplink.wifi {
        uplinks.push(&wifi.interface);
    }
    let mut s = String::from(HEADER);
    s.push_str("# What the image's scripts need to know (for sh, or a systemd EnvironmentFile).\n");
    let _ = writeln!(s, "AP_INTERFACE={AP_INTERFACE}");
    let _ = writeln!(s, "HUB_ADDRESS={}", net.address.address);
    let _ = writeln!(s, "HUB_CIDR={}", net.address);
    let _ = writeln!(s, "LOCAL_NAME={}", net.name);
    s.push_str("# Interfaces whose link means the hub is online; empty: always offline.\n");
    let _ = writeln!(s, "UPLINK_INTERFACES=\"{}\"", uplinks.join(" "));
    let _ = writeln!(s, "DNSMASQ_DROPIN_DIR={DNSMASQ_DROPIN_DIR}");
    s
}
