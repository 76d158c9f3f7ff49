//! What a person's export holds beyond their own document: the elements they created and
//! the posts and comments they wrote.

use super::Store;
use crate::error::Result;
use crate::model::{Element, ElementId, Record};

impl Store {
    /// The elements whose `creator` is this person, oldest first; with `moderated`, also
    /// those moderation hid or holds (for the hub's admin).
    pub fn created_by(&self, person: &ElementId, moderated: bool) -> Result<Vec<Element>> {
        let ids: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id FROM elements WHERE json_extract(doc, '$.creator') = ?1 AND id <> ?1 ORDER BY created_seq",
            )?;
            let rows = stmt.query_map([person.as_str()], |r| r.get(0))?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })?;
        if moderated {
            self.get_elements_for_admin(&ids)
        } else {
            self.get_elements(&ids)
        }
    }

    /// The posts, comments and documents this person wrote, oldest first.
    pub fn authored_by(&self, person: &ElementId) -> Result<Vec<Record>> {
        let ids: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT id FROM records WHERE author = ?1 ORDER BY created_seq")?;
            let rows = stmt.query_map([person.as_str()], |r| r.get(0))?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(id) = ElementId::parse(&id) {
                out.extend(self.get_record(&id)?);
            }
        }
        Ok(out)
    }
}
