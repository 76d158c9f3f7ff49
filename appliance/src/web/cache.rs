//! Rendered pages kept for anonymous visitors, so that the busy pages (home, agenda, lists)
//! are served from memory. A page is keyed by its path and query, language and territory;
//! it is dropped as soon as the store changes (the store's write generation) and after a
//! minute (pages say "coming" and "today"). The cache holds at most [`MAX_BYTES`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use maud::Markup;

use super::layout::Ctx;
use super::pages::Html;

/// Largest total size of the pages kept (they are 10 to 60 KiB each).
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Longest time a page is kept when nothing changes.
pub const MAX_AGE: Duration = Duration::from_secs(60);

struct Entry {
    generation: u64,
    made: Instant,
    html: Arc<str>,
}

#[derive(Default)]
pub struct PageCache {
    entries: Mutex<(HashMap<String, Entry>, usize)>,
}

fn key(ctx: &Ctx<'_>) -> Option<String> {
    ctx.cacheable()
        .then(|| format!("{}\u{0}{}\u{0}{}", ctx.lang.code(), ctx.scope_key(), ctx.here))
}

impl PageCache {
    /// The page for this visitor and path if it is still valid.
    pub fn get(&self, ctx: &Ctx<'_>) -> Option<Html> {
        let key = key(ctx)?;
        let generation = ctx.hub.store.generation();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = entries.0.get(&key)?;
        (e.generation == generation && e.made.elapsed() < MAX_AGE).then(|| Html(e.html.clone()))
    }

    /// Keeps a freshly rendered page (when the visitor is anonymous) and returns it.
    pub fn put(&self, ctx: &Ctx<'_>, page: Markup) -> Html {
        let html = page.into_string();
        let Some(key) = key(ctx) else { return Html::from(html) };
        if html.len() > MAX_BYTES / 8 {
            return Html::from(html);
        }
        let generation = ctx.hub.store.generation();
        let mut guard = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (entries, bytes) = &mut *guard;
        if let Some(old) = entries.remove(&key) {
            *bytes -= old.html.len();
        }
        // Make room: stale entries first, then the oldest.
        while *bytes + html.len() > MAX_BYTES {
            let victim = entries
                .iter()
                .min_by_key(|(_, e)| (e.generation == generation, e.made))
                .map(|(k, _)| k.clone());
            let Some(victim) = victim else { break };
            if let Some(old) = entries.remove(&victim) {
                *bytes -= old.html.len();
            }
        }
        *bytes += html.len();
        let html: Arc<str> = html.into();
        entries.insert(
            key,
            Entry {
                generation,
                made: Instant::now(),
                html: html.clone(),
            },
        );
        Html(html)
    }
}
