//! Checks of the Pi boot file fragments CoPi ships in `firmware/boot/`.

const CONFIG_TXT: &str = include_str!("../boot/config.txt");
const CMDLINE_TXT: &str = include_str!("../boot/cmdline.txt");

/// The lines that are not comments or blank, trimmed.
fn settings(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// A `key=value` setting: a plain key, a value with no spaces and no trailing comment.
fn key_value(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once('=')?;
    let plain_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
    let plain_value = !value.is_empty() && !value.contains(char::is_whitespace) && !value.contains('#');
    (plain_key && plain_value).then_some((key, value))
}

#[test]
fn config_txt_is_key_value_lines_with_what_a_hub_needs() {
    let lines = settings(CONFIG_TXT);
    for line in &lines {
        let section = line.starts_with('[') && line.ends_with(']');
        assert!(section || key_value(line).is_some(), "not key=value: {line:?}");
    }
    assert_eq!(lines.first(), Some(&"[all]"), "must not inherit a model section");
    for wanted in [
        "dtparam=watchdog=on",
        "dtparam=audio=off",
        "dtparam=act_led_trigger=heartbeat",
        "dtoverlay=disable-bt",
    ] {
        assert!(lines.contains(&wanted), "missing {wanted}");
    }
}

#[test]
fn cmdline_txt_joins_into_one_line_of_parameters() {
    let params = settings(CMDLINE_TXT);
    for param in &params {
        let flag = param.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        assert!(flag || key_value(param).is_some(), "not key[=value]: {param:?}");
    }
    for wanted in ["rootwait", "fsck.repair=yes", "systemd.swap=0"] {
        assert!(params.contains(&wanted), "missing {wanted}");
    }
    let line = params.join(" ");
    assert!(!line.contains('#') && !line.contains('\n'));
}
