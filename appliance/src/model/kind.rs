//! The seven kinds of element and their Communecter names.

use std::fmt;

/// A kind of element. Only persons create other elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Person,
    Organization,
    Project,
    Event,
    Poi,
    Classified,
    /// Mutual aid (Entraide): an offer or a need.
    Resource,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Person,
        Kind::Organization,
        Kind::Project,
        Kind::Event,
        Kind::Poi,
        Kind::Classified,
        Kind::Resource,
    ];

    /// CoPi's name, used in the API (`?type=event`) and in bundles.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Organization => "organization",
            Kind::Project => "project",
            Kind::Event => "event",
            Kind::Poi => "poi",
            Kind::Classified => "classified",
            Kind::Resource => "resource",
        }
    }

    /// Communecter's MongoDB collection for the kind.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Person => "citoyens",
            Kind::Organization => "organizations",
            Kind::Project => "projects",
            Kind::Event => "events",
            Kind::Poi => "poi",
            Kind::Classified => "classifieds",
            Kind::Resource => "ressources",
        }
    }

    /// schema.org `@type` used by Communecter's public API.
    pub fn schema_type(self) -> &'static str {
        match self {
            Kind::Person => "Person",
            Kind::Organization => "Organization",
            Kind::Project => "Project",
            Kind::Event => "Event",
            Kind::Poi => "Poi",
            Kind::Classified => "Classified",
            Kind::Resource => "Ressource",
        }
    }

    /// Accepts CoPi's name, Communecter's collection or controller key, or a schema type,
    /// case-insensitively: `event`, `events`, `Event`; `person`, `citoyens`, `persons`.
    pub fn parse(s: &str) -> Option<Kind> {
        let s = s.trim().to_ascii_lowercase();
        Some(match s.as_str() {
            "person" | "persons" | "citoyen" | "citoyens" | "people" => Kind::Person,
            "organization" | "organizations" | "organisation" | "organisations" => Kind::Organization,
            "project" | "projects" => Kind::Project,
            "event" | "events" => Kind::Event,
            "poi" | "pois" => Kind::Poi,
            "classified" | "classifieds" => Kind::Classified,
            "resource" | "resources" | "ressource" | "ressources" => Kind::Resource,
            _ => return None,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Organization types: Communecter's four plus the cooperative CoPi adds.
pub const ORGANIZATION_TYPES: &[&str] = &["NGO", "LocalBusiness", "Group", "GovernmentOrganization", "Cooperative"];

/// Event types: the union of `Event::$types` and the UI list (`concours`, `exposition`).
pub const EVENT_TYPES: &[&str] = &[
    "competition",
    "concert",
    "contest",
    "concours",
    "exhibition",
    "exposition",
    "festival",
    "getTogether",
    "market",
    "meeting",
    "course",
    "workshop",
    "conference",
    "debate",
    "film",
    "stand",
    "crowdfunding",
    "others",
    "other",
];

/// Point-of-interest types (Communecter's `poi.json` sections).
pub const POI_TYPES: &[&str] = &[
    "link",
    "tool",
    "machine",
    "software",
    "rh",
    "financialRessource",
    "documentation",
    "geoJson",
    "compostPickup",
    "video",
    "recoveryCenter",
    "trash",
    "history",
    "something2See",
    "funPlace",
    "place",
    "artPiece",
    "streetArt",
    "openScene",
    "stand",
    "parking",
    "todo",
    "other",
];

/// Classified sections (the `type: "classifieds"` marketplace).
pub const CLASSIFIED_SECTIONS: &[&str] = &["forsale", "forrent", "donation", "sharing", "lookingfor", "job"];

/// Currencies Communecter offers (`devise`).
pub const CURRENCIES: &[&str] = &["€", "Ğ1", "£", "$", "CFP", "FC"];

/// Mutual-aid sections and categories.
pub const RESOURCE_SECTIONS: &[&str] = &["offer", "need"];
pub const RESOURCE_CATEGORIES: &[&str] = &["service", "competence", "material", "human"];

/// Finds `value` in `list` ignoring case and returns the list's spelling.
pub fn canonical(list: &[&'static str], value: &str) -> Option<&'static str> {
    list.iter().copied().find(|t| t.eq_ignore_ascii_case(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        fn check(input: &str, expected: Option<Kind>) {
            assert_eq!(Kind::parse(input), expected, "{input}");
        }
        check("event", Some(Kind::Event));
        check("Events", Some(Kind::Event));
        check("citoyens", Some(Kind::Person));
        check("ressources", Some(Kind::Resource));
        check("classifieds", Some(Kind::Classified));
        check("organisation", Some(Kind::Organization));
        check("spaceship", None);
        check("", None);
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
            assert_eq!(Kind::parse(k.collection()), Some(k));
        }
    }

    #[test]
    fn canonical_spelling_ignores_case() {
        assert_eq!(canonical(EVENT_TYPES, "gettogether"), Some("getTogether"));
        assert_eq!(canonical(ORGANIZATION_TYPES, "ngo"), Some("NGO"));
        assert_eq!(canonical(ORGANIZATION_TYPES, "club"), None);
    }
}
