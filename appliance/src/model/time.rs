//! Communecter's timestamps: epoch seconds as an integer, `{"sec": …, "usec": …}` (a
//! MongoDate through PHP), or a date string (`Y-m-d`, `Y-m-d H:i`, `Y-m-d H:i:s`, ISO 8601).

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::Value;

/// Reads a timestamp in any of Communecter's shapes. Strings without an offset are read in
/// `tz` (events carry their zone; Communecter stores UTC).
pub fn timestamp_from_value(v: &Value, tz: &TimeZone) -> Option<Timestamp> {
    match v {
        Value::Number(n) => {
            let secs = n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?;
            Timestamp::from_second(secs).ok()
        }
        Value::Object(m) => {
            let secs = m.get("sec")?.as_i64()?;
            let usec = m.get("usec").and_then(|u| u.as_i64()).unwrap_or(0);
            Timestamp::new(secs, (usec.clamp(0, 999_999) * 1000) as i32).ok()
        }
        Value::String(s) => parse_date_string(s, tz),
        _ => None,
    }
}

fn parse_date_string(s: &str, tz: &TimeZone) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ts);
    }
    // PHP's ISO 8601 output has an offset without a colon: 2018-12-07T09:00:00+0000.
    if let Ok(zdt) = jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%z", s).and_then(|p| p.to_timestamp()) {
        return Some(zdt);
    }
    let civil = if let Ok(dt) = s.parse::<DateTime>() {
        dt
    } else if let Ok(p) = jiff::fmt::strtime::parse("%Y-%m-%d %H:%M", s) {
        p.to_datetime().ok()?
    } else if let Ok(d) = s.parse::<Date>() {
        d.to_datetime(jiff::civil::Time::midnight())
    } else {
        return None;
    };
    tz.to_timestamp(civil).ok()
}

/// Epoch seconds, as CoPi writes `created` and `updated` (Communecter's own choice).
pub fn now_seconds() -> i64 {
    Timestamp::now().as_second()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_shape() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        fn check(v: Value, tz: &TimeZone, expected: Option<i64>) {
            assert_eq!(timestamp_from_value(&v, tz).map(|t| t.as_second()), expected, "{v}");
        }
        check(json!(1546329600), &paris, Some(1546329600));
        check(json!({"sec": 1546329600, "usec": 0}), &paris, Some(1546329600));
        check(json!("2018-12-07T09:00:00+0000"), &paris, Some(1544173200));
        check(json!("2018-12-07T09:00:00Z"), &paris, Some(1544173200));
        check(json!("2018-12-07T10:00:00+01:00"), &paris, Some(1544173200));
        // Civil times are read in the event's zone: 10:00 in Paris in winter is 09:00 UTC.
        check(json!("2018-12-07 10:00"), &paris, Some(1544173200));
        check(json!("2018-12-07 10:00:00"), &paris, Some(1544173200));
        check(json!("2018-12-07T10:00:00"), &paris, Some(1544173200));
        check(json!("2018-12-07"), &TimeZone::UTC, Some(1544140800));
        check(json!("demain"), &paris, None);
        check(json!(true), &paris, None);
        check(json!({"usec": 5}), &paris, None);
    }
}
