//! An element: a Communecter-shaped document plus the facts CoPi reads from it.
//!
//! The document is kept whole (unknown fields included) so that data moves between CoPi and
//! a main instance without loss; [`check`] validates the fields CoPi understands, normalises
//! the few that have two spellings, and returns the [`Facts`] the store indexes.

use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use super::id::{id_from_value, ElementId};
use super::kind::{self, Kind};
use super::time::timestamp_from_value;
use super::ModelError;

/// Longest name accepted, in characters.
pub const MAX_NAME: usize = 200;
/// Most tags on one element.
pub const MAX_TAGS: usize = 64;
/// Longest tag, in characters.
pub const MAX_TAG: usize = 64;

/// Fields that are not part of the stored document: they are the element's identity or its
/// links, which the store keeps apart.
pub const RESERVED: &[&str] = &["_id", "id", "kind", "collection", "links"];

#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub id: ElementId,
    pub kind: Kind,
    /// Communecter-shaped fields without `_id` and `links`; unknown fields are kept.
    pub doc: Map<String, Value>,
    pub links: Vec<Link>,
}

/// One side of a relation, as Communecter stores it: `links.<link_type>.<other> = attrs`,
/// where `attrs` holds `type` (the other's collection), `isAdmin`, `roles`, …
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub link_type: String,
    pub other: ElementId,
    pub attrs: Map<String, Value>,
}

impl Link {
    pub fn other_type(&self) -> Option<&str> {
        self.attrs.get("type").and_then(Value::as_str)
    }
}

/// The link type that mirrors `link_type` on the other element, given the kinds involved.
/// `members`↔`memberOf`, `contributors`↔`projects`, `attendees`↔`events`,
/// `followers`↔`follows`, `organizer`↔`events`, `subEvents`↔`parent`.
pub fn reciprocal(link_type: &str, this: Kind, other: Kind) -> Option<&'static str> {
    Some(match (link_type, this, other) {
        ("members", _, _) => "memberOf",
        ("memberOf", _, _) => "members",
        ("contributors", _, _) => "projects",
        ("projects", Kind::Project, Kind::Project) => "projects",
        ("projects", _, Kind::Project) => "contributors",
        ("attendees", _, _) => "events",
        ("organizer", _, _) => "events",
        ("events", _, Kind::Event) if this == Kind::Person => "attendees",
        ("events", _, Kind::Event) => "organizer",
        ("followers", _, _) => "follows",
        ("follows", _, _) => "followers",
        ("subEvents", _, _) => "parent",
        ("parent", _, _) => "subEvents",
        _ => return None,
    })
}

/// What the store indexes about an element, read from its document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub name: String,
    pub slug: Option<String>,
    /// The `type` field: organization, event or POI type, classified type.
    pub type_: Option<String>,
    pub tags: Vec<String>,
    pub insee: Option<String>,
    pub postal_code: Option<String>,
    pub locality: Option<String>,
    pub country: Option<String>,
    /// (latitude, longitude)
    pub position: Option<(f64, f64)>,
    /// Events: start and end, epoch seconds (UTC).
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub parent: Option<ElementId>,
    /// `preferences.private`: visible to members and admins only.
    pub private: bool,
}

fn invalid(field: &str, message: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn opt_str<'a>(doc: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, ModelError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid(field, "must be a string")),
    }
}

fn opt_bool(doc: &Map<String, Value>, field: &str, path: &str) -> Result<Option<bool>, ModelError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        // PHP forms send booleans as strings.
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(_) => Err(invalid(path, "must be true or false")),
    }
}

fn opt_object<'a>(doc: &'a Map<String, Value>, field: &str) -> Result<Option<&'a Map<String, Value>>, ModelError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(invalid(field, "must be an object")),
    }
}

/// The zone an event's civil times are read in: its `timeZone` (a CoPi addition, since
/// Communecter stores UTC only) or the hub's default.
pub fn element_zone(doc: &Map<String, Value>, default: &TimeZone) -> Result<TimeZone, ModelError> {
    match opt_str(doc, "timeZone")? {
        None => Ok(default.clone()),
        Some(name) => TimeZone::get(name).map_err(|_| {
            invalid(
                "timeZone",
                format!("unknown time zone \"{name}\" (use an IANA name such as Europe/Paris)"),
            )
        }),
    }
}

/// Validates `doc` as an element of `kind`, normalises it in place, and returns its facts.
///
/// Normalisations: the `type` of organizations, events and POIs takes its canonical
/// spelling; `geo` and `geoPosition` are each derived from the other when one is missing;
/// a resource gets `type: "ressources"` (how Communecter stores Entraide).
pub fn check(kind: Kind, doc: &mut Map<String, Value>, default_zone: &TimeZone) -> Result<Facts, ModelError> {
    for key in RESERVED {
        if doc.contains_key(*key) {
            return Err(invalid(key, "is not a document field here"));
        }
    }
    let mut facts = Facts::default();

    let name = opt_str(doc, "name")?.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err(invalid("name", "is required"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(invalid("name", format!("is longer than {MAX_NAME} characters")));
    }
    facts.name = name.to_owned();
    facts.slug = opt_str(doc, "slug")?.map(str::to_owned);
    for field in ["shortDescription", "description", "email", "creator", "parentType"] {
        opt_str(doc, field)?;
    }
    for field in [
        "profilImageUrl",
        "profilThumbImageUrl",
        "profilMarkerImageUrl",
        "profilMediumImageUrl",
        "profilBannerUrl",
        "profilRealBannerUrl",
    ] {
        opt_str(doc, field)?;
    }

    facts.tags = check_tags(doc)?;
    check_urls(doc)?;
    check_type(kind, doc, &mut facts)?;
    check_address(doc, &mut facts)?;
    check_geo(doc, &mut facts)?;

    let zone = element_zone(doc, default_zone)?;
    for field in ["created", "updated", "modified"] {
        if let Some(v) = doc.get(field) {
            if !v.is_null() && timestamp_from_value(v, &zone).is_none() {
                return Err(invalid(field, "must be epoch seconds, {\"sec\",\"usec\"} or a date"));
            }
        }
    }
    if kind == Kind::Event || kind == Kind::Project {
        check_dates(kind, doc, &zone, &mut facts)?;
    }
    if let Some(v) = doc.get("parentId") {
        if !v.is_null() && v.as_str() != Some("") {
            facts.parent = Some(id_from_value(v).ok_or_else(|| invalid("parentId", "must be an element id"))?);
        }
    }
    if let Some(prefs) = opt_object(doc, "preferences")? {
        facts.private = opt_bool(prefs, "private", "preferences.private")?.unwrap_or(false);
        opt_bool(prefs, "isOpenData", "preferences.isOpenData")?;
        opt_bool(prefs, "isOpenEdition", "preferences.isOpenEdition")?;
    }
    if kind == Kind::Classified || kind == Kind::Resource {
        if let Some(price) = doc.get("price") {
            let ok = match price {
                Value::Null => true,
                Value::Number(n) => n.as_f64().is_some_and(|p| p >= 0.0),
                _ => false,
            };
            if !ok {
                return Err(invalid("price", "must be a number ≥ 0"));
            }
        }
        if let Some(devise) = opt_str(doc, "devise")? {
            if kind::canonical(kind::CURRENCIES, devise).is_none() {
                return Err(invalid(
                    "devise",
                    format!("must be one of {}", kind::CURRENCIES.join(", ")),
                ));
            }
        }
    }
    Ok(facts)
}

fn check_tags(doc: &Map<String, Value>) -> Result<Vec<String>, ModelError> {
    let Some(v) = doc.get("tags") else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = v else {
        return if v.is_null() {
            Ok(Vec::new())
        } else {
            Err(invalid("tags", "must be a list of strings"))
        };
    };
    if items.len() > MAX_TAGS {
        return Err(invalid("tags", format!("has more than {MAX_TAGS} tags")));
    }
    let mut tags = Vec::with_capacity(items.len());
    for t in items {
        let t = t.as_str().ok_or_else(|| invalid("tags", "must be a list of strings"))?;
        if t.chars().count() > MAX_TAG {
            return Err(invalid("tags", format!("a tag is longer than {MAX_TAG} characters")));
        }
        let norm = normalize_tag(t);
        if !norm.is_empty() && !tags.contains(&norm) {
            tags.push(norm);
        }
    }
    Ok(tags)
}

/// Tags are matched case-insensitively, without a leading `#`.
pub fn normalize_tag(t: &str) -> String {
    t.trim().trim_start_matches('#').trim().to_lowercase()
}

fn check_urls(doc: &Map<String, Value>) -> Result<(), ModelError> {
    match doc.get("urls") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) => {
            for u in items {
                let ok = match u {
                    Value::String(_) => true,
                    Value::Object(m) => matches!(m.get("url"), Some(Value::String(_))),
                    _ => false,
                };
                if !ok {
                    return Err(invalid(
                        "urls",
                        "must be a list of URLs or of {\"title\",\"url\",\"type\"}",
                    ));
                }
            }
            Ok(())
        }
        Some(_) => Err(invalid("urls", "must be a list")),
    }
}

fn check_type(kind: Kind, doc: &mut Map<String, Value>, facts: &mut Facts) -> Result<(), ModelError> {
    let given = opt_str(doc, "type")?.map(str::to_owned);
    let canonical = match kind {
        Kind::Organization => Some(type_in(
            kind::ORGANIZATION_TYPES,
            given.as_deref(),
            "an organization",
            true,
        )?),
        Kind::Event => Some(type_in(kind::EVENT_TYPES, given.as_deref(), "an event", true)?),
        Kind::Poi => match given.as_deref() {
            None => None,
            t => Some(type_in(kind::POI_TYPES, t, "a point of interest", false)?),
        },
        Kind::Classified => {
            match given.as_deref() {
                None | Some("classifieds") | Some("jobs") => {}
                Some("ressources") => {
                    return Err(invalid(
                        "type",
                        "\"ressources\" is a mutual-aid resource: use the resource kind",
                    ))
                }
                Some(t) => {
                    return Err(invalid(
                        "type",
                        format!("\"{t}\" is not a classified type (classifieds, jobs)"),
                    ))
                }
            }
            if given.as_deref() != Some("jobs") {
                if let Some(section) = opt_str(doc, "section")? {
                    if kind::canonical(kind::CLASSIFIED_SECTIONS, section).is_none() {
                        return Err(invalid(
                            "section",
                            format!("must be one of {}", kind::CLASSIFIED_SECTIONS.join(", ")),
                        ));
                    }
                }
            }
            opt_str(doc, "category")?;
            opt_str(doc, "subtype")?;
            Some(if given.as_deref() == Some("jobs") {
                "jobs"
            } else {
                "classifieds"
            })
        }
        Kind::Resource => {
            match given.as_deref() {
                None | Some("ressources") => {}
                Some(t) => {
                    return Err(invalid(
                        "type",
                        format!("a resource has type \"ressources\", not \"{t}\""),
                    ))
                }
            }
            let section = opt_str(doc, "section")?.ok_or_else(|| invalid("section", "is required: offer or need"))?;
            if kind::canonical(kind::RESOURCE_SECTIONS, section).is_none() {
                return Err(invalid("section", "must be offer or need"));
            }
            if let Some(category) = opt_str(doc, "category")? {
                if kind::canonical(kind::RESOURCE_CATEGORIES, category).is_none() {
                    return Err(invalid(
                        "category",
                        format!("must be one of {}", kind::RESOURCE_CATEGORIES.join(", ")),
                    ));
                }
            }
            opt_str(doc, "subtype")?;
            Some("ressources")
        }
        Kind::Person | Kind::Project => None,
    };
    if let Some(t) = canonical {
        doc.insert("type".into(), Value::String(t.to_owned()));
        facts.type_ = Some(t.to_owned());
    } else {
        facts.type_ = given;
    }
    Ok(())
}

fn type_in(list: &[&'static str], given: Option<&str>, what: &str, required: bool) -> Result<&'static str, ModelError> {
    match given {
        None if required => Err(invalid(
            "type",
            format!("is required for {what}: one of {}", list.join(", ")),
        )),
        None => Ok(list[list.len() - 1]),
        Some(t) => kind::canonical(list, t).ok_or_else(|| {
            invalid(
                "type",
                format!("\"{t}\" is not a type of {what}: one of {}", list.join(", ")),
            )
        }),
    }
}

fn check_address(doc: &Map<String, Value>, facts: &mut Facts) -> Result<(), ModelError> {
    let Some(addr) = opt_object(doc, "address")? else {
        return Ok(());
    };
    let field = |name: &str| -> Result<Option<String>, ModelError> {
        match addr.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok((!s.trim().is_empty()).then(|| s.trim().to_owned())),
            Some(_) => Err(invalid(&format!("address.{name}"), "must be a string")),
        }
    };
    for name in [
        "streetAddress",
        "localityId",
        "level1",
        "level1Name",
        "level2",
        "level2Name",
        "level3",
        "level3Name",
        "level4",
        "level4Name",
    ] {
        field(name)?;
    }
    facts.insee = field("codeInsee")?;
    facts.postal_code = field("postalCode")?;
    facts.locality = field("addressLocality")?;
    facts.country = field("addressCountry")?;
    Ok(())
}

fn coordinate(v: &Value, path: &str, max: f64) -> Result<f64, ModelError> {
    let s = v
        .as_str()
        .ok_or_else(|| invalid(path, "must be a string such as \"45.12\" (Communecter's geo)"))?;
    let f: f64 = s
        .trim()
        .parse()
        .map_err(|_| invalid(path, "must be a decimal number"))?;
    if !f.is_finite() || f.abs() > max {
        return Err(invalid(path, format!("must be between -{max} and {max}")));
    }
    Ok(f)
}

fn check_geo(doc: &mut Map<String, Value>, facts: &mut Facts) -> Result<(), ModelError> {
    let geo = match opt_object(doc, "geo")? {
        Some(g) => {
            let lat = g
                .get("latitude")
                .ok_or_else(|| invalid("geo.latitude", "is required"))?;
            let lon = g
                .get("longitude")
                .ok_or_else(|| invalid("geo.longitude", "is required"))?;
            Some((
                coordinate(lat, "geo.latitude", 90.0)?,
                coordinate(lon, "geo.longitude", 180.0)?,
            ))
        }
        None => None,
    };
    let position = match opt_object(doc, "geoPosition")? {
        Some(p) => {
            let coords = p
                .get("coordinates")
                .and_then(Value::as_array)
                .filter(|c| c.len() == 2)
                .ok_or_else(|| invalid("geoPosition.coordinates", "must be [longitude, latitude]"))?;
            let num = |v: &Value, max: f64| v.as_f64().filter(|f| f.abs() <= max);
            let lon = num(&coords[0], 180.0).ok_or_else(|| {
                invalid(
                    "geoPosition.coordinates",
                    "longitude must be a number between -180 and 180",
                )
            })?;
            let lat = num(&coords[1], 90.0).ok_or_else(|| {
                invalid(
                    "geoPosition.coordinates",
                    "latitude must be a number between -90 and 90",
                )
            })?;
            Some((lat, lon))
        }
        None => None,
    };
    match (geo, position) {
        (Some(g), None) => {
            doc.insert("geoPosition".into(), geo_position(g.0, g.1));
        }
        (None, Some(p)) => {
            doc.insert("geo".into(), geo_coordinates(p.0, p.1));
        }
        _ => {}
    }
    facts.position = geo.or(position);
    Ok(())
}

/// `geo` as Communecter writes it: strings.
pub fn geo_coordinates(lat: f64, lon: f64) -> Value {
    serde_json::json!({"@type": "GeoCoordinates", "latitude": lat.to_string(), "longitude": lon.to_string()})
}

/// `geoPosition` as Communecter writes it: GeoJSON, longitude first.
pub fn geo_position(lat: f64, lon: f64) -> Value {
    serde_json::json!({"type": "Point", "coordinates": [lon, lat]})
}

fn check_dates(kind: Kind, doc: &Map<String, Value>, zone: &TimeZone, facts: &mut Facts) -> Result<(), ModelError> {
    let read = |field: &str| -> Result<Option<i64>, ModelError> {
        match doc.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => timestamp_from_value(v, zone)
                .map(|t| Some(t.as_second()))
                .ok_or_else(|| {
                    invalid(
                        field,
                        "must be a date: epoch seconds, {\"sec\",\"usec\"}, \"YYYY-MM-DD HH:MM\" or ISO 8601",
                    )
                }),
        }
    };
    facts.start = read("startDate")?;
    facts.end = read("endDate")?;
    opt_bool(doc, "allDay", "allDay")?;
    if kind == Kind::Event && facts.start.is_none() {
        return Err(invalid("startDate", "is required for an event"));
    }
    if let (Some(s), Some(e)) = (facts.start, facts.end) {
        if e < s {
            return Err(invalid("endDate", "is before startDate"));
        }
    }
    Ok(())
}

/// Reads a `links` object: `{<linkType>: {<otherId>: {type, isAdmin, roles, …}}}`.
pub fn links_from_value(v: &Value) -> Result<Vec<Link>, ModelError> {
    let mut links = Vec::new();
    let Value::Object(by_type) = v else {
        return if v.is_null() {
            Ok(links)
        } else {
            Err(invalid("links", "must be an object"))
        };
    };
    for (link_type, others) in by_type {
        if link_type.is_empty() || link_type.len() > 64 {
            return Err(invalid("links", "has an empty or overlong link type"));
        }
        let others = match others {
            Value::Object(m) => m,
            // PHP writes an empty map as [].
            Value::Array(a) if a.is_empty() => continue,
            _ => {
                return Err(invalid(
                    &format!("links.{link_type}"),
                    "must be an object keyed by element id",
                ))
            }
        };
        for (other, attrs) in others {
            let other_id = ElementId::parse(other).ok_or_else(|| {
                invalid(
                    &format!("links.{link_type}"),
                    format!("\"{other}\" is not an element id"),
                )
            })?;
            let attrs = match attrs {
                Value::Object(m) => m.clone(),
                Value::Array(a) if a.is_empty() => Map::new(),
                _ => return Err(invalid(&format!("links.{link_type}.{other}"), "must be an object")),
            };
            if let Some(t) = attrs.get("type") {
                if !t.is_string() {
                    return Err(invalid(&format!("links.{link_type}.{other}.type"), "must be a string"));
                }
            }
            links.push(Link {
                link_type: link_type.clone(),
                other: other_id,
                attrs,
            });
        }
    }
    Ok(links)
}

/// Writes links back in Communecter's shape, link types and ids in the order given.
pub fn links_to_value(links: &[Link]) -> Value {
    let mut by_type = Map::new();
    for link in links {
        let entry = by_type
            .entry(link.link_type.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(link.other.to_string(), Value::Object(link.attrs.clone()));
        }
    }
    Value::Object(by_type)
}

impl Element {
    /// The organisers of an event: its `organizer` links, then Communecter's `organizerId`.
    pub fn organizer_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .links
            .iter()
            .filter(|l| l.link_type == "organizer")
            .map(|l| l.other.to_string())
            .collect();
        if let Some(o) = self.doc.get("organizerId").and_then(|v| v.as_str()) {
            if !ids.iter().any(|i| i == o) && ElementId::parse(o).is_some() {
                ids.push(o.to_owned());
            }
        }
        ids
    }

    /// CoPi's JSON for an element: `id`, `kind`, `collection`, the document, `links`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::with_capacity(self.doc.len() + 4);
        out.insert("id".into(), Value::String(self.id.to_string()));
        out.insert("kind".into(), Value::String(self.kind.as_str().into()));
        out.insert("collection".into(), Value::String(self.kind.collection().into()));
        for (k, v) in &self.doc {
            out.insert(k.clone(), v.clone());
        }
        out.insert("links".into(), links_to_value(&self.links));
        Value::Object(out)
    }

    /// Communecter's raw document shape: `_id` as `{"$id"}`, no CoPi fields. Resources
    /// travel as classifieds with `type: "ressources"`, so the collection returned for them
    /// is `classifieds`.
    pub fn to_communecter(&self) -> (&'static str, Value) {
        let mut out = Map::with_capacity(self.doc.len() + 2);
        out.insert("_id".into(), serde_json::json!({"$id": self.id.as_str()}));
        for (k, v) in &self.doc {
            out.insert(k.clone(), v.clone());
        }
        out.insert("links".into(), links_to_value(&self.links));
        let collection = if self.kind == Kind::Resource {
            "classifieds"
        } else {
            self.kind.collection()
        };
        (collection, Value::Object(out))
    }
}
