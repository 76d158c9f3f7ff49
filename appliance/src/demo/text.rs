//! Sentences for the demo hub: journal posts, comments, event blurbs. Each text is put
//! together from an optional opener, a core sentence with its blanks filled, an optional
//! detail and an optional closer, so that thousands of posts do not repeat one another.

use fastrand::Rng;
use jiff::civil::Date;

use super::words::{ITEMS, MONTHS, MOODS, TASKS, WEEKDAYS};

pub fn pick<T: Copy>(rng: &mut Rng, list: &[T]) -> T {
    list[rng.usize(..list.len())]
}

/// "de Crest", "d'Eurre", "du Poët-Laval", "des Granges-Gontardes", "de La Roche-de-Glun".
pub fn de(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("Le ") {
        format!("du {rest}")
    } else if let Some(rest) = name.strip_prefix("Les ") {
        format!("des {rest}")
    } else if name.starts_with("L'") {
        format!("de {name}")
    } else if starts_with_vowel(name) {
        format!("d'{name}")
    } else {
        format!("de {name}")
    }
}

/// "à Crest", "au Poët-Laval", "aux Granges-Gontardes".
pub fn a(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("Le ") {
        format!("au {rest}")
    } else if let Some(rest) = name.strip_prefix("Les ") {
        format!("aux {rest}")
    } else {
        format!("à {name}")
    }
}

fn starts_with_vowel(s: &str) -> bool {
    matches!(
        s.chars().next(),
        Some('A' | 'E' | 'I' | 'O' | 'U' | 'Y' | 'É' | 'È' | 'Ê' | 'Â' | 'Î' | 'Ô' | 'a' | 'e' | 'i' | 'o' | 'u' | 'é')
    )
}

/// The first letter in upper case.
pub fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "samedi 14 juin".
pub fn date_label(d: Date) -> String {
    let weekday = WEEKDAYS[d.weekday().to_monday_zero_offset() as usize];
    let day = if d.day() == 1 {
        "1er".to_owned()
    } else {
        d.day().to_string()
    };
    format!("{weekday} {day} {}", MONTHS[(d.month() - 1) as usize])
}

/// "20 h 30", "9 h".
pub fn hour_label(h: i8, m: i8) -> String {
    if m == 0 {
        format!("{h} h")
    } else {
        format!("{h} h {m:02}")
    }
}

/// What a post is about.
pub struct PostAbout<'a> {
    pub target: Target,
    pub name: &'a str,
    pub commune: &'a str,
    /// The element's admin or organizer, as named in the text.
    pub host: &'a str,
    /// Another commune nearby, for car-sharing and outings.
    pub elsewhere: &'a str,
}

pub enum Target {
    Person,
    Organization,
    Project,
    /// An event: its date label and start time, and whether it is over at posting time.
    Event {
        date: String,
        hour: String,
        days_to_go: i64,
        over: bool,
        venue: &'static str,
    },
    Poi,
    Other,
}

#[rustfmt::skip]
const OPENERS: &[&str] = &[
    "Bonjour à toutes et à tous !", "Petite info :", "Bonne nouvelle !", "Rappel :",
    "Coucou les voisins,", "Avis aux amateurs :", "On a besoin de vous !", "Bonjour,",
    "Salut tout le monde !", "À noter dans vos agendas :", "Pour info,", "Chers adhérents,",
];
const PERSON_OPENERS: &[&str] = &[
    "Bonjour,",
    "Coucou les voisins,",
    "Salut tout le monde !",
    "Petite question :",
    "Bonjour à tous !",
];
#[rustfmt::skip]
const CLOSERS: &[&str] = &[
    "Merci de faire tourner !", "À très vite !", "Bonne journée à tous.",
    "N'hésitez pas à nous écrire.", "Infos en commentaire.", "Au plaisir de vous y voir.",
    "Partagez autour de vous 🙂", "Bonne semaine !", "Des questions ? Répondez ici.",
    "On compte sur vous !", "Merci d'avance.",
];
#[rustfmt::skip]
const PROGRESS: &[&str] = &[
    "les plans sont validés", "le premier chantier participatif est calé", "on a trouvé un lieu",
    "le budget est bouclé", "la première réunion publique a réuni une trentaine de personnes",
    "la subvention est accordée", "le devis du menuisier est signé",
    "la convention avec la mairie est signée", "les premiers bénévoles sont formés",
    "le matériel est commandé", "on a rencontré les voisins pour leur présenter l'idée",
];
const WHEN_NEXT: &[&str] = &[
    "le mois prochain",
    "à l'automne",
    "dès la rentrée",
    "l'an prochain",
    "très vite",
    "au printemps",
];
#[rustfmt::skip]
const PRODUCE: &[&str] = &[
    "courgettes", "tomates", "œufs", "confitures de prunes", "plants de salade", "pommes", "noix",
    "potimarrons",
];
#[rustfmt::skip]
const LOST: &[&str] = &[
    "trousseau de clés", "doudou lapin", "gilet bleu", "parapluie noir", "casque de vélo",
    "bonnet rouge", "sac de piscine",
];
const TIMES_OF_DAY: &[&str] = &["matin", "après-midi", "soir"];

/// The text of a journal post.
pub fn post(rng: &mut Rng, about: &PostAbout<'_>) -> String {
    let name = about.name;
    let q = format!("« {name} »");
    let core = match &about.target {
        Target::Event {
            over: false,
            date,
            hour,
            days_to_go,
            venue,
        } => match rng.u8(..10) {
            0 => format!("{name} aura lieu {date} à partir de {hour}, {}.", lower_first(venue)),
            1 if *days_to_go > 1 => format!("Plus que {days_to_go} jours avant {q} ! On vous attend {date}."),
            1 | 2 => format!("Les inscriptions pour {q} sont ouvertes, il reste quelques places pour {date}."),
            3 => format!(
                "On cherche encore deux ou trois personnes pour {} pendant {q}.",
                pick(rng, TASKS)
            ),
            4 => format!("Le programme de {q} est prêt : rendez-vous {date} à {hour}."),
            5 => format!(
                "Covoiturage pour {q} {date} : proposez vos places en commentaire, départ {}.",
                de(about.elsewhere)
            ),
            6 => format!("En cas de pluie, {q} se replie à l'intérieur. Rendez-vous quand même {date} !"),
            7 => format!("Pour {q}, chacun peut apporter {}. Début à {hour}.", pick(rng, ITEMS)),
            8 => format!(
                "{name}, {date} {} : entrée à prix libre, ouvert à toutes et tous.",
                a(about.commune)
            ),
            _ => format!(
                "Dernière ligne droite avant {q} : on cherche {} et quelqu'un pour {}.",
                pick(rng, ITEMS),
                pick(rng, TASKS)
            ),
        },
        Target::Event { date, .. } => match rng.u8(..7) {
            0 => format!(
                "{name} : {} ! Merci à toutes celles et ceux qui sont venus.",
                lower_first(pick(rng, MOODS))
            ),
            1 => format!("Les photos de {q} sont disponibles, demandez le lien en commentaire."),
            2 => format!(
                "Bilan de {q} : environ {} personnes et {} bénévoles. Merci !",
                20 + rng.u32(..180),
                4 + rng.u32(..20)
            ),
            3 => format!(
                "Objets trouvés après {q} : un {} et un {}. Écrivez-nous pour les récupérer.",
                pick(rng, LOST),
                pick(rng, LOST)
            ),
            4 => format!("On a adoré {q} {date}, on remet ça {} ?", pick(rng, WHEN_NEXT)),
            5 => format!(
                "Merci à {} et à toute l'équipe pour {q}. {} !",
                about.host,
                pick(rng, MOODS)
            ),
            _ => format!("{name} : merci aux bénévoles qui ont tout rangé en un temps record."),
        },
        Target::Organization => match rng.u8(..12) {
            0 => format!(
                "Assemblée générale {} {} à {} h {} : bilan de l'année, projets et élection du bureau.",
                pick(rng, WEEKDAYS),
                when_soon(rng),
                18 + rng.u8(..3),
                a(about.commune)
            ),
            1 => format!(
                "Permanence ce {} de {} h à {} h, venez nous rencontrer.",
                pick(rng, WEEKDAYS),
                9 + rng.u8(..3),
                12 + rng.u8(..2)
            ),
            2 => format!(
                "Nous cherchons des bénévoles pour {}, même une heure compte.",
                pick(rng, TASKS)
            ),
            3 => format!("Bienvenue aux {} nouveaux adhérents de ce mois-ci !", 2 + rng.u8(..12)),
            4 => format!(
                "Nouveaux horaires : désormais ouvert le {} {}.",
                pick(rng, WEEKDAYS),
                pick(rng, TIMES_OF_DAY)
            ),
            5 => format!("Appel aux dons : il nous faudrait {}. Merci !", pick(rng, ITEMS)),
            6 => format!(
                "Le compte rendu de la dernière réunion est disponible, demandez-le à {}.",
                about.host
            ),
            7 => format!("Merci à la mairie {} pour le prêt de la salle.", de(about.commune)),
            8 => format!(
                "{name} recrute un service civique pour {} mois, parlez-en autour de vous.",
                6 + rng.u8(..3)
            ),
            9 => format!(
                "Les adhésions de l'année sont ouvertes : prix libre, à partir de {} €.",
                5 + 5 * rng.u8(..3)
            ),
            10 => format!(
                "Fermeture exceptionnelle {} {}, merci de votre compréhension.",
                pick(rng, WEEKDAYS),
                pick(rng, TIMES_OF_DAY)
            ),
            _ => format!(
                "Retour en images sur notre sortie {} : {} !",
                a(about.elsewhere),
                lower_first(pick(rng, MOODS))
            ),
        },
        Target::Project => match rng.u8(..7) {
            0 => format!("{name} avance : {}.", pick(rng, PROGRESS)),
            1 => format!(
                "Réunion d'équipe {} soir pour la suite du projet {q}, toutes les idées sont bienvenues.",
                pick(rng, WEEKDAYS)
            ),
            2 => format!(
                "Appel à coups de main pour {q} : il nous faudrait {}.",
                pick(rng, ITEMS)
            ),
            3 => format!(
                "Un grand merci aux {} personnes venues au chantier participatif samedi.",
                5 + rng.u8(..25)
            ),
            4 => format!(
                "Nouvelle étape pour le projet {q} : {}. La suite {}.",
                pick(rng, PROGRESS),
                pick(rng, WHEN_NEXT)
            ),
            5 => format!(
                "Le financement participatif du projet {q} a atteint {} % de l'objectif !",
                20 + rng.u8(..95)
            ),
            _ => format!(
                "{name} : prochaine réunion ouverte {} {} {}.",
                pick(rng, WEEKDAYS),
                pick(rng, TIMES_OF_DAY),
                a(about.commune)
            ),
        },
        Target::Person => match rng.u8(..12) {
            0 => format!("Quelqu'un aurait {} à me prêter ce week-end ?", pick(rng, ITEMS)),
            1 => format!(
                "J'ai trop de {} au jardin, servez-vous {} !",
                pick(rng, PRODUCE),
                pick(rng, WEEKDAYS)
            ),
            2 => format!(
                "Trouvé un {} près de la place {}, je le garde au chaud.",
                pick(rng, LOST),
                de(about.commune)
            ),
            3 => format!(
                "Qui est partant pour une balade à vélo jusqu'{} dimanche matin ?",
                a(about.elsewhere)
            ),
            4 => format!("Super soirée hier {}, merci à tous !", a(about.commune)),
            5 => format!(
                "Je cherche un covoiturage pour aller {} {} {}.",
                a(about.elsewhere),
                pick(rng, WEEKDAYS),
                pick(rng, TIMES_OF_DAY)
            ),
            6 => format!(
                "Je donne {} contre un coup de main pour {}.",
                pick(rng, ITEMS),
                pick(rng, TASKS)
            ),
            7 => "Quelqu'un connaît un bon réparateur de machine à laver dans le coin ?".to_owned(),
            8 => "Merci à la personne qui a ramené mon chat hier soir !".to_owned(),
            9 => format!(
                "Je déménage {} le mois prochain : je donne des cartons et une étagère.",
                a(about.elsewhere)
            ),
            10 => format!(
                "Qui serait partant pour un atelier tricot le {} soir ?",
                pick(rng, WEEKDAYS)
            ),
            _ => format!(
                "Ma voisine cherche quelqu'un pour {}, des volontaires ?",
                pick(rng, CHORES)
            ),
        },
        Target::Poi => match rng.u8(..4) {
            0 => format!("Petit nettoyage de {q} samedi matin, bienvenue à qui veut aider."),
            1 => format!("Quelqu'un sait qui s'occupe de {q} ? Il mériterait un coup de neuf."),
            2 => format!("Belle découverte aujourd'hui : {q}. Allez-y faire un tour !"),
            _ => format!("Fermeture de {q} pour travaux jusqu'à la fin du mois."),
        },
        Target::Other => format!("Toujours disponible : {name}. Contactez-moi."),
    };
    let mut out = String::with_capacity(core.len() + 60);
    if rng.u8(..10) < 4 {
        let opener = if matches!(about.target, Target::Person) {
            pick(rng, PERSON_OPENERS)
        } else {
            pick(rng, OPENERS)
        };
        out.push_str(opener);
        out.push(' ');
        // After "Rappel :" or "Coucou les voisins," a sentence goes on in lower case,
        // unless it starts with a name.
        if (opener.ends_with(':') || opener.ends_with(',')) && !core.starts_with(name) {
            out.push_str(&lower_first(&core));
        } else {
            out.push_str(&core);
        }
    } else {
        out.push_str(&core);
    }
    if rng.u8(..10) < 4 {
        out.push(' ');
        out.push_str(pick(rng, CLOSERS));
    }
    out
}

const CHORES: &[&str] = &[
    "tailler sa haie",
    "monter un meuble",
    "promener son chien le midi",
    "faire ses courses cette semaine",
    "changer une ampoule au plafond",
    "tondre la pelouse",
];

#[rustfmt::skip]
const COMMENTS: &[&str] = &[
    "Super, merci pour l'info !", "J'y serai !", "J'y serai avec les enfants.",
    "Est-ce que c'est accessible en fauteuil ?", "Bravo à toute l'équipe !",
    "À quelle heure ça se termine ?", "Trop bien, j'en parle autour de moi.",
    "Dommage, je ne serai pas là cette fois.", "Merci pour ce beau moment.", "Faut-il réserver ?",
    "C'est payant ?", "Je partage !", "Génial 👏", "Est-ce qu'on peut venir avec un chien ?",
    "Il y a un parking vélo ?", "Chouette initiative !", "Merci, c'est noté.",
    "On sera une petite bande de voisins.", "Est-ce qu'il faut apporter quelque chose ?",
    "Vivement !", "Ça fait plaisir de voir ça.", "Je suis intéressée, je vous écris.",
];
#[rustfmt::skip]
const REPLIES: &[&str] = &[
    "Oui, c'est de plain-pied.", "Bonne question, je me renseigne.", "C'est à prix libre.",
    "Pas besoin de réserver, venez comme vous êtes.", "Je suis partant aussi !",
    "Tout à fait d'accord.", "Oui, il y a des arceaux devant l'entrée.",
    "Rien à apporter, juste votre bonne humeur.",
];

/// A comment on a post. `commune` is where the commenter lives.
pub fn comment(rng: &mut Rng, commune: &str) -> String {
    match rng.u8(..10) {
        0 => format!("Je peux apporter {}.", pick(rng, ITEMS)),
        1 => format!(
            "Je covoiture depuis {commune}, il reste {}.",
            pick(rng, &["une place", "deux places", "trois places"])
        ),
        2 => format!("Je peux aider pour {} si besoin.", pick(rng, TASKS)),
        3 => {
            let first = pick(rng, COMMENTS);
            let second = pick(rng, COMMENTS);
            if first == second {
                first.to_owned()
            } else {
                format!("{first} {second}")
            }
        }
        _ => pick(rng, COMMENTS).to_owned(),
    }
}

/// A reply to another person's comment.
pub fn reply(rng: &mut Rng, to_first_name: &str) -> String {
    match rng.u8(..6) {
        0 => format!("Merci {to_first_name} !"),
        1 => format!("Avec plaisir {to_first_name}, je t'écris."),
        2 => format!("Oui, jusqu'à {} h environ.", 17 + rng.u8(..6)),
        3 => format!("Top, merci {to_first_name} 🙂"),
        _ => pick(rng, REPLIES).to_owned(),
    }
}

/// "le 3 juillet"-style hint at a near future day, without a computed date.
fn when_soon(rng: &mut Rng) -> &'static str {
    pick(rng, &["prochain", "en huit", "dans quinze jours"])
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Short and long descriptions of an event.
pub fn event_blurb(rng: &mut Rng, type_: &str, organizer: &str, commune: &str) -> (String, String) {
    let short = match type_ {
        "market" => pick(
            rng,
            &[
                "Producteurs locaux, artisans et bonne humeur",
                "Fruits, légumes, fromages et pain de la vallée",
                "Chinez, vendez, échangez",
            ],
        ),
        "concert" => pick(
            rng,
            &[
                "Concert en plein air, buvette sur place",
                "Une soirée de musique live",
                "Concert à prix libre",
            ],
        ),
        "workshop" => pick(
            rng,
            &[
                "Atelier ouvert à tous, sans prérequis",
                "On apprend en faisant, matériel fourni",
                "Atelier pratique, places limitées",
            ],
        ),
        "meeting" => pick(
            rng,
            &[
                "Séance publique, ouverte à tous",
                "Ordre du jour en ligne une semaine avant",
                "Réunion ouverte aux habitants",
            ],
        ),
        "getTogether" => pick(
            rng,
            &[
                "Chacun apporte un plat à partager",
                "Un moment convivial entre voisins",
                "Venez comme vous êtes",
            ],
        ),
        "course" => pick(
            rng,
            &[
                "Séance d'essai gratuite",
                "Tous niveaux, inscription sur place",
                "Cours hebdomadaire",
            ],
        ),
        "conference" | "debate" => pick(
            rng,
            &[
                "Exposé suivi d'un temps d'échange",
                "Discussion ouverte avec des intervenants locaux",
                "Entrée libre",
            ],
        ),
        "film" => pick(
            rng,
            &[
                "Projection suivie d'un débat",
                "Séance en plein air si le temps le permet",
                "Film documentaire et discussion",
            ],
        ),
        "exhibition" => pick(
            rng,
            &[
                "Exposition en accès libre aux heures d'ouverture",
                "Vernissage le premier jour à 18 h",
                "Œuvres d'artistes de la vallée",
            ],
        ),
        "competition" => pick(
            rng,
            &[
                "Inscriptions sur place, lots à gagner",
                "Ouvert à tous les âges",
                "Dans la bonne humeur",
            ],
        ),
        "festival" => pick(
            rng,
            &[
                "Concerts, ateliers, marché et restauration locale",
                "Le rendez-vous de l'année dans la vallée",
                "Trois jours de fête et de découvertes",
            ],
        ),
        _ => pick(
            rng,
            &[
                "Ouvert à toutes et tous",
                "Venez nombreux",
                "Toutes les bonnes volontés sont bienvenues",
            ],
        ),
    };
    let extra = match rng.u8(..5) {
        0 => format!("Organisé par {organizer}."),
        1 => format!("Proposé par {organizer}, avec le soutien de la mairie {}.", de(commune)),
        2 => "Accessible aux personnes à mobilité réduite. Buvette et petite restauration sur place.".to_owned(),
        3 => format!("Pensez au covoiturage pour venir {}.", a(commune)),
        _ => format!("Renseignements auprès de {organizer}."),
    };
    (short.to_owned(), format!("{short}. {extra}"))
}
