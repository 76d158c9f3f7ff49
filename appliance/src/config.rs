//! Configuration: one struct built from defaults < config file (TOML) < `COPI_*`
//! environment < command line, validated once at start and handed to whatever needs it
//! (there is no global config).
//!
//! On the appliance the file is `copi.toml` on the SD card's boot partition, edited by hand
//! on another computer, and each mistake costs the admin a trip between two machines. So the
//! file is read with toml_edit, which keeps where every key is: each error names the key and
//! the line, and every problem the checks find is reported at once. figment then layers the
//! environment and the command line on top. [`Config::load_with_fallback`] keeps the last
//! file that loaded in force when an edit breaks it, so a typo never takes the hub off the air.

use std::fmt;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use figment::providers::{Env, Serialized};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::territory::Scope;

/// Shortest admin token accepted: it guards every write.
pub const MIN_TOKEN_LEN: usize = 16;

/// The Wi-Fi interface the access point runs on.
pub const AP_INTERFACE: &str = "wlan0";

/// The Ethernet interface used as an uplink.
pub const ETHERNET_INTERFACE: &str = "eth0";

/// Name of the copy of the last config file that loaded, kept in the data dir.
pub const LAST_GOOD_FILE: &str = "copi.last-good.toml";

/// Largest config file read: a hand-written file is a few kilobytes.
const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the database, index and uploads live.
    pub data: PathBuf,
    /// Address the HTTP server listens on.
    pub bind: SocketAddr,
    /// Bearer token for API writes by automation. There is never a default one.
    pub admin_token: Option<String>,
    /// Modules that are on; those not listed are off. Default: all of them.
    pub modules: Vec<Module>,
    pub hub: HubConfig,
    pub admin: AdminConfig,
    /// The access point. Absent: the machine is not an appliance (a laptop, a server).
    pub wifi: Option<WifiConfig>,
    pub network: NetworkConfig,
    pub uplink: UplinkConfig,
    pub sync: SyncConfig,
    /// The SMTP server invitations by e-mail go through. Absent: none is sent.
    pub mail: MailConfig,
    pub limits: Limits,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HubConfig {
    /// Shown on every page and used as the Wi-Fi name.
    pub name: String,
    /// Home territories: `city:26108`, `dep:26`, `region:84`, …
    pub territories: Vec<Scope>,
    /// `fr`, `en` or `de`.
    pub language: String,
    /// IANA zone for civil times that name none.
    pub time_zone: String,
}

/// The modules of SPEC §3, each of which can be turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Module {
    Search,
    Live,
    Agenda,
    Directory,
    Marketplace,
    MutualAid,
    Map,
    Graph,
    Cooperative,
    Files,
    Poi,
    JsonExport,
    I18n,
}

impl Module {
    pub const ALL: [Module; 13] = [
        Module::Search,
        Module::Live,
        Module::Agenda,
        Module::Directory,
        Module::Marketplace,
        Module::MutualAid,
        Module::Map,
        Module::Graph,
        Module::Cooperative,
        Module::Files,
        Module::Poi,
        Module::JsonExport,
        Module::I18n,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Module::Search => "search",
            Module::Live => "live",
            Module::Agenda => "agenda",
            Module::Directory => "directory",
            Module::Marketplace => "marketplace",
            Module::MutualAid => "mutual_aid",
            Module::Map => "map",
            Module::Graph => "graph",
            Module::Cooperative => "cooperative",
            Module::Files => "files",
            Module::Poi => "poi",
            Module::JsonExport => "json_export",
            Module::I18n => "i18n",
        }
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// The admin's password as an argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    /// Absent: a one-time setup code is written to the boot partition at first boot.
    pub password_hash: Option<String>,
}

/// The access point visitors join.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WifiConfig {
    /// Network name. Default: the hub's name (cut to 32 bytes).
    pub ssid: Option<String>,
    /// WPA2 passphrase, 8 to 63 ASCII characters. Absent: an open network.
    pub passphrase: Option<String>,
    /// 2.4 GHz channel, 1 to 13.
    pub channel: u8,
    /// ISO 3166 code of the country the hub is in: it sets the channels and power allowed.
    /// Required.
    pub country: Option<String>,
}

impl Default for WifiConfig {
    fn default() -> Self {
        WifiConfig {
            ssid: None,
            passphrase: None,
            channel: 6,
            country: None,
        }
    }
}

/// The hub's own network, on the access point.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// The hub's address and the network's prefix length.
    pub address: Ipv4Cidr,
    /// First and last addresses handed to visitors. Default: from the 10th address of the
    /// network to its last.
    pub dhcp_range: Option<[Ipv4Addr; 2]>,
    /// Local name: `NAME.lan` by DNS on the hub's Wi-Fi, `NAME.local` by mDNS.
    pub name: String,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            address: Ipv4Cidr {
                address: Ipv4Addr::new(10, 42, 0, 1),
                prefix: 24,
            },
            dhcp_range: None,
            name: "copi".into(),
        }
    }
}

impl NetworkConfig {
    /// The addresses DHCP hands out, the configured ones or the default.
    pub fn dhcp_range(&self) -> (Ipv4Addr, Ipv4Addr) {
        match self.dhcp_range {
            Some([first, last]) => (first, last),
            None => {
                let network = u32::from(self.address.network());
                let broadcast = u32::from(self.address.broadcast());
                (Ipv4Addr::from(network + 10), Ipv4Addr::from(broadcast - 1))
            }
        }
    }

    /// `copi.lan`, the name the hub's DNS answers.
    pub fn lan_name(&self) -> String {
        format!("{}.lan", self.name)
    }

    /// `copi.local`, the name mDNS announces.
    pub fn mdns_name(&self) -> String {
        format!("{}.local", self.name)
    }
}

/// An IPv4 address with the prefix length of its network: `10.42.0.1/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv4Cidr {
    pub address: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Cidr {
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0))
    }

    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & u32::from(self.netmask()))
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) | !u32::from(self.netmask()))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & u32::from(self.netmask()) == u32::from(self.network())
    }
}

impl FromStr for Ipv4Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("\"{s}\" is not an IPv4 address with a prefix length, e.g. 10.42.0.1/24");
        let (address, prefix) = s.split_once('/').ok_or_else(bad)?;
        let address = address.parse().map_err(|_| bad())?;
        let prefix = prefix.parse().ok().filter(|p| *p <= 32).ok_or_else(bad)?;
        Ok(Ipv4Cidr { address, prefix })
    }
}

impl TryFrom<String> for Ipv4Cidr {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Ipv4Cidr> for String {
    fn from(c: Ipv4Cidr) -> String {
        c.to_string()
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// Links to the internet, used for sync.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UplinkConfig {
    /// Take an address by DHCP on the Ethernet port when a cable is plugged in.
    pub ethernet: bool,
    /// A second Wi-Fi adapter that joins an existing network.
    pub wifi: Option<UplinkWifi>,
}

impl Default for UplinkConfig {
    fn default() -> Self {
        UplinkConfig {
            ethernet: true,
            wifi: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UplinkWifi {
    /// The second adapter (the built-in one runs the access point).
    pub interface: String,
    /// The network to join. Required.
    pub ssid: String,
    /// Its WPA passphrase. Absent: an open network.
    pub passphrase: Option<String>,
}

impl Default for UplinkWifi {
    fn default() -> Self {
        UplinkWifi {
            interface: "wlan1".into(),
            ssid: String::new(),
            passphrase: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    pub main_url: Option<String>,
    /// `copi` or `communecter`.
    pub connector: Option<String>,
    pub token: Option<String>,
    /// Seconds between sync rounds.
    pub interval: Option<u64>,
}

/// `[mail]`: the SMTP server that sends invitations by e-mail (`mail.rs`). Nothing is sent
/// unless `host` is set.
#[derive(Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub host: Option<String>,
    /// Default: 587 for `starttls`, 465 for `tls`, 25 for `none`.
    pub port: Option<u16>,
    pub security: MailSecurity,
    pub username: Option<String>,
    /// Never logged nor shown (`Debug` hides it).
    pub password: Option<String>,
    /// The address e-mails are sent from; the hub's name is its display name.
    pub from: Option<String>,
    pub reply_to: Option<String>,
}

impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "(hidden)"))
            .field("from", &self.from)
            .field("reply_to", &self.reply_to)
            .finish()
    }
}

impl MailConfig {
    /// The port in force: the one set, or the usual one for the security chosen.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            MailSecurity::Starttls => 587,
            MailSecurity::Tls => 465,
            MailSecurity::None => 25,
        })
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (submission, port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (submissions, port 465).
    Tls,
    /// No encryption: only for a server on this machine (a local relay).
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest JSON request body, in bytes.
    pub json_body: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data: PathBuf::from("copi-data"),
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            admin_token: None,
            modules: Module::ALL.to_vec(),
            hub: HubConfig::default(),
            admin: AdminConfig::default(),
            wifi: None,
            network: NetworkConfig::default(),
            uplink: UplinkConfig::default(),
            sync: SyncConfig::default(),
            mail: MailConfig::default(),
            limits: Limits::default(),
        }
    }
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            name: "CoPi".into(),
            territories: Vec::new(),
            language: "fr".into(),
            time_zone: "Europe/Paris".into(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits { json_body: 256 * 1024 }
    }
}

/// What the command line sets; `None` leaves the lower layers in force.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
}

/// Environment variables read, and the config key each sets.
const ENV_KEYS: &[(&str, &str)] = &[
    ("DATA", "data"),
    ("BIND", "bind"),
    ("ADMIN_TOKEN", "admin_token"),
    ("HUB_NAME", "hub.name"),
    ("SYNC_MAIN_URL", "sync.main_url"),
    ("SYNC_CONNECTOR", "sync.connector"),
    ("SYNC_TOKEN", "sync.token"),
    ("MAIL_HOST", "mail.host"),
    ("MAIL_PORT", "mail.port"),
    ("MAIL_SECURITY", "mail.security"),
    ("MAIL_FROM", "mail.from"),
    ("MAIL_REPLY_TO", "mail.reply_to"),
];

/// Environment variables taken as they are typed, not parsed as TOML values as figment
/// parses those of [`ENV_KEYS`] (a password `0123` would be read as the number 123).
const RAW_ENV_KEYS: &[(&str, &str)] = &[("MAIL_USERNAME", "mail.username"), ("MAIL_PASSWORD", "mail.password")];

/// A configuration, and why the config file is not the one in force when it is not.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// The config file's error, when the last good copy was loaded instead. Show it to the
    /// admin: the hub runs, but not with what the file says.
    pub file_error: Option<Error>,
}

impl Config {
    /// Builds the configuration from its layers. `file` is the `--config` / `COPI_CONFIG`
    /// path; a named file that does not exist is an error.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config> {
        Self::load_from(file, overrides, Env::prefixed("COPI_"))
    }

    /// Like [`Config::load`], but a config file that cannot be used does not stop the hub:
    /// the previous working config stays in force.
    ///
    /// Each time `file` loads, its text is copied to `last_good` (written only when it
    /// changed, to spare the SD card). When `file` is missing or refused, the copy is loaded
    /// instead, with the same environment and command line, and the file's error is returned
    /// beside it for the admin to see. With no usable copy, the file's error is returned.
    /// `last_good` must not depend on the file: on the appliance the data dir comes from the
    /// command line, and the copy is `<data>/copi.last-good.toml` ([`LAST_GOOD_FILE`]).
    pub fn load_with_fallback(file: Option<&Path>, overrides: &Overrides, last_good: &Path) -> Result<Loaded> {
        Self::load_with_fallback_from(file, overrides, last_good, Env::prefixed("COPI_"))
    }

    fn load_with_fallback_from(
        file: Option<&Path>,
        overrides: &Overrides,
        last_good: &Path,
        env: Env,
    ) -> Result<Loaded> {
        let Some(path) = file else {
            let config = Self::load_from(None, overrides, env)?;
            return Ok(Loaded {
                config,
                file_error: None,
            });
        };
        match Self::load_layers(Some(path), overrides, env.clone()) {
            Ok((config, text)) => {
                if let Err(e) = save_last_good(&text.unwrap_or_default(), last_good) {
                    tracing::warn!("cannot keep a copy of the working config: {e}");
                }
                Ok(Loaded {
                    config,
                    file_error: None,
                })
            }
            Err(file_error @ Error::Config(_)) if last_good.is_file() => {
                match Self::load_from(Some(last_good), overrides, env) {
                    Ok(config) => {
                        tracing::warn!(
                            "{file_error}; the last working config ({}) stays in force",
                            last_good.display()
                        );
                        Ok(Loaded {
                            config,
                            file_error: Some(file_error),
                        })
                    }
                    Err(_) => Err(file_error),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The file over the defaults, without environment or command line (for tests).
    #[cfg(test)]
    pub(crate) fn load_file_only(file: &Path) -> Result<Config> {
        Self::load_from(
            Some(file),
            &Overrides::default(),
            Env::prefixed("COPI_NOTHING_IN_TESTS_"),
        )
    }

    fn load_from(file: Option<&Path>, overrides: &Overrides, env: Env) -> Result<Config> {
        Self::load_layers(file, overrides, env).map(|(config, _)| config)
    }

    /// The configuration and the text of the file it was read from.
    fn load_layers(file: Option<&Path>, overrides: &Overrides, env: Env) -> Result<(Config, Option<String>)> {
        let source = file.map(Source::read).transpose()?;
        let base = match &source {
            Some(source) => source.parse()?,
            None => Config::default(),
        };
        let raw_env = env.clone();
        let env = env
            .filter(|k| ENV_KEYS.iter().any(|(e, _)| k.as_str().eq_ignore_ascii_case(e)))
            .map(|k| {
                let key = ENV_KEYS
                    .iter()
                    .find(|(e, _)| k.as_str().eq_ignore_ascii_case(e))
                    .map(|(_, c)| *c)
                    .unwrap_or("");
                key.into()
            })
            .lowercase(false)
            .split("__");
        let mut from_env: Vec<String> = env.iter().map(|(k, _)| k.as_str().to_owned()).collect();
        let mut config: Config = Figment::from(Serialized::defaults(base))
            .merge(env)
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| Error::Config(describe(e)))?;
        for (name, value) in raw_env.iter() {
            let Some((_, key)) = RAW_ENV_KEYS.iter().find(|(e, _)| name.as_str().eq_ignore_ascii_case(e)) else {
                continue;
            };
            match *key {
                "mail.username" => config.mail.username = Some(value),
                _ => config.mail.password = Some(value),
            }
            from_env.push((*key).to_owned());
        }
        let problems = config.problems();
        if !problems.is_empty() {
            // Each problem with where it comes from, in the file's order.
            let mut located: Vec<(usize, String)> = problems
                .into_iter()
                .map(|p| {
                    let on_cli =
                        (p.key == "data" && overrides.data.is_some()) || (p.key == "bind" && overrides.bind.is_some());
                    if on_cli {
                        (0, format!("{} (from the command line)", p.message))
                    } else if let Some((var, _)) = ENV_KEYS
                        .iter()
                        .chain(RAW_ENV_KEYS)
                        .find(|(_, key)| *key == p.key && from_env.iter().any(|k| k == key))
                    {
                        (0, format!("{} (from COPI_{var})", p.message))
                    } else if let Some(source) = &source {
                        source.locate(&p.key, &p.message)
                    } else {
                        (0, p.message)
                    }
                })
                .collect();
            located.sort_by_key(|(line, _)| *line);
            let located = located.into_iter().map(|(_, message)| message).collect();
            return Err(Error::Config(join_problems(located)));
        }
        Ok((config, source.map(|s| s.text)))
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<()> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(());
        }
        Err(Error::Config(join_problems(
            problems.into_iter().map(|p| p.message).collect(),
        )))
    }

    /// Every problem, in the order of the example file.
    fn problems(&self) -> Vec<Problem> {
        let mut p = Problems::default();
        if let Some(token) = &self.admin_token {
            if token.chars().count() < MIN_TOKEN_LEN || token.chars().any(char::is_whitespace) {
                p.add("admin_token", format!(
                    "admin_token must be at least {MIN_TOKEN_LEN} characters without spaces (generate one with: openssl rand -hex 24)"
                ));
            }
        }
        let name = &self.hub.name;
        if name.trim().is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            p.add("hub.name", "hub.name must be 1 to 64 characters on one line");
        }
        if !["fr", "en", "de"].contains(&self.hub.language.as_str()) {
            p.add(
                "hub.language",
                format!("hub.language \"{}\" must be fr, en or de", self.hub.language),
            );
        }
        if jiff::tz::TimeZone::get(&self.hub.time_zone).is_err() {
            p.add(
                "hub.time_zone",
                format!(
                    "hub.time_zone \"{}\" is not an IANA time zone (e.g. Europe/Paris)",
                    self.hub.time_zone
                ),
            );
        }
        if let Some(hash) = &self.admin.password_hash {
            if let Err(why) = check_argon2id(hash) {
                p.add(
                    "admin.password_hash",
                    format!(
                        "admin.password_hash is not an argon2id hash: {why} (expected $argon2id$v=19$m=…,t=…,p=…$SALT$HASH; \
                         leave it out to get a one-time setup code at first boot)"
                    ),
                );
            }
        }
        if let Some(wifi) = &self.wifi {
            check_wifi(wifi, &mut p);
        }
        check_network(&self.network, &mut p);
        if let Some(uplink) = &self.uplink.wifi {
            check_uplink_wifi(uplink, &mut p);
        }
        if let Some(c) = &self.sync.connector {
            if c != "copi" && c != "communecter" {
                p.add(
                    "sync.connector",
                    format!("sync.connector \"{c}\" must be copi or communecter"),
                );
            }
        }
        if let Some(url) = &self.sync.main_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                p.add(
                    "sync.main_url",
                    format!("sync.main_url \"{url}\" must start with http:// or https://"),
                );
            }
        }
        check_mail(&self.mail, &mut p);
        if self.limits.json_body < 1024 || self.limits.json_body > 64 << 20 {
            p.add(
                "limits.json_body",
                "limits.json_body must be between 1024 and 67108864 bytes",
            );
        }
        p.0
    }

    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.hub.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    pub fn module_on(&self, module: Module) -> bool {
        self.modules.contains(&module)
    }

    /// The access point's network name: `wifi.ssid`, or the hub's name cut to the 32 bytes
    /// an SSID holds. `None` when there is no access point.
    pub fn wifi_ssid(&self) -> Option<String> {
        let wifi = self.wifi.as_ref()?;
        if let Some(ssid) = &wifi.ssid {
            return Some(ssid.clone());
        }
        let mut ssid = String::new();
        for c in self.hub.name.trim().chars() {
            if ssid.len() + c.len_utf8() > 32 {
                break;
            }
            ssid.push(c);
        }
        Some(ssid.trim_end().to_owned())
    }
}

/// What is wrong, and the key to point at in the file.
struct Problem {
    key: String,
    message: String,
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.to_owned(),
            message: message.into(),
        });
    }
}

fn check_wifi(wifi: &WifiConfig, p: &mut Problems) {
    if let Some(ssid) = &wifi.ssid {
        if let Err(why) = check_ssid(ssid) {
            p.add("wifi.ssid", format!("wifi.ssid {why}"));
        } else if ssid.starts_with(' ') || ssid.ends_with(' ') {
            p.add("wifi.ssid", "wifi.ssid must not start or end with a space");
        }
    }
    if let Some(passphrase) = &wifi.passphrase {
        if let Err(why) = check_passphrase(passphrase) {
            p.add(
                "wifi.passphrase",
                format!("wifi.passphrase {why}; leave it out for an open network"),
            );
        }
    }
    let country = wifi.country.as_deref().map(str::to_ascii_uppercase);
    match (&wifi.country, country.as_deref()) {
        (Some(given), Some(code)) if !is_country_code(code) => p.add(
            "wifi.country",
            format!("wifi.country \"{given}\" is not an ISO 3166 country code (e.g. FR, BE, CH, DE)"),
        ),
        (Some(_), _) => {}
        (None, _) => p.add(
            "wifi.country",
            "wifi.country is required: the two-letter code of the country the hub is in (e.g. FR), \
             which sets the channels and power the radio may use",
        ),
    }
    // Channels 12 and 13 are not allowed in North America.
    let last_channel = match country.as_deref() {
        Some("US" | "CA") => 11,
        _ => 13,
    };
    if !(1..=last_channel).contains(&wifi.channel) {
        p.add(
            "wifi.channel",
            format!("wifi.channel {} must be between 1 and {last_channel}", wifi.channel),
        );
    }
}

fn check_network(network: &NetworkConfig, p: &mut Problems) {
    let net = &network.address;
    if !(8..=28).contains(&net.prefix) {
        p.add(
            "network.address",
            format!("network.address {net} must have a prefix length between /8 and /28"),
        );
    } else if !net.address.is_private() {
        p.add(
            "network.address",
            format!("network.address {net} must be a private address (10.x.x.x, 172.16-31.x.x or 192.168.x.x)"),
        );
    } else if net.address == net.network() || net.address == net.broadcast() {
        p.add(
            "network.address",
            format!(
                "network.address {net} is the address of the network itself, not of a host in it (e.g. 10.42.0.1/24)"
            ),
        );
    } else {
        let (first, last) = network.dhcp_range();
        let usable = |ip: Ipv4Addr| net.contains(ip) && ip != net.network() && ip != net.broadcast();
        if !usable(first) || !usable(last) || first > last {
            p.add(
                "network.dhcp_range",
                format!(
                    "network.dhcp_range {first} to {last} must be two host addresses of {}/{}, the first not after the last",
                    net.network(),
                    net.prefix
                ),
            );
        } else if first <= net.address && net.address <= last {
            let key = if network.dhcp_range.is_some() {
                "network.dhcp_range"
            } else {
                "network.address"
            };
            p.add(
                key,
                format!(
                    "network.dhcp_range {first} to {last} contains the hub's address {}; set network.dhcp_range to addresses that leave it out",
                    net.address
                ),
            );
        }
    }
    if !is_dns_label(&network.name) {
        p.add(
            "network.name",
            format!(
                "network.name \"{}\" must be 1 to 63 lowercase letters, digits or hyphens (e.g. copi, for copi.lan and copi.local)",
                network.name
            ),
        );
    }
}

fn check_uplink_wifi(up: &UplinkWifi, p: &mut Problems) {
    if up.interface == AP_INTERFACE || up.interface == ETHERNET_INTERFACE {
        p.add(
            "uplink.wifi.interface",
            format!(
                "uplink.wifi.interface cannot be {}: {AP_INTERFACE} runs the access point, so a Wi-Fi uplink needs a second adapter (e.g. a USB dongle, wlan1)",
                up.interface
            ),
        );
    } else if !is_interface_name(&up.interface) {
        p.add(
            "uplink.wifi.interface",
            format!(
                "uplink.wifi.interface \"{}\" is not a network interface name (e.g. wlan1)",
                up.interface
            ),
        );
    }
    if up.ssid.is_empty() {
        p.add(
            "uplink.wifi.ssid",
            "uplink.wifi.ssid is required: the name of the network to join",
        );
    } else if let Err(why) = check_ssid(&up.ssid) {
        p.add("uplink.wifi.ssid", format!("uplink.wifi.ssid {why}"));
    }
    if let Some(passphrase) = &up.passphrase {
        if let Err(why) = check_passphrase(passphrase) {
            p.add(
                "uplink.wifi.passphrase",
                format!("uplink.wifi.passphrase {why}; leave it out for an open network"),
            );
        } else if passphrase.contains('"') {
            // wpa_supplicant's config file cannot hold one safely: a `#` after it would
            // start a comment.
            p.add(
                "uplink.wifi.passphrase",
                "uplink.wifi.passphrase cannot contain a double quote (\")",
            );
        }
    }
}

fn check_mail(mail: &MailConfig, p: &mut Problems) {
    let Some(host) = &mail.host else {
        let set = [&mail.username, &mail.password, &mail.from, &mail.reply_to]
            .iter()
            .any(|v| v.is_some())
            || mail.port.is_some();
        if set {
            p.add(
                "mail.host",
                "mail.host is required: the SMTP server that sends the hub's e-mail (leave [mail] out to send none)",
            );
        }
        return;
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && (host.parse::<std::net::IpAddr>().is_ok()
            || host
                .split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')));
    if !host_ok {
        p.add(
            "mail.host",
            format!("mail.host \"{host}\" is not a host name or an IP address (e.g. smtp.example.org)"),
        );
    } else if mail.security == MailSecurity::None && !is_loopback(host) {
        p.add(
            "mail.security",
            format!(
                "mail.security = \"none\" would send passwords and messages in clear to {host}: it is allowed only for \
                 a server on this machine (localhost, 127.0.0.1, ::1); use starttls or tls"
            ),
        );
    }
    if mail.port == Some(0) {
        p.add("mail.port", "mail.port must be between 1 and 65535");
    }
    match (&mail.username, &mail.password) {
        (Some(u), Some(_)) if u.is_empty() || u.chars().any(char::is_control) => {
            p.add("mail.username", "mail.username must be one line, not empty")
        }
        (Some(_), None) => p.add(
            "mail.username",
            "mail.username is set without mail.password (or COPI_MAIL_PASSWORD)",
        ),
        (None, Some(_)) => p.add("mail.password", "mail.password is set without mail.username"),
        _ => {}
    }
    if mail
        .password
        .as_ref()
        .is_some_and(|pw| pw.chars().any(|c| c == '\r' || c == '\n'))
    {
        // Said without the value: it is a secret.
        p.add("mail.password", "mail.password must be on one line");
    }
    match &mail.from {
        None => p.add(
            "mail.from",
            "mail.from is required: the address the hub's e-mails are sent from (e.g. copi@example.org)",
        ),
        Some(from) => {
            if crate::accounts::check_email(from).is_err() {
                p.add(
                    "mail.from",
                    format!("mail.from \"{from}\" is not an e-mail address (like copi@example.org, ASCII only)"),
                );
            }
        }
    }
    if let Some(reply_to) = &mail.reply_to {
        if crate::accounts::check_email(reply_to).is_err() {
            p.add(
                "mail.reply_to",
                format!("mail.reply_to \"{reply_to}\" is not an e-mail address (like contact@example.org, ASCII only)"),
            );
        }
    }
}

/// A host that is this machine: `localhost` or a loopback address.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn join_problems(mut messages: Vec<String>) -> String {
    if messages.len() == 1 {
        return messages.remove(0);
    }
    format!(
        "{} problems in the configuration:\n  {}",
        messages.len(),
        messages.join("\n  ")
    )
}

/// A config file's text, and where each of its keys is.
struct Source {
    name: String,
    text: String,
    keys: Vec<KeySpan>,
    document: toml_edit::ImDocument<String>,
}

/// A key's dotted path and the byte spans of its name and of its value in the file.
struct KeySpan {
    path: String,
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
}

impl Source {
    fn read(path: &Path) -> Result<Source> {
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Config(format!("config file {name} does not exist")),
            _ => Error::io(format!("cannot read {name}"))(e),
        })?;
        if !meta.is_file() {
            return Err(Error::Config(format!("config file {name} does not exist")));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(Error::Config(format!(
                "config file {name} is larger than {MAX_FILE_BYTES} bytes"
            )));
        }
        let bytes = std::fs::read(path).map_err(Error::io(format!("cannot read {name}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::Config(format!("{name} is not UTF-8 text (save it as UTF-8)")))?;
        // Windows editors may start the file with a byte order mark, which TOML does not allow.
        let text = text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text);
        match toml_edit::ImDocument::parse(text.clone()) {
            Ok(document) => {
                let mut keys = Vec::new();
                collect_keys(document.as_table(), "", &mut keys);
                Ok(Source {
                    name,
                    text,
                    keys,
                    document,
                })
            }
            Err(e) => {
                let message = e.message().trim().replace('\n', "; ");
                Err(Error::Config(match e.span() {
                    Some(span) => {
                        let line = line_of(&text, span.start);
                        let content = text.lines().nth(line - 1).unwrap_or("").trim();
                        format!("{name} line {line}: {message} (in `{content}`)")
                    }
                    None => format!("{name}: {message}"),
                }))
            }
        }
    }

    /// The file's own settings over the defaults, unchecked.
    fn parse(&self) -> Result<Config> {
        toml_edit::de::from_document(self.document.clone()).map_err(|e| {
            let message = e
                .message()
                .trim()
                .replace('\n', "; ")
                .replace("unknown field", "unknown key")
                .replace("unknown variant", "unknown value");
            Error::Config(match e.span() {
                Some(span) => {
                    let line = self.line_of(span.start);
                    match self.key_at(span.start) {
                        Some(key) => format!("{} line {line}: {key}: {message}", self.name),
                        None => format!("{} line {line}: {message}", self.name),
                    }
                }
                None => format!("{}: {message}", self.name),
            })
        })
    }

    fn line_of(&self, offset: usize) -> usize {
        line_of(&self.text, offset)
    }

    /// The innermost key whose name or value covers `offset`.
    fn key_at(&self, offset: usize) -> Option<&str> {
        let covers = |r: &Option<Range<usize>>| match r {
            Some(r) if r.contains(&offset) || r.start == offset => Some(r.len()),
            _ => None,
        };
        self.keys
            .iter()
            .filter_map(|k| {
                let len = [covers(&k.key), covers(&k.value)].into_iter().flatten().min()?;
                Some((len, k.path.as_str()))
            })
            .min_by_key(|(len, _)| *len)
            .map(|(_, path)| path)
    }

    /// `message` with the line of `key`, or of the nearest table holding it, and that line.
    fn locate(&self, key: &str, message: &str) -> (usize, String) {
        let mut path = key;
        loop {
            let found = self.keys.iter().find(|k| k.path == path);
            if let Some(span) = found.and_then(|k| k.key.clone().or_else(|| k.value.clone())) {
                let line = self.line_of(span.start);
                return (line, format!("{} line {line}: {message}", self.name));
            }
            match path.rsplit_once('.') {
                Some((parent, _)) => path = parent,
                None => return (0, format!("{}: {message}", self.name)),
            }
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count() + 1
}

fn collect_keys(table: &dyn toml_edit::TableLike, prefix: &str, out: &mut Vec<KeySpan>) {
    for (name, item) in table.iter() {
        let path = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        };
        out.push(KeySpan {
            path: path.clone(),
            key: table.key(name).and_then(|k| k.span()),
            value: item.span(),
        });
        if let Some(inner) = item.as_table_like() {
            collect_keys(inner, &path, out);
        }
    }
}

/// Writes `text` to `path` unless it already holds it, through a temporary file and a rename
/// so that a power cut leaves the old copy or the new one.
fn save_last_good(text: &str, path: &Path) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("toml.partial");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// An SSID is 1 to 32 bytes; one on a single line can be written into any config file.
fn check_ssid(ssid: &str) -> Result<(), String> {
    if ssid.is_empty() || ssid.len() > 32 {
        return Err(format!(
            "\"{ssid}\" must be 1 to 32 bytes long (accented letters count 2)"
        ));
    }
    if ssid.chars().any(char::is_control) {
        return Err("must be on one line, without control characters".into());
    }
    Ok(())
}

/// WPA2 passphrases are 8 to 63 printable ASCII characters.
fn check_passphrase(passphrase: &str) -> Result<(), String> {
    let len = passphrase.chars().count();
    if !(8..=63).contains(&len) {
        return Err(format!("must be 8 to 63 characters (it has {len})"));
    }
    if !passphrase.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
        return Err("must be ASCII letters, digits, spaces or punctuation (no accents)".into());
    }
    Ok(())
}

/// Checks the shape of an argon2id PHC string; whether it matches a password is for login.
fn check_argon2id(hash: &str) -> Result<(), &'static str> {
    let mut parts = hash.split('$');
    if parts.next() != Some("") || parts.next() != Some("argon2id") {
        return Err("it must start with $argon2id$");
    }
    let mut next = parts.next();
    if let Some(version) = next.and_then(|p| p.strip_prefix("v=")) {
        if version != "19" && version != "16" {
            return Err("the version must be v=19");
        }
        next = parts.next();
    }
    let params: Vec<(&str, u32)> = next
        .ok_or("the parameters m=…,t=…,p=… are missing")?
        .split(',')
        .map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((k, v.parse().ok()?))
        })
        .collect::<Option<_>>()
        .ok_or("the parameters must be m=…,t=…,p=… with whole numbers")?;
    let [("m", m), ("t", t), ("p", p)] = params[..] else {
        return Err("the parameters must be m=…,t=…,p=… with whole numbers");
    };
    if !(1..=255).contains(&p) || t < 1 || m < 8 * p {
        return Err("the parameters m=…,t=…,p=… are out of range");
    }
    let b64 = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    let salt = parts.next().ok_or("the salt is missing")?;
    if salt.len() < 11 || salt.len() > 64 || !b64(salt) {
        return Err("the salt must be 8 to 48 bytes in unpadded base64");
    }
    let output = parts.next().ok_or("the hash is missing")?;
    if output.len() < 22 || output.len() > 86 || !b64(output) {
        return Err("the hash must be 16 to 64 bytes in unpadded base64");
    }
    if parts.next().is_some() {
        return Err("it has too many $-separated parts");
    }
    Ok(())
}

fn is_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_interface_name(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && s != "."
        && s != ".."
}

/// ISO 3166-1 alpha-2 codes (from tzdata's iso3166.tab), for the regulatory domain.
const COUNTRY_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI \
BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ \
DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU \
GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA \
LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA \
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB \
SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW \
TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

fn is_country_code(code: &str) -> bool {
    code.len() == 2 && COUNTRY_CODES.split(' ').any(|c| c == code)
}

/// figment's errors name the key and the source (file, environment variable).
fn describe(e: figment::Error) -> String {
    let mut parts = Vec::new();
    for err in e {
        let mut s = err.to_string();
        if let Some(meta) = &err.metadata {
            if let Some(source) = &meta.source {
                s.push_str(&format!(" (in {source})"));
            }
        }
        parts.push(s);
    }
    format!("bad configuration: {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> Env {
        // figment's Env reads the process environment; tests run in parallel, so each test
        // uses its own variable prefix.
        let prefix = format!("COPITEST{}_", fastrand::u32(..));
        for (k, v) in pairs {
            std::env::set_var(format!("{prefix}{k}"), v);
        }
        Env::prefixed(&prefix)
    }

    /// Loads `toml` as a copi.toml without environment or command line.
    fn load(toml: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("copi.toml");
        std::fs::write(&file, toml).unwrap();
        Config::load_from(Some(&file), &Overrides::default(), env_of(&[]))
    }

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21l$RdescudvJCsgt3ub+b+dWRWJTmaaJObGc2FsdA";

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("copi.toml");
        std::fs::write(&file, "data = \"/srv/from-file\"\nbind = \"0.0.0.0:80\"\n[hub]\nname = \"Tiers-lieu\"\nterritories = [\"city:26108\"]\n").unwrap();
        let env = env_of(&[("DATA", "/srv/from-env"), ("ADMIN_TOKEN", "0123456789abcdef0123")]);
        let config = Config::load_from(Some(&file), &Overrides::default(), env).unwrap();
        assert_eq!(config.data, PathBuf::from("/srv/from-env"));
        assert_eq!(config.bind.to_string(), "0.0.0.0:80");
        assert_eq!(config.hub.name, "Tiers-lieu");
        assert_eq!(config.hub.territories, vec!["city:26108".parse().unwrap()]);
        assert_eq!(config.admin_token.as_deref(), Some("0123456789abcdef0123"));
        let cli = Overrides {
            data: Some("/srv/from-cli".into()),
            bind: None,
        };
        let config = Config::load_from(Some(&file), &cli, env_of(&[("DATA", "/srv/from-env")])).unwrap();
        assert_eq!(config.data, PathBuf::from("/srv/from-cli"));
    }

    #[test]
    fn bad_configs_are_refused_with_the_key_named() {
        fn check(toml: &str, expected: &str) {
            let err = load(toml).unwrap_err().to_string();
            assert!(err.contains(expected), "{toml:?}: {err}");
        }
        check("colour = \"blue\"", "colour");
        check("[hub]\nnmae = \"x\"", "nmae");
        check("bind = \"nowhere\"", "bind");
        check("admin_token = \"short\"", "admin_token");
        check("[hub]\nterritories = [\"dep:999\"]", "999");
        check("[hub]\nlanguage = \"klingon\"", "language");
        check("[hub]\ntime_zone = \"Europe/Atlantis\"", "time_zone");
        check("[sync]\nconnector = \"ftp\"", "connector");
        check("data = ", "copi.toml");
        let missing = Config::load_from(
            Some(Path::new("/nonexistent/copi.toml")),
            &Overrides::default(),
            env_of(&[]),
        );
        assert!(missing.unwrap_err().to_string().contains("does not exist"));
    }

    #[test]
    fn errors_name_the_key_and_the_line() {
        fn check(toml: &str, expected: &[&str]) {
            let err = load(toml).unwrap_err().to_string();
            for e in expected {
                assert!(err.contains(e), "{toml:?}: {e:?} not in {err:?}");
            }
        }
        // Refused by the parser or by types: the key and line of the culprit.
        check(
            "# CoPi\n\n[hub]\nnmae = \"x\"",
            &["copi.toml line 4: hub.nmae: unknown key"],
        );
        check(
            "data = \"d\"\nbind = \"nowhere\"",
            &["line 2: bind: invalid socket address"],
        );
        check("data = \n", &["copi.toml line 1: ", "(in `data =`)"]);
        check(
            "modules = [\"search\",\n  \"blog\"]",
            &["line 2: modules: unknown value `blog`", "`mutual_aid`"],
        );
        check(
            "[wifi]\ncountry = \"FR\"\nchannel = \"six\"",
            &["line 3: wifi.channel: invalid type"],
        );
        check(
            "[wifi]\ncountry = \"FR\"\nchannel = 300",
            &["line 3: wifi.channel: invalid value"],
        );
        check(
            "[network]\naddress = \"10.42.0.1\"",
            &["line 2: network.address: \"10.42.0.1\" is not an IPv4 address with a prefix"],
        );
        check(
            "wifi = { country = \"FR\", chanel = 6 }",
            &["line 1: wifi.chanel: unknown key"],
        );
        check(
            "[uplink.wifi]\nssid = \"x\"\npassword = \"y\"",
            &["line 3: uplink.wifi.password: unknown key"],
        );
        // Refused by the checks: every problem at once, each with its line.
        check(
            "[hub]\nlanguage = \"xx\"\n\n[wifi]\nchannel = 14\n",
            &[
                "3 problems in the configuration:",
                "copi.toml line 2: hub.language \"xx\" must be fr, en or de",
                "copi.toml line 5: wifi.channel 14 must be between 1 and 13",
                // A missing key points at its table.
                "copi.toml line 4: wifi.country is required",
            ],
        );
        check(
            "[wifi]\ncountry = \"US\"\nchannel = 13",
            &["line 3: wifi.channel 13 must be between 1 and 11"],
        );
        check(
            "wifi.country = \"FR\"\nwifi.ssid = \"a\\nb\"",
            &["line 2: wifi.ssid must be on one line"],
        );
    }

    #[test]
    fn values_from_the_environment_or_command_line_are_blamed_on_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("copi.toml");
        std::fs::write(&file, "admin_token = \"0123456789abcdef0123\"\n").unwrap();
        let err = Config::load_from(Some(&file), &Overrides::default(), env_of(&[("ADMIN_TOKEN", "short")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("admin_token must be") && err.ends_with("(from COPI_ADMIN_TOKEN)"),
            "{err}"
        );
        let err = Config::load_from(Some(&file), &Overrides::default(), env_of(&[("BIND", "nowhere")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid socket address") && err.contains("\"BIND\""),
            "{err}"
        );
    }

    #[test]
    fn wifi_and_network_are_checked() {
        fn ok(toml: &str) -> Config {
            load(toml).unwrap_or_else(|e| panic!("{toml:?}: {e}"))
        }
        fn bad(toml: &str, expected: &str) {
            let err = load(toml).unwrap_err().to_string();
            assert!(err.contains(expected), "{toml:?}: {expected:?} not in {err:?}");
        }
        // The SSID defaults to the hub's name, cut to 32 bytes on a character boundary.
        let c = ok("[hub]\nname = \"Tiers-lieu de la Gare\"\n[wifi]\ncountry = \"fr\"\n");
        assert_eq!(c.wifi_ssid().as_deref(), Some("Tiers-lieu de la Gare"));
        assert_eq!(c.wifi.as_ref().unwrap().channel, 6);
        assert_eq!(c.wifi.as_ref().unwrap().passphrase, None);
        let c = ok("[hub]\nname = \"Café associatif de Sainte-Égrève\"\n[wifi]\ncountry = \"FR\"\n");
        assert_eq!(c.wifi_ssid().as_deref(), Some("Café associatif de Sainte-Égr"));
        assert!(c.wifi_ssid().unwrap().len() <= 32);
        assert_eq!(ok("").wifi_ssid(), None);
        let c =
            ok("[wifi]\nssid = \"Ma Place\"\npassphrase = \"correct horse battery\"\nchannel = 11\ncountry = \"BE\"\n");
        assert_eq!(c.wifi_ssid().as_deref(), Some("Ma Place"));
        ok(&format!(
            "[wifi]\ncountry = \"FR\"\npassphrase = \"{}\"",
            "x".repeat(63)
        ));

        bad(
            "[wifi]\nssid = \"\"\ncountry = \"FR\"",
            "wifi.ssid \"\" must be 1 to 32 bytes",
        );
        bad(
            "[wifi]\nssid = \"Ça c'est la médiathèque de Crest\"\ncountry = \"FR\"",
            "must be 1 to 32 bytes",
        );
        bad(
            "[wifi]\nssid = \"Copi\\r\\ninterface=eth0\"\ncountry = \"FR\"",
            "wifi.ssid must be on one line",
        );
        bad(
            "[wifi]\nssid = \" Copi\"\ncountry = \"FR\"",
            "must not start or end with a space",
        );
        bad(
            "[wifi]\npassphrase = \"short\"\ncountry = \"FR\"",
            "wifi.passphrase must be 8 to 63 characters (it has 5)",
        );
        bad(
            &format!("[wifi]\ncountry = \"FR\"\npassphrase = \"{}\"", "x".repeat(64)),
            "8 to 63",
        );
        bad(
            "[wifi]\npassphrase = \"mot de passe été\"\ncountry = \"FR\"",
            "no accents",
        );
        bad(
            "[wifi]\npassphrase = \"line\\nbreak!\"\ncountry = \"FR\"",
            "wifi.passphrase must be ASCII",
        );
        bad("[wifi]\ncountry = \"XX\"", "wifi.country \"XX\" is not an ISO 3166");
        bad("[wifi]\ncountry = \"France\"", "is not an ISO 3166");
        bad(
            "[wifi]\ncountry = \"FR\"\nchannel = 0",
            "wifi.channel 0 must be between 1 and 13",
        );
        bad(
            "[hub]\nname = \"Two\\nlines\"",
            "hub.name must be 1 to 64 characters on one line",
        );

        let c = ok("[network]\naddress = \"192.168.50.1/24\"\nname = \"placette\"\n");
        assert_eq!(
            c.network.dhcp_range(),
            ("192.168.50.10".parse().unwrap(), "192.168.50.254".parse().unwrap())
        );
        assert_eq!(c.network.lan_name(), "placette.lan");
        assert_eq!(c.network.mdns_name(), "placette.local");
        let c = ok("[network]\naddress = \"10.0.0.200/24\"\ndhcp_range = [\"10.0.0.2\", \"10.0.0.199\"]\n");
        assert_eq!(c.network.address.netmask().to_string(), "255.255.255.0");
        bad(
            "[network]\naddress = \"8.8.8.1/24\"",
            "network.address 8.8.8.1/24 must be a private address",
        );
        bad("[network]\naddress = \"10.42.0.0/24\"", "not of a host");
        bad("[network]\naddress = \"10.42.0.1/30\"", "between /8 and /28");
        bad(
            "[network]\ndhcp_range = [\"10.42.1.10\", \"10.42.1.20\"]",
            "network.dhcp_range 10.42.1.10 to 10.42.1.20 must be two host addresses of 10.42.0.0/24",
        );
        bad(
            "[network]\ndhcp_range = [\"10.42.0.1\", \"10.42.0.20\"]",
            "contains the hub's address 10.42.0.1",
        );
        bad(
            "[network]\naddress = \"10.42.0.100/24\"",
            "network.dhcp_range 10.42.0.10 to 10.42.0.254 contains the hub's address",
        );
        bad("[network]\nname = \"Copi\"", "network.name \"Copi\" must be");
        bad("[network]\nname = \"copi.lan\"", "network.name");
    }

    #[test]
    fn uplink_admin_and_modules_are_checked() {
        let c =
            load("[uplink]\nethernet = false\n[uplink.wifi]\nssid = \"Mairie\"\npassphrase = \"12345678\"\n").unwrap();
        assert!(!c.uplink.ethernet);
        assert_eq!(c.uplink.wifi.as_ref().unwrap().interface, "wlan1");
        assert!(load("").unwrap().uplink.ethernet);
        for (toml, expected) in [
            ("[uplink.wifi]\ninterface = \"wlan0\"\nssid = \"M\"", "uplink.wifi.interface cannot be wlan0"),
            ("[uplink.wifi]\ninterface = \"wlan1 up\"\nssid = \"M\"", "is not a network interface name"),
            ("[uplink.wifi]\ninterface = \"wlan1\"", "uplink.wifi.ssid is required"),
            ("[uplink.wifi]\nssid = \"M\"\npassphrase = \"abc\\\"#defgh\"", "cannot contain a double quote"),
            ("[admin]\npassword_hash = \"hunter22\"", "admin.password_hash is not an argon2id hash: it must start with $argon2id$"),
            ("[admin]\npassword_hash = \"$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG\"", "it must start with $argon2id$"),
            ("[admin]\npassword_hash = \"$argon2id$v=19$t=2,m=19456,p=1$c29tZXNhbHRzb21l$RdescudvJCsgt3ub+b+dWRWJTmaaJObG\"", "parameters"),
            ("[admin]\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21l\"", "the hash is missing"),
            ("[admin]\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c29t$RdescudvJCsgt3ub+b+dWRWJTmaaJObG\"", "the salt"),
        ] {
            let err = load(toml).unwrap_err().to_string();
            assert!(err.contains(expected), "{toml:?}: {expected:?} not in {err:?}");
        }
        let c = load(&format!("[admin]\npassword_hash = \"{HASH}\"\n")).unwrap();
        assert_eq!(c.admin.password_hash.as_deref(), Some(HASH));
        // Without a hash, first boot makes a setup code: no default password.
        assert_eq!(load("").unwrap().admin.password_hash, None);

        let c = load("modules = [\"search\", \"agenda\", \"mutual_aid\"]").unwrap();
        assert!(c.module_on(Module::MutualAid) && !c.module_on(Module::Map));
        assert!(Module::ALL.iter().all(|m| load("").unwrap().module_on(*m)));
        assert!(load("modules = []").unwrap().modules.is_empty());
        // The names in the file are those `as_str` gives.
        for m in Module::ALL {
            assert_eq!(load(&format!("modules = [\"{m}\"]")).unwrap().modules, vec![m]);
        }
    }

    #[test]
    fn mail_is_checked() {
        // No [mail]: nothing is sent, nothing is required.
        assert_eq!(load("").unwrap().mail, MailConfig::default());
        let c = load(
            "[mail]\nhost = \"smtp.example.org\"\nusername = \"copi\"\npassword = \"s3cret-pass\"\n\
             from = \"copi@example.org\"\nreply_to = \"contact@example.org\"\n",
        )
        .unwrap();
        assert_eq!(c.mail.security, MailSecurity::Starttls);
        assert_eq!(c.mail.port(), 587);
        assert_eq!(c.mail.reply_to.as_deref(), Some("contact@example.org"));
        let debug = format!("{c:?}");
        assert!(!debug.contains("s3cret-pass") && debug.contains("(hidden)"), "{debug}");
        let c = load("[mail]\nhost = \"smtp.example.org\"\nsecurity = \"tls\"\nfrom = \"a@example.org\"").unwrap();
        assert_eq!((c.mail.security, c.mail.port()), (MailSecurity::Tls, 465));
        for host in ["localhost", "127.0.0.1", "::1"] {
            let c = load(&format!(
                "[mail]\nhost = \"{host}\"\nport = 2525\nsecurity = \"none\"\nfrom = \"a@example.org\""
            ))
            .unwrap_or_else(|e| panic!("{host}: {e}"));
            assert_eq!(c.mail.port(), 2525);
        }

        for (toml, expected) in [
            (
                "[mail]\nhost = \"smtp.example.org\"\nfrom = \"a@example.org\"\nsmtp = 1",
                "line 4: mail.smtp: unknown key",
            ),
            (
                "[mail]\nhost = \"smtp.example.org\"\nfrom = \"a@example.org\"\nsecurity = \"ssl\"",
                "line 4: mail.security: unknown value `ssl`",
            ),
            (
                "[mail]\nhost = \"smtp.example.org\"\nfrom = \"a@example.org\"\nport = 70000",
                "line 4: mail.port: invalid value",
            ),
            (
                "[mail]\nhost = \"smtp.example.org\"\nfrom = \"a@example.org\"\nport = 0",
                "line 4: mail.port must be between 1 and 65535",
            ),
            (
                "[mail]\nhost = \"smtp.example.org\"\nfrom = \"a@example.org\"\nsecurity = \"none\"",
                "line 4: mail.security = \"none\" would send passwords and messages in clear to smtp.example.org",
            ),
            (
                "[mail]\nhost = \"10.0.0.2\"\nfrom = \"a@example.org\"\nsecurity = \"none\"",
                "allowed only for a server on this machine",
            ),
            ("[mail]\nfrom = \"a@example.org\"", "line 1: mail.host is required"),
            (
                "[mail]\nhost = \"smtp example.org\"\nfrom = \"a@example.org\"",
                "line 2: mail.host \"smtp example.org\" is not a host name",
            ),
            ("[mail]\nhost = \"smtp.example.org\"", "line 1: mail.from is required"),
            (
                "[mail]\nhost = \"smtp.example.org\"\nfrom = \"Copi <a@example.org>\"",
                "line 3: mail.from \"Copi <a@example.org>\" is not an e-mail address",
            ),
            (
                "[mail]\nhost = \"smtp.example.org\"\nfrom = \"a@example.org\"\nreply_to = \"nobody\"",
                "line 4: mail.reply_to \"nobody\" is not an e-mail address",
            ),
            (
                "[mail]\nhost = \"smtp.example.org\"\nfrom = \"a@example.org\"\nusername = \"copi\"",
                "line 4: mail.username is set without mail.password",
            ),
            (
                "[mail]\nhost = \"smtp.example.org\"\nfrom = \"a@example.org\"\npassword = \"hunter2-secret\"",
                "line 4: mail.password is set without mail.username",
            ),
        ] {
            let err = load(toml).unwrap_err().to_string();
            assert!(err.contains(expected), "{toml:?}: {expected:?} not in {err:?}");
            assert!(!err.contains("hunter2-secret"), "a password in an error: {err}");
        }

        // The environment: the password as typed (not as a number), the rest as in the file.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("copi.toml");
        std::fs::write(
            &file,
            "[mail]\nhost = \"smtp.example.org\"\nusername = \"copi\"\nfrom = \"a@example.org\"\n",
        )
        .unwrap();
        let env = env_of(&[("MAIL_PASSWORD", "0123"), ("MAIL_PORT", "2587")]);
        let c = Config::load_from(Some(&file), &Overrides::default(), env).unwrap();
        assert_eq!((c.mail.password.as_deref(), c.mail.port()), (Some("0123"), 2587));
        let env = env_of(&[("MAIL_SECURITY", "none")]);
        let err = Config::load_from(Some(&file), &Overrides::default(), env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("(from COPI_MAIL_SECURITY)"), "{err}");
        let env = env_of(&[("MAIL_USERNAME", "")]);
        let err = Config::load_from(Some(&file), &Overrides::default(), env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("mail.username is set without mail.password"), "{err}");
    }

    #[test]
    fn a_broken_file_leaves_the_last_good_config_in_force() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("copi.toml");
        let last_good = dir.path().join("data").join(LAST_GOOD_FILE);
        let load =
            |overrides: &Overrides| Config::load_with_fallback_from(Some(&file), overrides, &last_good, env_of(&[]));

        // A broken file with no copy yet: the error, nothing saved.
        std::fs::write(&file, "[hub]\nname = \"Placette\"\nlanguage = \"xx\"\n").unwrap();
        assert!(load(&Overrides::default()).unwrap_err().to_string().contains("line 3"));
        assert!(!last_good.exists());

        // A good file loads and is kept.
        let good = "[hub]\nname = \"Placette\"\n[wifi]\ncountry = \"FR\"\n";
        std::fs::write(&file, good).unwrap();
        let loaded = load(&Overrides::default()).unwrap();
        assert!(loaded.file_error.is_none());
        assert_eq!(loaded.config.hub.name, "Placette");
        assert_eq!(std::fs::read_to_string(&last_good).unwrap(), good);

        // An edit breaks it: the last good config runs, and the error is there to show.
        std::fs::write(
            &file,
            "[hub]\nname = \"Placette 2\"\n[wifi]\ncountry = \"FR\"\nchannel = 14\n",
        )
        .unwrap();
        let cli = Overrides {
            bind: Some("0.0.0.0:8080".parse().unwrap()),
            data: None,
        };
        let loaded = load(&cli).unwrap();
        assert_eq!(loaded.config.hub.name, "Placette");
        assert_eq!(
            loaded.config.bind.to_string(),
            "0.0.0.0:8080",
            "the command line still applies"
        );
        let error = loaded.file_error.unwrap().to_string();
        assert!(error.contains("copi.toml line 5: wifi.channel 14"), "{error}");
        assert_eq!(std::fs::read_to_string(&last_good).unwrap(), good, "the copy is kept");

        // So does a file that went missing.
        std::fs::remove_file(&file).unwrap();
        let loaded = load(&Overrides::default()).unwrap();
        assert_eq!(loaded.config.hub.name, "Placette");
        assert!(loaded.file_error.unwrap().to_string().contains("does not exist"));

        // A fixed file takes over and becomes the new copy.
        let fixed = "[hub]\nname = \"Placette 2\"\n";
        std::fs::write(&file, fixed).unwrap();
        let loaded = load(&Overrides::default()).unwrap();
        assert_eq!(loaded.config.hub.name, "Placette 2");
        assert!(loaded.file_error.is_none());
        assert_eq!(std::fs::read_to_string(&last_good).unwrap(), fixed);

        // A bad environment is not the file's fault: no fallback hides it.
        let err =
            Config::load_with_fallback_from(Some(&file), &Overrides::default(), &last_good, env_of(&[("BIND", "x")]));
        assert!(err.is_err());
    }

    #[test]
    fn a_byte_order_mark_is_tolerated() {
        assert_eq!(
            load("\u{feff}[hub]\nname = \"Placette\"\n").unwrap().hub.name,
            "Placette"
        );
        assert!(load("[hub]\r\nname = \"Placette\"\r\n").is_ok());
    }

    #[test]
    fn defaults_are_safe() {
        let config = Config::load_from(None, &Overrides::default(), env_of(&[])).unwrap();
        assert_eq!(config.admin_token, None);
        assert_eq!(config.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(config.data, PathBuf::from("copi-data"));
        assert_eq!(config.admin.password_hash, None);
        assert_eq!(config.wifi, None);
        assert_eq!(config, Config::default());
    }

    #[test]
    fn the_example_file_loads() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../copi.example.toml");
        let config = Config::load_from(Some(Path::new(example)), &Overrides::default(), env_of(&[]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(config.wifi.is_some());
    }
}
