//! Records that hang off elements: journal posts (Communecter's `news`), comments and
//! documents (attached files). URL lists are the element's own `urls` field.
//!
//! Like elements, each keeps its Communecter-shaped document whole.

use serde_json::{Map, Value};

use super::id::{id_from_value, ElementId};
use super::ModelError;

/// The kinds of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Post,
    Comment,
    Document,
}

impl RecordKind {
    pub const ALL: [RecordKind; 3] = [RecordKind::Post, RecordKind::Comment, RecordKind::Document];

    /// Communecter's collection, also the key of the record list in a bundle.
    pub fn collection(self) -> &'static str {
        match self {
            RecordKind::Post => "news",
            RecordKind::Comment => "comments",
            RecordKind::Document => "documents",
        }
    }
}

/// Who may read a journal post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    Public,
    /// Members (and admins) of the element the post is on.
    Members,
    /// Followers and members of the element the post is on.
    Followers,
    /// The author and the element's admins.
    Private,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Public => "public",
            Audience::Members => "members",
            Audience::Followers => "followers",
            Audience::Private => "private",
        }
    }

    pub fn parse(s: &str) -> Option<Audience> {
        Some(match s {
            "public" => Audience::Public,
            "members" => Audience::Members,
            "followers" => Audience::Followers,
            "private" => Audience::Private,
            _ => return None,
        })
    }

    /// Reads a post's audience: CoPi's `scope.audience` when present, else Communecter's
    /// `scope.type` (`public`, `restricted` = the element's network, `private`).
    pub fn of_post(doc: &Map<String, Value>) -> Result<Audience, ModelError> {
        let scope = match doc.get("scope") {
            None | Some(Value::Null) => return Ok(Audience::Public),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(invalid("scope", "must be an object")),
        };
        if let Some(a) = scope.get("audience") {
            return a
                .as_str()
                .and_then(Audience::parse)
                .ok_or_else(|| invalid("scope.audience", "must be public, members, followers or private"));
        }
        match scope.get("type").and_then(Value::as_str) {
            None | Some("public") => Ok(Audience::Public),
            Some("restricted") => Ok(Audience::Followers),
            Some("private") => Ok(Audience::Private),
            Some(_) => Err(invalid("scope.type", "must be public, restricted or private")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: ElementId,
    pub kind: RecordKind,
    /// Communecter-shaped fields without `_id`.
    pub doc: Map<String, Value>,
}

/// What the store indexes about a record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordFacts {
    /// The element the record belongs to: a post's `target.id`, a comment's `contextId`
    /// when its context is an element, a document's owner `id`.
    pub element: Option<ElementId>,
    /// A comment's post (`contextType: "news"`), or the comment it answers.
    pub parent: Option<ElementId>,
    pub author: Option<String>,
    pub audience: Audience,
}

fn invalid(field: &str, message: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn required_id(doc: &Map<String, Value>, path: &str, v: Option<&Value>) -> Result<ElementId, ModelError> {
    let _ = doc;
    v.and_then(id_from_value)
        .ok_or_else(|| invalid(path, "must be an element id"))
}

/// An author is a user id, or (in API output) `{"id", "name", …}`.
fn author(doc: &Map<String, Value>) -> Result<Option<String>, ModelError> {
    match doc.get("author") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => id_from_value(v)
            .or_else(|| v.get("id").and_then(id_from_value))
            .map(|i| Some(i.to_string()))
            .ok_or_else(|| invalid("author", "must be a user id")),
    }
}

fn text(doc: &Map<String, Value>, required: bool) -> Result<(), ModelError> {
    match doc.get("text") {
        None | Some(Value::Null) if !required => Ok(()),
        Some(Value::String(s)) if !required || !s.trim().is_empty() => {
            if s.len() > 100_000 {
                Err(invalid("text", "is longer than 100000 bytes"))
            } else {
                Ok(())
            }
        }
        Some(Value::String(_)) | None | Some(Value::Null) => Err(invalid("text", "is required")),
        Some(_) => Err(invalid("text", "must be a string")),
    }
}

/// Validates a record's document and returns what the store indexes.
pub fn check_record(kind: RecordKind, doc: &Map<String, Value>) -> Result<RecordFacts, ModelError> {
    if doc.contains_key("_id") {
        return Err(invalid("_id", "is not a document field here"));
    }
    match kind {
        RecordKind::Post => {
            let has_media = matches!(doc.get("media"), Some(Value::Object(_)));
            text(doc, !has_media)?;
            let target = match doc.get("target") {
                Some(Value::Object(t)) => t,
                _ => {
                    return Err(invalid(
                        "target",
                        "must be {\"id\", \"type\"}: the element the post is on",
                    ))
                }
            };
            let element = required_id(doc, "target.id", target.get("id"))?;
            Ok(RecordFacts {
                element: Some(element),
                parent: None,
                author: author(doc)?,
                audience: Audience::of_post(doc)?,
            })
        }
        RecordKind::Comment => {
            text(doc, true)?;
            let context = required_id(doc, "contextId", doc.get("contextId"))?;
            let context_type = doc
                .get("contextType")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("contextType", "is required: the collection of contextId"))?;
            let reply_to = match doc.get("parentId") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(v) => Some(id_from_value(v).ok_or_else(|| invalid("parentId", "must be a comment id"))?),
            };
            let (element, parent) = if context_type == "news" {
                (None, Some(reply_to.unwrap_or(context)))
            } else {
                (Some(context), reply_to)
            };
            Ok(RecordFacts {
                element,
                parent,
                author: author(doc)?,
                audience: Audience::Public,
            })
        }
        RecordKind::Document => {
            let owner = required_id(doc, "id", doc.get("id"))?;
            for field in ["name", "type"] {
                if !matches!(doc.get(field), Some(Value::String(s)) if !s.is_empty()) {
                    return Err(invalid(field, "is required"));
                }
            }
            if let Some(size) = doc.get("size") {
                if size.as_u64().is_none() {
                    return Err(invalid("size", "must be a whole number of bytes"));
                }
            }
            Ok(RecordFacts {
                element: Some(owner),
                parent: None,
                author: author(doc)?,
                audience: Audience::Public,
            })
        }
    }
}

impl Record {
    /// The record as it appears in bundles and the API: `_id` as `{"$id"}`, then the
    /// document (Communecter's shape).
    pub fn to_json(&self) -> Value {
        let mut out = Map::with_capacity(self.doc.len() + 1);
        out.insert("_id".into(), serde_json::json!({"$id": self.id.as_str()}));
        for (k, v) in &self.doc {
            out.insert(k.clone(), v.clone());
        }
        Value::Object(out)
    }

    /// Reads a record in Communecter's shape (`_id` in any id shape).
    pub fn from_json(kind: RecordKind, v: Value) -> Result<Record, ModelError> {
        let Value::Object(mut doc) = v else {
            return Err(invalid(kind.collection(), "each record must be an object"));
        };
        let id = doc
            .remove("_id")
            .as_ref()
            .and_then(id_from_value)
            .ok_or_else(|| invalid("_id", "is required and must be an id"))?;
        check_record(kind, &doc)?;
        Ok(Record { id, kind, doc })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn audiences() {
        fn check(scope: Value, expected: Result<Audience, ()>) {
            let d = doc(json!({ "scope": scope }));
            assert_eq!(Audience::of_post(&d).map_err(|_| ()), expected, "{scope}");
        }
        check(json!({"type": "public"}), Ok(Audience::Public));
        check(json!({"type": "restricted"}), Ok(Audience::Followers));
        check(json!({"type": "private"}), Ok(Audience::Private));
        check(
            json!({"type": "restricted", "audience": "members"}),
            Ok(Audience::Members),
        );
        check(json!({"type": "secret"}), Err(()));
        check(json!("public"), Err(()));
    }

    #[test]
    fn posts_need_a_target_and_text() {
        let ok = doc(
            json!({"type": "news", "text": "Bonjour", "author": "5aa979f540bb4e7162d04363",
            "target": {"id": "5b0f00000000000000000001", "type": "organizations"}, "scope": {"type": "public"}}),
        );
        let facts = check_record(RecordKind::Post, &ok).unwrap();
        assert_eq!(facts.element.unwrap().as_str(), "5b0f00000000000000000001");
        assert!(check_record(RecordKind::Post, &doc(json!({"text": "x"}))).is_err());
        assert!(check_record(RecordKind::Post, &doc(json!({"text": 3, "target": {"id": "a1"}}))).is_err());
    }

    #[test]
    fn comments_on_posts_and_elements() {
        let on_post = doc(json!({"contextId": "5bcee6addd04521f29c5555b", "contextType": "news", "text": "Super !"}));
        let f = check_record(RecordKind::Comment, &on_post).unwrap();
        assert_eq!(
            (f.element, f.parent.unwrap().as_str().to_owned()),
            (None, "5bcee6addd04521f29c5555b".to_owned())
        );
        let on_element =
            doc(json!({"contextId": "5b0f00000000000000000001", "contextType": "organizations", "text": "Merci"}));
        let f = check_record(RecordKind::Comment, &on_element).unwrap();
        assert_eq!(f.element.unwrap().as_str(), "5b0f00000000000000000001");
        assert!(check_record(RecordKind::Comment, &doc(json!({"contextId": "x1", "text": "no type"}))).is_err());
    }
}
