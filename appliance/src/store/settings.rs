//! Settings the admin changes while the hub runs (which modules are on), kept in the
//! database's `meta` table so they survive restarts and backups. Not in the change log:
//! they are this hub's own, never synced.

use rusqlite::OptionalExtension;

use super::Store;
use crate::error::Result;

impl Store {
    /// A setting's value, if the admin ever set it.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(c.prepare_cached("SELECT value FROM meta WHERE key = ?1")?
                .query_row([format!("setting:{key}")], |r| r.get(0))
                .optional()?)
        })
    }

    /// Sets a setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [format!("setting:{key}").as_str(), value],
            )?;
            Ok(())
        })
    }
}
