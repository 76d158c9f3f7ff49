//! `dnsmasq.conf` and its offline drop-in: DHCP for visitors and the hub's names.

use std::fmt::Write;

use super::{DNSMASQ_DROPIN_DIR, HEADER};
use crate::config::{Config, AP_INTERFACE};

pub(super) fn render(config: &Config) -> String {
    let net = &config.network;
    let hub = net.address.address;
    let (first, last) = net.dhcp_range();
    let uplink = config.uplink.ethernet || config.uplink.wifi.is_some();
    let mut s = String::from(HEADER);
    s.push_str("# DNS and DHCP on the hub's Wi-Fi.\n\n");
    s.push_str("# On the access point only: never DHCP on an uplink, and the Pi's own resolver\n");
    s.push_str("# (systemd-resolved on 127.0.0.53) is left alone.\n");
    let _ = writeln!(s, "interface={AP_INTERFACE}");
    s.push_str("except-interface=lo\n");
    s.push_str("bind-dynamic\n");
    s.push_str("domain-needed\n");
    s.push_str("bogus-priv\n");
    if uplink {
        s.push_str("# Other names are asked of the servers the uplink's DHCP gave.\n");
        s.push_str("resolv-file=/run/systemd/resolve/resolv.conf\n");
    } else {
        s.push_str("# No uplink is configured: there is no one to ask about other names.\n");
        s.push_str("no-resolv\n");
    }
    let _ = writeln!(
        s,
        "\n# The hub's names; {name}.local is announced by mDNS too, but some phones ask DNS.",
        name = net.name
    );
    s.push_str("domain=lan\n");
    s.push_str("local=/lan/\n");
    for name in [net.name.clone(), net.lan_name(), net.mdns_name()] {
        let _ = writeln!(s, "address=/{name}/{hub}");
    }
    s.push_str("\n# Addresses for visitors' devices; the hub is their router and DNS server.\n");
    let _ = writeln!(
        s,
        "dhcp-range={AP_INTERFACE},{first},{last},{},1h",
        net.address.netmask()
    );
    let _ = writeln!(s, "dhcp-option=option:router,{hub}");
    let _ = writeln!(s, "dhcp-option=option:dns-server,{hub}");
    s.push_str("dhcp-authoritative\n");
    s.push_str("\n# dnsmasq-offline.conf is linked here while the hub has no uplink.\n");
    let _ = writeln!(s, "conf-dir={DNSMASQ_DROPIN_DIR}/,*.conf");
    s
}

pub(super) fn render_offline(config: &Config) -> String {
    let hub = config.network.address.address;
    let mut s = String::from(HEADER);
    let _ = write!(
        s,
        "\
# Only while the hub has no uplink: the appliance links this file into
# {DNSMASQ_DROPIN_DIR}/ (read by dnsmasq.conf) and restarts dnsmasq when the last uplink
# goes down, and removes the link when one comes up.
#
# Every name then resolves to the hub, so the check a phone makes when it joins a Wi-Fi
# (connectivitycheck.gstatic.com, captive.apple.com, www.msftconnecttest.com, …)
# reaches the hub, which answers it as a captive portal: the phone opens the hub's home
# page by itself. With an uplink, names resolve normally so that sync reaches the main
# instance.
address=/#/{hub}
"
    );
    s
}
