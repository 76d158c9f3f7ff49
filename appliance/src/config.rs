//! Configuration: one struct built from defaults < config file (TOML) < `COPI_*`
//! environment < command line, validated once at start and handed to whatever needs it
//! (there is no global config).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::territory::Scope;

/// Shortest admin token accepted: it guards every write.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the database, index and uploads live.
    pub data: PathBuf,
    /// Address the HTTP server listens on.
    pub bind: SocketAddr,
    /// Bearer token for API writes by automation. There is never a default one.
    pub admin_token: Option<String>,
    pub hub: HubConfig,
    pub sync: SyncConfig,
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
            hub: HubConfig::default(),
            sync: SyncConfig::default(),
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
];

impl Config {
    /// Builds the configuration from its layers. `file` is the `--config` / `COPI_CONFIG`
    /// path; a named file that does not exist is an error.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config> {
        Self::load_from(file, overrides, Env::prefixed("COPI_"))
    }

    fn load_from(file: Option<&Path>, overrides: &Overrides, env: Env) -> Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(Error::Config(format!("config file {} does not exist", path.display())));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
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
        figment = figment.merge(env).merge(Serialized::defaults(overrides));
        let config: Config = figment.extract().map_err(|e| Error::Config(describe(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<()> {
        if let Some(token) = &self.admin_token {
            if token.chars().count() < MIN_TOKEN_LEN || token.chars().any(char::is_whitespace) {
                return Err(Error::Config(format!(
                    "admin_token must be at least {MIN_TOKEN_LEN} characters without spaces (generate one with: openssl rand -hex 24)"
                )));
            }
        }
        if self.hub.name.trim().is_empty() || self.hub.name.chars().count() > 64 {
            return Err(Error::Config("hub.name must be 1 to 64 characters".into()));
        }
        if !["fr", "en", "de"].contains(&self.hub.language.as_str()) {
            return Err(Error::Config(format!(
                "hub.language \"{}\" must be fr, en or de",
                self.hub.language
            )));
        }
        if jiff::tz::TimeZone::get(&self.hub.time_zone).is_err() {
            return Err(Error::Config(format!(
                "hub.time_zone \"{}\" is not an IANA time zone (e.g. Europe/Paris)",
                self.hub.time_zone
            )));
        }
        if let Some(c) = &self.sync.connector {
            if c != "copi" && c != "communecter" {
                return Err(Error::Config(format!(
                    "sync.connector \"{c}\" must be copi or communecter"
                )));
            }
        }
        if let Some(url) = &self.sync.main_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::Config(format!(
                    "sync.main_url \"{url}\" must start with http:// or https://"
                )));
            }
        }
        if self.limits.json_body < 1024 || self.limits.json_body > 64 << 20 {
            return Err(Error::Config(
                "limits.json_body must be between 1024 and 67108864 bytes".into(),
            ));
        }
        Ok(())
    }

    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.hub.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }
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
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("copi.toml");
            std::fs::write(&file, toml).unwrap();
            let err = Config::load_from(Some(&file), &Overrides::default(), env_of(&[]))
                .unwrap_err()
                .to_string();
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
    fn defaults_are_safe() {
        let config = Config::load_from(None, &Overrides::default(), env_of(&[])).unwrap();
        assert_eq!(config.admin_token, None);
        assert_eq!(config.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(config.data, PathBuf::from("copi-data"));
    }
}
