//! The index's fields and the analyzers that feed them.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
    TokenizerManager,
};

/// Tokens longer than this are dropped (URLs, hashes).
const MAX_TOKEN: usize = 40;

/// Lower case, accents folded, no stemming: exact, fuzzy and prefix matches.
pub const FOLDED: &str = "copi_folded";
/// Stemmed, then folded, per language.
pub const FRENCH: &str = "copi_fr";
pub const ENGLISH: &str = "copi_en";
pub const GERMAN: &str = "copi_de";

pub const LANGUAGES: [&str; 3] = [FRENCH, ENGLISH, GERMAN];

fn stemmed(language: Language) -> TextAnalyzer {
    // French and German stem before folding: their Snowball stemmers know accents and
    // umlauts ("événements", "Gärten"), and folding the stem makes "evenement" meet
    // "événement". English folds first: its stemmer sees "é" as a consonant, so "vélos"
    // would keep its "s".
    let base = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN))
        .filter(LowerCaser);
    if language == Language::English {
        base.filter(AsciiFoldingFilter).filter(Stemmer::new(language)).build()
    } else {
        base.filter(Stemmer::new(language)).filter(AsciiFoldingFilter).build()
    }
}

pub fn folded() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

pub fn register(tokenizers: &TokenizerManager) {
    tokenizers.register(FOLDED, folded());
    tokenizers.register(FRENCH, stemmed(Language::French));
    tokenizers.register(ENGLISH, stemmed(Language::English));
    tokenizers.register(GERMAN, stemmed(Language::German));
}

/// Handles on every field.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub id: Field,
    pub kind: Field,
    pub type_: Field,
    pub tags: Field,
    /// `public`, or `private` (then only `readers` and admins see it).
    pub visibility: Field,
    /// Ids allowed to see a private element: its members, contributors, attendees.
    pub readers: Field,
    pub insee: Field,
    pub postal_code: Field,
    pub department: Field,
    pub region: Field,
    pub lat: Field,
    pub lon: Field,
    pub start: Field,
    pub end: Field,
    /// The name, analysed per language: [fr, en, de].
    pub name: [Field; 3],
    /// Descriptions, tags, locality, categories, organiser names, per language.
    pub text: [Field; 3],
    /// Name and text, folded only: exact, fuzzy and prefix matching.
    pub plain: Field,
    /// The name, folded only: autocomplete.
    pub name_plain: Field,
}

fn text(analyzer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analyzer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let number = || NumericOptions::default().set_indexed().set_fast();
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        kind: b.add_text_field("kind", STRING | FAST),
        type_: b.add_text_field("type", STRING),
        tags: b.add_text_field("tags", STRING | FAST),
        visibility: b.add_text_field("visibility", STRING),
        readers: b.add_text_field("readers", STRING),
        insee: b.add_text_field("insee", STRING),
        postal_code: b.add_text_field("postal_code", STRING),
        department: b.add_text_field("department", STRING),
        region: b.add_text_field("region", STRING),
        lat: b.add_f64_field("lat", number()),
        lon: b.add_f64_field("lon", number()),
        start: b.add_i64_field("start", number()),
        end: b.add_i64_field("end", number()),
        name: [
            b.add_text_field("name_fr", text(FRENCH)),
            b.add_text_field("name_en", text(ENGLISH)),
            b.add_text_field("name_de", text(GERMAN)),
        ],
        text: [
            b.add_text_field("text_fr", text(FRENCH)),
            b.add_text_field("text_en", text(ENGLISH)),
            b.add_text_field("text_de", text(GERMAN)),
        ],
        plain: b.add_text_field("plain", text(FOLDED)),
        name_plain: b.add_text_field("name_plain", text(FOLDED)),
    };
    (b.build(), fields)
}
