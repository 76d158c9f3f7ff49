//! JSON bundles: what `copi export` writes and `copi import` reads.
//!
//! A CoPi bundle is `{"copi": {header}, "elements": [...], "news": [...], "comments": [...],
//! "documents": [...]}`, elements in CoPi's shape. Import also takes Communecter's shapes: an
//! object of collections (`{"citoyens": [...], "organizations": [...], ...}`, as
//! Communecter's data export writes), the API envelope `{"entities": {"<id>": {...}}}`, a
//! list of documents that name their `kind` or `collection`, or a single document.
//!
//! An import is all or nothing: every document is read and validated first, then everything
//! is written in one transaction.

use std::io::Write;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::{self, Element, Facts, Kind, Record, RecordFacts, RecordKind};
use crate::store::Store;

/// Format name and version written in a bundle's header.
pub const FORMAT: &str = "copi-bundle";
pub const FORMAT_VERSION: u64 = 1;

/// Largest import file read, in bytes.
pub const MAX_IMPORT_BYTES: u64 = 1 << 30;

/// Elements and records, validated, ready to be written.
#[derive(Debug, Default)]
pub struct Bundle {
    pub elements: Vec<(Element, Facts)>,
    pub records: Vec<(Record, RecordFacts)>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub elements: usize,
    pub records: usize,
}

impl Bundle {
    /// Reads and validates a bundle in any accepted shape. Errors name the document.
    pub fn from_json(v: Value, zone: &jiff::tz::TimeZone) -> Result<Bundle> {
        let mut bundle = Bundle::default();
        match v {
            Value::Object(mut top) if top.contains_key("copi") => {
                let header = top.remove("copi").unwrap_or_default();
                if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
                    return Err(Error::Import(
                        "the `copi` header does not name the copi-bundle format".into(),
                    ));
                }
                let version = header.get("version").and_then(Value::as_u64).unwrap_or(0);
                if version == 0 || version > FORMAT_VERSION {
                    return Err(Error::Import(format!(
                        "bundle format version {version} is not one this CoPi reads (1..={FORMAT_VERSION})"
                    )));
                }
                bundle.read_list(top.remove("elements"), "elements", None, zone)?;
                bundle.read_records(&mut top)?;
                if let Some(extra) = top.keys().next() {
                    return Err(Error::Import(format!("unknown section \"{extra}\" in a CoPi bundle")));
                }
            }
            Value::Object(mut top) if top.contains_key("entities") => {
                let Some(Value::Object(entities)) = top.remove("entities") else {
                    return Err(Error::Import("`entities` must be an object keyed by id".into()));
                };
                for (id, doc) in entities {
                    let Value::Object(mut doc) = doc else {
                        return Err(Error::Import(format!("entities.{id}: must be an object")));
                    };
                    doc.entry("_id").or_insert(Value::String(id.clone()));
                    bundle.push_element(Value::Object(doc), None, &format!("entities.{id}"), zone)?;
                }
            }
            Value::Object(mut top) if top.keys().any(|k| Kind::parse(k).is_some()) => {
                let collections: Vec<String> = top.keys().filter(|k| Kind::parse(k).is_some()).cloned().collect();
                for c in collections {
                    let list = top.remove(&c);
                    bundle.read_list(list, &c, Some(&c), zone)?;
                }
                bundle.read_records(&mut top)?;
                // Communecter's envelopes and CoPi's element export carry a `meta` header.
                top.remove("meta");
                if let Some(extra) = top.keys().next() {
                    return Err(Error::Import(format!("unknown collection \"{extra}\"")));
                }
            }
            Value::Object(doc) => bundle.push_element(Value::Object(doc), None, "document", zone)?,
            Value::Array(_) => bundle.read_list(Some(v), "list", None, zone)?,
            _ => return Err(Error::Import("a bundle must be a JSON object or list".into())),
        }
        if bundle.elements.is_empty() && bundle.records.is_empty() {
            return Err(Error::Import("the file holds no element and no record".into()));
        }
        let mut ids = std::collections::HashSet::new();
        for (e, _) in &bundle.elements {
            if !ids.insert(e.id.as_str()) {
                return Err(Error::Import(format!("element id {} appears twice", e.id)));
            }
        }
        Ok(bundle)
    }

    fn read_list(
        &mut self,
        list: Option<Value>,
        name: &str,
        collection: Option<&str>,
        zone: &jiff::tz::TimeZone,
    ) -> Result<()> {
        match list {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Array(items)) => {
                self.elements.reserve(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    self.push_element(item, collection, &format!("{name}[{i}]"), zone)?;
                }
                Ok(())
            }
            Some(_) => Err(Error::Import(format!("`{name}` must be a list"))),
        }
    }

    fn push_element(
        &mut self,
        v: Value,
        collection: Option<&str>,
        place: &str,
        zone: &jiff::tz::TimeZone,
    ) -> Result<()> {
        let id = v.get("id").or_else(|| v.get("_id")).and_then(model::id_from_value);
        let (element, facts) = Element::from_json(v, collection, zone).map_err(|e| match &id {
            Some(id) => Error::Import(format!("{place} (id {id}): {e}")),
            None => Error::Import(format!("{place}: {e}")),
        })?;
        self.elements.push((element, facts));
        Ok(())
    }

    fn read_records(&mut self, top: &mut Map<String, Value>) -> Result<()> {
        for kind in RecordKind::ALL {
            match top.remove(kind.collection()) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.into_iter().enumerate() {
                        let record = Record::from_json(kind, item)
                            .map_err(|e| Error::Import(format!("{}[{i}]: {e}", kind.collection())))?;
                        let facts = model::check_record(kind, &record.doc)?;
                        self.records.push((record, facts));
                    }
                }
                Some(_) => return Err(Error::Import(format!("`{}` must be a list", kind.collection()))),
            }
        }
        Ok(())
    }

    /// Writes everything in one transaction; `progress` is called after each item.
    pub fn write(mut self, store: &Store, mut progress: impl FnMut()) -> Result<ImportSummary> {
        let summary = ImportSummary {
            elements: self.elements.len(),
            records: self.records.len(),
        };
        store.write(|tx| {
            for (element, facts) in &mut self.elements {
                store.put_element(tx, element, facts)?;
                progress();
            }
            for (record, facts) in &self.records {
                store.put_record(tx, record, facts)?;
                progress();
            }
            Ok(())
        })?;
        Ok(summary)
    }

    pub fn len(&self) -> usize {
        self.elements.len() + self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Writes the whole hub as a CoPi bundle, one element at a time (memory stays flat).
pub fn export(store: &Store, out: &mut dyn Write) -> Result<ImportSummary> {
    let io = |e: std::io::Error| Error::Io {
        context: "cannot write the export".into(),
        source: e,
    };
    let json = |e: serde_json::Error| Error::Corrupt(e.to_string());
    let header = serde_json::json!({
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "generator": format!("copi {}", env!("CARGO_PKG_VERSION")),
        "instance": store.instance().id,
        "exported": model::now_seconds(),
    });
    write!(out, "{{\"copi\":{},\n\"elements\":[", header).map_err(io)?;
    let mut summary = ImportSummary::default();
    store.for_each_element(|e| {
        out.write_all(if summary.elements == 0 { b"\n" } else { b",\n" })
            .map_err(io)?;
        serde_json::to_writer(&mut *out, &e.to_json()).map_err(json)?;
        summary.elements += 1;
        Ok(())
    })?;
    out.write_all(b"]").map_err(io)?;
    for kind in RecordKind::ALL {
        write!(out, ",\n\"{}\":[", kind.collection()).map_err(io)?;
        let mut first = true;
        store.for_each_record(|r| {
            if r.kind == kind {
                out.write_all(if first { b"\n" } else { b",\n" }).map_err(io)?;
                first = false;
                serde_json::to_writer(&mut *out, &r.to_json()).map_err(json)?;
                summary.records += 1;
            }
            Ok(())
        })?;
        out.write_all(b"]").map_err(io)?;
    }
    out.write_all(b"}\n").map_err(io)?;
    Ok(summary)
}
