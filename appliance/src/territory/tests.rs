use super::*;

/// (insee, name, department, region, postal codes)
type Expected<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

#[test]
fn finds_communes_by_insee_code() {
    fn check(input: &str, expected: Option<Expected>) {
        let got = commune(input).map(|c| (c.insee, c.name, c.department, c.region, c.postal_codes.as_str()));
        assert_eq!(got, expected, "commune({input:?})");
    }
    check("26108", Some(("26108", "Crest", "26", "84", "26400")));
    check("2A004", Some(("2A004", "Ajaccio", "2A", "94", "20000,20090,20167")));
    check(" 2a004 ", Some(("2A004", "Ajaccio", "2A", "94", "20000,20090,20167")));
    check(
        "97415",
        Some((
            "97415",
            "Saint-Paul",
            "974",
            "04",
            "97411,97422,97423,97434,97435,97460",
        )),
    );
    check("97502", Some(("97502", "Saint-Pierre", "975", "975", "97500")));
    check(
        "98411",
        Some(("98411", "Îles Saint-Paul et Nouvelle-Amsterdam", "984", "984", "")),
    );
    check(
        "75101",
        Some(("75101", "Paris 1er Arrondissement", "75", "11", "75001")),
    );
    check("99999", None);
    check("7505", None);
    check("750566", None);
    check("", None);
    check("é", None);
}

#[test]
fn communes_carry_population_position_and_parent() {
    let paris = commune("75056").unwrap();
    assert_eq!(paris.arrondissement_of, None);
    assert!(paris.population.unwrap() > 2_000_000);
    assert_eq!(paris.postal_codes.iter().count(), 21);
    assert!(paris.postal_codes.contains("75116"));
    assert!(!paris.postal_codes.contains("7500"));
    let (lat, lon) = paris.position.unwrap();
    assert!((lat - 48.85).abs() < 0.05 && (lon - 2.35).abs() < 0.05, "{lat},{lon}");

    let crest = commune("26108").unwrap();
    let (lat, lon) = crest.position.unwrap();
    assert!((lat - 44.73).abs() < 0.05 && (lon - 5.02).abs() < 0.05, "{lat},{lon}");
    assert_eq!(crest.label(), "Crest (26)");

    let saint_paul = commune("97415").unwrap();
    let (lat, lon) = saint_paul.position.unwrap();
    assert!((lat + 21.0).abs() < 0.1 && (lon - 55.27).abs() < 0.1, "{lat},{lon}");

    let first = commune("75101").unwrap();
    assert_eq!(first.arrondissement_of, Some("75056"));
    assert!(first.is_arrondissement());
    assert_eq!(commune("69381").unwrap().arrondissement_of, Some("69123"));
    assert!(commune("69381").unwrap().position.is_some());
    assert_eq!(commune("13201").unwrap().arrondissement_of, Some("13055"));
}

#[test]
fn lists_arrondissements() {
    fn check(insee: &str, expected: usize) {
        let got: Vec<Commune> = arrondissements_of(insee).collect();
        assert_eq!(got.len(), expected, "arrondissements_of({insee:?})");
        assert!(got.iter().all(|a| a.arrondissement_of == Some(insee)));
    }
    check("75056", 20);
    check("69123", 9);
    check("13055", 16);
    check("26108", 0);
    check("75101", 0);
    check("99999", 0);
}

#[test]
fn maps_former_codes_to_todays_commune() {
    fn check(input: &str, expected: Option<&str>) {
        assert_eq!(
            current_commune(input).map(|c| c.insee),
            expected,
            "current_commune({input:?})"
        );
    }
    check("26108", Some("26108"));
    check("74011", Some("74010")); // Annecy-le-Vieux, merged into Annecy in 2017
    check("49134", Some("49345")); // Faye-d'Anjou → Bellevigne-en-Layon
    check("20004", Some("2A004")); // Ajaccio before Corsica's split
    check("99999", None);
    assert_eq!(commune("74011"), None);
}

#[test]
fn finds_departments_and_their_region() {
    fn check(input: &str, expected: Option<(&str, &str, &str)>) {
        let got = department(input).map(|d| (d.code, d.name, d.region));
        assert_eq!(got, expected, "department({input:?})");
    }
    check("26", Some(("26", "Drôme", "84")));
    check("07", Some(("07", "Ardèche", "84")));
    check("7", Some(("07", "Ardèche", "84")));
    check("2A", Some(("2A", "Corse-du-Sud", "94")));
    check("2b", Some(("2B", "Haute-Corse", "94")));
    check("974", Some(("974", "La Réunion", "04")));
    check("976", Some(("976", "Mayotte", "06")));
    check("75", Some(("75", "Paris", "11")));
    check("988", Some(("988", "Nouvelle-Calédonie", "988")));
    check("20", None);
    check("999", None);
    check("", None);
}

#[test]
fn finds_regions() {
    fn check(input: &str, expected: Option<&str>) {
        assert_eq!(region(input).map(|r| r.name), expected, "region({input:?})");
    }
    check("84", Some("Auvergne-Rhône-Alpes"));
    check("11", Some("Île-de-France"));
    check("94", Some("Corse"));
    check("04", Some("La Réunion"));
    check("4", None);
    check("99", None);
}

#[test]
fn lists_regions_departments_and_communes() {
    let regions: Vec<Region> = regions().collect();
    assert!(regions.len() >= 18, "{}", regions.len());
    assert!(regions.windows(2).all(|w| w[0].code < w[1].code));
    let departments: Vec<Department> = departments().collect();
    assert!(departments.len() >= 101, "{}", departments.len());
    assert!(
        departments.iter().all(|d| region(d.region).is_some()),
        "every department has a region"
    );

    let in_region: Vec<&str> = departments_in_region("84").map(|d| d.code).collect();
    assert_eq!(in_region.len(), 12);
    assert!(in_region.contains(&"26") && in_region.contains(&"07") && in_region.contains(&"69"));
    assert_eq!(departments_in_region("99").count(), 0);

    fn check(department: &str, expected: usize, includes: &str) {
        let communes: Vec<Commune> = communes_in_department(department).collect();
        assert_eq!(communes.len(), expected, "communes_in_department({department:?})");
        assert!(
            communes.iter().any(|c| c.insee == includes),
            "{department} includes {includes}"
        );
        assert!(communes.iter().all(|c| !c.is_arrondissement()));
        assert!(communes.iter().all(|c| c.department == communes[0].department));
    }
    check("26", 362, "26108");
    check("2A", 124, "2A004");
    check("75", 1, "75056");
    check("974", 24, "97415");
    assert_eq!(communes_in_department("99").count(), 0);
}

#[test]
fn finds_communes_by_postal_code() {
    fn check(postal_code: &str, expected: &[&str]) {
        let got: Vec<&str> = communes_by_postal_code(postal_code).iter().map(|c| c.insee).collect();
        for insee in expected {
            assert!(got.contains(insee), "{postal_code} → {got:?} lacks {insee}");
        }
        if expected.is_empty() {
            assert!(got.is_empty(), "{postal_code} → {got:?}");
        }
    }
    check("26400", &["26108", "26234", "26221"]);
    check("75001", &["75056", "75101"]);
    check("97460", &["97415"]);
    check("20000", &["2A004"]);
    check(" 26 400", &["26108"]);
    check("00000", &[]);
    check("2640", &[]);
    check("264000", &[]);
    check("abcde", &[]);
    assert_eq!(communes_by_postal_code("26400").len(), 24);
}

#[test]
fn locates_the_commune_of_an_address() {
    fn check(insee: Option<&str>, postal_code: Option<&str>, locality: Option<&str>, expected: Option<&str>) {
        let got = locate(insee, postal_code, locality).map(|c| c.insee);
        assert_eq!(got, expected, "locate({insee:?}, {postal_code:?}, {locality:?})");
    }
    // The INSEE code wins, current or former.
    check(Some("26108"), Some("75001"), Some("Paris"), Some("26108"));
    check(Some("74011"), None, None, Some("74010"));
    check(Some("99999"), Some("26400"), Some("Crest"), Some("26108"));
    // Postal code and locality, case- and accent-insensitive.
    check(None, Some("26400"), Some("Crest"), Some("26108"));
    check(None, Some("26400"), Some("CREST"), Some("26108"));
    check(None, Some("26400"), Some("PIEGROS LA CLASTRE"), Some("26234"));
    check(None, Some("26400"), Some("piégros-la-clastre"), Some("26234"));
    check(None, Some("26400"), Some("Ombleze"), Some("26221"));
    check(None, Some("26400"), Some("la repara auriples"), Some("26020"));
    check(None, Some("26400"), Some("CREST CEDEX"), Some("26108"));
    // Several communes and no usable locality: unknown.
    check(None, Some("26400"), None, None);
    check(None, Some("26400"), Some("Valence"), None);
    // A postal code of a single commune resolves whatever the locality.
    check(None, Some("97460"), None, Some("97415"));
    check(None, Some("97460"), Some("ST PAUL"), Some("97415"));
    check(None, Some("97460"), Some("Bellemène"), Some("97415"));
    // Paris: the commune, unless the locality names an arrondissement.
    check(None, Some("75001"), None, Some("75056"));
    check(None, Some("75001"), Some("PARIS 01"), Some("75056"));
    check(None, Some("75001"), Some("Paris 1er Arrondissement"), Some("75101"));
    // A former commune's name.
    check(None, Some("49380"), Some("Faye-d'Anjou"), Some("49345"));
    check(None, Some("49380"), Some("FAYE D ANJOU"), Some("49345"));
    check(None, Some("49380"), Some("Chavagnes"), Some("49086"));
    check(None, Some("49380"), Some("Terranjou"), Some("49086"));
    // No postal code: a name only one commune bears.
    check(None, None, Some("Crest"), Some("26108"));
    check(None, Some("00000"), Some("Évry-Courcouronnes"), Some("91228"));
    check(None, None, Some("Saint-Paul"), None);
    check(None, None, Some("Valence"), None);
    check(None, None, None, None);
    check(Some(""), Some(""), Some(""), None);
}

#[test]
fn searches_communes_for_a_picker() {
    fn check(query: &str, limit: usize, expected_first: &[&str]) {
        let got: Vec<&str> = search_communes(query, limit).iter().map(|c| c.insee).collect();
        assert!(got.len() <= limit, "{query:?} → {} results over {limit}", got.len());
        assert_eq!(
            &got[..expected_first.len().min(got.len())],
            expected_first,
            "{query:?} → {got:?}"
        );
    }
    check("Crest", 5, &["26108"]);
    check("crest", 5, &["26108"]);
    check("saint-étienne", 1, &["42218"]);
    check("SAINT ETIENNE", 1, &["42218"]);
    check("st etienne", 1, &["42218"]);
    // The exact name first, however small, then the biggest.
    check("evry", 3, &["89162", "91228", "77175"]);
    check("Évry-C", 1, &["91228"]);
    check("paris", 1, &["75056"]);
    check("le puy", 3, &["33345", "25474", "43157"]);
    check("la rochelle", 1, &["17300"]);
    check("rochelle", 2, &["17300", "70450"]); // a later word of the name
    check("st paul", 1, &["97415"]);
    check("valence", 1, &["26362"]);
    check("ajacc", 1, &["2A004"]);
    check("26400", 1, &["26108"]);
    check("2640", 1, &["26108"]);
    check("97460", 1, &["97415"]);
    check("", 5, &[]);
    check("   ", 5, &[]);
    check("zzzzqq", 5, &[]);
    check("crest", 0, &[]);
    check("264000", 5, &[]);
    assert_eq!(search_communes("saint", 10).len(), 10);
    let crest: Vec<&str> = search_communes("crest", 10).iter().map(|c| c.insee).collect();
    assert!(crest.contains(&"73094") && crest.contains(&"63126"), "{crest:?}"); // Crest-Voland, Le Crest
    let paris: Vec<Commune> = search_communes("paris", 21);
    assert_eq!(
        paris.iter().filter(|c| c.arrondissement_of == Some("75056")).count(),
        20
    );
    // Among equal matches, the most populated first: Strasbourg for "s".
    let biggest: Vec<Option<u32>> = search_communes("s", 10).iter().map(|c| c.population).collect();
    assert!(biggest.windows(2).all(|w| w[0] >= w[1]), "{biggest:?}");
    assert!(biggest[0] > Some(250_000), "{biggest:?}");
}

#[test]
fn the_embedded_file_is_sorted_consistent_and_small() {
    let text = data::text();
    assert!(text.len() < 3_000_000, "{} bytes", text.len());
    assert!(text.starts_with("# territories-fr v1"));
    let mut sections = String::new();
    let mut previous: Option<(char, &str)> = None;
    let mut communes = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        let kind = fields[0].chars().next().unwrap();
        let section = if kind == 'A' { 'C' } else { kind };
        if !sections.ends_with(section) {
            assert!(!sections.contains(section), "section {section} is split");
            sections.push(section);
            previous = None;
        }
        let code = fields[1];
        if let Some((_, before)) = previous {
            if section == 'O' {
                assert!(before <= code, "{before} then {code}");
            } else {
                assert!(before < code, "{before} then {code}: not sorted or duplicated");
            }
        }
        previous = Some((kind, code));
        match kind {
            'R' => assert_eq!(fields.len(), 3, "{line}"),
            'D' => {
                assert_eq!(fields.len(), 4, "{line}");
                assert!(region(fields[3]).is_some(), "{line}");
            }
            'C' | 'A' => {
                communes += 1;
                assert_eq!(fields.len(), if kind == 'A' { 9 } else { 8 }, "{line}");
                let record = commune(code).unwrap();
                assert!(department(record.department).is_some(), "{line}");
                assert!(code.starts_with(record.department), "{line}");
                assert!(!record.region.is_empty(), "{line}");
                assert_eq!(fields[6].is_empty(), fields[7].is_empty(), "{line}");
                assert_eq!(record.position.is_some(), !fields[6].is_empty(), "{line}");
                if let Some(parent) = record.arrondissement_of {
                    assert!(!commune(parent).unwrap().is_arrondissement(), "{line}");
                }
            }
            'O' => {
                assert_eq!(fields.len(), 4, "{line}");
                assert!(commune(fields[2]).is_some(), "{line}");
            }
            other => panic!("unknown record kind {other:?}: {line}"),
        }
    }
    assert_eq!(sections, "RDCO");
    assert!(communes > 34_000, "{communes}");
}

#[test]
fn the_name_index_is_sorted_by_folded_name() {
    let text = data::text();
    let index = data::name_index();
    assert!(index.len() > 40_000, "{}", index.len());
    for pair in index.windows(2) {
        let (a, b) = (&text[pair[0] as usize..], &text[pair[1] as usize..]);
        assert!(
            fold(a).cmp(fold(b)).is_le(),
            "{:?} after {:?}",
            fold(b).collect::<String>(),
            fold(a).collect::<String>()
        );
    }
}
