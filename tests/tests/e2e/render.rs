//! `copi render-config`: the appliance's boot step that turns copi.toml into hostapd,
//! dnsmasq and networkd files.

use copi_e2e::{copi, copi_ok, TestDir};

fn read(dir: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn render_config_writes_the_system_files_once() {
    let dir = TestDir::new();
    let config = dir.path().join("copi.toml");
    let out = dir.path().join("system");
    std::fs::write(
        &config,
        "[hub]\nname = \"Placette\"\n\n[wifi]\ncountry = \"FR\"\npassphrase = \"bonjour-2026\"\n",
    )
    .unwrap();
    let args = [
        "render-config",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];

    let first = String::from_utf8(copi_ok(&dir, &args).stdout).unwrap();
    assert!(first.contains("wrote ") && first.contains("hostapd.conf"), "{first}");
    let hostapd = read(&out, "hostapd.conf");
    assert!(hostapd.lines().any(|l| l == "ssid=Placette"), "{hostapd}");
    assert!(hostapd.lines().any(|l| l == "wpa_passphrase=bonjour-2026"), "{hostapd}");
    assert!(read(&out, "dnsmasq.conf").contains("address=/copi.lan/10.42.0.1\n"));
    assert!(read(&out, "dnsmasq-offline.conf").contains("address=/#/10.42.0.1\n"));
    assert!(read(&out, "20-copi-ethernet.network").contains("Name=eth0\n"));

    // Idempotent: nothing changes the second time.
    let second = String::from_utf8(copi_ok(&dir, &args).stdout).unwrap();
    assert!(second.contains("(0 changed, 0 removed)"), "{second}");

    // A broken file is reported with its key and line, and the last working config stays
    // in force (a box must bring its Wi-Fi up whatever was typed on the boot partition):
    // the files stay as they were.
    std::fs::write(
        &config,
        "[hub]\nname = \"Placette\"\n\n[wifi]\ncountry = \"FR\"\nchannel = 14\n",
    )
    .unwrap();
    let refused = copi(&dir, &args);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("copi.toml line 6: wifi.channel 14 must be between 1 and 13"),
        "{stderr}"
    );
    assert_eq!(read(&out, "hostapd.conf"), hostapd);
}
