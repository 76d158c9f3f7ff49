//! Scopes: the territory a hub serves or a visitor narrows a list to, written `city:26108`,
//! `cp:26400`, `dep:26` or `region:84` (in `copi.toml`, URLs and the API), comma-separated for
//! several.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Commune;

/// A territory. Codes are validated against the reference data when parsed and kept in
/// canonical form (`dep:2a` is `dep:2A`, `dep:7` is `dep:07`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Scope {
    /// A commune or arrondissement, by INSEE code.
    City(String),
    PostalCode(String),
    Department(String),
    Region(String),
}

/// Why a scope was refused; the message names the bad part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("scope {0:?} must look like city:INSEE, cp:POSTAL, dep:CODE or region:CODE")]
    Syntax(String),
    #[error("unknown commune {0:?}")]
    UnknownCommune(String),
    #[error("commune {code:?} no longer exists: it is part of {name} now, write city:{insee}")]
    FormerCommune { code: String, insee: String, name: String },
    #[error("postal code {0:?} must be five digits")]
    PostalCodeSyntax(String),
    #[error("unknown postal code {0:?}")]
    UnknownPostalCode(String),
    #[error("unknown department {0:?}")]
    UnknownDepartment(String),
    #[error("unknown region {0:?}")]
    UnknownRegion(String),
}

impl Scope {
    /// Parses a comma-separated list ("city:26108,dep:07"); empty items are skipped, so an
    /// empty text is an empty list.
    pub fn parse_list(text: &str) -> Result<Vec<Scope>, ScopeError> {
        text.split(',')
            .filter(|item| !item.trim().is_empty())
            .map(str::parse)
            .collect()
    }

    /// A human name: "Crest (26)", "26400 Crest +23", "Drôme", "Auvergne-Rhône-Alpes".
    pub fn label(&self) -> String {
        match self {
            Scope::City(insee) => super::commune(insee).map_or_else(|| insee.clone(), |c| c.label()),
            Scope::PostalCode(code) => {
                let mut communes: Vec<Commune> = super::communes_by_postal_code(code)
                    .into_iter()
                    .filter(|c| !c.is_arrondissement())
                    .collect();
                communes.sort_by_key(|c| std::cmp::Reverse(c.population.unwrap_or(0)));
                match communes.as_slice() {
                    [] => code.clone(),
                    [only] => format!("{code} {}", only.name),
                    [first, rest @ ..] => format!("{code} {} +{}", first.name, rest.len()),
                }
            }
            Scope::Department(code) => super::department(code).map_or_else(|| code.clone(), |d| d.name.to_owned()),
            Scope::Region(code) => super::region(code).map_or_else(|| code.clone(), |r| r.name.to_owned()),
        }
    }

    /// Whether a commune lies in this territory. A city contains its arrondissements; a postal
    /// code contains the communes it serves.
    pub fn contains(&self, commune: &Commune) -> bool {
        match self {
            Scope::City(insee) => commune.insee == insee || commune.arrondissement_of == Some(insee.as_str()),
            Scope::PostalCode(code) => commune.postal_codes.contains(code),
            Scope::Department(code) => commune.department == code,
            Scope::Region(code) => commune.region == code,
        }
    }
}

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(text: &str) -> Result<Scope, ScopeError> {
        let text = text.trim();
        let syntax = || ScopeError::Syntax(text.to_owned());
        let (kind, code) = text.split_once(':').ok_or_else(syntax)?;
        let code = code.trim();
        if code.is_empty() {
            return Err(syntax());
        }
        let is = |names: &[&str]| names.iter().any(|n| kind.trim().eq_ignore_ascii_case(n));
        if is(&["city", "commune"]) {
            parse_city(code)
        } else if is(&["cp", "postal"]) {
            parse_postal_code(code)
        } else if is(&["dep", "department", "departement"]) {
            super::department(code)
                .map(|d| Scope::Department(d.code.to_owned()))
                .ok_or_else(|| ScopeError::UnknownDepartment(code.to_owned()))
        } else if is(&["region"]) {
            super::region(code)
                .map(|r| Scope::Region(r.code.to_owned()))
                .ok_or_else(|| ScopeError::UnknownRegion(code.to_owned()))
        } else {
            Err(syntax())
        }
    }
}

fn parse_city(code: &str) -> Result<Scope, ScopeError> {
    if let Some(commune) = super::commune(code) {
        return Ok(Scope::City(commune.insee.to_owned()));
    }
    match super::current_commune(code) {
        Some(successor) => Err(ScopeError::FormerCommune {
            code: code.to_owned(),
            insee: successor.insee.to_owned(),
            name: successor.name.to_owned(),
        }),
        None => Err(ScopeError::UnknownCommune(code.to_owned())),
    }
}

fn parse_postal_code(code: &str) -> Result<Scope, ScopeError> {
    if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScopeError::PostalCodeSyntax(code.to_owned()));
    }
    if super::communes_by_postal_code(code).is_empty() {
        return Err(ScopeError::UnknownPostalCode(code.to_owned()));
    }
    Ok(Scope::PostalCode(code.to_owned()))
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::City(code) => write!(f, "city:{code}"),
            Scope::PostalCode(code) => write!(f, "cp:{code}"),
            Scope::Department(code) => write!(f, "dep:{code}"),
            Scope::Region(code) => write!(f, "region:{code}"),
        }
    }
}

impl TryFrom<String> for Scope {
    type Error = ScopeError;

    fn try_from(text: String) -> Result<Scope, ScopeError> {
        text.parse()
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> String {
        scope.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_canonical_scopes() {
        fn check(input: &str, expected: Scope, canonical: &str) {
            let scope: Scope = input.parse().unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(scope, expected, "{input:?}");
            assert_eq!(scope.to_string(), canonical, "{input:?}");
            assert_eq!(
                canonical.parse::<Scope>().as_ref(),
                Ok(&scope),
                "round trip of {canonical:?}"
            );
        }
        check("city:75056", Scope::City("75056".into()), "city:75056");
        check("city:75101", Scope::City("75101".into()), "city:75101");
        check(" city:2a004 ", Scope::City("2A004".into()), "city:2A004");
        check("commune:26108", Scope::City("26108".into()), "city:26108");
        check("cp:26400", Scope::PostalCode("26400".into()), "cp:26400");
        check("dep:26", Scope::Department("26".into()), "dep:26");
        check("department:2B", Scope::Department("2B".into()), "dep:2B");
        check("DEP: 7", Scope::Department("07".into()), "dep:07");
        check("departement:974", Scope::Department("974".into()), "dep:974");
        check("region:84", Scope::Region("84".into()), "region:84");
        check("region:04", Scope::Region("04".into()), "region:04");
    }

    #[test]
    fn refuses_bad_scopes_naming_the_bad_part() {
        fn check(input: &str, expected: &str) {
            match input.parse::<Scope>() {
                Ok(scope) => panic!("{input:?} parsed as {scope:?}"),
                Err(e) => assert_eq!(e.to_string(), expected, "{input:?}"),
            }
        }
        check(
            "xyz",
            r#"scope "xyz" must look like city:INSEE, cp:POSTAL, dep:CODE or region:CODE"#,
        );
        check(
            "town:26108",
            r#"scope "town:26108" must look like city:INSEE, cp:POSTAL, dep:CODE or region:CODE"#,
        );
        check(
            "dep:",
            r#"scope "dep:" must look like city:INSEE, cp:POSTAL, dep:CODE or region:CODE"#,
        );
        check(
            "",
            r#"scope "" must look like city:INSEE, cp:POSTAL, dep:CODE or region:CODE"#,
        );
        check("dep:999", r#"unknown department "999""#);
        check("dep:20", r#"unknown department "20""#);
        check("region:99", r#"unknown region "99""#);
        check("city:99999", r#"unknown commune "99999""#);
        check("city:Crest", r#"unknown commune "Crest""#);
        check("cp:2640", r#"postal code "2640" must be five digits"#);
        check("cp:26 400", r#"postal code "26 400" must be five digits"#);
        check("cp:00000", r#"unknown postal code "00000""#);
        check(
            "city:74011",
            r#"commune "74011" no longer exists: it is part of Annecy now, write city:74010"#,
        );
    }

    #[test]
    fn parses_lists() {
        fn check(input: &str, expected: Result<Vec<&str>, &str>) {
            let got = Scope::parse_list(input)
                .map(|scopes| scopes.iter().map(Scope::to_string).collect::<Vec<_>>())
                .map_err(|e| e.to_string());
            let expected = expected
                .map(|v| v.into_iter().map(String::from).collect::<Vec<_>>())
                .map_err(String::from);
            assert_eq!(got, expected, "{input:?}");
        }
        check("city:26108,dep:07", Ok(vec!["city:26108", "dep:07"]));
        check(" city:26108 , region:84 ,", Ok(vec!["city:26108", "region:84"]));
        check("", Ok(vec![]));
        check("city:26108,dep:999", Err(r#"unknown department "999""#));
        check("city:26108;dep:07", Err(r#"unknown commune "26108;dep:07""#));
    }

    #[test]
    fn labels_name_the_territory() {
        fn check(scope: &str, expected: &str) {
            assert_eq!(scope.parse::<Scope>().unwrap().label(), expected, "{scope}");
        }
        check("city:26108", "Crest (26)");
        check("city:75101", "Paris 1er Arrondissement (75)");
        check("dep:26", "Drôme");
        check("region:84", "Auvergne-Rhône-Alpes");
        check("cp:97460", "97460 Saint-Paul");
        check("cp:75001", "75001 Paris");
        check("cp:26400", "26400 Crest +23");
    }

    #[test]
    fn contains_the_communes_of_the_territory() {
        fn check(scope: &str, insee: &str, expected: bool) {
            let commune = super::super::commune(insee).unwrap();
            assert_eq!(
                scope.parse::<Scope>().unwrap().contains(&commune),
                expected,
                "{scope} ∋ {insee}"
            );
        }
        check("city:26108", "26108", true);
        check("city:75056", "75101", true);
        check("city:75101", "75056", false);
        check("city:26108", "75056", false);
        check("cp:26400", "26108", true);
        check("cp:26400", "26281", false);
        check("dep:26", "26108", true);
        check("dep:07", "26108", false);
        check("region:84", "26108", true);
        check("region:84", "69381", true);
        check("region:04", "97415", true);
        check("region:11", "97415", false);
    }

    #[test]
    fn serializes_as_the_canonical_string() {
        let scope: Scope = serde_json::from_str(r#""dep:2a""#).unwrap();
        assert_eq!(scope, Scope::Department("2A".into()));
        assert_eq!(serde_json::to_string(&scope).unwrap(), r#""dep:2A""#);
        let error = serde_json::from_str::<Scope>(r#""dep:999""#).unwrap_err();
        assert!(error.to_string().contains(r#"unknown department "999""#), "{error}");
    }
}
