use std::path::{Path, PathBuf};

use super::*;
use crate::config::{Config, WifiConfig};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/system/golden")
}

fn config_of(toml: &str) -> Config {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("copi.toml");
    std::fs::write(&file, toml).unwrap();
    Config::load_file_only(&file).unwrap_or_else(|e| panic!("{toml:?}: {e}"))
}

fn file<'a>(files: &'a [SystemFile], name: &str) -> &'a SystemFile {
    files
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", files.iter().map(|f| &f.name).collect::<Vec<_>>()))
}

/// Each `golden/CASE/copi.toml` renders to exactly the files in `golden/CASE/out/`.
/// `COPI_UPDATE_GOLDEN=1 cargo test -p copi --lib system` rewrites them; review the diff.
#[test]
fn rendered_files_match_the_golden_files() {
    let update = std::env::var("COPI_UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("copi.toml").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 3, "golden cases missing: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let config = Config::load_file_only(&case.join("copi.toml")).unwrap();
        let files = render(&config).unwrap();
        let out = case.join("out");
        if update {
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir_all(&out).unwrap();
            for f in &files {
                std::fs::write(out.join(&f.name), &f.contents).unwrap();
            }
            continue;
        }
        let mut expected: Vec<String> = std::fs::read_dir(&out)
            .map(|rd| {
                rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        expected.sort();
        let actual: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
        if expected != actual {
            failures.push(format!("{}: files {actual:?}, golden {expected:?}", case.display()));
            continue;
        }
        for f in &files {
            let golden = std::fs::read(out.join(&f.name)).unwrap();
            if golden != f.contents.as_bytes() {
                let golden = String::from_utf8_lossy(&golden);
                let line = golden
                    .lines()
                    .zip(f.contents.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| golden.lines().count().min(f.contents.lines().count()));
                failures.push(format!(
                    "{}/out/{} differs from line {}:\n--- golden\n{golden}--- rendered\n{}",
                    case.display(),
                    f.name,
                    line + 1,
                    f.contents
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(if the change is intended: COPI_UPDATE_GOLDEN=1 cargo test -p copi --lib system, then review the diff)",
        failures.join("\n")
    );
}

#[test]
fn the_access_point_is_open_or_wpa2() {
    let open = render(&config_of("[wifi]\ncountry = \"FR\"\n")).unwrap();
    let hostapd = file(&open, "hostapd.conf");
    assert!(!hostapd.secret);
    assert!(hostapd.contents.contains("\nssid=CoPi\n"));
    assert!(hostapd.contents.contains("\ncountry_code=FR\n"));
    assert!(hostapd.contents.contains("\nchannel=6\n"));
    assert!(!hostapd.contents.contains("wpa"), "{}", hostapd.contents);

    let wpa = render(&config_of("[wifi]\ncountry = \"DE\"\npassphrase = \"geheim123\"\n")).unwrap();
    let hostapd = file(&wpa, "hostapd.conf");
    assert!(hostapd.secret, "the passphrase is for root only");
    for line in [
        "wpa=2",
        "wpa_key_mgmt=WPA-PSK",
        "rsn_pairwise=CCMP",
        "wpa_passphrase=geheim123",
    ] {
        assert!(
            hostapd.contents.lines().any(|l| l == line),
            "{line} in {}",
            hostapd.contents
        );
    }
}

#[test]
fn dns_answers_the_hubs_names_and_every_name_offline() {
    let files = render(&config_of(
        "[wifi]\ncountry = \"FR\"\n[network]\naddress = \"192.168.7.1/24\"\n",
    ))
    .unwrap();
    let dnsmasq = &file(&files, "dnsmasq.conf").contents;
    for line in [
        "address=/copi.lan/192.168.7.1",
        "address=/copi.local/192.168.7.1",
        "dhcp-range=wlan0,192.168.7.10,192.168.7.254,255.255.255.0,1h",
    ] {
        assert!(dnsmasq.lines().any(|l| l == line), "{line} in {dnsmasq}");
    }
    assert!(!dnsmasq.contains("/#/"), "names resolve normally with an uplink");
    let offline = &file(&files, "dnsmasq-offline.conf").contents;
    assert!(offline.lines().any(|l| l == "address=/#/192.168.7.1"), "{offline}");
}

#[test]
fn uplinks_get_their_network_files() {
    let names = |toml: &str| -> Vec<String> { render(&config_of(toml)).unwrap().into_iter().map(|f| f.name).collect() };
    let base = "[wifi]\ncountry = \"FR\"\n";
    assert!(
        names(base).contains(&"20-copi-ethernet.network".to_owned()),
        "Ethernet is on by default"
    );
    assert!(!names(&format!("{base}[uplink]\nethernet = false\n"))
        .iter()
        .any(|n| n.starts_with("20-")));
    let with_wifi = names(&format!(
        "{base}[uplink]\nethernet = false\n[uplink.wifi]\ninterface = \"wlx00c0ca\"\nssid = \"Mairie\"\n"
    ));
    assert!(
        with_wifi.contains(&"wpa_supplicant-wlx00c0ca.conf".to_owned()),
        "{with_wifi:?}"
    );
    assert!(with_wifi.contains(&"30-copi-wifi-uplink.network".to_owned()));
    let files = render(&config_of(&format!("{base}[uplink.wifi]\nssid = \"Mairie\"\n"))).unwrap();
    let wpa = file(&files, "wpa_supplicant-wlan1.conf");
    assert!(wpa.secret);
    assert!(
        wpa.contents
            .contains("\tssid=\"Mairie\"\n\tscan_ssid=1\n\tkey_mgmt=NONE\n"),
        "{}",
        wpa.contents
    );
    let env = &file(&files, "copi-network.env").contents;
    assert!(env.contains("\nUPLINK_INTERFACES=\"eth0 wlan1\"\n"), "{env}");
}

#[test]
fn render_refuses_what_would_break_a_file() {
    let err = render(&config_of("")).unwrap_err().to_string();
    assert!(err.contains("[wifi]"), "{err}");
    // A Config built in code is checked too: a line break would add a line to hostapd.conf.
    let mut config = config_of("[wifi]\ncountry = \"FR\"\n");
    config.wifi = Some(WifiConfig {
        ssid: Some("CoPi\nwpa=0".into()),
        ..config.wifi.clone().unwrap()
    });
    assert!(render(&config).unwrap_err().to_string().contains("wifi.ssid"));
    config.wifi = None;
    config.hub.name = "CoPi\ninterface=eth0".into();
    assert!(render(&config).is_err());
}

#[test]
fn writing_is_idempotent_and_removes_what_is_no_longer_rendered() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("system");
    let with_uplink = render(&config_of(
        "[wifi]\ncountry = \"FR\"\npassphrase = \"12345678\"\n[uplink.wifi]\nssid = \"Mairie\"\npassphrase = \"abcdefgh\"\n",
    ))
    .unwrap();
    let first = write(&out, &with_uplink).unwrap();
    assert_eq!(first.changed.len(), with_uplink.len());
    for f in &with_uplink {
        assert_eq!(std::fs::read_to_string(out.join(&f.name)).unwrap(), f.contents);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |name: &str| std::fs::metadata(out.join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("hostapd.conf"), 0o600);
        assert_eq!(mode("wpa_supplicant-wlan1.conf"), 0o600);
        assert_eq!(mode("dnsmasq.conf"), 0o644);
    }

    // Again: nothing is written.
    let modified = std::fs::metadata(out.join("dnsmasq.conf")).unwrap().modified().unwrap();
    let again = write(&out, &with_uplink).unwrap();
    assert_eq!(
        again,
        Written {
            changed: vec![],
            unchanged: with_uplink.len(),
            removed: vec![],
        }
    );
    assert_eq!(
        std::fs::metadata(out.join("dnsmasq.conf")).unwrap().modified().unwrap(),
        modified
    );

    // A file edited by hand is put back.
    std::fs::write(out.join("dnsmasq.conf"), "port=0\n").unwrap();
    assert_eq!(
        write(&out, &with_uplink).unwrap().changed,
        vec!["dnsmasq.conf".to_owned()]
    );

    // The uplink is taken out of the config: its files go, others in the dir stay.
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let without = render(&config_of("[wifi]\ncountry = \"FR\"\npassphrase = \"12345678\"\n")).unwrap();
    let written = write(&out, &without).unwrap();
    assert_eq!(written.changed, vec!["copi-network.env".to_owned()]);
    assert_eq!(
        written.removed,
        vec![
            "30-copi-wifi-uplink.network".to_owned(),
            "wpa_supplicant-wlan1.conf".to_owned()
        ]
    );
    assert!(!out.join("wpa_supplicant-wlan1.conf").exists());
    assert!(out.join("notes.txt").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
