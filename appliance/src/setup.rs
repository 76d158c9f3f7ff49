//! First boot (issue 7): a hub with no admin password in its config file makes a one-time
//! setup code, writes it next to the config file (`copi-setup-code.txt` beside `copi.toml`,
//! on the SD card's boot partition) and keeps only its SHA-256. Whoever can read the card
//! types the code into the first-boot wizard (`/setup`, in `web/setup.rs`), creates the admin
//! account, names the hub, picks its territory and its modules. Each step is saved when it is
//! submitted, so a wizard cut by a power loss or a closed tab resumes where it stopped. Once
//! done, the code is forgotten, its file deleted, and the wizard answers 404 for good.
//!
//! There is no default password anywhere: before the wizard, nobody can sign in as the admin
//! (except with an admin token the config sets). A forgotten admin password is reset by
//! whoever holds the card: writing `[admin] password_hash` into `copi.toml` takes over.
//!
//! No HTTP here: the state lives in the store's settings (`meta`).

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::ElementId;
use crate::store::Store;
use crate::territory::Scope;

/// The file the code is written to, beside the config file (or in the data dir without one).
pub const CODE_FILE: &str = "copi-setup-code.txt";

/// Letters and digits nobody confuses when copying by hand (no 0/O, 1/I/L, 5/S, 8/B).
const ALPHABET: &[u8; 28] = b"ACDEFGHJKMNPQRTUVWXY2345679Z";
/// 14 symbols of 28: 67 bits. With the wizard's throttling, guessing is out of reach.
const CODE_LEN: usize = 14;

// Store settings (`meta`, never synced, in backups).
const KEY_CODE: &str = "setup.code_sha256";
const KEY_STEP: &str = "setup.step";
const KEY_DONE: &str = "setup.done";
/// The person whose password signs the admin in (created by the wizard).
pub const KEY_ADMIN_PERSON: &str = "admin.person";
/// The hub's name and territories as the admin set them; they win over the config file's.
pub const KEY_HUB_NAME: &str = "hub.name";
pub const KEY_HUB_TERRITORIES: &str = "hub.territories";

/// The wizard's steps, in order. The code is not a step: it opens the wizard each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Admin,
    Hub,
    Modules,
}

impl Step {
    pub const ALL: [Step; 3] = [Step::Admin, Step::Hub, Step::Modules];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Admin => "admin",
            Step::Hub => "hub",
            Step::Modules => "modules",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn number(self) -> usize {
        self as usize + 1
    }
}

/// Where first boot stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// The config file names the admin's password: no wizard.
    Configured,
    /// The wizard ran to its end.
    Done,
    /// The wizard is waiting at this step (the first one not done).
    Pending(Step),
}

impl State {
    pub fn is_pending(&self) -> bool {
        matches!(self, State::Pending(_))
    }
}

/// Where first boot stands for this store and config.
pub fn state(store: &Store, config: &Config) -> Result<State> {
    if store.setting(KEY_DONE)?.is_some() {
        return Ok(State::Done);
    }
    if config.admin.password_hash.is_some() {
        return Ok(State::Configured);
    }
    let step = store
        .setting(KEY_STEP)?
        .and_then(|s| Step::parse(&s))
        .unwrap_or(Step::Admin);
    Ok(State::Pending(step))
}

/// Where the code file goes: beside the config file, else in the data dir.
pub fn code_path(config_file: Option<&Path>, data: &Path) -> PathBuf {
    match config_file.and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(CODE_FILE),
        Some(_) => PathBuf::from(CODE_FILE),
        None => data.join(CODE_FILE),
    }
}

/// A code as people type it: case, spaces and dashes do not matter.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn digest(code: &str) -> String {
    Sha256::digest(format!("copi setup code v1\0{}", normalise(code)).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new random code, shown in groups: `ACDE-FGHJ-KMNP-QR`.
fn generate_code() -> Result<String> {
    let bytes: [u8; 32] = crate::accounts::random_bytes()?;
    // Rejection sampling keeps every symbol equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let symbols: Vec<u8> = bytes
        .iter()
        .filter(|b| (**b as usize) < limit)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()])
        .take(CODE_LEN)
        .collect();
    if symbols.len() < CODE_LEN {
        // 32 bytes fall short with probability below 10^-20: draw again.
        return generate_code();
    }
    Ok(symbols
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-"))
}

fn file_text(code: &str) -> String {
    format!(
        "CoPi setup code: {code}\n\
         \n\
         FR — Connectez-vous au Wi-Fi du hub, ouvrez http://copi.lan/setup et tapez ce code\n\
         pour créer le compte d'administration. Il ne sert qu'une fois ; ce fichier est effacé\n\
         à la fin de l'installation.\n\
         \n\
         EN — Join the hub's Wi-Fi, open http://copi.lan/setup and type this code to create\n\
         the admin account. It works once; this file is deleted when setup is done.\n\
         \n\
         DE — Mit dem WLAN des Hubs verbinden, http://copi.lan/setup öffnen und diesen Code\n\
         eingeben, um das Admin-Konto anzulegen. Er gilt einmal; diese Datei wird danach gelöscht.\n"
    )
}

/// The code a file holds, if it is one of ours.
fn code_in(text: &str) -> Option<&str> {
    text.lines().next()?.strip_prefix("CoPi setup code: ").map(str::trim)
}

/// Writes atomically (a partial file, synced, renamed), readable by its owner only.
fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("txt.partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename survives a power cut only once the folder is synced (not possible on FAT).
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// At start: when the wizard is pending, makes sure a code exists and its file is where the
/// admin will look, and returns that path. A file that still holds the stored code is kept
/// (restarting does not change the code); otherwise a new code replaces it. When setup is
/// over, a leftover file is deleted. If the boot partition cannot be written, the code goes
/// to the data dir, and the log says where.
pub fn prepare(store: &Store, config: &Config, config_file: Option<&Path>) -> Result<Option<PathBuf>> {
    let wanted = code_path(config_file, &config.data);
    let fallback = config.data.join(CODE_FILE);
    if !state(store, config)?.is_pending() {
        for path in [&wanted, &fallback] {
            if path.is_file() {
                match std::fs::remove_file(path) {
                    Ok(()) => {
                        tracing::info!(file = %path.display(), "setup is done: the old setup code file is deleted")
                    }
                    Err(e) => {
                        tracing::warn!(file = %path.display(), error = %e, "cannot delete the old setup code file")
                    }
                }
            }
        }
        return Ok(None);
    }
    let stored = store.setting(KEY_CODE)?;
    for path in [&wanted, &fallback] {
        if let (Ok(text), Some(stored)) = (std::fs::read_to_string(path), &stored) {
            if code_in(&text).is_some_and(|code| digest(code).as_bytes().ct_eq(stored.as_bytes()).into()) {
                tracing::info!(file = %path.display(), "first boot: the setup code is in this file, type it at /setup");
                return Ok(Some(path.clone()));
            }
        }
    }
    let code = generate_code()?;
    let text = file_text(&code);
    let mut written = None;
    for path in [&wanted, &fallback] {
        match write_file(path, &text) {
            Ok(()) => {
                written = Some(path.clone());
                break;
            }
            Err(e) => tracing::warn!(file = %path.display(), error = %e, "cannot write the setup code here"),
        }
    }
    let Some(path) = written else {
        return Err(Error::Config(format!(
            "cannot write the setup code to {} or {}: the first-boot wizard cannot be opened",
            wanted.display(),
            fallback.display()
        )));
    };
    store.set_setting(KEY_CODE, &digest(&code))?;
    tracing::info!(file = %path.display(), "first boot: a new setup code is in this file, type it at /setup");
    Ok(Some(path))
}

/// Whether `code` is the current setup code (constant time). False when none is set.
pub fn check_code(store: &Store, code: &str) -> Result<bool> {
    let Some(stored) = store.setting(KEY_CODE)? else {
        return Ok(false);
    };
    if normalise(code).len() != CODE_LEN {
        return Ok(false);
    }
    Ok(digest(code).as_bytes().ct_eq(stored.as_bytes()).into())
}

/// Records a step as done: the wizard resumes at the next one.
pub fn step_done(store: &Store, step: Step) -> Result<()> {
    let next = Step::ALL.into_iter().find(|s| *s > step);
    match next {
        Some(next) => {
            // Never back: redoing an earlier step leaves the later ones as they were.
            let current = store.setting(KEY_STEP)?.and_then(|s| Step::parse(&s));
            if current.is_none_or(|c| c < next) {
                store.set_setting(KEY_STEP, next.as_str())?;
            }
            Ok(())
        }
        None => Ok(()),
    }
}

/// Ends first boot: the code is forgotten and its file deleted; the wizard is gone for good.
pub fn finish(store: &Store, config: &Config, config_file: Option<&Path>) -> Result<()> {
    store.set_setting(KEY_DONE, &crate::model::now_seconds().to_string())?;
    store.set_setting(KEY_CODE, "")?;
    for path in [code_path(config_file, &config.data), config.data.join(CODE_FILE)] {
        if path.is_file() {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(file = %path.display(), error = %e, "cannot delete the setup code file: delete it by hand");
            }
        }
    }
    tracing::info!("first boot is done: the setup wizard is closed");
    Ok(())
}

/// The person whose password signs the admin in, if the wizard made one.
pub fn admin_person(store: &Store) -> Result<Option<ElementId>> {
    Ok(store.setting(KEY_ADMIN_PERSON)?.and_then(|s| ElementId::parse(&s)))
}

/// The hub's name and home territories: the admin's (wizard) over the config file's.
pub fn identity(store: &Store, config: &Config) -> Result<(String, Vec<Scope>)> {
    let name = store
        .setting(KEY_HUB_NAME)?
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| config.hub.name.clone());
    let territories = match store.setting(KEY_HUB_TERRITORIES)? {
        Some(text) => match Scope::parse_list(&text) {
            Ok(list) => list,
            Err(e) => {
                // Written by a newer CoPi, or territories that no longer exist: the file's.
                tracing::warn!(error = %e, "the stored territories are unreadable: using the config file's");
                config.hub.territories.clone()
            }
        },
        None => config.hub.territories.clone(),
    };
    Ok((name, territories))
}

/// Keeps the hub's name and territories as the admin set them.
pub fn set_identity(store: &Store, name: &str, territories: &[Scope]) -> Result<()> {
    store.set_setting(KEY_HUB_NAME, name)?;
    let list: Vec<String> = territories.iter().map(ToString::to_string).collect();
    store.set_setting(KEY_HUB_TERRITORIES, &list.join(","))
}

/// Longest hub name (it is an SSID-sized label in places, but pages show it whole).
pub const MAX_HUB_NAME: usize = 80;

/// A hub name as the admin typed it: trimmed, one line, not empty, not too long.
pub fn check_hub_name(name: &str) -> std::result::Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("the hub needs a name".into());
    }
    if name.chars().count() > MAX_HUB_NAME {
        return Err(format!("a hub name has at most {MAX_HUB_NAME} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("the hub name must be on one line".into());
    }
    Ok(name.to_owned())
}

/// What a territory typed in the wizard designates.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    One(Scope),
    /// Several fit: the admin picks one.
    Several(Vec<Scope>),
    None,
}

/// A territory as the admin types it: `city:26108` or `dep:26` as in `copi.toml`, a postal
/// code, a department number, or a commune's name.
pub fn find_territory(text: &str) -> Found {
    let text = text.trim();
    if text.is_empty() {
        return Found::None;
    }
    if text.contains(':') {
        return match text.parse::<Scope>() {
            Ok(scope) => Found::One(scope),
            Err(_) => Found::None,
        };
    }
    let is_code = text.bytes().all(|b| b.is_ascii_alphanumeric()) && text.len() <= 3;
    if is_code {
        if let Some(d) = crate::territory::department(&text.to_ascii_uppercase()) {
            return Found::One(Scope::Department(d.code.to_owned()));
        }
    }
    let communes: Vec<_> = if text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit()) {
        crate::territory::communes_by_postal_code(text)
    } else {
        crate::territory::search_communes(text, 8)
    }
    .into_iter()
    .filter(|c| !c.is_arrondissement())
    .collect();
    let exact: Vec<_> = communes.iter().filter(|c| c.name.eq_ignore_ascii_case(text)).collect();
    match (communes.len(), exact.len()) {
        (0, _) => Found::None,
        (1, _) => Found::One(Scope::City(communes[0].insee.to_owned())),
        (_, 1) => Found::One(Scope::City(exact[0].insee.to_owned())),
        _ => Found::Several(communes.iter().map(|c| Scope::City(c.insee.to_owned())).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> (tempfile::TempDir, Store, Config) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let config = Config {
            data: dir.path().to_owned(),
            ..Config::default()
        };
        (dir, store, config)
    }

    #[test]
    fn codes_are_random_readable_and_checked_as_typed() {
        let a = generate_code().unwrap();
        let b = generate_code().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), CODE_LEN + 3, "{a}");
        assert!(normalise(&a).bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert_eq!(digest(&a), digest(&a.to_lowercase().replace('-', " ")));
        assert_ne!(digest(&a), digest(&b));
    }

    #[test]
    fn a_pending_hub_writes_its_code_beside_the_config_file_and_keeps_it_across_restarts() {
        let (_dir, store, config) = hub();
        let boot = tempfile::tempdir().unwrap();
        let toml = boot.path().join("copi.toml");
        assert_eq!(state(&store, &config).unwrap(), State::Pending(Step::Admin));
        let path = prepare(&store, &config, Some(&toml)).unwrap().unwrap();
        assert_eq!(path, boot.path().join(CODE_FILE));
        let text = std::fs::read_to_string(&path).unwrap();
        let code = code_in(&text).unwrap().to_owned();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(check_code(&store, &code).unwrap());
        assert!(check_code(&store, &code.to_lowercase()).unwrap());
        assert!(!check_code(&store, "AAAA-AAAA-AAAA-AA").unwrap());
        assert!(!check_code(&store, "").unwrap());
        // The store keeps a hash, never the code.
        assert!(!store.setting(KEY_CODE).unwrap().unwrap().contains(&normalise(&code)));
        // A restart keeps the same code.
        prepare(&store, &config, Some(&toml)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        // A deleted file gets a new code; the old one stops working.
        std::fs::remove_file(&path).unwrap();
        prepare(&store, &config, Some(&toml)).unwrap();
        let again = code_in(&std::fs::read_to_string(&path).unwrap()).unwrap().to_owned();
        assert_ne!(again, code);
        assert!(!check_code(&store, &code).unwrap());
        assert!(check_code(&store, &again).unwrap());
    }

    #[test]
    fn a_read_only_boot_partition_sends_the_code_to_the_data_dir() {
        let (_dir, store, config) = hub();
        let toml = Path::new("/proc/copi-no-such-dir/copi.toml");
        let path = prepare(&store, &config, Some(toml)).unwrap().unwrap();
        assert_eq!(path, config.data.join(CODE_FILE));
    }

    #[test]
    fn steps_move_forward_and_finishing_closes_the_wizard_for_good() {
        let (_dir, store, config) = hub();
        let path = prepare(&store, &config, None).unwrap().unwrap();
        let code = code_in(&std::fs::read_to_string(&path).unwrap()).unwrap().to_owned();
        step_done(&store, Step::Admin).unwrap();
        step_done(&store, Step::Hub).unwrap();
        assert_eq!(state(&store, &config).unwrap(), State::Pending(Step::Modules));
        // Redoing an earlier step does not move the wizard back.
        step_done(&store, Step::Admin).unwrap();
        assert_eq!(state(&store, &config).unwrap(), State::Pending(Step::Modules));
        finish(&store, &config, None).unwrap();
        assert_eq!(state(&store, &config).unwrap(), State::Done);
        assert!(!path.exists());
        assert!(!check_code(&store, &code).unwrap());
        // Restarting does not make a new code.
        assert_eq!(prepare(&store, &config, None).unwrap(), None);
        assert!(!path.exists());
    }

    #[test]
    fn a_configured_admin_password_means_no_wizard() {
        let (_dir, store, mut config) = hub();
        config.admin.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaA".into());
        assert_eq!(state(&store, &config).unwrap(), State::Configured);
        std::fs::write(config.data.join(CODE_FILE), "CoPi setup code: X\n").unwrap();
        assert_eq!(prepare(&store, &config, None).unwrap(), None);
        assert!(!config.data.join(CODE_FILE).exists(), "a leftover code is deleted");
    }

    #[test]
    fn territories_are_found_as_people_type_them() {
        let city = |i: &str| Scope::City(i.into());
        assert_eq!(find_territory("city:26108"), Found::One(city("26108")));
        assert_eq!(find_territory("26"), Found::One(Scope::Department("26".into())));
        assert_eq!(find_territory("2a"), Found::One(Scope::Department("2A".into())));
        assert!(matches!(find_territory("26400"), Found::Several(v) if v.contains(&city("26108"))));
        assert_eq!(find_territory("Crest"), Found::One(city("26108")));
        assert!(matches!(find_territory("saint"), Found::Several(v) if v.len() == 8));
        assert_eq!(find_territory("xyzzy"), Found::None);
        assert_eq!(find_territory("city:99999"), Found::None);
        assert_eq!(find_territory("  "), Found::None);
    }

    #[test]
    fn the_admin_s_name_and_territories_win_over_the_file() {
        let (_dir, store, mut config) = hub();
        config.hub.name = "Tiers-lieu".into();
        config.hub.territories = vec!["dep:26".parse().unwrap()];
        assert_eq!(identity(&store, &config).unwrap().0, "Tiers-lieu");
        set_identity(&store, "La Fabrique", &["city:26108".parse().unwrap()]).unwrap();
        let (name, territories) = identity(&store, &config).unwrap();
        assert_eq!(name, "La Fabrique");
        assert_eq!(territories, vec!["city:26108".parse::<Scope>().unwrap()]);
        assert!(check_hub_name("  ").is_err());
        assert!(check_hub_name("a\nb").is_err());
        assert!(check_hub_name(&"x".repeat(81)).is_err());
        assert_eq!(check_hub_name(" Le Hub ").unwrap(), "Le Hub");
    }
}
