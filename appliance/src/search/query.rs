//! Turning a visitor's search into a tantivy query, and running it.

use std::collections::HashSet;
use std::ops::Bound;

use serde_json::json;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::{AggContextParams, AggregationCollector};
use tantivy::collector::{Count, MultiCollector, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::{Language, LowerCaser, SimpleTokenizer, StopWordFilter, TextAnalyzer};
use tantivy::{DocId, Score, SegmentReader, TantivyDocument, Term};

use super::schema;
use super::{index_error, SearchIndex};
use crate::error::{Error, Result};
use crate::model::{ElementId, Kind};
use crate::territory::{self, Scope};

/// Who is searching: what they may see is decided inside the query.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    /// The hub's admin sees everything.
    pub all: bool,
    /// Ids whose private elements the viewer may see (their own id, once accounts exist).
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub kinds: Vec<Kind>,
    pub tags: Vec<String>,
    pub scopes: Vec<Scope>,
    /// (latitude, longitude, kilometres)
    pub near: Option<(f64, f64, f64)>,
    /// Events overlapping [from, to], epoch seconds.
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Only events not yet over (and every other kind).
    pub coming: bool,
    pub limit: usize,
    pub offset: usize,
    pub viewer: Viewer,
    /// "Now", for coming events (epoch seconds).
    pub now: i64,
    /// The hub's home point, for proximity: (latitude, longitude).
    pub home: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchHits {
    pub ids: Vec<ElementId>,
    pub total: usize,
    /// Matches per kind, and the most frequent tags among matches.
    pub kinds: Vec<(String, u64)>,
    pub tags: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub id: ElementId,
}

/// Most tags reported as facets.
const TOP_TAGS: u32 = 15;

fn term(field: tantivy::schema::Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

fn boosted(q: Box<dyn Query>, boost: f32) -> (Occur, Box<dyn Query>) {
    (Occur::Should, Box::new(BoostQuery::new(q, boost)))
}

fn any_of(clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        clauses.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

/// Runs `text` through an analyzer and returns its tokens.
fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

fn is_stopword(word: &str) -> bool {
    let mut filter = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::French).expect("French stop words"))
        .filter(StopWordFilter::new(Language::English).expect("English stop words"))
        .filter(StopWordFilter::new(Language::German).expect("German stop words"))
        .build();
    tokens(&mut filter, word).is_empty()
}

/// The clauses a visitor's words make. Each word must match somewhere (stop words need
/// not); a match in the name counts more; a word of 5+ letters also matches with one typo
/// (9+: two); with `prefix`, the last word also matches as the start of a word.
fn text_query(index: &SearchIndex, text: &str, prefix: bool) -> Option<Box<dyn Query>> {
    let f = &index.fields;
    let mut split = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .build();
    let words = tokens(&mut split, text);
    if words.is_empty() {
        return None;
    }
    let mut folded = schema::folded();
    let mut analyzers: Vec<TextAnalyzer> = schema::LANGUAGES
        .iter()
        .map(|name| index.index.tokenizers().get(name).expect("analyzers are registered"))
        .collect();
    let all_stop = words.iter().all(|w| is_stopword(w));
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let Some(plain) = tokens(&mut folded, word).into_iter().next() else {
            continue;
        };
        let last = i + 1 == words.len();
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut seen = HashSet::new();
        for (l, analyzer) in analyzers.iter_mut().enumerate() {
            for stem in tokens(analyzer, word) {
                if seen.insert((l, stem.clone())) {
                    should.push(boosted(term(f.name[l], &stem), 3.0));
                    should.push(boosted(term(f.text[l], &stem), 1.0));
                }
            }
        }
        should.push(boosted(term(f.plain, &plain), 1.5));
        should.push(boosted(term(f.name_plain, &plain), 3.0));
        let len = plain.chars().count();
        if len >= 5 {
            let distance = if len >= 9 { 2 } else { 1 };
            let fuzzy = FuzzyTermQuery::new(Term::from_field_text(f.plain, &plain), distance, true);
            should.push(boosted(Box::new(fuzzy), 0.5));
        }
        if prefix && last && len >= 2 {
            let p = FuzzyTermQuery::new_prefix(Term::from_field_text(f.plain, &plain), 0, true);
            should.push(boosted(Box::new(p), 0.8));
        }
        let occur = if all_stop || !is_stopword(word) {
            Occur::Must
        } else {
            Occur::Should
        };
        clauses.push((occur, Box::new(BooleanQuery::new(should))));
    }
    Some(Box::new(BooleanQuery::new(clauses)))
}

fn range_i64(field: tantivy::schema::Field, lo: Bound<i64>, hi: Bound<i64>) -> Box<dyn Query> {
    let t = |v: i64| Term::from_field_i64(field, v);
    Box::new(RangeQuery::new(lo.map(t), hi.map(t)))
}

fn range_f64(field: tantivy::schema::Field, lo: f64, hi: f64) -> Box<dyn Query> {
    let t = |v: f64| Term::from_field_f64(field, v);
    Box::new(RangeQuery::new(Bound::Included(t(lo)), Bound::Included(t(hi))))
}

/// The filters: what the viewer may see, kinds, tags, territories, place and dates.
fn filters(index: &SearchIndex, q: &SearchQuery) -> Vec<(Occur, Box<dyn Query>)> {
    let f = &index.fields;
    let mut must: Vec<Box<dyn Query>> = Vec::new();
    if !q.viewer.all {
        let mut may = vec![term(f.visibility, "public")];
        may.extend(q.viewer.ids.iter().map(|id| term(f.readers, id)));
        must.push(any_of(may));
    }
    if !q.kinds.is_empty() {
        must.push(any_of(q.kinds.iter().map(|k| term(f.kind, k.as_str())).collect()));
    }
    if !q.tags.is_empty() {
        must.push(any_of(q.tags.iter().map(|t| term(f.tags, t)).collect()));
    }
    if !q.scopes.is_empty() {
        let mut any = Vec::new();
        for scope in &q.scopes {
            match scope {
                Scope::City(c) => {
                    any.push(term(f.insee, c));
                    any.extend(territory::arrondissements_of(c).map(|a| term(f.insee, a.insee)));
                }
                Scope::PostalCode(c) => any.push(term(f.postal_code, c)),
                Scope::Department(c) => any.push(term(f.department, c)),
                Scope::Region(c) => any.push(term(f.region, c)),
            }
        }
        must.push(any_of(any));
    }
    if let Some((lat, lon, km)) = q.near {
        // The box around the circle: 111.2 km per degree of latitude.
        let dlat = km / 111.2;
        let dlon = km / (111.2 * lat.to_radians().cos().abs().max(0.01));
        must.push(range_f64(f.lat, lat - dlat, lat + dlat));
        must.push(range_f64(f.lon, lon - dlon, lon + dlon));
    }
    let from = match (q.from, q.coming) {
        (Some(from), true) => Some(from.max(q.now)),
        (from, true) => Some(from.unwrap_or(q.now)),
        (from, false) => from,
    };
    if from.is_some() || q.to.is_some() {
        // Dates concern events: other kinds pass only when no date range was asked for
        // (coming=true alone keeps them).
        let mut event = Vec::new();
        if let Some(from) = from {
            event.push((Occur::Must, range_i64(f.end, Bound::Included(from), Bound::Unbounded)));
        }
        if let Some(to) = q.to {
            event.push((Occur::Must, range_i64(f.start, Bound::Unbounded, Bound::Included(to))));
        }
        let event: Box<dyn Query> = Box::new(BooleanQuery::new(event));
        if q.from.is_none() && q.to.is_none() {
            let not_event: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
                (Occur::MustNot, term(f.kind, Kind::Event.as_str())),
            ]));
            must.push(any_of(vec![event, not_event]));
        } else {
            must.push(event);
        }
    }
    must.into_iter().map(|q| (Occur::Must, q)).collect()
}

/// Distance in km between two points (haversine).
fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

pub(super) fn run(index: &SearchIndex, q: &SearchQuery) -> Result<SearchHits> {
    let mut clauses = filters(index, q);
    match text_query(index, &q.text, false) {
        Some(t) => clauses.push((Occur::Must, t)),
        None => clauses.push((Occur::Must, Box::new(AllQuery))),
    }
    let query = BooleanQuery::new(clauses);
    let limit = q.limit.clamp(1, 200);
    let (now, home) = (q.now, q.home);
    let top = TopDocs::with_limit(limit)
        .and_offset(q.offset)
        .tweak_score(move |segment: &SegmentReader| {
            let fast = segment.fast_fields();
            let start = fast.i64("start").ok();
            let end = fast.i64("end").ok();
            let lat = fast.f64("lat").ok();
            let lon = fast.f64("lon").ok();
            move |doc: DocId, score: Score| {
                let mut boost = 1.0f32;
                // Coming events before past ones.
                if let (Some(start), Some(end)) = (&start, &end) {
                    if let (Some(_), Some(e)) = (start.first(doc), end.first(doc)) {
                        boost *= if e >= now { 1.5 } else { 0.4 };
                    }
                }
                // Nearer the hub's territory first.
                if let (Some(home), Some(lat), Some(lon)) = (home, &lat, &lon) {
                    if let (Some(a), Some(o)) = (lat.first(doc), lon.first(doc)) {
                        boost *= 1.0 + 0.5 * (-(distance_km(home, (a, o)) / 25.0)).exp() as f32;
                    }
                }
                // Ties are broken by position in the index, which is stable for one index.
                score * boost
            }
        });
    let aggs: Aggregations = serde_json::from_value(json!({
        "kinds": {"terms": {"field": "kind", "size": 10}},
        "tags": {"terms": {"field": "tags", "size": TOP_TAGS}},
    }))
    .map_err(|e| Error::Corrupt(format!("facet request: {e}")))?;
    let mut multi = MultiCollector::new();
    let top_handle = multi.add_collector(top);
    let count_handle = multi.add_collector(Count);
    let agg_handle = multi.add_collector(AggregationCollector::from_aggs(aggs, AggContextParams::default()));
    let searcher = index.reader.searcher();
    let mut fruits = searcher.search(&query, &multi).map_err(index_error)?;
    let top = top_handle.extract(&mut fruits);
    let total = count_handle.extract(&mut fruits);
    let aggs = agg_handle.extract(&mut fruits);
    let mut ids = Vec::with_capacity(top.len());
    for (_, address) in top {
        let doc: TantivyDocument = searcher.doc(address).map_err(index_error)?;
        if let Some(id) = index.id_of(&doc).and_then(|i| ElementId::parse(&i)) {
            ids.push(id);
        }
    }
    let aggs = serde_json::to_value(&aggs).map_err(|e| Error::Corrupt(e.to_string()))?;
    let buckets = |name: &str| -> Vec<(String, u64)> {
        aggs[name]["buckets"]
            .as_array()
            .map(|b| {
                b.iter()
                    .filter_map(|b| Some((b["key"].as_str()?.to_owned(), b["doc_count"].as_u64()?)))
                    .collect()
            })
            .unwrap_or_default()
    };

    Ok(SearchHits {
        ids,
        total,
        kinds: buckets("kinds"),
        tags: buckets("tags"),
    })
}

pub(super) fn suggest(index: &SearchIndex, text: &str, viewer: &Viewer, limit: usize) -> Result<Vec<Suggestion>> {
    let Some(text_q) = text_query(index, text, true) else {
        return Ok(Vec::new());
    };
    let q = SearchQuery {
        viewer: viewer.clone(),
        ..Default::default()
    };
    let mut clauses = filters(index, &q);
    clauses.push((Occur::Must, text_q));
    let query = BooleanQuery::new(clauses);
    let searcher = index.reader.searcher();
    let top = searcher
        .search(&query, &TopDocs::with_limit(limit.clamp(1, 20)).order_by_score())
        .map_err(index_error)?;
    let mut out = Vec::new();
    for (_, address) in top {
        let doc: TantivyDocument = searcher.doc(address).map_err(index_error)?;
        if let Some(id) = index.id_of(&doc).and_then(|i| ElementId::parse(&i)) {
            out.push(Suggestion { id });
        }
    }
    Ok(out)
}
