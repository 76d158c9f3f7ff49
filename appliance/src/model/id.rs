//! Element ids: Communecter's 24-hex-digit ObjectIds, generated so that two hubs (or two
//! copies of one SD card) never produce the same id.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The id of an element, post, comment or attachment.
///
/// Ids made here are ObjectIds (so a main instance accepts them as `_id`); ids from imports
/// may be any 1–64 characters of `[0-9A-Za-z_-]`, which covers every id Communecter writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ElementId(String);

impl ElementId {
    pub fn parse(s: &str) -> Option<ElementId> {
        let ok =
            !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        ok.then(|| ElementId(s.to_owned()))
    }

    /// A new ObjectId: 4 bytes of wall-clock seconds (informational only: the Pi may boot
    /// in 1970), 5 random bytes drawn once per process, and a 3-byte counter that starts at
    /// a random value. The random part differs on a cloned card, so clones cannot collide.
    pub fn generate() -> ElementId {
        static PROCESS: OnceLock<[u8; 5]> = OnceLock::new();
        static COUNTER: OnceLock<AtomicU32> = OnceLock::new();
        let process = PROCESS.get_or_init(|| {
            let mut rng = fastrand::Rng::new();
            let mut b = [0u8; 5];
            b.iter_mut().for_each(|x| *x = rng.u8(..));
            b
        });
        let counter = COUNTER
            .get_or_init(|| AtomicU32::new(fastrand::u32(..)))
            .fetch_add(1, Ordering::Relaxed)
            & 0x00ff_ffff;
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(0);
        let mut s = String::with_capacity(24);
        for b in secs
            .to_be_bytes()
            .iter()
            .chain(process)
            .chain(&counter.to_be_bytes()[1..])
        {
            s.push_str(&format!("{b:02x}"));
        }
        ElementId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ElementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads an id written as a plain string, `{"$id": "…"}` (PHP's json_encode of an
/// ObjectId) or `{"$oid": "…"}` (mongoexport).
pub fn id_from_value(v: &serde_json::Value) -> Option<ElementId> {
    match v {
        serde_json::Value::String(s) => ElementId::parse(s),
        serde_json::Value::Object(m) => m
            .get("$id")
            .or_else(|| m.get("$oid"))
            .and_then(|v| v.as_str())
            .and_then(ElementId::parse),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generated_ids_are_object_ids_and_distinct() {
        let a = ElementId::generate();
        let b = ElementId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 24);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(ElementId::parse(a.as_str()), Some(a));
    }

    #[test]
    fn reads_every_id_shape() {
        fn check(v: serde_json::Value, expected: Option<&str>) {
            assert_eq!(id_from_value(&v).as_ref().map(|i| i.as_str()), expected, "{v}");
        }
        check(json!("5aa979f540bb4e7162d04363"), Some("5aa979f540bb4e7162d04363"));
        check(
            json!({"$id": "5b0f00000000000000000001"}),
            Some("5b0f00000000000000000001"),
        );
        check(
            json!({"$oid": "5aa9a8c640bb4e4168d04360"}),
            Some("5aa9a8c640bb4e4168d04360"),
        );
        check(json!(""), None);
        check(json!("../etc/passwd"), None);
        check(json!(12), None);
        check(json!({"id": "x"}), None);
    }
}
