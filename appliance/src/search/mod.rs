//! Search: a tantivy index in the data dir, fed from the store's change log in order. This is
//! the only module with tantivy.
//!
//! The store stays the source of truth: the index holds what queries need (analysed text,
//! filters, positions, dates, who may see an element) and element ids; results are read back
//! from the store. Each commit records the last change sequence applied as the commit
//! payload, so after a crash the index catches up from there without a rebuild. One writer
//! (behind a mutex, driven by the indexer thread); readers anywhere.

mod query;
mod schema;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use copi_sync::{ChangeFeed, ChangeSeq, EntityKind};
use tantivy::schema::{Schema, Value as _};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::error::{Error, Result};
use crate::model::{self, Element, Kind};
use crate::store::Store;
use crate::territory;

pub use query::{SearchHits, SearchQuery, Suggestion, Viewer};
use schema::Fields;

/// Folder of the index inside the data dir.
pub const INDEX_DIR: &str = "index";

/// Changes applied per commit while catching up.
const BATCH: usize = 1000;

/// The indexing thread's memory budget: tantivy's minimum (a segment is written when it is
/// reached, so a rebuild makes segments of this size).
const WRITER_BUDGET: usize = 15_000_000;

/// Decompressed doc store blocks each segment reader keeps.
const DOC_STORE_CACHE_BLOCKS: usize = 8;

fn index_error(e: tantivy::TantivyError) -> Error {
    Error::Corrupt(format!("search index: {e}"))
}

/// Why the index's writer could not be had. Only a lock another process holds is a
/// conflict; a lock file that cannot be written (a card the kernel made read-only) is not,
/// so the hub still starts and serves with the index in memory.
fn writer_error(e: tantivy::TantivyError) -> Error {
    match e {
        tantivy::TantivyError::LockFailure(tantivy::directory::error::LockError::LockBusy, _) => Error::Conflict(
            "the search index is in use by another copi process (is the hub running? stop it first)".into(),
        ),
        e => index_error(e),
    }
}

pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    /// The last change applied, as committed (a cache of the commit payload).
    indexed: std::sync::atomic::AtomicI64,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").field("dir", &self.dir).finish()
    }
}

impl SearchIndex {
    /// Opens the index in `data_dir/index`, creating it if there is none. An index written
    /// with another schema, or unreadable, is an error: the caller rebuilds it.
    pub fn open(data_dir: &Path) -> Result<SearchIndex> {
        let dir = data_dir.join(INDEX_DIR);
        std::fs::create_dir_all(&dir).map_err(Error::io(format!("cannot create {}", dir.display())))?;
        let (schema, fields) = schema::build();
        let mmap = tantivy::directory::MmapDirectory::open(&dir)
            .map_err(|e| Error::Corrupt(format!("search index directory: {e}")))?;
        let index = Index::open_or_create(mmap, schema.clone()).map_err(index_error)?;
        if !same_schema(&index.schema(), &schema) {
            return Err(Error::Corrupt("search index was written with another schema".into()));
        }
        Self::finish(dir, index, fields)
    }

    /// Deletes whatever index is there and creates an empty one (`copi reindex`, or an index
    /// found corrupt).
    pub fn recreate(data_dir: &Path) -> Result<SearchIndex> {
        let dir = data_dir.join(INDEX_DIR);
        // Refuse while another process writes it (its lock is held); a damaged index, or
        // one nobody holds, is removed.
        if dir.exists() {
            if let Err(e @ Error::Conflict(_)) = Self::open(data_dir) {
                return Err(e);
            }
        }
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(Error::io(format!("cannot remove {}", dir.display())))?;
        }
        Self::open(data_dir)
    }

    /// Opens the index, or recreates it when it cannot be used. When even that fails (a
    /// full or read-only card), the hub still serves: the index is then kept in memory and
    /// rebuilt from the store by the indexer.
    pub fn open_or_recreate(data_dir: &Path) -> Result<SearchIndex> {
        let error = match Self::open(data_dir) {
            Ok(i) => return Ok(i),
            // Another hub holds it: never pull it from under that one.
            Err(e @ Error::Conflict(_)) => return Err(e),
            Err(e) => e,
        };
        tracing::warn!(error = %error, "search index unusable: rebuilding it from the store");
        match Self::recreate(data_dir) {
            Ok(i) => Ok(i),
            Err(e) => {
                tracing::error!(error = %e, "cannot write a search index on disk: keeping it in memory until restart");
                Self::in_memory()
            }
        }
    }

    /// An index in RAM (degraded mode; see [`SearchIndex::open_or_recreate`]).
    pub fn in_memory() -> Result<SearchIndex> {
        let (schema, fields) = schema::build();
        let index = Index::create_in_ram(schema);
        Self::finish(PathBuf::new(), index, fields)
    }

    /// Whether the index lives in memory only.
    pub fn is_in_memory(&self) -> bool {
        self.dir.as_os_str().is_empty()
    }

    fn finish(dir: PathBuf, index: Index, fields: Fields) -> Result<SearchIndex> {
        schema::register(index.tokenizers());
        // Sized for a 512 MB Pi under steady writes (issue 9's soak): one indexing thread with
        // tantivy's smallest budget, and one merge thread instead of four — three threads less
        // (stacks, and an arena each under glibc's defaults), and concurrent merges of the small
        // segments that frequent commits make only add peaks; one at a time keeps up with a
        // hub's write rate.
        let options = tantivy::indexer::IndexWriterOptions::builder()
            .num_worker_threads(1)
            .memory_budget_per_thread(WRITER_BUDGET)
            .num_merge_threads(1)
            .build();
        let writer = index.writer_with_options(options).map_err(writer_error)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            // Every commit reloads the reader, which starts each segment's cache of
            // decompressed doc store blocks afresh: hits only read their id back, so a few
            // blocks per segment are enough (tantivy's default is 100).
            .doc_store_cache_num_blocks(DOC_STORE_CACHE_BLOCKS)
            .try_into()
            .map_err(index_error)?;
        let indexed = index
            .load_metas()
            .map_err(index_error)?
            .payload
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        Ok(SearchIndex {
            dir,
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            indexed: indexed.into(),
        })
    }

    /// The last change sequence the index has applied.
    pub fn indexed_seq(&self) -> ChangeSeq {
        ChangeSeq(self.indexed.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Catches up first if the store has changes the index has not applied, so that a
    /// search sees every write acknowledged before it.
    pub fn fresh(&self, store: &Store) -> Result<()> {
        if store.last_seq()? > self.indexed_seq() {
            self.catch_up(store)?;
        }
        Ok(())
    }

    fn committed(&self, seq: ChangeSeq) -> Result<()> {
        self.reader.reload().map_err(index_error)?;
        self.indexed.store(seq.0, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Number of documents a search can see now.
    pub fn doc_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Applies every change the index has not seen, in order, committing per batch.
    /// Returns how many changes were applied.
    pub fn catch_up(&self, store: &Store) -> Result<usize> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut applied = 0;
        let mut after = self.indexed_seq();
        loop {
            let changes = store.changes_since(after, BATCH)?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                break;
            };
            let mut seen = HashSet::new();
            let ids: Vec<String> = changes
                .iter()
                .filter(|c| c.entity == EntityKind::Element)
                .filter(|c| seen.insert(c.entity_id.clone()))
                .map(|c| c.entity_id.clone())
                .collect();
            self.apply(&writer, store, &ids)?;
            let mut commit = writer.prepare_commit().map_err(index_error)?;
            commit.set_payload(&last.0.to_string());
            commit.commit().map_err(index_error)?;
            self.committed(last)?;
            applied += changes.len();
            after = last;
        }
        Ok(applied)
    }

    /// Empties the index and indexes every element of the store.
    pub fn rebuild(&self, store: &Store, mut progress: impl FnMut(usize)) -> Result<usize> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // The change log position is read first: changes made during the rebuild are applied
        // again by the next catch-up, which is harmless (each is an upsert).
        let last = store.last_seq()?;
        // No background merges while the segments are written: they are merged into one
        // below, which the merge policy would otherwise race for.
        writer.set_merge_policy(Box::new(tantivy::merge_policy::NoMergePolicy));
        writer.delete_all_documents().map_err(index_error)?;
        let mut count = 0;
        let mut batch = Vec::with_capacity(500);
        store.for_each_element(|e| {
            batch.push(e);
            if batch.len() == 500 {
                count += batch.len();
                self.add_elements(&writer, store, std::mem::take(&mut batch))?;
                progress(count);
            }
            Ok(())
        })?;
        count += batch.len();
        self.add_elements(&writer, store, batch)?;
        progress(count);
        let mut commit = writer.prepare_commit().map_err(index_error)?;
        commit.set_payload(&last.0.to_string());
        commit.commit().map_err(index_error)?;
        self.committed(last)?;
        let merged = self.merge_all(&mut writer);
        writer.set_merge_policy(Box::<tantivy::merge_policy::LogMergePolicy>::default());
        merged?;
        Ok(count)
    }

    /// Merges every segment into one and waits for it. A rebuild leaves a segment per
    /// writer budget (a dozen at 100k elements), and a search walks each one (a fuzzy
    /// word's automaton once per segment's terms): one segment answers about twice as fast.
    /// The hub's later writes are merged in the background by the merge policy.
    fn merge_all(&self, writer: &mut IndexWriter) -> Result<()> {
        let segments = self.index.searchable_segment_ids().map_err(index_error)?;
        if segments.len() > 1 {
            writer.merge(&segments).wait().map_err(index_error)?;
            self.reader.reload().map_err(index_error)?;
        }
        Ok(())
    }

    /// Number of segments a search walks.
    pub fn segment_count(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    fn apply(&self, writer: &IndexWriter, store: &Store, ids: &[String]) -> Result<()> {
        for id in ids {
            writer.delete_term(Term::from_field_text(self.fields.id, id));
        }
        let elements = store.get_elements_for_admin(ids)?;
        self.add_elements(writer, store, elements)
    }

    fn add_elements(&self, writer: &IndexWriter, store: &Store, elements: Vec<Element>) -> Result<()> {
        // Organiser names are searchable on their events.
        let organizers: Vec<String> = elements
            .iter()
            .filter(|e| e.kind == Kind::Event)
            .flat_map(Element::organizer_ids)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        // Only organisers everyone may see lend their names: a private or moderated
        // organiser's name must not find its public events.
        let hidden_organizers = store.moderated_ids(&organizers)?;
        let names: std::collections::HashMap<String, String> = store
            .get_elements_for_admin(&organizers)?
            .into_iter()
            .filter(|o| !hidden_organizers.contains(o.id.as_str()))
            .filter(|o| {
                let private = o.doc.get("preferences").and_then(|p| p.get("private"));
                !private.is_some_and(|v| v == &serde_json::Value::Bool(true) || v == "true")
            })
            .filter_map(|o| Some((o.id.to_string(), o.doc.get("name")?.as_str()?.to_owned())))
            .collect();
        // Hidden and pending elements (moderation) are found by the hub's admin only.
        let ids: Vec<String> = elements.iter().map(|e| e.id.to_string()).collect();
        let moderated = store.moderated_ids(&ids)?;
        for e in elements {
            let hidden = moderated.contains(e.id.as_str());
            let doc = self.document(store, e, &names, hidden)?;
            writer.add_document(doc).map_err(index_error)?;
        }
        Ok(())
    }

    fn document(
        &self,
        store: &Store,
        mut e: Element,
        organizer_names: &std::collections::HashMap<String, String>,
        hidden: bool,
    ) -> Result<TantivyDocument> {
        let f = &self.fields;
        let facts = model::check(e.kind, &mut e.doc, store.zone())?;
        let mut d = doc!(f.id => e.id.as_str(), f.kind => e.kind.as_str());
        if let Some(t) = &facts.type_ {
            d.add_text(f.type_, t.to_lowercase());
        }
        for tag in &facts.tags {
            d.add_text(f.tags, tag);
        }
        if hidden {
            // No readers: only the admin's searches (which skip the privacy clause) match.
            d.add_text(f.visibility, "hidden");
        } else if facts.private {
            d.add_text(f.visibility, "private");
            let creator = e.doc.get("creator").and_then(|c| c.as_str()).map(str::to_owned);
            for reader in e
                .links
                .iter()
                .filter(|l| matches!(l.link_type.as_str(), "members" | "contributors" | "attendees"))
                // A pending request or invitation is not membership yet.
                .filter(|l| {
                    let pending = |k: &str| l.attrs.get(k).is_some_and(|v| v == &serde_json::Value::Bool(true));
                    !pending("toBeValidated") && !pending("isInviting")
                })
                .map(|l| l.other.to_string())
                .chain(creator)
            {
                d.add_text(f.readers, reader);
            }
        } else {
            d.add_text(f.visibility, "public");
        }
        let place = territory::locate(
            facts.insee.as_deref(),
            facts.postal_code.as_deref(),
            facts.locality.as_deref(),
        );
        if let Some(c) = place {
            d.add_text(f.insee, c.insee);
            d.add_text(f.department, c.department);
            d.add_text(f.region, c.region);
        } else if let Some(insee) = &facts.insee {
            d.add_text(f.insee, insee);
        }
        if let Some(cp) = &facts.postal_code {
            d.add_text(f.postal_code, cp);
        }
        if let Some((lat, lon)) = facts.position {
            d.add_f64(f.lat, lat);
            d.add_f64(f.lon, lon);
        }
        if let Some(start) = facts.start {
            d.add_i64(f.start, start);
            d.add_i64(f.end, facts.end.unwrap_or(start).max(start));
        }
        // Text: what a visitor may type to find the element.
        let mut text = document_text(&e);
        let mut push = |s: &str| {
            text.push_str(s);
            text.push('\n');
        };
        for tag in &facts.tags {
            push(tag);
        }
        if let Some(l) = &facts.locality {
            push(l);
        } else if let Some(c) = place {
            push(c.name);
        }
        for id in e.organizer_ids() {
            if let Some(n) = organizer_names.get(&id) {
                push(n);
            }
        }
        for field in f.name {
            d.add_text(field, &facts.name);
        }
        for field in f.text {
            d.add_text(field, &text);
        }
        d.add_text(f.name_plain, &facts.name);
        d.add_text(f.plain, format!("{}\n{}", facts.name, text));
        Ok(d)
    }

    /// Runs a search. Privacy is part of the query: what the viewer may not see is neither
    /// returned nor counted.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchHits> {
        query::run(self, q)
    }

    /// Names that start with what the visitor is typing.
    pub fn suggest(&self, text: &str, viewer: &Viewer, limit: usize) -> Result<Vec<Suggestion>> {
        query::suggest(self, text, viewer, limit)
    }

    /// The stored id of a hit.
    fn id_of(&self, doc: &TantivyDocument) -> Option<String> {
        doc.get_first(self.fields.id)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }
}

/// The document fields whose text is searched besides the name (one per line); the index
/// adds tags, locality and organiser names.
pub fn document_text(e: &Element) -> String {
    let mut text = String::new();
    for key in [
        "shortDescription",
        "description",
        "category",
        "subtype",
        "section",
        "username",
    ] {
        if let Some(s) = e.doc.get(key).and_then(|v| v.as_str()) {
            text.push_str(s);
            text.push('\n');
        }
    }
    text
}

fn same_schema(a: &Schema, b: &Schema) -> bool {
    let names = |s: &Schema| {
        s.fields()
            .map(|(_, e)| (e.name().to_owned(), format!("{:?}", e.field_type())))
            .collect::<Vec<_>>()
    };
    names(a) == names(b)
}

/// Runs the indexer: catches up now, then after every store write (coalesced), until the
/// store is dropped. Returns at once; the work happens on its own thread.
pub fn spawn_indexer(index: Arc<SearchIndex>, store: Arc<Store>) -> std::thread::JoinHandle<()> {
    let wake = store.subscribe();
    std::thread::Builder::new()
        .name("copi-indexer".into())
        .spawn(move || loop {
            match index.catch_up(&store) {
                Ok(n) if n > 0 => tracing::debug!(changes = n, "indexed"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "indexing failed; retrying"),
            }
            match wake.recv_timeout(Duration::from_secs(5)) {
                Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    // Let a burst of writes land in one commit.
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
            }
        })
        .expect("spawning a thread")
}

#[cfg(test)]
mod tests;
