//! `/api/v1/search` and `/api/v1/search/suggest`.

use rocket::fairing::AdHoc;
use rocket::response::content::RawJson;
use rocket::serde::json::Json;
use rocket::State;
use serde_json::{json, Value};

use super::elements::{parse_kinds, parse_limit};
use super::{blocking, ApiResult, Hub};
use crate::error::Error;
use crate::model::{self, ElementId};
use crate::search::SearchQuery;
use crate::territory::Scope;

fn parse_near(near: Option<&str>) -> Result<Option<(f64, f64, f64)>, Error> {
    let Some(near) = near else { return Ok(None) };
    let bad = || Error::BadRequest(format!("near \"{near}\" must be LAT,LON,KM (e.g. 44.73,5.02,10)"));
    let parts: Vec<f64> = near
        .split(',')
        .map(|p| p.trim().parse::<f64>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    match parts[..] {
        [lat, lon, km] if lat.abs() <= 90.0 && lon.abs() <= 180.0 && km > 0.0 && km <= 1000.0 => {
            Ok(Some((lat, lon, km)))
        }
        _ => Err(bad()),
    }
}

/// A date bound: `YYYY-MM-DD` (the whole day, in the hub's zone), an RFC 3339 time, or epoch
/// seconds. `end` picks the end of a day rather than its start.
fn parse_date(name: &str, v: Option<&str>, zone: &jiff::tz::TimeZone, end: bool) -> Result<Option<i64>, Error> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(secs) = v.parse::<i64>() {
        return Ok(Some(secs));
    }
    if let Ok(ts) = v.parse::<jiff::Timestamp>() {
        return Ok(Some(ts.as_second()));
    }
    if let Ok(d) = v.parse::<jiff::civil::Date>() {
        let day = if end {
            d.checked_add(jiff::Span::new().days(1)).ok()
        } else {
            Some(d)
        };
        if let Some(ts) = day.and_then(|d| zone.to_timestamp(d.to_datetime(jiff::civil::Time::midnight())).ok()) {
            return Ok(Some(ts.as_second() - i64::from(end)));
        }
    }
    Err(Error::BadRequest(format!(
        "{name} \"{v}\" must be a date (YYYY-MM-DD), an RFC 3339 time or epoch seconds"
    )))
}

fn parse_bool(name: &str, v: Option<&str>) -> Result<bool, Error> {
    match v {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(Error::BadRequest(format!("{name} \"{other}\" must be true or false"))),
    }
}

/// Offset cursors: `o40` is the 41st hit.
fn parse_cursor(cursor: Option<&str>) -> Result<usize, Error> {
    match cursor {
        None => Ok(0),
        Some(c) => c
            .strip_prefix('o')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= 10_000)
            .ok_or_else(|| Error::BadRequest(format!("cursor \"{c}\" is not one this hub gave"))),
    }
}

/// `GET /api/v1/search?q=&type=&tags=&scope=&near=LAT,LON,KM&from=&to=&coming=&limit=&cursor=`
#[rocket::get("/api/v1/search?<q>&<type>&<tags>&<scope>&<near>&<from>&<to>&<coming>&<limit>&<cursor>")]
#[allow(clippy::too_many_arguments)]
async fn search(
    hub: &State<Hub>,
    reader: crate::store::Reader,
    q: Option<&str>,
    r#type: Option<&str>,
    tags: Option<&str>,
    scope: Option<&str>,
    near: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    coming: Option<&str>,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> ApiResult<RawJson<String>> {
    let zone = hub.store.zone().clone();
    let text = q.unwrap_or("").to_owned();
    if text.len() > 500 {
        return Err(Error::BadRequest("q is longer than 500 bytes".into()).into());
    }
    let mut tags: Vec<String> = tags
        .unwrap_or("")
        .split(',')
        .map(model::normalize_tag)
        .filter(|t| !t.is_empty())
        .collect();
    // "#jardin" in the text is a tag.
    let words: Vec<&str> = text.split_whitespace().collect();
    let (hashtags, rest): (Vec<&str>, Vec<&str>) = words.iter().partition(|w| w.starts_with('#') && w.len() > 1);
    tags.extend(hashtags.iter().map(|t| model::normalize_tag(t)));
    let scopes = Scope::parse_list(scope.unwrap_or("")).map_err(|e| Error::BadRequest(e.to_string()))?;
    // Proximity is to the territory the visitor chose, else to the hub's.
    let home = crate::territory::home_point(&scopes).or(hub.identity().home);
    hub.require(crate::config::Module::Search)?;
    // Kinds whose module is off are not searched.
    let mut kinds = parse_kinds(r#type)?;
    if let Some(k) = kinds.iter().find(|k| !hub.kind_on(**k)) {
        return Err(Error::not_found(format!("the kind {} (its module is off)", k.as_str())).into());
    }
    if kinds.is_empty() && hub.kinds_on().len() < crate::model::Kind::ALL.len() {
        kinds = hub.kinds_on();
    }
    let query = SearchQuery {
        text: rest.join(" "),
        kinds,
        tags,
        scopes,
        near: parse_near(near)?,
        from: parse_date("from", from, &zone, false)?,
        to: parse_date("to", to, &zone, true)?,
        coming: parse_bool("coming", coming)?,
        limit: parse_limit(limit)?,
        offset: parse_cursor(cursor)?,
        viewer: super::citizens::search_viewer(&reader),
        now: model::now_seconds(),
        home,
    };
    let (store, index) = (hub.store.clone(), hub.search.clone());
    // The answer is serialised on the blocking thread: what waits for a worker thread (or a
    // slow client) is one string, not a tree of documents.
    let body = blocking(move || {
        if let Err(e) = index.fresh(&store) {
            // A stale answer beats none: the indexer retries on its own.
            tracing::warn!(error = %e, "search index could not catch up");
        }
        let hits = index.search(&query)?;
        let ids: Vec<String> = hits.ids.iter().map(ElementId::to_string).collect();
        // The admin also sees what moderation hid (the index only matched it for them).
        let items = if query.viewer.all {
            store.get_elements_for_admin(&ids)?
        } else {
            store.get_elements(&ids)?
        };
        let end = query.offset + query.limit;
        let next = (end < hits.total).then(|| format!("o{end}"));
        let kinds: serde_json::Map<String, Value> = hits.kinds.into_iter().map(|(k, n)| (k, n.into())).collect();
        let body = json!({
            "items": items.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
            "next": next,
            "total": hits.total,
            "facets": {
                "kind": kinds,
                "tags": hits.tags.into_iter().map(|(t, n)| json!({"tag": t, "count": n})).collect::<Vec<_>>(),
            },
        });
        Ok(body.to_string())
    })
    .await?;
    Ok(RawJson(body))
}

/// `GET /api/v1/search/suggest?q=` — names as the visitor types.
#[rocket::get("/api/v1/search/suggest?<q>&<limit>")]
async fn suggest(
    hub: &State<Hub>,
    reader: crate::store::Reader,
    q: Option<&str>,
    limit: Option<&str>,
) -> ApiResult<Json<Value>> {
    hub.require(crate::config::Module::Search)?;
    let text = q.unwrap_or("").to_owned();
    if text.len() > 200 {
        return Err(Error::BadRequest("q is longer than 200 bytes".into()).into());
    }
    let limit = match limit {
        None => 8,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=20).contains(n))
            .ok_or_else(|| Error::BadRequest("limit must be 1 to 20".into()))?,
    };
    let (store, index) = (hub.store.clone(), hub.search.clone());
    let kinds_on = hub.kinds_on();
    let items = blocking(move || {
        if let Err(e) = index.fresh(&store) {
            // A stale answer beats none: the indexer retries on its own.
            tracing::warn!(error = %e, "search index could not catch up");
        }
        let viewer = super::citizens::search_viewer(&reader);
        let hits = index.suggest(&text, &viewer, limit)?;
        let ids: Vec<String> = hits.iter().map(|s| s.id.to_string()).collect();
        let items = if viewer.all {
            store.get_elements_for_admin(&ids)?
        } else {
            store.get_elements(&ids)?
        };
        // Kinds whose module is off are not suggested.
        Ok(items
            .into_iter()
            .filter(|e| kinds_on.contains(&e.kind))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(Json(json!({
        "items": items.iter().map(|e| json!({
            "id": e.id.as_str(),
            "kind": e.kind.as_str(),
            "name": e.doc.get("name"),
            "slug": e.doc.get("slug"),
        })).collect::<Vec<_>>(),
        "next": null,
    })))
}

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("search", |rocket| async {
        rocket.mount("/", rocket::routes![search, suggest])
    })
}
