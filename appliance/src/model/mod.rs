//! The element model: pure types and validation, no I/O. `model` knows nothing of SQL or
//! HTTP.

mod element;
mod id;
mod kind;
mod record;
mod time;

pub use element::{
    check, element_zone, geo_coordinates, geo_position, links_from_value, links_to_value, normalize_tag, reciprocal,
    Element, Facts, Link, MAX_NAME, RESERVED,
};
pub use id::{id_from_value, ElementId};
pub use kind::{
    Kind, CLASSIFIED_SECTIONS, CURRENCIES, EVENT_TYPES, ORGANIZATION_TYPES, POI_TYPES, RESOURCE_CATEGORIES,
    RESOURCE_SECTIONS,
};
pub use record::{check_record, Audience, Record, RecordFacts, RecordKind};
pub use time::{now_seconds, timestamp_from_value};

use serde_json::{Map, Value};

/// Why a document is not a valid element or record. The message is for the person who sent
/// it: it names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("field `{field}` {message}")]
    Invalid { field: String, message: String },
    #[error("unknown kind \"{0}\": use person, organization, project, event, poi, classified or resource")]
    UnknownKind(String),
    #[error("{0}")]
    Shape(String),
}

/// Works out the kind of a Communecter-shaped document: CoPi's `kind`, else the
/// `collection` it came from (or its `collection` field), else its `@type`. A classified
/// whose `type` is `ressources` is a mutual-aid resource.
pub fn kind_of(doc: &Map<String, Value>, collection: Option<&str>) -> Result<Kind, ModelError> {
    let named = doc
        .get("kind")
        .or_else(|| doc.get("collection"))
        .and_then(Value::as_str)
        .or(collection)
        .or_else(|| doc.get("@type").and_then(Value::as_str));
    let Some(name) = named else {
        return Err(ModelError::Shape(
            "an element needs a `kind` (person, organization, project, event, poi, classified, resource)".into(),
        ));
    };
    let kind = Kind::parse(name).ok_or_else(|| ModelError::UnknownKind(name.to_owned()))?;
    if kind == Kind::Classified && doc.get("type").and_then(Value::as_str) == Some("ressources") {
        return Ok(Kind::Resource);
    }
    Ok(kind)
}

impl Element {
    /// Reads an element in CoPi's shape (`id`, `kind`) or Communecter's (`_id` in any id
    /// shape; the kind from `collection` when the document came from a collection list).
    /// The document is validated and normalised with [`check`].
    pub fn from_json(
        v: Value,
        collection: Option<&str>,
        default_zone: &jiff::tz::TimeZone,
    ) -> Result<(Element, Facts), ModelError> {
        let Value::Object(mut doc) = v else {
            return Err(ModelError::Shape("an element must be a JSON object".into()));
        };
        let kind = kind_of(&doc, collection)?;
        let id_value = doc.remove("id").or_else(|| doc.remove("_id"));
        doc.remove("_id");
        let id = id_value
            .as_ref()
            .and_then(id_from_value)
            .ok_or_else(|| ModelError::Invalid {
                field: "_id".into(),
                message: "is required and must be an id".into(),
            })?;
        doc.remove("kind");
        doc.remove("collection");
        let links = match doc.remove("links") {
            Some(v) => links_from_value(&v)?,
            None => Vec::new(),
        };
        let facts = check(kind, &mut doc, default_zone)?;
        Ok((Element { id, kind, doc, links }, facts))
    }
}

#[cfg(test)]
mod tests;
