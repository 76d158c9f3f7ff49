//! The demo hub: what `copi serve --demo` writes into an empty data dir, and what the
//! benchmarks load at 20k and 100k elements.
//!
//! [`generate`] returns a CoPi bundle (see [`crate::bundle`]) for a real territory: Crest in
//! the Drôme and a dozen neighbouring communes; at bench sizes also the whole Drôme and the
//! departments around it (Ardèche, Isère, Vaucluse, Hautes-Alpes) in proportion to their
//! population. It holds every kind of element with Communecter's fields, links stored on
//! both elements as Communecter stores them, events from two months before `today` to three
//! months after, journal posts and comments, all in French.
//!
//! Deterministic: a fixed-seed generator drives every choice, ids included (never
//! [`ElementId::generate`](crate::model::ElementId::generate)), and JSON objects keep their
//! insertion order, so the same `today` and size give byte-identical output.

mod text;
mod words;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::f64::consts::TAU;

use fastrand::Rng;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::{json, Map, Value};

use crate::bundle::{FORMAT, FORMAT_VERSION};
use crate::model::{geo_coordinates, geo_position, reciprocal, Kind};
use crate::territory;
use text::{a, capitalize, de, pick, PostAbout, Target};
use words::*;

/// How big a demo hub to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSize {
    /// Elements of all kinds; journal posts and comments scale with it.
    pub elements: usize,
}

impl Default for DemoSize {
    /// What a newcomer sees first: about 360 elements (365: 90 persons, 45 organizations,
    /// 30 projects, 80 events, 40 points of interest, 40 classifieds, 40 mutual-aid offers
    /// and needs), about 120 posts and 200 comments.
    fn default() -> Self {
        DemoSize { elements: MIX_TOTAL }
    }
}

/// The mix of kinds, per [`MIX_TOTAL`] elements.
const MIX: [(Kind, usize); 7] = [
    (Kind::Person, 90),
    (Kind::Organization, 45),
    (Kind::Project, 30),
    (Kind::Event, 80),
    (Kind::Poi, 40),
    (Kind::Classified, 40),
    (Kind::Resource, 40),
];
const MIX_TOTAL: usize = 365;
/// Posts and comments per [`MIX_TOTAL`] elements, and their caps.
const POSTS: (usize, usize) = (120, 30_000);
const COMMENTS: (usize, usize) = (200, 50_000);
/// Up to this many elements, everything is around Crest; beyond, about this many stay there
/// and the rest spreads over the region.
const HOME_ELEMENTS: usize = 1000;
/// How far from a commune's point an address may be, in km.
const SPREAD_KM: f64 = 1.3;
/// Events run from this many days before `today`…
const PAST_DAYS: i64 = 60;
/// …to this many days after.
const COMING_DAYS: i64 = 90;

const SEED: u64 = 0x0C0F_1D20_26C0_FFEE;
const ZONE: &str = "Europe/Paris";

/// A CoPi bundle for a demo hub of about `size.elements` elements, with events placed
/// around `today` (in Europe/Paris) and every `created` before it.
pub fn generate(today: Date, size: &DemoSize) -> Value {
    let n = size.elements;
    let mut counts = [0usize; 7];
    for (i, (_, weight)) in MIX.iter().enumerate() {
        counts[i] = n * weight / MIX_TOTAL;
    }
    counts[0] += n - counts.iter().sum::<usize>();
    // Only organizations organize events: a tiny demo needs one.
    if counts[1] == 0 && counts[3] > 0 && counts[0] > 1 {
        counts[1] = 1;
        counts[0] -= 1;
    }
    let mut g = Gen::new(today, n);
    g.persons(counts[0]);
    g.organizations(counts[1]);
    g.projects(counts[2]);
    g.events(counts[3]);
    g.pois(counts[4]);
    g.classifieds(counts[5]);
    g.resources(counts[6]);
    g.follows();
    g.posts((n * POSTS.0 / MIX_TOTAL).min(POSTS.1));
    g.comments((n * COMMENTS.0 / MIX_TOTAL).min(COMMENTS.1));
    g.into_bundle()
}

/// A commune elements are placed in.
#[derive(Clone, Copy)]
struct Place {
    insee: &'static str,
    name: &'static str,
    postal_code: &'static str,
    department: &'static str,
    region: &'static str,
    lat: f64,
    lon: f64,
}

/// Picks indices in proportion to their weights.
struct Weighted {
    cumulative: Vec<u64>,
    items: Vec<u32>,
}

impl Weighted {
    fn new(pairs: impl Iterator<Item = (u32, u64)>) -> Weighted {
        let mut w = Weighted {
            cumulative: Vec::new(),
            items: Vec::new(),
        };
        let mut total = 0;
        for (item, weight) in pairs {
            total += weight.max(1);
            w.cumulative.push(total);
            w.items.push(item);
        }
        w
    }

    fn pick(&self, rng: &mut Rng) -> u32 {
        let total = *self.cumulative.last().expect("a weighted list is not empty");
        let x = rng.u64(..total);
        self.items[self.cumulative.partition_point(|&c| c <= x)]
    }
}

struct EventInfo {
    day: i64,
    hour: i8,
    minute: i8,
    start: i64,
    end: i64,
    venue: &'static str,
}

struct Node {
    id: String,
    kind: Kind,
    place: u32,
    name: String,
    doc: Map<String, Value>,
    links: Map<String, Value>,
    /// Persons linked as members, contributors or attendees.
    people: Vec<u32>,
    /// The person who runs it (itself for a person).
    admin: u32,
    private: bool,
    created: i64,
    tags: Vec<&'static str>,
    event: Option<EventInfo>,
    /// Persons: first name and gender (for roles).
    first: &'static str,
    female: bool,
}

struct PostMeta {
    id: String,
    target: u32,
    created: i64,
}

struct Gen {
    rng: Rng,
    today: Date,
    tz: TimeZone,
    /// `today` at 00:00 in Paris, epoch seconds: every `created` is before it.
    now: i64,
    places: Vec<Place>,
    people_at: Vec<Vec<u32>>,
    home: Vec<u32>,
    home_pick: Weighted,
    region_pick: Option<Weighted>,
    local_share: f64,
    nodes: Vec<Node>,
    by_kind: [Vec<u32>; 7],
    town_halls: Vec<u32>,
    festival_turn: usize,
    ids: HashSet<u64>,
    slugs: HashSet<String>,
    slug_next: HashMap<String, u32>,
    names: HashSet<String>,
    posts: Vec<Value>,
    post_meta: Vec<PostMeta>,
    comments: Vec<Value>,
}

/// Fields of an element's document, about: sized up front, as a `Map` that grows doubles.
const DOC_FIELDS: usize = 26;

/// A JSON object holding exactly `pairs` (the `json!` macro's maps grow by doubling, which
/// adds up over 100k elements).
fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    let mut map = Map::with_capacity(N);
    for (k, v) in pairs {
        map.insert(k.into(), v);
    }
    Value::Object(map)
}

fn kind_index(kind: Kind) -> usize {
    Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Slugs as Communecter makes them: lower-case ASCII letters and digits.
fn slugify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let folded = match c {
            'à' | 'â' | 'ä' | 'á' | 'À' | 'Â' => "a",
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' => "e",
            'î' | 'ï' | 'Î' | 'Ï' => "i",
            'ô' | 'ö' | 'Ô' => "o",
            'ù' | 'û' | 'ü' | 'Û' => "u",
            'ç' | 'Ç' => "c",
            'œ' | 'Œ' => "oe",
            'æ' => "ae",
            'ÿ' => "y",
            'ñ' => "n",
            _ => "",
        };
        if !folded.is_empty() {
            out.push_str(folded);
        } else if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        }
        if out.len() >= 48 {
            break;
        }
    }
    if out.is_empty() {
        out.push_str("element");
    }
    out
}

fn place_of(c: &territory::Commune) -> Option<Place> {
    let (lat, lon) = c.position?;
    let department = territory::department(c.department)?;
    let region = territory::region(c.region)?;
    Some(Place {
        insee: c.insee,
        name: c.name,
        postal_code: c.postal_codes.first()?,
        department: department.name,
        region: region.name,
        lat,
        lon,
    })
}

impl Gen {
    fn new(today: Date, elements: usize) -> Gen {
        let tz = TimeZone::get(ZONE).unwrap_or(TimeZone::UTC);
        let now = tz
            .to_timestamp(today.at(0, 0, 0, 0))
            .map(|t| t.as_second())
            .unwrap_or(0);
        let mut places = Vec::new();
        let mut weights = Vec::new();
        let big = elements > HOME_ELEMENTS;
        if big {
            for dep in REGION_DEPARTMENTS {
                for c in territory::communes_in_department(dep) {
                    if let Some(p) = place_of(&c) {
                        weights.push((places.len() as u32, u64::from(c.population.unwrap_or(0))));
                        places.push(p);
                    }
                }
            }
        }
        let mut home = Vec::new();
        let mut home_weights = Vec::new();
        for insee in HOME_COMMUNES {
            let Some(c) = territory::commune(insee) else { continue };
            let index = match places.iter().position(|p| p.insee == c.insee) {
                Some(i) => i,
                None => match place_of(&c) {
                    Some(p) => {
                        places.push(p);
                        places.len() - 1
                    }
                    None => continue,
                },
            };
            home.push(index as u32);
            home_weights.push((index as u32, u64::from(c.population.unwrap_or(0))));
        }
        assert!(
            !home.is_empty(),
            "the reference territories hold Crest and its neighbours"
        );
        Gen {
            rng: Rng::with_seed(SEED),
            today,
            tz,
            now,
            people_at: vec![Vec::new(); places.len()],
            places,
            home,
            home_pick: Weighted::new(home_weights.into_iter()),
            region_pick: big.then(|| Weighted::new(weights.into_iter())),
            local_share: (HOME_ELEMENTS as f64 / elements.max(1) as f64).min(1.0),
            nodes: Vec::with_capacity(elements),
            by_kind: Default::default(),
            town_halls: Vec::new(),
            festival_turn: 0,
            ids: HashSet::new(),
            slugs: HashSet::new(),
            slug_next: HashMap::new(),
            names: HashSet::new(),
            posts: Vec::new(),
            post_meta: Vec::new(),
            comments: Vec::new(),
        }
    }

    // ----- building blocks -----

    fn pick_place(&mut self) -> u32 {
        match &self.region_pick {
            Some(region) if self.rng.f64() >= self.local_share => region.pick(&mut self.rng),
            _ => self.home_pick.pick(&mut self.rng),
        }
    }

    fn is_home(&self, place: u32) -> bool {
        self.home.contains(&place)
    }

    /// An ObjectId-like id: the creation time, then 8 random bytes.
    fn new_id(&mut self, created: i64) -> String {
        loop {
            let r = self.rng.u64(..);
            if self.ids.insert(r) {
                return format!("{:08x}{r:016x}", created.clamp(0, i64::from(u32::MAX)) as u32);
            }
        }
    }

    fn unique_slug(&mut self, base: String) -> String {
        if !self.slugs.contains(&base) {
            self.slugs.insert(base.clone());
            return base;
        }
        let next = self.slug_next.entry(base.clone()).or_insert(1);
        loop {
            *next += 1;
            let candidate = format!("{base}{next}");
            if self.slugs.insert(candidate.clone()) {
                return candidate;
            }
        }
    }

    /// `name`, or a variant of it no other element bears.
    fn unique_name(&mut self, name: String, place: u32) -> String {
        if self.names.insert(name.clone()) {
            return name;
        }
        let street = capitalize(pick(&mut self.rng, STREETS));
        let with_street = format!("{name} – {street}");
        if self.names.insert(with_street.clone()) {
            return with_street;
        }
        let commune = self.places[place as usize].name;
        for n in 2.. {
            let candidate = format!("{name} ({commune}, {n})");
            if self.names.insert(candidate.clone()) {
                return candidate;
            }
        }
        unreachable!("an unbounded loop returns")
    }

    /// Seconds `min_days`..`max_days` days before today.
    fn ago(&mut self, min_days: f64, max_days: f64) -> i64 {
        let days = min_days + self.rng.f64() * (max_days - min_days);
        self.now - (days * 86_400.0) as i64
    }

    fn date(&self, day: i64) -> Date {
        self.today
            .checked_add(jiff::Span::new().days(day))
            .unwrap_or(self.today)
    }

    /// Epoch seconds of `day` days from today at `hour:minute`, Paris time.
    fn at(&self, day: i64, hour: i8, minute: i8) -> i64 {
        let civil = self.date(day).at(hour, minute, 0, 0);
        self.tz
            .to_timestamp(civil)
            .map(|t| t.as_second())
            .unwrap_or(self.now + day * 86_400)
    }

    /// A date as Communecter stores it: `{"sec","usec"}` (raw API) or, for some,
    /// the ISO string `/co2/element/get` returns.
    fn date_value(secs: i64, iso: bool) -> Value {
        if iso {
            let ts = jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            Value::String(ts.strftime("%Y-%m-%dT%H:%M:%S+0000").to_string())
        } else {
            json!({"sec": secs, "usec": 0})
        }
    }

    /// `t` moved out of the night (23:00–07:00 in Paris) when it falls there, staying
    /// before today and not before `not_before`.
    fn daytime(&mut self, t: i64, not_before: i64) -> i64 {
        let offset = jiff::Timestamp::from_second(t).map_or(0, |ts| i64::from(self.tz.to_offset(ts).seconds()));
        let hour = (t + offset).rem_euclid(86_400) / 3_600;
        if (7..23).contains(&hour) {
            return t;
        }
        let jitter = self.rng.i64(0..5_400);
        let forward = t + ((7 - hour).rem_euclid(24)) * 3_600 + jitter;
        if forward < self.now - 600 {
            return forward;
        }
        let back = t - ((hour - 21).rem_euclid(24)) * 3_600 - jitter;
        back.max(not_before)
    }

    fn street(&mut self, place: u32) -> String {
        if self.is_home(place) && self.rng.u8(..10) == 0 {
            let other = self.home[self.rng.usize(..self.home.len())];
            if other != place {
                let name = self.places[other as usize].name;
                return format!("{} route {}", 10 + self.rng.u32(..1800), de(name));
            }
        }
        let street = pick(&mut self.rng, STREETS);
        if street.starts_with("place") && self.rng.bool() {
            return capitalize(street);
        }
        let number = if street.starts_with("chemin") || street.starts_with("route") || street.starts_with("traverse") {
            20 + self.rng.u32(..1400)
        } else {
            1 + self.rng.u32(..60)
        };
        let bis = if self.rng.u8(..20) == 0 { " bis" } else { "" };
        format!("{number}{bis} {street}")
    }

    /// `address`, `geo` and `geoPosition` of an element in `place`.
    fn put_address(&mut self, i: u32, place: u32, street: Option<String>) {
        let p = self.places[place as usize];
        let street = match street {
            Some(s) => s,
            None => self.street(place),
        };
        let r = SPREAD_KM * self.rng.f64().sqrt();
        let angle = self.rng.f64() * TAU;
        let lat = round6(p.lat + r * angle.cos() / 111.2);
        let lon = round6(p.lon + r * angle.sin() / (111.2 * p.lat.to_radians().cos()));
        let doc = &mut self.nodes[i as usize].doc;
        let address = object([
            ("@type", "PostalAddress".into()),
            ("streetAddress", street.into()),
            ("postalCode", p.postal_code.into()),
            ("addressLocality", p.name.into()),
            ("codeInsee", p.insee.into()),
            ("addressCountry", "FR".into()),
            ("level1Name", "France".into()),
            ("level3Name", p.region.into()),
            ("level4Name", p.department.into()),
        ]);
        doc.insert("address".into(), address);
        doc.insert("geo".into(), geo_coordinates(lat, lon));
        doc.insert("geoPosition".into(), geo_position(lat, lon));
    }

    /// A new element with its identity fields; the caller adds the rest.
    fn push(&mut self, kind: Kind, place: u32, name: String, slug_base: &str, created: i64) -> u32 {
        let id = self.new_id(created);
        let slug = self.unique_slug(slugify(slug_base));
        let mut doc = Map::with_capacity(DOC_FIELDS);
        doc.insert("id".into(), Value::String(id.clone()));
        doc.insert("kind".into(), Value::String(kind.as_str().into()));
        doc.insert("collection".into(), Value::String(kind.collection().into()));
        doc.insert("name".into(), Value::String(name.clone()));
        doc.insert("slug".into(), Value::String(slug));
        let index = self.nodes.len() as u32;
        self.nodes.push(Node {
            id,
            kind,
            place,
            name,
            doc,
            links: Map::new(),
            people: Vec::new(),
            admin: index,
            private: false,
            created,
            tags: Vec::new(),
            event: None,
            first: "",
            female: false,
        });
        self.by_kind[kind_index(kind)].push(index);
        index
    }

    fn set(&mut self, i: u32, key: &str, value: Value) {
        self.nodes[i as usize].doc.insert(key.into(), value);
    }

    /// Tags from a theme plus, for people and the groups they run, sometimes one of the
    /// common tags (so that tag filters cross kinds).
    fn tags(&mut self, theme: &[&'static str], broad: bool) -> Vec<&'static str> {
        let mut tags: Vec<&'static str> = theme.to_vec();
        if broad && self.rng.u8(..3) == 0 {
            let extra = pick(&mut self.rng, COMMON_TAGS);
            if !tags.contains(&extra) {
                tags.push(extra);
            }
        }
        tags
    }

    fn put_tags(&mut self, i: u32, tags: Vec<&'static str>) {
        self.set(i, "tags", json!(tags));
        self.nodes[i as usize].tags = tags;
    }

    fn put_times(&mut self, i: u32, creator: Option<u32>) {
        let created = self.nodes[i as usize].created;
        let span = (self.now - 3_600 - created).max(0);
        let updated = created
            + if span > 0 {
                self.rng.i64(0..=span.min(120 * 86_400))
            } else {
                0
            };
        if let Some(c) = creator {
            let creator_id = self.nodes[c as usize].id.clone();
            self.set(i, "creator", Value::String(creator_id));
        }
        self.set(i, "created", json!(created));
        self.set(i, "updated", json!(updated));
    }

    /// Links `a` to `b` as `link_type`, and `b` to `a` with the reciprocal type, both with
    /// `extra` attributes. False when they were linked already.
    fn link(&mut self, a: u32, link_type: &str, b: u32, extra: &[(&str, Value)]) -> bool {
        if a == b {
            return false;
        }
        let (ka, kb) = (self.nodes[a as usize].kind, self.nodes[b as usize].kind);
        let Some(back) = reciprocal(link_type, ka, kb) else {
            debug_assert!(false, "no reciprocal for {link_type} from {ka} to {kb}");
            return false;
        };
        let b_id = self.nodes[b as usize].id.clone();
        let a_id = self.nodes[a as usize].id.clone();
        let side = |collection: &str| {
            let mut attrs = Map::with_capacity(1 + extra.len());
            attrs.insert("type".into(), Value::String(collection.into()));
            for (k, v) in extra {
                attrs.insert((*k).into(), v.clone());
            }
            Value::Object(attrs)
        };
        let forward = side(kb.collection());
        let backward = side(ka.collection());
        let entry = self.nodes[a as usize]
            .links
            .entry(link_type)
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(m) = entry else { return false };
        if m.contains_key(&b_id) {
            return false;
        }
        m.insert(b_id, forward);
        let entry = self.nodes[b as usize]
            .links
            .entry(back)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(a_id, backward);
        }
        true
    }

    /// A person, from the same commune seven times out of ten.
    fn person_near(&mut self, place: u32) -> Option<u32> {
        let local = &self.people_at[place as usize];
        if !local.is_empty() && self.rng.u8(..10) < 7 {
            return Some(local[self.rng.usize(..local.len())]);
        }
        let persons = &self.by_kind[0];
        (!persons.is_empty()).then(|| persons[self.rng.usize(..persons.len())])
    }

    /// Up to `k` distinct persons near `place`, none of `exclude`.
    fn people_near(&mut self, place: u32, k: usize, exclude: &[u32]) -> Vec<u32> {
        let mut out = Vec::with_capacity(k);
        for _ in 0..k * 4 {
            if out.len() == k {
                break;
            }
            if let Some(p) = self.person_near(place) {
                if !out.contains(&p) && !exclude.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// The element among a few random ones of `kind` that shares most tags with `tags`.
    fn best_match(&mut self, kind: Kind, tags: &[&str], tries: usize) -> Option<u32> {
        let list = &self.by_kind[kind_index(kind)];
        if list.is_empty() {
            return None;
        }
        let mut best: Option<(usize, u32)> = None;
        for _ in 0..tries {
            let i = list[self.rng.usize(..list.len())];
            let node = &self.nodes[i as usize];
            if node.private {
                continue;
            }
            let score = node.tags.iter().filter(|t| tags.contains(t)).count();
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, i));
            }
        }
        best.map(|(_, i)| i)
    }

    /// The organization among a dozen random ones that best fits an event: shared tags
    /// first, then the kind of organization (shops hold stands and markets, associations
    /// the rest).
    fn organizer_for(&mut self, type_: &str, tags: &[&str]) -> Option<u32> {
        let list = &self.by_kind[1];
        if list.is_empty() {
            return None;
        }
        let mut best: Option<(i32, u32)> = None;
        for _ in 0..12 {
            let i = list[self.rng.usize(..list.len())];
            let node = &self.nodes[i as usize];
            if node.private {
                continue;
            }
            let shared = node.tags.iter().filter(|t| tags.contains(t)).count() as i32;
            let affinity = match (node.doc.get("type").and_then(Value::as_str), type_) {
                (Some("LocalBusiness"), "market" | "stand" | "workshop" | "course") => 1,
                (Some("LocalBusiness"), _) => -2,
                (Some("GovernmentOrganization"), "exhibition" | "conference" | "course" | "workshop" | "meeting") => 1,
                (Some("GovernmentOrganization"), _) => -1,
                (_, "stand") => 0,
                _ => 1,
            };
            let score = 2 * shared + affinity;
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, i));
            }
        }
        best.map(|(_, i)| i)
            .or_else(|| list.iter().copied().find(|&i| !self.nodes[i as usize].private))
    }

    fn fill(&mut self, pattern: &str, place: u32) -> String {
        let commune = self.places[place as usize].name;
        let mut out = pattern
            .replace("{de}", &de(commune))
            .replace("{a}", &a(commune))
            .replace("{c}", commune);
        if out.contains("{s}") {
            out = out.replace("{s}", pick(&mut self.rng, SURNAMES));
        }
        if out.contains("{w}") {
            out = out.replace("{w}", pick(&mut self.rng, ORG_WORDS));
        }
        if out.contains("{street}") {
            let street = pick(&mut self.rng, STREETS);
            out = out.replace("{street}", street);
        }
        out
    }

    // ----- kinds -----

    fn persons(&mut self, n: usize) {
        for _ in 0..n {
            let place = self.pick_place();
            let female = self.rng.bool();
            let first = pick(&mut self.rng, if female { FEMALE_NAMES } else { MALE_NAMES });
            let last = pick(&mut self.rng, SURNAMES);
            let created = self.ago(10.0, 4.0 * 365.0);
            let i = self.push(
                Kind::Person,
                place,
                format!("{first} {last}"),
                &format!("{first}{last}"),
                created,
            );
            let username = self.nodes[i as usize].doc["slug"].clone();
            self.nodes[i as usize].first = first;
            self.nodes[i as usize].female = female;
            self.people_at[place as usize].push(i);
            self.set(i, "username", username.clone());
            if self.rng.u8(..100) < 45 {
                let domain = pick(&mut self.rng, &["example.org", "example.net", "example.com"]);
                self.set(
                    i,
                    "email",
                    json!(format!("{}@{domain}", username.as_str().unwrap_or("demo"))),
                );
            }
            let (male_job, female_job) = pick(&mut self.rng, PROFESSIONS);
            let job = if female { female_job } else { male_job };
            let (bio, bio_tags) = pick(&mut self.rng, BIO_LINES);
            let commune = self.places[place as usize].name;
            self.set(i, "shortDescription", json!(format!("{job} {}. {bio}", a(commune))));
            let mut tags = self.tags(bio_tags, true);
            if self.rng.u8(..3) == 0 {
                let (more, more_tags) = pick(&mut self.rng, BIO_LINES);
                if more != bio {
                    let since = self.today.year() - 1 - self.rng.i16(0..30);
                    let arrived = if female { "Arrivée" } else { "Arrivé" };
                    self.set(
                        i,
                        "description",
                        json!(format!("{arrived} {} en {since}. {more}", a(commune))),
                    );
                    for t in more_tags.iter().take(1) {
                        if !tags.contains(t) {
                            tags.push(t);
                        }
                    }
                }
            }
            self.put_tags(i, tags);
            self.put_address(i, place, None);
            let public_email = self.rng.u8(..10) == 0;
            let (public, private): (&[&str], &[&str]) = if public_email {
                (&["locality", "directory", "email"], &["birthDate", "phone"])
            } else {
                (&["locality", "directory"], &["birthDate", "email", "phone"])
            };
            self.set(
                i,
                "preferences",
                json!({"isOpenData": true, "sendMail": false, "publicFields": public, "privateFields": private}),
            );
            self.set(
                i,
                "roles",
                json!({"tobeactivated": false, "standalonePageAccess": true}),
            );
            self.put_times(i, None);
        }
    }

    fn organizations(&mut self, n: usize) {
        for (k, (home_index, t)) in HOME_ORGS.iter().enumerate().take(n) {
            let place = self.home.get(*home_index).copied().unwrap_or(self.home[0]);
            let name = self.fill(t.name, place);
            self.organization(t, place, name, PRIVATE_HOME_ORGS.contains(&k));
        }
        for _ in HOME_ORGS.len().min(n)..n {
            // A name no other organization bears: a town has one town hall.
            let mut chosen = None;
            for _ in 0..8 {
                let t = &ORG_TEMPLATES[self.rng.usize(..ORG_TEMPLATES.len())];
                let place = self.pick_place();
                let name = self.fill(t.name, place);
                if !self.names.contains(&name) {
                    chosen = Some((t, place, name));
                    break;
                }
            }
            let (t, place, name) = match chosen {
                Some(c) => c,
                None => {
                    let shared: Vec<&OrgTemplate> = ORG_TEMPLATES.iter().filter(|t| !t.one_per_commune).collect();
                    let t = shared[self.rng.usize(..shared.len())];
                    let place = self.pick_place();
                    let name = self.fill(t.name, place);
                    (t, place, name)
                }
            };
            self.organization(t, place, name, false);
        }
        // Associations are members of cooperatives (a SCIC's sociétaires): org ↔ org links.
        let orgs = self.by_kind[1].clone();
        for &coop in &orgs {
            let node = &self.nodes[coop as usize];
            if node.private || node.doc.get("type").and_then(Value::as_str) != Some("Cooperative") {
                continue;
            }
            let k = if coop == orgs[0] {
                5
            } else if self.rng.u8(..10) < 4 {
                1 + self.rng.usize(..3)
            } else {
                0
            };
            for _ in 0..k * 3 {
                let other = orgs[self.rng.usize(..orgs.len())];
                let o = &self.nodes[other as usize];
                if o.private || o.doc.get("type").and_then(Value::as_str) != Some("NGO") {
                    continue;
                }
                self.link(
                    coop,
                    "members",
                    other,
                    &[("isAdmin", json!(false)), ("roles", json!(["Sociétaire"]))],
                );
                if self.nodes[coop as usize]
                    .links
                    .get("members")
                    .map_or(0, |m| m.as_object().map_or(0, |m| m.len()))
                    > 20
                {
                    break;
                }
            }
        }
    }

    fn organization(&mut self, t: &OrgTemplate, place: u32, name: String, private: bool) -> u32 {
        let name = self.unique_name(name, place);
        let created = self.ago(60.0, 8.0 * 365.0);
        let i = self.push(Kind::Organization, place, name.clone(), &name, created);
        self.nodes[i as usize].private = private;
        if t.roles[0].0 == "Maire" {
            self.town_halls.push(i);
        }
        self.set(i, "type", json!(t.type_));
        self.set(i, "shortDescription", json!(t.short));
        let extra = match self.rng.u8(..4) {
            0 => format!(
                " Permanence le {} de {} h à {} h.",
                pick(&mut self.rng, &WEEKDAYS[..6]),
                9 + self.rng.u8(..5),
                14 + self.rng.u8(..5)
            ),
            1 => format!(" Adhésion à prix libre, à partir de {} €.", 5 + 5 * self.rng.u8(..4)),
            2 => " Nous sommes toujours heureux d'accueillir de nouvelles personnes.".to_owned(),
            _ => String::new(),
        };
        self.set(i, "description", json!(format!("{}{extra}", t.description)));
        let tags = self.tags(t.tags, true);
        self.put_tags(i, tags);
        if self.rng.u8(..10) < 6 {
            let slug = self.nodes[i as usize].doc["slug"]
                .as_str()
                .unwrap_or("contact")
                .to_owned();
            self.set(i, "email", json!(format!("contact@{slug}.example.org")));
            if self.rng.bool() {
                self.set(i, "url", json!(format!("https://{slug}.example.org")));
            }
        }
        self.put_address(i, place, None);
        self.set(
            i,
            "preferences",
            json!({"isOpenData": !private, "isOpenEdition": !private, "private": private, "sendMail": false}),
        );
        // Members: one admin, some officers, the rest plain members.
        let k = match t.type_ {
            _ if private => 4 + self.rng.usize(..4),
            "LocalBusiness" => 1 + self.rng.usize(..4),
            "GovernmentOrganization" => 3 + self.rng.usize(..6),
            "Cooperative" => 5 + self.rng.usize(..10),
            _ => 3 + self.rng.usize(..10),
        };
        let members = self.people_near(place, k, &[]);
        let officers = t.roles.len().saturating_sub(2);
        for (j, &p) in members.iter().enumerate() {
            let (m, f) = if j < officers {
                t.roles[j]
            } else {
                t.roles[officers + self.rng.usize(..t.roles.len() - officers)]
            };
            let role = if self.nodes[p as usize].female { f } else { m };
            self.link(i, "members", p, &[("isAdmin", json!(j == 0)), ("roles", json!([role]))]);
        }
        if let Some(&admin) = members.first() {
            self.nodes[i as usize].admin = admin;
        }
        self.nodes[i as usize].people = members.clone();
        self.put_times(i, members.first().copied());
        if !private {
            let k = self.rng.usize(..9);
            for p in self.people_near(place, k, &members) {
                self.link(p, "follows", i, &[]);
            }
        }
        i
    }

    fn projects(&mut self, n: usize) {
        for j in 0..n {
            let private = j == 0 || (n >= 200 && j % 200 == 0);
            let (parent, pattern, short, theme): (Option<u32>, &str, &str, &[&str]) =
                if j == 0 && !self.by_kind[1].is_empty() {
                    let coop = self.by_kind[1][0];
                    let coop_name = self.nodes[coop as usize]
                        .name
                        .split(',')
                        .next()
                        .unwrap_or("")
                        .to_owned();
                    let name: &'static str = if coop_name == "La Cordée" {
                        "Dossier de financement de La Cordée"
                    } else {
                        "Dossier de financement du tiers-lieu"
                    };
                    (
                        Some(coop),
                        name,
                        "Préparation de la demande de subvention (réservé au conseil)",
                        &["tiers-lieu", "gouvernance"],
                    )
                } else {
                    let (pattern, short, theme) = pick(&mut self.rng, PROJECTS);
                    (None, pattern, short, theme)
                };
            // A parent that fits the theme, and a name no other project bears.
            let mut drawn = None;
            for attempt in 0..6 {
                let (pattern, short, theme) = if attempt == 0 {
                    (pattern, short, theme)
                } else {
                    pick(&mut self.rng, PROJECTS)
                };
                let parent = match parent {
                    Some(p) => Some(p),
                    None if self.rng.u8(..4) < 3 => self.best_match(Kind::Organization, theme, 6),
                    None => None,
                };
                let parent = match parent {
                    Some(p) => Some(p),
                    None => {
                        let place = self.pick_place();
                        self.person_near(place)
                    }
                };
                let Some(parent) = parent else { return };
                let place = self.nodes[parent as usize].place;
                let name = self.fill(pattern, place);
                let fresh = !self.names.contains(&name);
                drawn = Some((parent, place, name, short, theme));
                if fresh || j == 0 {
                    break;
                }
            }
            let Some((parent, place, name, short, theme)) = drawn else {
                return;
            };
            let name = self.unique_name(name, place);
            let created = self.ago(20.0, 3.0 * 365.0);
            let i = self.push(Kind::Project, place, name.clone(), &name, created);
            self.nodes[i as usize].private = private;
            self.set(i, "shortDescription", json!(short));
            let need = pick(&mut self.rng, TASKS);
            let commune = self.places[place as usize].name;
            let description = match self.rng.u8(..3) {
                0 => format!("{short}. Nous cherchons des personnes pour {need}."),
                1 => format!("{short}, {}. Réunions ouvertes une fois par mois.", a(commune)),
                _ => format!(
                    "{short}. Le projet est porté par des habitants {} et ouvert à toutes les bonnes idées.",
                    de(commune)
                ),
            };
            self.set(i, "description", json!(description));
            let tags = self.tags(theme, true);
            self.put_tags(i, tags);
            let parent_node = &self.nodes[parent as usize];
            let (parent_id, parent_type) = (parent_node.id.clone(), parent_node.kind.collection());
            self.set(i, "parentId", json!(parent_id));
            self.set(i, "parentType", json!(parent_type));
            let avancement = if private {
                "development"
            } else {
                pick(&mut self.rng, AVANCEMENT)
            };
            self.set(i, "properties", json!({"avancement": avancement}));
            let start = if matches!(avancement, "idea" | "concept") {
                self.now + self.rng.i64(0..60) * 86_400
            } else {
                created + self.rng.i64(0..30) * 86_400
            };
            self.set(i, "startDate", Self::date_value(start, false));
            if avancement == "mature" && self.rng.bool() {
                let end = start + self.rng.i64(30..400) * 86_400;
                self.set(i, "endDate", Self::date_value(end, false));
            }
            if self.rng.u8(..5) == 0 {
                self.set(i, "licence", json!("CC-BY-SA"));
            }
            self.put_address(i, place, None);
            self.set(
                i,
                "preferences",
                json!({"isOpenData": !private, "isOpenEdition": !private, "private": private}),
            );
            // Contributors: the parent's admin (or the parent person) as admin, then others.
            let lead = self.nodes[parent as usize].admin;
            let pool: Vec<u32> = self.nodes[parent as usize].people.clone();
            let mut people = vec![lead];
            let k = 1 + self.rng.usize(..7);
            if private && pool.len() > 1 {
                people.extend(pool.iter().copied().filter(|p| *p != lead).take(k));
            } else {
                for p in self.people_near(place, k, &[lead]) {
                    people.push(p);
                }
            }
            // Like Communecter, only the admin's link says so.
            for (j, &p) in people.iter().enumerate() {
                let admin: &[(&str, Value)] = if j == 0 { &[("isAdmin", Value::Bool(true))] } else { &[] };
                self.link(i, "contributors", p, admin);
            }
            if self.nodes[parent as usize].kind == Kind::Organization {
                self.link(i, "contributors", parent, &[]);
            }
            self.nodes[i as usize].admin = lead;
            self.nodes[i as usize].people = people.clone();
            self.put_times(i, Some(lead));
            if !private {
                let k = self.rng.usize(..6);
                for p in self.people_near(place, k, &people) {
                    self.link(p, "follows", i, &[]);
                }
            }
        }
    }

    fn events(&mut self, n: usize) {
        let festivals = if n >= 20 { (n / 25).max(3) } else { n / 8 };
        let mut made = 0;
        for f in 0..festivals {
            let subs = 3 + self.rng.usize(..4);
            if made + 1 + subs > n {
                break;
            }
            let first_day = match f {
                0 => -(20 + self.rng.i64(0..25)),
                1 => 3 + self.rng.i64(0..15),
                2 => 30 + self.rng.i64(0..45),
                _ => self.rng.i64(-PAST_DAYS..COMING_DAYS - 3),
            };
            made += self.festival(first_day, subs);
        }
        let mut k = 0;
        while made < n {
            self.single_event(k);
            made += 1;
            k += 1;
        }
    }

    /// A festival over two or three days and its sub-events; returns how many events it made.
    fn festival(&mut self, first_day: i64, subs: usize) -> usize {
        // Festivals take turns through the list, so that the first few differ.
        let (name, theme) = FESTIVALS[(self.festival_turn + self.rng.usize(..2)) % FESTIVALS.len()];
        self.festival_turn += 2;
        let Some(organizer) = self.organizer_for("festival", theme) else {
            return 0;
        };
        let place = self.nodes[organizer as usize].place;
        let days = 1 + self.rng.i64(1..3);
        let commune = self.places[place as usize].name;
        let name = if self.rng.bool() {
            format!("{name} {}", de(commune))
        } else {
            name.to_owned()
        };
        let parent = self.event(
            EventSpec {
                type_: "festival",
                name,
                tags: theme.to_vec(),
                hour: 0,
                minute: 0,
                minutes: 0,
                all_day_days: days,
            },
            organizer,
            place,
            first_day,
            None,
        );
        let mut made = 0;
        let mut names: Vec<String> = Vec::with_capacity(subs);
        for s in 0..subs {
            let day = first_day + (s as i64 % days);
            let mut spec = self.spec_for_festival(s, place, theme);
            for _ in 0..4 {
                if !names.contains(&spec.name) {
                    break;
                }
                spec = self.spec_for_festival(s + 1, place, theme);
            }
            names.push(spec.name.clone());
            if spec.all_day_days > 0 {
                spec.all_day_days = 1;
            }
            let sub_organizer = if self.rng.u8(..10) < 3 {
                self.best_match(Kind::Organization, &spec.tags, 6).unwrap_or(organizer)
            } else {
                organizer
            };
            self.event(spec, sub_organizer, place, day, Some(parent));
            made += 1;
        }
        made + 1
    }

    /// A sub-event of a festival, on the festival's theme when one fits.
    fn spec_for_festival(&mut self, s: usize, place: u32, theme: &[&str]) -> EventSpec {
        let types = [
            "concert",
            "workshop",
            "market",
            "conference",
            "getTogether",
            "film",
            "competition",
            "concert",
        ];
        let type_ = types[(s + self.rng.usize(..2)) % types.len()];
        let mut best = self.spec(type_, place);
        for _ in 0..4 {
            if best.tags.iter().any(|t| theme.contains(t)) {
                break;
            }
            best = self.spec(type_, place);
        }
        best
    }

    /// The `k`-th event outside festivals: the first few go through every type once.
    fn single_event(&mut self, k: usize) {
        const TYPES: &[(&str, u8)] = &[
            ("market", 12),
            ("concert", 10),
            ("workshop", 16),
            ("meeting", 8),
            ("getTogether", 10),
            ("course", 6),
            ("conference", 5),
            ("debate", 5),
            ("film", 6),
            ("exhibition", 4),
            ("competition", 4),
            ("stand", 3),
            ("others", 3),
        ];
        let total: u32 = TYPES.iter().map(|(_, w)| u32::from(*w)).sum();
        let mut x = self.rng.u32(..total);
        let mut type_ = TYPES[0].0;
        for (t, w) in TYPES {
            if x < u32::from(*w) {
                type_ = t;
                break;
            }
            x -= u32::from(*w);
        }
        if let Some((t, _)) = TYPES.get(k) {
            type_ = t;
        }
        // Town councils are the town hall's; everything else goes to whoever fits best.
        let council = type_ == "meeting" && !self.town_halls.is_empty() && self.rng.bool();
        let organizer = if council {
            Some(self.town_halls[self.rng.usize(..self.town_halls.len())])
        } else {
            None
        };
        let place_hint = organizer
            .map(|o| self.nodes[o as usize].place)
            .unwrap_or_else(|| self.pick_place());
        let mut spec = if council {
            let commune = self.places[place_hint as usize].name;
            EventSpec {
                type_: "meeting",
                name: format!("Conseil municipal {}", de(commune)),
                tags: vec!["mairie", "démocratie locale"],
                hour: 19,
                minute: 0,
                minutes: 150,
                all_day_days: 0,
            }
        } else {
            self.spec(type_, place_hint)
        };
        let organizer = match organizer {
            Some(o) => o,
            None => {
                let by_project = self.rng.u8(..10) == 0;
                let found = if by_project {
                    self.best_match(Kind::Project, &spec.tags, 5)
                } else {
                    None
                };
                match found.or_else(|| self.organizer_for(spec.type_, &spec.tags)) {
                    Some(o) => o,
                    None => return,
                }
            }
        };
        let place = self.nodes[organizer as usize].place;
        if !council && place != place_hint {
            // Names that mention a commune follow the organizer.
            let from = self.places[place_hint as usize].name;
            let to = self.places[place as usize].name;
            spec.name = spec.name.replace(&de(from), &de(to)).replace(&a(from), &a(to));
        }
        let organizer_name = self.nodes[organizer as usize]
            .name
            .split(',')
            .next()
            .unwrap_or("")
            .to_owned();
        if spec.type_ == "stand" {
            spec.name = format!("{organizer_name} au marché");
        } else if spec.name == "Assemblée générale annuelle" {
            spec.name = format!("Assemblée générale : {organizer_name}");
        }
        let mut day = self.rng.i64(-PAST_DAYS..=COMING_DAYS);
        if spec.all_day_days > 1 {
            // Long exhibitions: about half are on today, the first one always.
            day = if k < TYPES.len() {
                -spec.all_day_days / 2
            } else {
                self.rng.i64(2 - spec.all_day_days..COMING_DAYS / 3)
            };
        } else if let Some(days) = preferred_weekdays(spec.type_) {
            let weekday = i64::from(self.date(day).weekday().to_monday_zero_offset());
            let want = days[self.rng.usize(..days.len())];
            day += (want - weekday).rem_euclid(7);
            if day > COMING_DAYS {
                day -= 7;
            }
        }
        self.event(spec, organizer, place, day, None);
    }

    /// Name, tags and timing of an event of `type_` in `place`.
    fn spec(&mut self, type_: &'static str, place: u32) -> EventSpec {
        let (name, tags, (hour, minute), minutes, all_day_days): (String, Vec<&'static str>, (i8, i8), i64, i64) =
            match type_ {
                "market" => {
                    let (p, t) = pick(&mut self.rng, MARKETS);
                    let name = self.fill(p, place);
                    let (start, len) = if name.starts_with("Vide-grenier") {
                        ((7, 0), 600)
                    } else if name.contains("du soir") {
                        ((17, 0), 210)
                    } else {
                        ((8, 0), 300)
                    };
                    (name, t.to_vec(), start, len, 0)
                }
                "concert" => {
                    let band = format!(
                        "{} {}",
                        pick(&mut self.rng, BAND_FIRST),
                        pick(&mut self.rng, BAND_SECOND)
                    );
                    let genre = pick(&mut self.rng, MUSIC_GENRES);
                    let name = match self.rng.u8(..4) {
                        0 => format!("Bal avec {band}"),
                        1 => "Scène ouverte musicale".to_owned(),
                        _ => format!("Concert : {band} ({genre})"),
                    };
                    (name, vec!["musique", "culture"], (20, 30), 150, 0)
                }
                "workshop" => {
                    let (p, t) = pick(&mut self.rng, WORKSHOPS);
                    let start = if self.rng.bool() { (9, 30) } else { (14, 0) };
                    (p.to_owned(), t.to_vec(), start, 150, 0)
                }
                "meeting" => {
                    let (topic, t) = pick(&mut self.rng, TOPICS);
                    let name = if self.rng.bool() {
                        format!("Réunion publique : {topic}")
                    } else {
                        "Assemblée générale annuelle".to_owned()
                    };
                    let mut tags = t.to_vec();
                    tags.push("démocratie locale");
                    (name, tags, (20, 0), 120, 0)
                }
                "getTogether" => {
                    let (p, t, start) = pick(&mut self.rng, GET_TOGETHERS);
                    (self.fill(p, place), t.to_vec(), start, 180, 0)
                }
                "course" => {
                    let (p, t) = pick(&mut self.rng, COURSES);
                    let start = if self.rng.bool() { (18, 0) } else { (10, 0) };
                    (p.to_owned(), t.to_vec(), start, 90, 0)
                }
                "conference" => {
                    let (topic, t) = pick(&mut self.rng, TOPICS);
                    (format!("Conférence : {topic}"), t.to_vec(), (20, 0), 120, 0)
                }
                "debate" => {
                    let (topic, t) = pick(&mut self.rng, TOPICS);
                    (format!("Café-débat : {topic}"), t.to_vec(), (19, 0), 120, 0)
                }
                "film" => {
                    let (topic, t) = pick(&mut self.rng, TOPICS);
                    let mut tags = t.to_vec();
                    tags.push("cinéma");
                    (format!("Ciné-débat : {topic}"), tags, (20, 30), 150, 0)
                }
                "exhibition" => {
                    let title = pick(&mut self.rng, EXHIBITIONS);
                    let female = self.rng.bool();
                    let artist = format!(
                        "{} {}",
                        pick(&mut self.rng, if female { FEMALE_NAMES } else { MALE_NAMES }),
                        pick(&mut self.rng, SURNAMES)
                    );
                    let what = pick(&mut self.rng, &["photographies", "peintures", "céramiques", "gravures"]);
                    (
                        format!("Exposition « {title} », {what} de {artist}"),
                        vec!["art", "culture"],
                        (0, 0),
                        0,
                        14 + self.rng.i64(0..30),
                    )
                }
                "competition" => {
                    let (p, t) = pick(&mut self.rng, COMPETITIONS);
                    (self.fill(p, place), t.to_vec(), (14, 0), 240, 0)
                }
                "stand" => ("Stand au marché".to_owned(), vec!["convivialité"], (9, 0), 210, 0),
                _ => {
                    let (p, t) = pick(&mut self.rng, OTHER_EVENTS);
                    (self.fill(p, place), t.to_vec(), (9, 0), 180, 0)
                }
            };
        EventSpec {
            type_,
            name,
            tags,
            hour,
            minute,
            minutes,
            all_day_days,
        }
    }

    fn event(&mut self, mut spec: EventSpec, organizer: u32, place: u32, day: i64, parent: Option<u32>) -> u32 {
        if spec.name.contains("{weekday}") {
            let weekday = WEEKDAYS[self.date(day).weekday().to_monday_zero_offset() as usize];
            spec.name = spec.name.replace("{weekday}", weekday);
        }
        let (start, end, all_day) = if spec.all_day_days > 0 {
            (self.at(day, 0, 0), self.at(day + spec.all_day_days - 1, 23, 59), true)
        } else {
            let start = self.at(day, spec.hour, spec.minute);
            (start, start + spec.minutes * 60, false)
        };
        let latest = (start - 86_400).min(self.now - 3_600);
        let created = latest - self.rng.i64(0..40 * 86_400);
        let i = self.push(Kind::Event, place, spec.name.clone(), &spec.name, created);
        self.set(i, "type", json!(spec.type_));
        let organizer_node = &self.nodes[organizer as usize];
        let (organizer_name, organizer_id, organizer_type) = (
            organizer_node.name.clone(),
            organizer_node.id.clone(),
            organizer_node.kind.collection(),
        );
        let commune = self.places[place as usize].name;
        let (short, description) = text::event_blurb(&mut self.rng, spec.type_, &organizer_name, commune);
        self.set(i, "shortDescription", json!(short));
        self.set(i, "description", json!(description));
        let tags = self.tags(&spec.tags, false);
        self.put_tags(i, tags);
        let iso = self.rng.u8(..10) < 3;
        self.set(i, "startDate", Self::date_value(start, iso));
        self.set(i, "endDate", Self::date_value(end, iso));
        self.set(i, "allDay", json!(all_day));
        self.set(i, "timeZone", json!(ZONE));
        self.set(i, "organizerId", json!(organizer_id));
        self.set(i, "organizerType", json!(organizer_type));
        if let Some(p) = parent {
            let parent_id = self.nodes[p as usize].id.clone();
            self.set(i, "parentId", json!(parent_id));
            self.set(i, "parentType", json!("events"));
        }
        let venue = if spec.name.starts_with("Conseil municipal") {
            "Salle du conseil, mairie"
        } else {
            pick(&mut self.rng, venues(spec.type_))
        };
        let street = self.street(place);
        self.put_address(i, place, Some(format!("{venue}, {street}")));
        self.set(
            i,
            "preferences",
            json!({"isOpenData": true, "isOpenEdition": false, "private": false}),
        );
        self.link(i, "organizer", organizer, &[]);
        if let Some(p) = parent {
            self.link(p, "subEvents", i, &[]);
        }
        let creator = self.nodes[organizer as usize].admin;
        let k = if start < self.now {
            3 + self.rng.usize(..20)
        } else {
            self.rng.usize(..14)
        };
        let mut people = vec![creator];
        people.extend(self.people_near(place, k, &[creator]));
        for (j, &p) in people.iter().enumerate() {
            if self.nodes[p as usize].kind == Kind::Person {
                let admin: &[(&str, Value)] = if j == 0 { &[("isAdmin", Value::Bool(true))] } else { &[] };
                self.link(i, "attendees", p, admin);
            }
        }
        self.nodes[i as usize].admin = creator;
        self.nodes[i as usize].people = people;
        self.nodes[i as usize].event = Some(EventInfo {
            day,
            hour: spec.hour,
            minute: spec.minute,
            start,
            end,
            venue,
        });
        self.put_times(i, Some(creator));
        i
    }

    fn pois(&mut self, n: usize) {
        for _ in 0..n {
            let (mut type_, mut description, mut theme, mut owner, mut place, mut name) =
                ("", "", &[][..], None, 0, String::new());
            for _ in 0..6 {
                let (t, pattern, d, th) = pick(&mut self.rng, POIS);
                (type_, description, theme) = (t, d, th);
                owner = if self.rng.u8(..10) < 6 {
                    self.best_match(Kind::Organization, theme, 5)
                } else {
                    None
                };
                place = match owner {
                    Some(o) => self.nodes[o as usize].place,
                    None => self.pick_place(),
                };
                name = self.fill(pattern, place);
                if !self.names.contains(&name) {
                    break;
                }
            }
            let creator = match owner {
                Some(o) => Some(self.nodes[o as usize].admin),
                None => self.person_near(place),
            };
            let name = self.unique_name(name, place);
            let created = self.ago(5.0, 3.0 * 365.0);
            let i = self.push(Kind::Poi, place, name.clone(), &name, created);
            self.set(i, "type", json!(type_));
            self.set(i, "section", json!(type_));
            self.set(i, "description", json!(description));
            let tags = self.tags(theme, false);
            self.put_tags(i, tags);
            if let Some(o) = owner {
                let owner_id = self.nodes[o as usize].id.clone();
                self.set(i, "parentId", json!(owner_id));
                self.set(i, "parentType", json!("organizations"));
            }
            self.put_address(i, place, None);
            self.set(i, "preferences", json!({"isOpenData": true, "isOpenEdition": true}));
            self.put_times(i, creator);
        }
    }

    fn classifieds(&mut self, n: usize) {
        for _ in 0..n {
            let place = self.pick_place();
            let Some(seller) = self.person_near(place) else { return };
            let place = self.nodes[seller as usize].place;
            let roll = self.rng.u8(..100);
            let (section, category, subtype, name, price, tags): (&str, &str, &str, String, u32, &[&str]) = if roll < 15
            {
                let (category, subtype, pattern, tags) = pick(&mut self.rng, LOOKING_FOR);
                ("lookingfor", category, subtype, self.fill(pattern, place), 0, tags)
            } else {
                let (category, subtype, name, (lo, hi), tags) = pick(&mut self.rng, CLASSIFIEDS);
                let section = match subtype {
                    "house" => "forsale",
                    "room" | "workshop" => "forrent",
                    _ if lo == 0 && hi == 0 => "sharing",
                    _ => match self.rng.u8(..10) {
                        0..=5 => "forsale",
                        6 | 7 => "donation",
                        8 => "forrent",
                        _ => "sharing",
                    },
                };
                let price = match section {
                    "donation" | "sharing" => 0,
                    "forrent" if !matches!(subtype, "room" | "workshop") => {
                        (lo / 10).max(5) + self.rng.u32(..=(hi / 10).max(5))
                    }
                    _ => lo + self.rng.u32(..=(hi - lo)),
                };
                let price = if price > 1000 {
                    price / 100 * 100
                } else if price > 50 {
                    price / 5 * 5
                } else {
                    price
                };
                (section, category, subtype, name.to_owned(), price, tags)
            };
            let created = self.ago(0.2, 75.0);
            let name = if section == "forrent" && !name.contains("louer") {
                format!("{name} (location)")
            } else {
                name
            };
            let i = self.push(Kind::Classified, place, name.clone(), &name, created);
            self.set(i, "type", json!("classifieds"));
            self.set(i, "section", json!(section));
            self.set(i, "category", json!(category));
            self.set(i, "subtype", json!(subtype));
            let commune = self.places[place as usize].name;
            let description = match section {
                "forsale" => format!(
                    "{} À voir {}, {}.",
                    pick(
                        &mut self.rng,
                        &[
                            "Très bon état.",
                            "Bon état général, quelques traces d'usage.",
                            "Comme neuf, servi deux fois.",
                            "Fonctionne parfaitement."
                        ]
                    ),
                    a(commune),
                    pick(
                        &mut self.rng,
                        &[
                            "prix à débattre",
                            "prix ferme",
                            "paiement en Ğ1 possible",
                            "échange possible"
                        ]
                    )
                ),
                "donation" => format!("À venir chercher {}, premier arrivé premier servi.", a(commune)),
                "forrent" => format!("Disponible {}, caution demandée.", a(commune)),
                "sharing" => format!("Envie de partager plutôt que d'acheter : on s'organise {}.", a(commune)),
                _ => format!("Merci de me contacter si vous avez ça {} ou pas loin.", a(commune)),
            };
            self.set(i, "description", json!(description));
            if price > 0 || section == "forsale" {
                let g1 = self.rng.u8(..100) < 15 && price < 1000;
                self.set(i, "price", json!(if g1 { (price / 2).max(1) } else { price }));
                self.set(i, "devise", json!(if g1 { "Ğ1" } else { "€" }));
            }
            let mut all_tags: Vec<&'static str> = tags.to_vec();
            for key in [section, category, subtype] {
                if !all_tags.contains(&key) {
                    all_tags.push(key);
                }
            }
            self.put_tags(i, all_tags);
            let contact = pick(
                &mut self.rng,
                &[
                    "Par message sur le hub",
                    "Au marché le samedi matin",
                    "Sur place en fin de journée",
                ],
            );
            self.set(i, "contactInfo", json!(contact));
            let seller_id = self.nodes[seller as usize].id.clone();
            self.set(i, "parentId", json!(seller_id));
            self.set(i, "parentType", json!("citoyens"));
            self.put_address(i, place, None);
            self.set(
                i,
                "preferences",
                json!({"isOpenData": true, "isOpenEdition": false, "private": false}),
            );
            self.put_times(i, Some(seller));
        }
    }

    fn resources(&mut self, n: usize) {
        let mut made = 0;
        while made < n {
            let (category, subtype, offer, need, description, tags) = pick(&mut self.rng, AID_PAIRS);
            let place = self.pick_place();
            let Some(giver) = self.person_near(place) else { return };
            let place = self.nodes[giver as usize].place;
            let asker = self.people_near(place, 1, &[giver]).first().copied();
            for (section, name, who) in [("offer", offer, Some(giver)), ("need", need, asker)] {
                let Some(who) = who else { continue };
                if made == n {
                    break;
                }
                let place = self.nodes[who as usize].place;
                let created = self.ago(0.3, 90.0);
                let i = self.push(Kind::Resource, place, name.to_owned(), name, created);
                self.set(i, "type", json!("ressources"));
                self.set(i, "section", json!(section));
                self.set(i, "category", json!(category));
                self.set(i, "subtype", json!(subtype));
                self.set(i, "description", json!(description));
                self.put_tags(i, tags.to_vec());
                let who_id = self.nodes[who as usize].id.clone();
                self.set(i, "parentId", json!(who_id));
                self.set(i, "parentType", json!("citoyens"));
                self.put_address(i, place, None);
                self.set(
                    i,
                    "preferences",
                    json!({"isOpenData": true, "isOpenEdition": false, "private": false}),
                );
                self.put_times(i, Some(who));
                made += 1;
            }
        }
    }

    /// Persons follow one another.
    fn follows(&mut self) {
        let persons = self.by_kind[0].clone();
        for &p in &persons {
            let k = self.rng.usize(..4);
            let place = self.nodes[p as usize].place;
            for q in self.people_near(place, k, &[p]) {
                self.link(p, "follows", q, &[]);
            }
        }
    }

    // ----- records -----

    fn posts(&mut self, n: usize) {
        if self.by_kind[0].is_empty() {
            return;
        }
        // Every private element gets a members-only post or two first.
        let private: Vec<u32> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, e)| e.private)
            .map(|(i, _)| i as u32)
            .collect();
        let mut targets: Vec<u32> = private.iter().flat_map(|&i| [i, i]).take(n).collect();
        const KINDS: &[(Kind, u8)] = &[
            (Kind::Organization, 35),
            (Kind::Event, 28),
            (Kind::Project, 17),
            (Kind::Person, 15),
            (Kind::Poi, 5),
        ];
        while targets.len() < n {
            let mut x = self.rng.u8(..100);
            let mut kind = Kind::Organization;
            for (k, w) in KINDS {
                if x < *w {
                    kind = *k;
                    break;
                }
                x -= w;
            }
            let list = &self.by_kind[kind_index(kind)];
            if list.is_empty() {
                continue;
            }
            targets.push(list[self.rng.usize(..list.len())]);
        }
        for target in targets {
            self.post(target);
        }
    }

    fn post(&mut self, target: u32) {
        let node = &self.nodes[target as usize];
        let kind = node.kind;
        let private = node.private;
        // The author: someone involved, else anyone.
        let author = if kind == Kind::Person {
            target
        } else if !node.people.is_empty() && self.rng.u8(..10) < 8 {
            node.people[self.rng.usize(..node.people.len())]
        } else {
            node.admin
        };
        let author = if self.nodes[author as usize].kind == Kind::Person {
            author
        } else {
            self.by_kind[0][0]
        };
        // When: upcoming events are announced before, past ones reviewed after.
        let made = self.nodes[target as usize].created;
        let (lo, hi, timing) = match &self.nodes[target as usize].event {
            Some(ev) if ev.end < self.now - 3_600 => {
                (ev.end + 1_800, (ev.end + 6 * 86_400).min(self.now - 3_600), Some(true))
            }
            Some(ev) => {
                let lo = made.max(self.now - 25 * 86_400).max(ev.start - 45 * 86_400);
                (lo, self.now - 3_600, Some(false))
            }
            None => {
                // Recent, more so the closer to today.
                let u = self.rng.f64();
                let t = self.now - 1_800 - (u * u * 40.0 * 86_400.0) as i64;
                (t, t, None)
            }
        };
        let created = if hi > lo { lo + self.rng.i64(0..=hi - lo) } else { hi };
        let created = self.daytime(created, made + 60).max(made + 60).min(self.now - 600);
        let place = self.nodes[target as usize].place;
        let commune = self.places[place as usize].name;
        let elsewhere = self.places[self.home[self.rng.usize(..self.home.len())] as usize].name;
        let elsewhere = if elsewhere == commune {
            self.places[self.home[0] as usize].name
        } else {
            elsewhere
        };
        let host_node = &self.nodes[self.nodes[target as usize].admin as usize];
        let host = if host_node.kind == Kind::Person {
            host_node.first.to_owned()
        } else {
            host_node.name.clone()
        };
        let target_kind = match (&self.nodes[target as usize].event, kind) {
            (Some(ev), _) => {
                let date = self.date(ev.day);
                let over = timing == Some(true);
                let days_to_go = ((ev.start - created) / 86_400).max(0);
                Target::Event {
                    date: text::date_label(date),
                    hour: text::hour_label(ev.hour, ev.minute),
                    days_to_go,
                    over,
                    venue: ev.venue,
                }
            }
            (None, Kind::Person) => Target::Person,
            (None, Kind::Organization) => Target::Organization,
            (None, Kind::Project) => Target::Project,
            (None, Kind::Poi) => Target::Poi,
            _ => Target::Other,
        };
        let name = self.nodes[target as usize].name.clone();
        let about = PostAbout {
            target: target_kind,
            name: &name,
            commune,
            host: &host,
            elsewhere,
        };
        let text = text::post(&mut self.rng, &about);
        let members_only = private || (kind != Kind::Person && kind != Kind::Event && self.rng.u8(..10) == 0);
        let p = self.places[place as usize];
        let scope = if members_only {
            json!({"type": "restricted", "audience": "members"})
        } else {
            json!({"type": "public", "localities": [{"parentType": "cities", "name": p.name, "postalCode": p.postal_code, "codeInsee": p.insee}]})
        };
        let id = self.new_id(created);
        let author_id = self.nodes[author as usize].id.clone();
        let target_id = self.nodes[target as usize].id.clone();
        self.posts.push(json!({
            "_id": id,
            "type": "news",
            "text": text,
            "author": author_id,
            "target": {"id": target_id, "type": kind.collection()},
            "targetIsAuthor": matches!(kind, Kind::Organization | Kind::Project) && self.rng.u8(..4) == 0,
            "scope": scope,
            "created": created,
            "updated": created,
            "sharedBy": [{"id": author_id, "type": "citoyens", "updated": created}],
        }));
        self.post_meta.push(PostMeta { id, target, created });
    }

    fn comments(&mut self, n: usize) {
        if self.post_meta.is_empty() || self.by_kind[0].is_empty() {
            return;
        }
        // Comments already on each post: (comment id, author, created).
        let mut on_post: Vec<Vec<(String, u32, i64)>> = vec![Vec::new(); self.post_meta.len()];
        for _ in 0..n {
            // Recent posts draw more comments.
            let u = self.rng.f64();
            let post = ((1.0 - u * u) * self.post_meta.len() as f64) as usize;
            let post = post.min(self.post_meta.len() - 1);
            let (post_id, target, post_created) = {
                let m = &self.post_meta[post];
                (m.id.clone(), m.target, m.created)
            };
            let node = &self.nodes[target as usize];
            let author = if !node.people.is_empty() && self.rng.u8(..10) < 6 {
                node.people[self.rng.usize(..node.people.len())]
            } else {
                let place = node.place;
                self.person_near(place).unwrap_or(self.by_kind[0][0])
            };
            let author = if self.nodes[author as usize].kind == Kind::Person {
                author
            } else {
                self.by_kind[0][0]
            };
            let existing = &on_post[post];
            let reply_to = if !existing.is_empty() && self.rng.u8(..10) < 3 {
                let (id, who, at) = &existing[self.rng.usize(..existing.len())];
                (*at < self.now - 3_600 && *who != author).then(|| (id.clone(), *who, *at))
            } else {
                None
            };
            let after = reply_to.as_ref().map_or(post_created, |(_, _, at)| *at);
            let room = (self.now - 60 - after).max(1);
            let created = after + 60 + self.rng.i64(0..room.min(2 * 86_400));
            let created = self.daytime(created, after + 60).max(after + 60).min(self.now - 60);
            let text = match &reply_to {
                Some((_, who, _)) => {
                    let first = self.nodes[*who as usize].first;
                    text::reply(&mut self.rng, first)
                }
                None => {
                    let commune = self.places[self.nodes[author as usize].place as usize].name;
                    text::comment(&mut self.rng, commune)
                }
            };
            let id = self.new_id(created);
            let author_id = self.nodes[author as usize].id.clone();
            self.comments.push(json!({
                "_id": id,
                "contextId": post_id,
                "contextType": "news",
                "parentId": reply_to.as_ref().map_or("", |(id, _, _)| id.as_str()),
                "text": text,
                "created": created,
                "author": author_id,
                "tags": [],
                "status": "posted",
                "argval": "",
            }));
            on_post[post].push((id, author, created));
        }
    }

    fn into_bundle(self) -> Value {
        let elements: Vec<Value> = self
            .nodes
            .into_iter()
            .map(|node| {
                let mut doc = node.doc;
                doc.insert("links".into(), Value::Object(node.links));
                Value::Object(doc)
            })
            .collect();
        // Built by hand: `json!` would serialize the lists again, doubling time and memory.
        let mut bundle = Map::new();
        bundle.insert(
            "copi".into(),
            json!({"format": FORMAT, "version": FORMAT_VERSION, "generator": "copi demo"}),
        );
        bundle.insert("elements".into(), Value::Array(elements));
        bundle.insert("news".into(), Value::Array(self.posts));
        bundle.insert("comments".into(), Value::Array(self.comments));
        bundle.insert("documents".into(), Value::Array(Vec::new()));
        Value::Object(bundle)
    }
}

struct EventSpec {
    type_: &'static str,
    name: String,
    tags: Vec<&'static str>,
    hour: i8,
    minute: i8,
    /// Length, for timed events.
    minutes: i64,
    /// Days, for all-day events (0 for timed ones).
    all_day_days: i64,
}

/// Weekdays (Monday = 0) an event type usually falls on.
fn preferred_weekdays(type_: &str) -> Option<&'static [i64]> {
    Some(match type_ {
        "market" | "stand" => &[1, 5],
        "concert" | "film" => &[4, 5],
        "getTogether" => &[4, 5, 6],
        "competition" => &[5, 6],
        "meeting" | "conference" | "debate" => &[0, 1, 2, 3, 4],
        "workshop" => &[2, 5],
        _ => return None,
    })
}
