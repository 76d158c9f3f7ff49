//! The French vocabulary the demo hub is written with. Lists, not sentences: the generator
//! combines them so that a 20k-element hub does not read as copy-paste.

/// Crest and its neighbours (all within ~15 km, all with a position in the reference data).
pub const HOME_COMMUNES: &[&str] = &[
    "26108", // Crest
    "26011", // Aouste-sur-Sye
    "26115", // Divajeu
    "26125", // Eurre
    "26365", // Vaunaveys-la-Rochette
    "26065", // Chabrillan
    "26144", // Grane
    "26183", // Mirabel-et-Blacons
    "26234", // Piégros-la-Clastre
    "26358", // Upie
    "26336", // Saou
    "26006", // Allex
    "26289", // Saillans
];

/// Departments a big demo spreads over: the Drôme and its neighbours.
pub const REGION_DEPARTMENTS: &[&str] = &["26", "07", "38", "84", "05"];

#[rustfmt::skip]
pub const FEMALE_NAMES: &[&str] = &[
    "Marie", "Camille", "Léa", "Chloé", "Manon", "Inès", "Sarah", "Julie", "Émilie", "Claire",
    "Anne", "Sophie", "Isabelle", "Nathalie", "Catherine", "Christine", "Sylvie", "Martine",
    "Françoise", "Monique", "Jeanne", "Louise", "Alice", "Zoé", "Lucie", "Margaux", "Pauline",
    "Élodie", "Aurélie", "Céline", "Amandine", "Nadia", "Fatima", "Yasmine", "Leïla", "Aïcha",
    "Mélanie", "Hélène", "Agnès", "Odile", "Bernadette", "Colette", "Josiane", "Maëlle", "Clémence",
    "Juliette", "Salomé", "Rose", "Capucine", "Ambre", "Noémie", "Laure", "Mathilde", "Solène",
    "Anaïs", "Gaëlle", "Morgane", "Valérie", "Sandrine", "Delphine", "Karine", "Véronique", "Élise",
    "Lina", "Maya", "Nora", "Samia", "Aline", "Estelle", "Violette",
];

#[rustfmt::skip]
pub const MALE_NAMES: &[&str] = &[
    "Jean", "Pierre", "Michel", "André", "Philippe", "Alain", "Bernard", "Jacques", "Daniel",
    "Patrick", "Nicolas", "Christophe", "Stéphane", "Olivier", "Laurent", "Sébastien", "Julien",
    "Thomas", "Maxime", "Antoine", "Hugo", "Lucas", "Louis", "Gabriel", "Arthur", "Jules",
    "Raphaël", "Nathan", "Théo", "Paul", "Simon", "Mathieu", "Vincent", "Guillaume", "Benoît",
    "François", "Yves", "Gérard", "René", "Marcel", "Karim", "Mehdi", "Youssef", "Samir", "Rachid",
    "Bruno", "Denis", "Fabrice", "Frédéric", "Cédric", "Romain", "Adrien", "Baptiste", "Clément",
    "Quentin", "Florian", "Étienne", "Rémi", "Xavier", "Yann", "Gilles", "Hervé", "Thierry", "Noé",
    "Victor", "Léon", "Malik", "Félix", "Joël", "Lionel",
];

#[rustfmt::skip]
pub const SURNAMES: &[&str] = &[
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet",
    "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller",
    "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont",
    "Lopez", "Fontaine", "Chevalier", "Robin", "Masson", "Sanchez", "Gérard", "Nguyen", "Boyer",
    "Denis", "Lemaire", "Duval", "Joly", "Gautier", "Roger", "Roche", "Roy", "Noël", "Meyer",
    "Lucas", "Meunier", "Jean", "Perez", "Marchand", "Dufour", "Blanchard", "Barbier", "Brun",
    "Dumas", "Brunet", "Schmitt", "Leroux", "Colin", "Fernandez", "Pierre", "Renard", "Arnaud",
    "Rolland", "Caron", "Aubert", "Giraud", "Leclerc", "Vidal", "Bourgeois", "Renaud", "Lemoine",
    "Picard", "Gaillard", "Philippe", "Leclercq", "Lacroix", "Fabre", "Dupuis", "Olivier",
    "Rodriguez", "Da Silva", "Hubert", "Louis", "Charles", "Guillot", "Rivière", "Le Gall",
    "Guillaume", "Adam", "Rey", "Moulin", "Gonzalez", "Berger", "Lecomte", "Menard", "Fleury",
    "Deschamps", "Carpentier", "Julien", "Benoît", "Paris", "Maillard", "Marchal", "Aubry",
    "Vasseur", "Le Roux", "Renault", "Jacquet", "Collet", "Prévost", "Poirier", "Charpentier",
    "Royer", "Huet", "Baron", "Dupuy", "Pons", "Paul", "Laine", "Carré", "Breton", "Rémy",
    "Schneider", "Perrot", "Barre", "Marty", "Cousin", "Chabert", "Reynaud", "Bouvier",
    "Faure-Brac", "Chauvin", "Ollivier", "Tardieu", "Achard", "Blache", "Vallon", "Bonnefoy",
    "Mounier", "Arnoux", "Jaubert", "Peyrard", "Benali", "Haddad", "Diallo", "Traoré", "Kaya",
    "Yilmaz", "Ferreira", "Costa", "Rossi", "Bianchi", "Kowalski",
];

/// (masculine, feminine) professions for persons' short bios.
pub const PROFESSIONS: &[(&str, &str)] = &[
    ("Maraîcher", "Maraîchère"),
    ("Infirmier", "Infirmière"),
    ("Professeur des écoles", "Professeure des écoles"),
    ("Développeur web", "Développeuse web"),
    ("Menuisier", "Menuisière"),
    ("Retraité de La Poste", "Retraitée de La Poste"),
    ("Étudiant en agronomie", "Étudiante en agronomie"),
    ("Boulanger", "Boulangère"),
    ("Graphiste indépendant", "Graphiste indépendante"),
    ("Animateur jeunesse", "Animatrice jeunesse"),
    ("Musicien", "Musicienne"),
    ("Céramiste", "Céramiste"),
    ("Éleveur de chèvres", "Éleveuse de chèvres"),
    ("Bibliothécaire", "Bibliothécaire"),
    ("Électricien", "Électricienne"),
    ("Aide-soignant", "Aide-soignante"),
    ("Comptable", "Comptable"),
    ("Mécanicien vélo", "Mécanicienne vélo"),
    ("Éducateur spécialisé", "Éducatrice spécialisée"),
    ("Charpentier", "Charpentière"),
    ("Viticulteur", "Viticultrice"),
    ("Kinésithérapeute", "Kinésithérapeute"),
    ("Journaliste", "Journaliste"),
    ("Retraité de l'enseignement", "Retraitée de l'enseignement"),
    ("Apiculteur", "Apicultrice"),
    ("Cuisinier", "Cuisinière"),
    ("Photographe", "Photographe"),
    ("Accompagnateur en montagne", "Accompagnatrice en montagne"),
    ("Technicien informatique", "Technicienne informatique"),
    ("Paysagiste", "Paysagiste"),
    ("Libraire", "Libraire"),
    ("Couturier", "Couturière"),
    ("Agent territorial", "Agente territoriale"),
    ("Lycéen", "Lycéenne"),
    ("Conducteur de bus", "Conductrice de bus"),
    ("Herboriste", "Herboriste"),
    ("Facteur", "Factrice"),
    ("Plombier", "Plombière"),
];

/// Second sentences of persons' bios, with the tags they bring.
pub const BIO_LINES: &[(&str, &[&str])] = &[
    (
        "Bénévole au repair café un samedi sur deux.",
        &["réparation", "zéro déchet"],
    ),
    (
        "J'ai toujours les mains dans la terre : potager, compost et semences.",
        &["jardin", "compost"],
    ),
    (
        "Je me déplace à vélo toute l'année, même en hiver.",
        &["vélo", "mobilité"],
    ),
    (
        "Je joue de l'accordéon dans un groupe de bal folk.",
        &["musique", "danse"],
    ),
    (
        "Toujours partante pour un coup de main ou une soupe partagée.",
        &["solidarité", "alimentation"],
    ),
    (
        "J'aide les voisins à apprivoiser leur ordinateur.",
        &["numérique", "solidarité"],
    ),
    (
        "Parent d'élève, je m'occupe du pédibus de l'école.",
        &["enfance", "mobilité"],
    ),
    ("Passionné de vieux vélos et de mécanique.", &["vélo", "réparation"]),
    (
        "Je fais partie de l'AMAP depuis sa création.",
        &["alimentation", "agriculture"],
    ),
    ("Amateur de randonnée dans la forêt de Saoû.", &["randonnée", "nature"]),
    (
        "Je tiens une petite bibliothèque de rue devant chez moi.",
        &["lecture", "partage"],
    ),
    ("Je cherche des gens pour monter une chorale.", &["musique", "chant"]),
    (
        "J'installe des nichoirs et je compte les oiseaux du jardin.",
        &["biodiversité", "jardin"],
    ),
    (
        "Militant du logiciel libre, j'anime des install-parties.",
        &["numérique", "logiciel libre"],
    ),
    (
        "Je cuisine les restes et j'adore les repas partagés.",
        &["alimentation", "zéro déchet"],
    ),
    (
        "Je couds, je raccommode et je transmets volontiers.",
        &["couture", "réparation"],
    ),
    (
        "Je fais du théâtre d'improvisation le mardi soir.",
        &["théâtre", "culture"],
    ),
    ("J'élève des abeilles sur les coteaux.", &["apiculture", "biodiversité"]),
    (
        "Je m'intéresse à la rénovation des maisons en pierre.",
        &["habitat", "énergie"],
    ),
    ("Je prends des photos des fêtes de village.", &["photo", "patrimoine"]),
    (
        "J'accompagne des jeunes dans leur recherche d'emploi.",
        &["solidarité", "emploi"],
    ),
    (
        "Je donne des cours de français aux nouveaux arrivants.",
        &["solidarité", "éducation"],
    ),
    ("Grand lecteur de polars et de BD.", &["lecture", "culture"]),
    (
        "Je milite pour des transports en commun dans la vallée.",
        &["mobilité", "transition"],
    ),
    (
        "Je fabrique mes meubles avec du bois de récup.",
        &["réparation", "artisanat"],
    ),
    (
        "Je garde volontiers les poules des voisins en vacances.",
        &["solidarité", "jardin"],
    ),
    ("J'organise des soirées jeux de société.", &["jeux", "convivialité"]),
    (
        "Je fais de la poterie et je cuis au four à bois.",
        &["artisanat", "culture"],
    ),
];

/// Tags an element may pick up beyond its theme, so that tag filters cross kinds.
#[rustfmt::skip]
pub const COMMON_TAGS: &[&str] = &[
    "jardin", "compost", "vélo", "musique", "solidarité", "numérique", "enfance", "alimentation",
    "réparation", "zéro déchet", "culture", "biodiversité", "transition", "circuits courts",
    "convivialité", "patrimoine", "énergie", "mobilité", "lecture", "artisanat", "santé",
    "éducation populaire",
];

/// (masculine, feminine) roles: the admin's first, then officers, then the last two for
/// everyone else.
pub const ROLES_NGO: &[(&str, &str)] = &[
    ("Président", "Présidente"),
    ("Trésorier", "Trésorière"),
    ("Secrétaire", "Secrétaire"),
    ("Vice-président", "Vice-présidente"),
    ("Bénévole", "Bénévole"),
    ("Adhérent", "Adhérente"),
];
pub const ROLES_BUSINESS: &[(&str, &str)] = &[
    ("Gérant", "Gérante"),
    ("Associé", "Associée"),
    ("Salarié", "Salariée"),
    ("Apprenti", "Apprentie"),
];
pub const ROLES_TOWN_HALL: &[(&str, &str)] = &[
    ("Maire", "Maire"),
    ("Adjoint au maire", "Adjointe au maire"),
    ("Secrétaire de mairie", "Secrétaire de mairie"),
    ("Conseiller municipal", "Conseillère municipale"),
    ("Agent d'accueil", "Agente d'accueil"),
];
pub const ROLES_PUBLIC: &[(&str, &str)] = &[
    ("Directeur", "Directrice"),
    ("Médiateur", "Médiatrice"),
    ("Agent", "Agente"),
    ("Bénévole", "Bénévole"),
];
pub const ROLES_COOP: &[(&str, &str)] = &[
    ("Co-gérant", "Co-gérante"),
    ("Administrateur", "Administratrice"),
    ("Salarié", "Salariée"),
    ("Sociétaire", "Sociétaire"),
];
pub const ROLES_GROUP: &[(&str, &str)] = &[
    ("Animateur", "Animatrice"),
    ("Référent", "Référente"),
    ("Membre", "Membre"),
    ("Participant", "Participante"),
];

/// An organization template. In names, `{de}` is "de Crest" / "d'Eurre" / "du Poët-Laval",
/// `{a}` is "à Crest" / "au Poët-Laval", `{c}` the commune, `{s}` a surname, `{w}` a word
/// from [`ORG_WORDS`].
pub struct OrgTemplate {
    pub type_: &'static str,
    pub name: &'static str,
    pub short: &'static str,
    pub description: &'static str,
    pub tags: &'static [&'static str],
    pub roles: &'static [(&'static str, &'static str)],
    /// At most one per commune (a town hall).
    pub one_per_commune: bool,
}

const fn org(
    type_: &'static str,
    name: &'static str,
    short: &'static str,
    description: &'static str,
    tags: &'static [&'static str],
    roles: &'static [(&'static str, &'static str)],
) -> OrgTemplate {
    OrgTemplate {
        type_,
        name,
        short,
        description,
        tags,
        roles,
        one_per_commune: false,
    }
}

const fn unique_org(
    type_: &'static str,
    name: &'static str,
    short: &'static str,
    description: &'static str,
    tags: &'static [&'static str],
    roles: &'static [(&'static str, &'static str)],
) -> OrgTemplate {
    OrgTemplate {
        type_,
        name,
        short,
        description,
        tags,
        roles,
        one_per_commune: true,
    }
}

/// The organizations a newcomer meets first, in the home communes (index into
/// [`HOME_COMMUNES`]). Names are fictional, except the public services.
pub const HOME_ORGS: &[(usize, OrgTemplate)] = &[
    (0, org("Cooperative", "La Cordée, tiers-lieu du Crestois",
        "Tiers-lieu coopératif : coworking, fablab, café et ateliers",
        "La Cordée est une SCIC installée dans l'ancienne fabrique de chaussures. On y trouve un espace de coworking, un fablab avec imprimante 3D et découpe laser, un café associatif et une salle pour les ateliers. Les associations du coin y tiennent leurs permanences.",
        &["tiers-lieu", "numérique", "coworking", "artisanat", "convivialité"], ROLES_COOP)),
    (0, org("NGO", "Repair Café de Crest",
        "Réparer ensemble plutôt que jeter",
        "Un samedi par mois, des bénévoles bricoleurs vous aident à réparer grille-pains, vélos, vêtements et ordinateurs. On apprend en faisant, autour d'un café.",
        &["réparation", "zéro déchet", "solidarité"], ROLES_NGO)),
    (3, org("NGO", "AMAP du Val de Drôme",
        "Des paniers de légumes bio en direct des fermes de la vallée",
        "Chaque jeudi soir, une quarantaine de familles récupèrent leur panier de légumes, d'œufs et de fromages de chèvre. Les contrats sont signés pour six mois avec trois fermes partenaires.",
        &["alimentation", "agriculture", "circuits courts"], ROLES_NGO)),
    (0, unique_org("GovernmentOrganization", "Mairie {de}",
        "Accueil du public du lundi au vendredi",
        "Services municipaux : état civil, urbanisme, inscriptions scolaires, prêt de salles aux associations. Les comptes rendus du conseil municipal sont publiés ici.",
        &["mairie", "services publics"], ROLES_TOWN_HALL)),
    (0, org("GovernmentOrganization", "Médiathèque de Crest",
        "Livres, musique, jeux et ateliers numériques",
        "Prêt gratuit pour les moins de 18 ans, grainothèque, heure du conte le mercredi et ateliers numériques pour les débutants le vendredi matin.",
        &["lecture", "culture", "numérique", "enfance"], ROLES_PUBLIC)),
    (0, org("NGO", "Vélo Drôme Solidaire",
        "Atelier vélo participatif et solidaire",
        "Apprenez à entretenir votre vélo avec nos outils et nos conseils. Nous récupérons des vélos abandonnés pour les remettre en état et les revendre à petit prix.",
        &["vélo", "réparation", "mobilité", "solidarité"], ROLES_NGO)),
    (0, org("NGO", "Les Jardins de la Tour",
        "Jardins partagés au pied de la Tour de Crest",
        "Vingt-quatre parcelles cultivées par des familles du quartier, un composteur collectif, une mare et un rucher pédagogique. Les écoles viennent jardiner au printemps.",
        &["jardin", "compost", "biodiversité", "enfance"], ROLES_NGO)),
    (0, org("LocalBusiness", "Boulangerie Fournier",
        "Pain au levain cuit au feu de bois",
        "Farines des moulins de la Drôme, pains au levain naturel et viennoiseries du dimanche. Nous reprenons les sacs en tissu et donnons les invendus à l'épicerie solidaire.",
        &["alimentation", "artisanat", "circuits courts"], ROLES_BUSINESS)),
    (1, org("Cooperative", "Épicerie coopérative La Musette",
        "Épicerie gérée par ses membres, vrac et produits locaux",
        "Chaque coopérateur donne trois heures par mois. En échange : des produits locaux et bio au prix juste, du vrac, et un lieu où l'on se croise.",
        &["alimentation", "zéro déchet", "circuits courts"], ROLES_COOP)),
    (0, org("Group", "Collectif Crest en Transition",
        "Habitants qui agissent pour le climat, localement",
        "Soirées ciné-débat, défis familles zéro déchet, cartographie des producteurs locaux : nous cherchons des solutions concrètes et joyeuses.",
        &["transition", "zéro déchet", "énergie", "mobilité"], ROLES_GROUP)),
    (0, org("NGO", "École de musique du Crestois",
        "Cours de musique pour petits et grands, orchestre d'harmonie",
        "Piano, guitare, violon, batterie, accordéon et chant. L'orchestre des élèves joue à la fête de la musique et au marché de Noël.",
        &["musique", "enfance", "culture"], ROLES_NGO)),
    (3, org("NGO", "Comité des fêtes d'Eurre",
        "Fêtes de village, bal et vide-grenier",
        "Nous organisons la fête votive, le vide-grenier de printemps et le réveillon solidaire. Toutes les bonnes volontés sont bienvenues.",
        &["fête", "convivialité", "culture"], ROLES_NGO)),
    (1, unique_org("GovernmentOrganization", "Mairie {de}",
        "Accueil du public les lundi, mercredi et vendredi matin",
        "Services municipaux, réservation de la salle des fêtes et informations sur les travaux en cours.",
        &["mairie", "services publics"], ROLES_TOWN_HALL)),
    (11, org("NGO", "Ressourcerie du Val de Drôme",
        "Collecte, réparation et revente d'objets de seconde main",
        "Meubles, vaisselle, livres, jouets : nous collectons ce dont vous n'avez plus besoin, le remettons en état et le revendons à petit prix. Chantier d'insertion.",
        &["réparation", "zéro déchet", "solidarité", "emploi"], ROLES_NGO)),
    (0, org("Group", "Cercle des aidants du Crestois",
        "Groupe d'entraide entre proches aidants (privé)",
        "Un espace de parole et d'entraide pour celles et ceux qui accompagnent un proche malade, âgé ou handicapé. Les échanges restent entre membres.",
        &["solidarité", "santé"], ROLES_GROUP)),
    (0, org("Group", "Conseil coopératif de La Cordée",
        "Espace de travail des administrateurs du tiers-lieu (privé)",
        "Ordres du jour, comptes rendus et décisions du conseil coopératif. Réservé aux administrateurs et salariés.",
        &["tiers-lieu", "gouvernance"], ROLES_COOP)),
];

/// Index of the private groups in [`HOME_ORGS`].
pub const PRIVATE_HOME_ORGS: &[usize] = &[14, 15];

/// Organization templates for the rest of the territory.
pub const ORG_TEMPLATES: &[OrgTemplate] = &[
    unique_org("GovernmentOrganization", "Mairie {de}", "Services municipaux et accueil du public",
        "État civil, urbanisme, écoles, location de la salle des fêtes. Les permanences des élus ont lieu le samedi matin.",
        &["mairie", "services publics"], ROLES_TOWN_HALL),
    unique_org("GovernmentOrganization", "Médiathèque {de}", "Livres, jeux, films et ateliers pour tous",
        "Prêt gratuit, heure du conte, ateliers numériques et expositions. Portage de livres à domicile pour les personnes qui ne peuvent pas se déplacer.",
        &["lecture", "culture", "numérique"], ROLES_PUBLIC),
    unique_org("GovernmentOrganization", "Centre social {de}", "Accueil, familles, jeunesse et accès aux droits",
        "Accueil de loisirs, accompagnement à la scolarité, permanences d'écrivain public et sorties familiales.",
        &["solidarité", "enfance", "famille"], ROLES_PUBLIC),
    unique_org("GovernmentOrganization", "École primaire {de}", "École publique du village",
        "Cinq classes, une cantine avec des produits locaux et un potager pédagogique entretenu avec les parents.",
        &["enfance", "éducation"], ROLES_PUBLIC),
    org("NGO", "Repair Café {de}", "Réparer ensemble plutôt que jeter",
        "Des bénévoles vous aident à réparer petit électroménager, vélos, vêtements et jouets. Apportez vos objets en panne !",
        &["réparation", "zéro déchet"], ROLES_NGO),
    org("NGO", "AMAP {de}", "Paniers de légumes et de fromages en direct des fermes",
        "Distribution hebdomadaire des paniers, contrats avec des producteurs bio du coin, visites de fermes.",
        &["alimentation", "agriculture", "circuits courts"], ROLES_NGO),
    org("NGO", "Jardins partagés {de}", "Parcelles collectives et composteur de quartier",
        "Des parcelles à cultiver seul ou à plusieurs, des outils en commun et un composteur géré par les jardiniers.",
        &["jardin", "compost", "biodiversité"], ROLES_NGO),
    org("NGO", "Atelier vélo {de}", "Atelier d'autoréparation de vélos",
        "Outils, pièces d'occasion et conseils pour entretenir son vélo soi-même. Bourse aux vélos deux fois par an.",
        &["vélo", "réparation", "mobilité"], ROLES_NGO),
    unique_org("NGO", "Comité des fêtes {de}", "Fête votive, bal et vide-grenier",
        "Nous animons le village toute l'année : fête votive, concours de pétanque, vide-grenier et repas des anciens.",
        &["fête", "convivialité"], ROLES_NGO),
    unique_org("NGO", "Sou des écoles {de}", "Association des parents d'élèves",
        "Kermesse, loto et vente de gâteaux pour financer les sorties scolaires.",
        &["enfance", "éducation"], ROLES_NGO),
    org("NGO", "École de musique {de}", "Cours de musique et ensembles amateurs",
        "Cours individuels et collectifs, éveil musical dès quatre ans et concerts des élèves.",
        &["musique", "culture", "enfance"], ROLES_NGO),
    org("NGO", "Compagnie {w}", "Théâtre amateur et spectacles de rue",
        "Une troupe d'amateurs qui crée un spectacle par an et anime des ateliers d'improvisation.",
        &["théâtre", "culture"], ROLES_NGO),
    org("NGO", "Ciné-club {de}", "Projections et débats un vendredi par mois",
        "Films d'auteur, documentaires et courts-métrages, suivis d'une discussion autour d'une soupe.",
        &["cinéma", "culture"], ROLES_NGO),
    org("NGO", "Épicerie solidaire {de}", "Produits de première nécessité à petit prix",
        "Accès sur orientation des travailleurs sociaux, ateliers cuisine et moments conviviaux.",
        &["solidarité", "alimentation"], ROLES_NGO),
    org("NGO", "Les Amis du patrimoine {de}", "Sauvegarde du petit patrimoine",
        "Restauration des lavoirs, des fours et des croix de chemin, visites commentées pendant les journées du patrimoine.",
        &["patrimoine", "histoire"], ROLES_NGO),
    org("NGO", "SEL {de}", "Système d'échange local : services et savoirs sans argent",
        "Les membres échangent des services, des objets et des savoirs avec une monnaie-temps.",
        &["solidarité", "échange"], ROLES_NGO),
    org("NGO", "Espace numérique solidaire {de}", "Accompagnement au numérique pour tous",
        "Aide aux démarches en ligne, ordinateurs reconditionnés pour les familles et ateliers débutants.",
        &["numérique", "solidarité", "inclusion"], ROLES_NGO),
    org("NGO", "Club de randonnée {de}", "Sorties à la journée tous les dimanches",
        "Randonnées de tous niveaux dans la vallée et les montagnes alentour, entretien des sentiers balisés.",
        &["randonnée", "nature", "sport"], ROLES_NGO),
    org("NGO", "Rucher école {de}", "Apprendre l'apiculture naturelle",
        "Formation des apiculteurs débutants, ruches pédagogiques et sensibilisation aux abeilles sauvages.",
        &["apiculture", "biodiversité"], ROLES_NGO),
    org("NGO", "Gym volontaire {de}", "Gym douce, pilates et marche nordique",
        "Des cours accessibles à tous les âges, à la salle des fêtes et en plein air.",
        &["sport", "santé"], ROLES_NGO),
    org("NGO", "Ressourcerie {w}", "Collecte et revente d'objets de seconde main",
        "Nous donnons une seconde vie aux objets et créons des emplois d'insertion.",
        &["réparation", "zéro déchet", "emploi"], ROLES_NGO),
    org("NGO", "Café associatif {w}", "Café, concerts et jeux au cœur du village",
        "Un lieu ouvert à tous, géré par des bénévoles : boissons locales, scènes ouvertes, soirées jeux.",
        &["convivialité", "musique", "culture"], ROLES_NGO),
    org("LocalBusiness", "Boulangerie {s}", "Pain au levain et viennoiseries maison",
        "Farines locales, cuisson au four à bois et pains spéciaux le week-end.",
        &["alimentation", "artisanat"], ROLES_BUSINESS),
    org("LocalBusiness", "Librairie {w}", "Librairie indépendante",
        "Romans, BD, livres jeunesse et rencontres avec les auteurs le samedi.",
        &["lecture", "culture"], ROLES_BUSINESS),
    org("LocalBusiness", "Menuiserie {s}", "Menuiserie et ébénisterie artisanale",
        "Fabrication sur mesure en bois local, réparation de meubles anciens.",
        &["artisanat", "bois"], ROLES_BUSINESS),
    org("LocalBusiness", "Ferme {w}", "Légumes, fruits et œufs bio, vente à la ferme",
        "Maraîchage sur sol vivant, vente directe le mercredi et le samedi, paniers pour l'AMAP.",
        &["agriculture", "alimentation", "circuits courts"], ROLES_BUSINESS),
    org("LocalBusiness", "Fromagerie {s}", "Fromages de chèvre fermiers",
        "Picodons et tommes de chèvre, traite à la main et vente sur les marchés.",
        &["alimentation", "agriculture"], ROLES_BUSINESS),
    org("LocalBusiness", "Épicerie vrac {w}", "Épicerie sans emballage",
        "Plus de trois cents produits en vrac, apportez vos bocaux.",
        &["zéro déchet", "alimentation"], ROLES_BUSINESS),
    org("LocalBusiness", "Cycles {s}", "Vente et réparation de vélos",
        "Vélos neufs et d'occasion, vélos électriques, réparation toutes marques.",
        &["vélo", "mobilité", "réparation"], ROLES_BUSINESS),
    org("LocalBusiness", "Brasserie {w}", "Bières artisanales brassées au village",
        "Bières bio brassées avec de l'orge de la région, visite de la brasserie le vendredi.",
        &["artisanat", "circuits courts"], ROLES_BUSINESS),
    org("Cooperative", "Épicerie coopérative {de}", "Épicerie participative gérée par ses membres",
        "Chaque membre donne quelques heures par mois en échange de produits locaux au juste prix.",
        &["alimentation", "circuits courts", "zéro déchet"], ROLES_COOP),
    org("Cooperative", "Centrale villageoise {de}", "Énergie solaire citoyenne",
        "Des habitants investissent ensemble dans des panneaux solaires sur les toits de la commune.",
        &["énergie", "transition"], ROLES_COOP),
    org("Cooperative", "Habitat partagé {w}", "Coopérative d'habitants",
        "Douze logements, une salle commune, un atelier et un jardin partagés entre trois générations.",
        &["habitat", "solidarité"], ROLES_COOP),
    org("Cooperative", "Tiers-lieu {w}", "Coworking, atelier partagé et café",
        "Un lieu hybride pour travailler, fabriquer et se rencontrer, géré en SCIC.",
        &["tiers-lieu", "numérique", "artisanat"], ROLES_COOP),
    org("Group", "Collectif {c} en transition", "Agir localement pour le climat",
        "Ciné-débats, grainothèque, défis zéro déchet et cartographie des initiatives locales.",
        &["transition", "énergie", "zéro déchet"], ROLES_GROUP),
    org("Group", "Chorale {w}", "Chorale amateur, répertoire du monde",
        "Répétition le lundi soir, pas besoin de savoir lire la musique.",
        &["musique", "chant"], ROLES_GROUP),
    org("Group", "Cercle de lecture {de}", "On lit, on partage, on se prête les livres",
        "Une rencontre par mois chez l'un ou l'autre, autour d'un livre choisi ensemble.",
        &["lecture", "culture"], ROLES_GROUP),
    org("Group", "Les voisins {de}", "Entraide et fêtes entre voisins",
        "Une liste de diffusion, un repas de quartier en juin et beaucoup de coups de main.",
        &["solidarité", "convivialité"], ROLES_GROUP),
    org("Group", "Groupe de marche du jeudi", "Balade tranquille d'une heure et demie",
        "Départ de la place à 9 h, ouvert à tous, sans inscription.",
        &["randonnée", "santé"], ROLES_GROUP),
];

/// Words for `{w}` in organization names.
#[rustfmt::skip]
pub const ORG_WORDS: &[&str] = &[
    "La Luciole", "Le Grand Chêne", "La Fourmilière", "Les Trois Chênes", "L'Étincelle",
    "La Roulotte", "Le Vent Debout", "La Clé des Champs", "Le Petit Pont", "La Bricole",
    "Les Coquelicots", "La Source", "L'Atelier du Coin", "Le Chaudron", "Les Hirondelles",
    "La Grange", "Le Moulin", "La Marelle", "Les Lavandes", "Le Colibri", "La Passerelle",
    "Les Tilleuls", "La Baraque", "Le Potager", "La Truffe", "Les Cerisiers", "La Ruche",
    "Le Fil d'Ariane", "La Navette", "L'Olivier", "Les Genêts", "La Salamandre", "Le Caillou",
    "Les Cabanes", "Le Rucher", "La Boussole", "Les Noyers", "La Javelle", "Le Picodon",
];

#[rustfmt::skip]
pub const STREETS: &[&str] = &[
    "rue de la République", "Grande Rue", "rue des Écoles", "avenue de la Gare",
    "place de l'Église", "chemin des Vignes", "impasse des Tilleuls", "rue du Four",
    "montée du Château", "rue Sadi-Carnot", "avenue Jean-Jaurès", "place du Marché",
    "rue des Remparts", "chemin de la Fontaine", "rue Victor-Hugo", "allée des Platanes",
    "rue du Moulin", "route de la Forêt", "chemin des Écoliers", "rue des Tanneurs",
    "quai de la Rivière", "rue Pasteur", "boulevard des Alpes", "place de la Mairie",
    "rue des Jardins", "chemin du Lavoir", "rue de l'Hôtel-de-Ville", "avenue de Provence",
    "rue des Cerisiers", "chemin des Lavandes", "rue Émile-Zola", "place du Champ-de-Mars",
    "rue de la Poste", "chemin des Noyers", "rue du Pont", "traverse des Oliviers",
    "rue Jean-Moulin", "chemin de Ronde", "rue des Artisans", "impasse du Verger",
    "chemin de la Croix", "rue Louis-Pasteur", "avenue du 8-Mai-1945", "rue des Granges",
];

/// Where events of a type take place.
pub fn venues(type_: &str) -> &'static [&'static str] {
    match type_ {
        "market" | "stand" => &[
            "Place du marché",
            "Halle du marché",
            "Place de la mairie",
            "Parking de la salle des fêtes",
        ],
        "concert" => &[
            "Salle des fêtes",
            "Kiosque à musique",
            "Café associatif",
            "Temple",
            "Jardin public",
        ],
        "workshop" => &[
            "Médiathèque",
            "Foyer rural",
            "Café associatif",
            "Salle polyvalente",
            "Atelier partagé",
        ],
        "meeting" => &["Salle du conseil, mairie", "Salle polyvalente", "Foyer rural"],
        "getTogether" => &["Jardin public", "Bord de rivière", "Salle des fêtes", "Cour de l'école"],
        "course" => &["Gymnase", "Salle polyvalente", "Foyer rural", "Salle de la médiathèque"],
        "conference" | "debate" | "film" => &["Médiathèque", "Salle des fêtes", "Café associatif", "Cinéma associatif"],
        "exhibition" => &["Médiathèque", "Temple", "Ancienne gare", "Galerie municipale"],
        "competition" => &["Boulodrome", "Salle des fêtes", "Place de la mairie"],
        "festival" => &["Parc municipal", "Bord de rivière", "Centre du village"],
        _ => &[
            "Bord de rivière",
            "Jardin public",
            "Salle des fêtes",
            "Devant la mairie",
        ],
    }
}

/// Event themes, keyed by the event type they fit.
pub const WORKSHOPS: &[(&str, &[&str])] = &[
    ("Atelier réparation de vélos", &["vélo", "réparation"]),
    ("Atelier compostage", &["compost", "jardin", "zéro déchet"]),
    ("Atelier couture zéro déchet", &["couture", "zéro déchet"]),
    ("Initiation à Linux", &["numérique", "logiciel libre"]),
    ("Cuisine des plantes sauvages", &["alimentation", "nature"]),
    ("Fabriquer ses produits ménagers", &["zéro déchet", "santé"]),
    ("Taille des arbres fruitiers", &["jardin", "arbres"]),
    ("Initiation à la vannerie", &["artisanat"]),
    ("Réparation de petit électroménager", &["réparation", "zéro déchet"]),
    ("Apprivoiser son smartphone", &["numérique", "solidarité"]),
    ("Atelier greffe", &["jardin", "arbres"]),
    ("Fabrication de nichoirs", &["biodiversité", "enfance"]),
    ("Lacto-fermentation des légumes", &["alimentation"]),
    ("Initiation aux premiers secours", &["santé", "solidarité"]),
    ("Atelier d'écriture", &["lecture", "culture"]),
    ("Photo argentique", &["photo", "culture"]),
    ("Pain au levain à la maison", &["alimentation", "artisanat"]),
    ("Semis de printemps", &["jardin", "semences"]),
    ("Démarches en ligne : les bases", &["numérique", "solidarité"]),
    ("Bricolage en famille", &["enfance", "réparation"]),
];

pub const TOPICS: &[(&str, &[&str])] = &[
    (
        "la rénovation énergétique des maisons anciennes",
        &["énergie", "habitat"],
    ),
    ("l'eau et les sécheresses dans nos vallées", &["eau", "transition"]),
    ("les monnaies locales", &["économie", "circuits courts"]),
    ("le compostage de quartier", &["compost", "zéro déchet"]),
    ("l'alimentation des enfants à la cantine", &["alimentation", "enfance"]),
    ("les écrans et les ados", &["numérique", "enfance"]),
    ("se déplacer sans voiture à la campagne", &["mobilité", "vélo"]),
    ("les plantes sauvages comestibles", &["nature", "alimentation"]),
    ("l'habitat partagé", &["habitat", "solidarité"]),
    ("les abeilles sauvages", &["biodiversité", "apiculture"]),
    ("le logiciel libre au quotidien", &["numérique", "logiciel libre"]),
    ("le retour du loup", &["nature", "agriculture"]),
    ("la transmission des fermes", &["agriculture", "alimentation"]),
    ("la biodiversité au jardin", &["biodiversité", "jardin"]),
    ("vieillir chez soi au village", &["solidarité", "santé"]),
    ("l'avenir des petits commerces", &["économie", "circuits courts"]),
];

#[rustfmt::skip]
pub const MUSIC_GENRES: &[&str] = &[
    "chanson française", "jazz manouche", "musique trad", "rock", "musiques du monde", "blues",
    "folk", "reggae", "musique classique", "cumbia", "swing", "électro acoustique",
];

#[rustfmt::skip]
pub const BAND_FIRST: &[&str] = &[
    "Les Cigales", "Trio", "Duo", "Fanfare", "Orchestre", "Quartet", "Les Frères", "Les Filles",
    "Compagnie", "Les Chats", "Les Gars", "Ensemble",
];
#[rustfmt::skip]
pub const BAND_SECOND: &[&str] = &[
    "Électriques", "du Vieux Pont", "Lavande", "Perchés", "de la Clairette", "Sans Gêne",
    "du Dimanche", "à Bretelles", "Nomades", "Caracole", "des Coteaux", "Bancal", "Zéphyr",
    "du Picodon", "Mistral", "Cabaret",
];

pub const FESTIVALS: &[(&str, &[&str])] = &[
    (
        "Fête des jardins et de la récup'",
        &["jardin", "zéro déchet", "réparation"],
    ),
    ("Festival Musiques au bord de l'eau", &["musique", "culture"]),
    ("Les Journées de la transition", &["transition", "énergie", "mobilité"]),
    ("Fête du vélo", &["vélo", "mobilité"]),
    ("Festival des arts de la rue", &["culture", "théâtre"]),
    ("Fête de la soupe", &["alimentation", "convivialité"]),
    ("Festival du film documentaire", &["cinéma", "culture"]),
    ("Week-end des savoir-faire", &["artisanat", "patrimoine"]),
];

/// Projects: (name, short description, tags). `{de}` as for organizations.
pub const PROJECTS: &[(&str, &str, &[&str])] = &[
    (
        "Potager pédagogique de l'école {de}",
        "Un potager cultivé par les enfants et les parents",
        &["jardin", "enfance", "éducation"],
    ),
    (
        "Composteur collectif {street}",
        "Un composteur de quartier géré par les voisins",
        &["compost", "zéro déchet"],
    ),
    (
        "Bibliothèque d'objets {de}",
        "Emprunter plutôt qu'acheter : perceuse, raclette, tente…",
        &["partage", "zéro déchet"],
    ),
    (
        "Carte des producteurs locaux",
        "Recenser les fermes qui vendent en direct",
        &["circuits courts", "alimentation", "numérique"],
    ),
    (
        "Atelier vélo itinérant",
        "Une remorque d'outils qui va de village en village",
        &["vélo", "réparation", "mobilité"],
    ),
    (
        "Rénovation du lavoir {de}",
        "Chantier participatif pour restaurer le lavoir",
        &["patrimoine", "chantier participatif"],
    ),
    (
        "Cinéma en plein air {de}",
        "Trois projections gratuites l'été",
        &["cinéma", "culture"],
    ),
    (
        "Four à pain communal {de}",
        "Reconstruire le four et y cuire ensemble",
        &["patrimoine", "alimentation"],
    ),
    (
        "Toit solaire de la salle des fêtes {de}",
        "Une centrale solaire financée par les habitants",
        &["énergie", "transition"],
    ),
    (
        "Grainothèque {de}",
        "Échanger des semences de variétés locales",
        &["jardin", "semences", "biodiversité"],
    ),
    (
        "Café des parents {de}",
        "Un rendez-vous mensuel entre parents",
        &["enfance", "convivialité"],
    ),
    (
        "Covoiturage de village {de}",
        "Des arrêts de covoiturage signalés et une liste d'échanges",
        &["mobilité", "solidarité"],
    ),
    (
        "Verger conservatoire {de}",
        "Planter des variétés anciennes de fruitiers",
        &["biodiversité", "arbres", "patrimoine"],
    ),
    (
        "Fresque participative {street}",
        "Une fresque peinte avec les habitants",
        &["culture", "street art"],
    ),
    (
        "Boîtes à livres {de}",
        "Des boîtes à livres dans chaque quartier",
        &["lecture", "partage"],
    ),
    (
        "Cartographie des arbres remarquables",
        "Inventorier et protéger les vieux arbres",
        &["biodiversité", "arbres", "numérique"],
    ),
    (
        "Ateliers numériques pour les seniors {de}",
        "Accompagner les aînés sur ordinateur et smartphone",
        &["numérique", "solidarité"],
    ),
    (
        "Cantine bio et locale {de}",
        "Plus de produits locaux dans les assiettes des enfants",
        &["alimentation", "enfance", "circuits courts"],
    ),
    (
        "Zone de gratuité mensuelle {de}",
        "On donne, on prend, sans argent",
        &["zéro déchet", "solidarité"],
    ),
    (
        "Nichoirs à martinets",
        "Installer des nichoirs sous les toits du centre ancien",
        &["biodiversité"],
    ),
    (
        "Journal de quartier {de}",
        "Un journal papier écrit par les habitants",
        &["culture", "convivialité"],
    ),
    (
        "Pédibus de l'école {de}",
        "Aller à l'école à pied, en groupe",
        &["enfance", "mobilité"],
    ),
    (
        "Défi familles zéro déchet",
        "Six mois pour réduire ses poubelles, accompagnés",
        &["zéro déchet", "transition"],
    ),
    (
        "Toilettes sèches pour les fêtes",
        "Des toilettes sèches à prêter aux associations",
        &["zéro déchet", "fête"],
    ),
    (
        "Inventaire participatif de la biodiversité {de}",
        "Compter les oiseaux, papillons et plantes de la commune",
        &["biodiversité", "nature"],
    ),
    (
        "Radio associative de la vallée",
        "Une webradio faite par les habitants",
        &["culture", "numérique", "musique"],
    ),
    (
        "Jardin des simples {de}",
        "Un jardin de plantes médicinales et aromatiques",
        &["jardin", "santé"],
    ),
    (
        "Recyclerie de matériaux",
        "Récupérer les matériaux des chantiers pour les réemployer",
        &["réparation", "zéro déchet", "habitat"],
    ),
];

pub const AVANCEMENT: &[&str] = &["idea", "concept", "started", "development", "testing", "mature"];

/// Points of interest: (type, name, description, tags). `{de}`, `{street}` as above.
pub const POIS: &[(&str, &str, &str, &[&str])] = &[
    (
        "compostPickup",
        "Composteur partagé {street}",
        "Bac ouvert à tous, apports le mercredi et le samedi de 10 h à 12 h.",
        &["compost", "zéro déchet"],
    ),
    (
        "compostPickup",
        "Composteur du jardin partagé {de}",
        "Déposez vos épluchures, pas de viande ni d'agrumes.",
        &["compost", "jardin"],
    ),
    (
        "artPiece",
        "Sculpture « {w} »",
        "Sculpture en acier corten installée lors de la biennale.",
        &["art", "culture"],
    ),
    (
        "streetArt",
        "Fresque des oiseaux {street}",
        "Fresque peinte par les enfants du centre de loisirs.",
        &["street art", "biodiversité"],
    ),
    (
        "streetArt",
        "Fresque de la rivière {de}",
        "Grande fresque réalisée pendant le festival des arts de la rue.",
        &["street art", "culture"],
    ),
    (
        "recoveryCenter",
        "Déchèterie {de}",
        "Tri des encombrants, déchets verts et gravats. Fermée le dimanche.",
        &["zéro déchet", "recyclage"],
    ),
    (
        "recoveryCenter",
        "Point de collecte des textiles {street}",
        "Borne pour vêtements, chaussures et linge de maison.",
        &["zéro déchet", "couture"],
    ),
    (
        "place",
        "Salle des fêtes {de}",
        "Salle de 200 places avec cuisine, réservation en mairie.",
        &["salle", "convivialité"],
    ),
    (
        "place",
        "Jardin public {de}",
        "Bancs, ombre et jeux pour enfants au bord de la rivière.",
        &["nature", "enfance"],
    ),
    (
        "parking",
        "Parking vélos couvert {street}",
        "Vingt arceaux abrités, à deux pas du marché.",
        &["vélo", "mobilité"],
    ),
    (
        "parking",
        "Aire de covoiturage {de}",
        "Aire de covoiturage au carrefour de la départementale.",
        &["mobilité", "covoiturage"],
    ),
    (
        "something2See",
        "Point de vue sur la vallée {de}",
        "Belvédère avec table d'orientation.",
        &["patrimoine", "randonnée"],
    ),
    (
        "something2See",
        "Pont suspendu {de}",
        "Passerelle du XIXe siècle au-dessus de la rivière.",
        &["patrimoine", "histoire"],
    ),
    (
        "funPlace",
        "Aire de jeux {street}",
        "Jeux en bois pour les deux à dix ans.",
        &["enfance", "jeux"],
    ),
    (
        "history",
        "Lavoir {street}",
        "Lavoir restauré par l'association du patrimoine.",
        &["patrimoine", "histoire"],
    ),
    (
        "tool",
        "Outilthèque {de}",
        "Perceuses, escabeaux, tondeuses à emprunter avec la carte de la médiathèque.",
        &["partage", "réparation"],
    ),
    (
        "machine",
        "Four à pain communal {de}",
        "Allumé le premier samedi du mois, apportez votre pâte.",
        &["alimentation", "patrimoine"],
    ),
    (
        "openScene",
        "Kiosque à musique {de}",
        "Scène ouverte l'été, le vendredi soir.",
        &["musique", "culture"],
    ),
    (
        "place",
        "Boîte à livres {street}",
        "Ancienne cabine téléphonique transformée en boîte à livres.",
        &["lecture", "partage"],
    ),
    (
        "place",
        "Fontaine à eau potable {street}",
        "Eau potable toute l'année, bienvenue aux cyclistes.",
        &["eau", "vélo"],
    ),
    (
        "trash",
        "Colonnes de tri {street}",
        "Verre, papier et emballages.",
        &["recyclage", "zéro déchet"],
    ),
];

/// A classified: (category, subtype, name, price range in euros, tags).
pub type ClassifiedTemplate = (
    &'static str,
    &'static str,
    &'static str,
    (u32, u32),
    &'static [&'static str],
);

/// Classifieds on sale, for rent, given or shared.
pub const CLASSIFIEDS: &[ClassifiedTemplate] = &[
    (
        "vehicles",
        "bike",
        "Vélo cargo biporteur d'occasion",
        (600, 1400),
        &["vélo", "mobilité"],
    ),
    (
        "vehicles",
        "bike",
        "Vélo de ville femme, bon état",
        (60, 150),
        &["vélo"],
    ),
    (
        "vehicles",
        "trailer",
        "Remorque vélo deux enfants",
        (40, 120),
        &["vélo", "enfance"],
    ),
    (
        "vehicles",
        "car",
        "Twingo 2009, contrôle technique OK",
        (1800, 3500),
        &["voiture"],
    ),
    (
        "vehicles",
        "car",
        "Place dans un véhicule en autopartage",
        (20, 60),
        &["mobilité", "partage"],
    ),
    (
        "home",
        "furniture",
        "Table de ferme en chêne",
        (80, 300),
        &["bois", "mobilier"],
    ),
    (
        "home",
        "furniture",
        "Canapé trois places en tissu",
        (50, 200),
        &["mobilier"],
    ),
    (
        "home",
        "appliance",
        "Lave-linge réparé au repair café",
        (60, 150),
        &["réparation", "électroménager"],
    ),
    (
        "home",
        "garden",
        "Motobineuse thermique",
        (100, 350),
        &["jardin", "outils"],
    ),
    (
        "home",
        "garden",
        "Plants de tomates anciennes",
        (1, 3),
        &["jardin", "semences"],
    ),
    (
        "home",
        "tools",
        "Caisse à outils complète",
        (30, 90),
        &["outils", "réparation"],
    ),
    (
        "home",
        "kitchen",
        "Bocaux Le Parfait, lot de 24",
        (15, 35),
        &["alimentation", "zéro déchet"],
    ),
    (
        "technology",
        "computer",
        "Ordinateur portable reconditionné sous Linux",
        (120, 280),
        &["numérique", "logiciel libre"],
    ),
    (
        "technology",
        "phone",
        "Smartphone Fairphone d'occasion",
        (150, 300),
        &["numérique"],
    ),
    (
        "technology",
        "printer",
        "Imprimante laser noir et blanc",
        (20, 60),
        &["numérique"],
    ),
    (
        "technology",
        "audio",
        "Enceinte de sonorisation pour fêtes",
        (100, 250),
        &["musique", "fête"],
    ),
    (
        "property",
        "room",
        "Chambre à louer chez l'habitant",
        (250, 400),
        &["logement"],
    ),
    (
        "property",
        "workshop",
        "Atelier partagé à louer au mois",
        (90, 200),
        &["artisanat", "tiers-lieu"],
    ),
    (
        "property",
        "garden",
        "Terrain à jardiner contre légumes",
        (0, 0),
        &["jardin", "partage"],
    ),
    (
        "property",
        "house",
        "Maison de village à rénover",
        (85000, 160000),
        &["habitat"],
    ),
    (
        "leisure",
        "music",
        "Guitare classique avec housse",
        (60, 150),
        &["musique"],
    ),
    ("leisure", "music", "Accordéon diatonique", (250, 600), &["musique"]),
    ("leisure", "books", "Lot de romans policiers", (5, 20), &["lecture"]),
    ("leisure", "camping", "Tente quatre places", (40, 120), &["randonnée"]),
    (
        "leisure",
        "games",
        "Jeux de société, lot de dix",
        (20, 50),
        &["jeux", "enfance"],
    ),
    (
        "fashion",
        "clothes",
        "Manteau d'hiver taille M",
        (15, 45),
        &["vêtements"],
    ),
    (
        "fashion",
        "shoes",
        "Chaussures de randonnée pointure 42",
        (20, 60),
        &["randonnée", "vêtements"],
    ),
    (
        "fashion",
        "kids",
        "Lot de vêtements enfant 4 ans",
        (5, 25),
        &["enfance", "vêtements"],
    ),
    (
        "fashion",
        "sewing",
        "Machine à coudre Singer révisée",
        (60, 140),
        &["couture", "réparation"],
    ),
];

/// Mutual aid: (category, subtype, offer, need, description, tags).
pub type AidPair = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// Mutual aid in pairs: an offer and a need on the same tags.
pub const AID_PAIRS: &[AidPair] = &[
    (
        "material",
        "gardening",
        "Je prête ma motobineuse",
        "Cherche motobineuse pour retourner le potager",
        "Pour un week-end, à récupérer et rapporter propre.",
        &["jardin", "outils"],
    ),
    (
        "service",
        "transport",
        "Je peux conduire au marché le samedi matin",
        "Besoin d'être conduite au marché le samedi",
        "Départ vers 9 h, retour avant midi.",
        &["mobilité", "solidarité"],
    ),
    (
        "competence",
        "computing",
        "J'aide à installer Linux sur un vieil ordinateur",
        "Cherche quelqu'un pour redonner vie à mon vieil ordinateur",
        "Une heure ou deux, autour d'un café.",
        &["numérique", "logiciel libre", "réparation"],
    ),
    (
        "competence",
        "handcraft",
        "Je répare les petits meubles en bois",
        "Chaise bancale à recoller, qui sait faire ?",
        "Apportez les pièces, je fournis la colle et les serre-joints.",
        &["réparation", "bois"],
    ),
    (
        "service",
        "childcare",
        "Je garde les enfants le mercredi après-midi",
        "Cherche garde d'enfants le mercredi",
        "Deux enfants de 6 et 9 ans, à la sortie de l'école.",
        &["enfance", "solidarité"],
    ),
    (
        "competence",
        "language",
        "Je donne des cours de français",
        "Cherche conversation en français pour progresser",
        "Une fois par semaine, à la médiathèque.",
        &["éducation", "solidarité"],
    ),
    (
        "material",
        "tools",
        "Je prête mon escabeau et ma perceuse",
        "Besoin d'une perceuse à percussion pour un week-end",
        "À récupérer chez moi, en centre-ville.",
        &["outils", "réparation"],
    ),
    (
        "service",
        "gardening",
        "Je peux arroser vos plantes pendant les vacances",
        "Qui pourrait arroser mon jardin en août ?",
        "Deux semaines, le soir.",
        &["jardin", "solidarité"],
    ),
    (
        "competence",
        "sewing",
        "J'apprends à coudre à la machine",
        "Cherche quelqu'un pour m'apprendre la couture",
        "Ourlets, boutons, petites retouches pour commencer.",
        &["couture", "réparation"],
    ),
    (
        "material",
        "food",
        "Surplus de courgettes et de tomates à donner",
        "Cherche fruits et légumes pour faire des conserves",
        "Au jardin partagé, le soir après 18 h.",
        &["alimentation", "jardin", "zéro déchet"],
    ),
    (
        "service",
        "moving",
        "Deux bras pour vos déménagements",
        "Besoin d'aide pour déménager un samedi",
        "Un studio au deuxième étage sans ascenseur.",
        &["solidarité"],
    ),
    (
        "competence",
        "music",
        "Je donne des cours de guitare débutant",
        "Cherche prof de guitare patient",
        "Une demi-heure par semaine, en échange de pain maison ou de Ğ1.",
        &["musique"],
    ),
    (
        "competence",
        "bike",
        "J'aide à réparer les vélos",
        "Mon vélo a besoin de freins neufs",
        "À l'atelier vélo ou chez vous.",
        &["vélo", "réparation"],
    ),
    (
        "material",
        "furniture",
        "Je donne une armoire et un lit d'enfant",
        "Recherche meubles pour une famille qui s'installe",
        "À venir chercher, prévoir une camionnette.",
        &["solidarité", "mobilier"],
    ),
    (
        "service",
        "paperwork",
        "J'accompagne les démarches administratives en ligne",
        "Besoin d'aide pour ma déclaration d'impôts en ligne",
        "Permanence au centre social ou à domicile.",
        &["numérique", "solidarité"],
    ),
    (
        "competence",
        "cooking",
        "J'apprends à faire le pain au levain",
        "Qui veut bien me partager son levain ?",
        "Le levain se partage, la recette aussi.",
        &["alimentation", "artisanat"],
    ),
    (
        "material",
        "garden",
        "Je donne des semences de tomates anciennes",
        "Cherche graines de variétés locales",
        "Cœur de bœuf, noire de Crimée, poire jaune.",
        &["jardin", "semences", "biodiversité"],
    ),
    (
        "service",
        "animals",
        "Je garde vos poules pendant les vacances",
        "Qui peut nourrir mes poules une semaine ?",
        "Grain et eau matin et soir, les œufs sont pour vous.",
        &["jardin", "solidarité"],
    ),
];

pub const WEEKDAYS: &[&str] = &["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
#[rustfmt::skip]
pub const MONTHS: &[&str] = &[
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
    "novembre", "décembre",
];

/// Things people bring, lend or need, for posts and comments.
#[rustfmt::skip]
pub const ITEMS: &[&str] = &[
    "une tarte aux pommes", "des chaises pliantes", "une rallonge électrique",
    "des gobelets réutilisables", "un barnum", "des tables", "une sono", "des gants de jardinage",
    "un thermos de café", "des jeux pour les enfants", "une brouette",
    "des pinces et des tournevis", "du pain", "des bocaux vides", "une scie égoïne",
    "des lampes frontales", "des nappes",
];

#[rustfmt::skip]
pub const TASKS: &[&str] = &[
    "tenir la buvette", "installer les tables", "accueillir le public", "faire la vaisselle",
    "coller des affiches", "ranger la salle", "préparer la soupe", "faire des photos",
    "tenir la caisse", "animer l'atelier des enfants", "monter le barnum", "trier les dons",
];

#[rustfmt::skip]
pub const MOODS: &[&str] = &[
    "Belle énergie", "Quelle journée", "Un grand merci", "Très bonne ambiance", "Beaucoup de monde",
    "Une réussite", "Des sourires partout", "Un moment précieux",
];

/// Classified requests: (category, subtype, name, tags).
pub const LOOKING_FOR: &[(&str, &str, &str, &[&str])] = &[
    (
        "vehicles",
        "bike",
        "Cherche vélo enfant 20 pouces",
        &["vélo", "enfance"],
    ),
    (
        "property",
        "workshop",
        "Recherche local pour un atelier de poterie",
        &["artisanat", "céramique"],
    ),
    (
        "property",
        "room",
        "Cherche colocation {a} pour la rentrée",
        &["logement"],
    ),
    (
        "leisure",
        "games",
        "Recherche table de ping-pong d'extérieur",
        &["sport", "jeux"],
    ),
    ("leisure", "music", "Cherche piano droit, même à accorder", &["musique"]),
    (
        "leisure",
        "books",
        "Recherche livres jeunesse pour la boîte à livres",
        &["lecture", "enfance"],
    ),
    (
        "home",
        "garden",
        "Cherche récupérateur d'eau de pluie",
        &["jardin", "eau"],
    ),
    (
        "home",
        "furniture",
        "Recherche étagères pour une bibliothèque associative",
        &["lecture", "mobilier"],
    ),
    (
        "technology",
        "computer",
        "Cherche vieux ordinateurs pour l'atelier de reconditionnement",
        &["numérique", "réparation"],
    ),
    (
        "fashion",
        "clothes",
        "Cherche costumes pour la troupe de théâtre",
        &["théâtre", "vêtements"],
    ),
];

pub const MARKETS: &[(&str, &[&str])] = &[
    ("Marché paysan {de}", &["alimentation", "circuits courts"]),
    ("Marché du {weekday} {a}", &["alimentation", "circuits courts"]),
    ("Vide-grenier {de}", &["zéro déchet", "convivialité"]),
    ("Troc de plantes et de graines", &["jardin", "semences"]),
    ("Bourse aux vélos {de}", &["vélo", "mobilité"]),
    ("Marché de créateurs {de}", &["artisanat", "culture"]),
    ("Marché de producteurs du soir", &["alimentation", "convivialité"]),
];

/// Get-togethers: (name, tags, start time).
pub const GET_TOGETHERS: &[(&str, &[&str], (i8, i8))] = &[
    ("Repas partagé {de}", &["convivialité", "alimentation"], (12, 0)),
    ("Apéro des voisins {street}", &["convivialité"], (18, 30)),
    ("Pique-nique au bord de l'eau", &["convivialité", "nature"], (12, 0)),
    ("Soirée jeux de société", &["jeux", "convivialité"], (20, 0)),
    (
        "Accueil des nouveaux habitants {de}",
        &["convivialité", "mairie"],
        (11, 0),
    ),
    ("Goûter des anciens {de}", &["solidarité", "convivialité"], (15, 0)),
    ("Bal folk {de}", &["musique", "danse"], (20, 30)),
    ("Soupe partagée du {weekday}", &["alimentation", "solidarité"], (19, 0)),
    (
        "Repas de quartier {street}",
        &["convivialité", "alimentation"],
        (19, 30),
    ),
];

pub const COURSES: &[(&str, &[&str])] = &[
    ("Cours de yoga", &["santé", "sport"]),
    ("Gym douce", &["santé", "sport"]),
    ("Cours de danse folk", &["danse", "musique"]),
    ("Initiation à l'aquarelle", &["art", "culture"]),
    ("Cuisine végétarienne de saison", &["alimentation"]),
    ("Marche nordique", &["sport", "randonnée"]),
    ("Conversation en anglais", &["éducation"]),
    ("Éveil musical des tout-petits", &["musique", "enfance"]),
];

pub const COMPETITIONS: &[(&str, &[&str])] = &[
    ("Concours de soupes", &["alimentation", "convivialité"]),
    ("Tournoi de pétanque {de}", &["sport", "convivialité"]),
    ("Concours photo « Nature {de} »", &["photo", "nature"]),
    ("Tournoi de belote", &["jeux", "convivialité"]),
    ("Concours de confitures", &["alimentation"]),
];

#[rustfmt::skip]
pub const EXHIBITIONS: &[&str] = &[
    "Visages de la vallée", "Rivières", "Nos fermes", "Lumières d'hiver", "Les oiseaux du jardin",
    "Mémoires d'usine", "Terres et grès", "Carnets de voyage", "Arbres",
    "Petits métiers d'autrefois",
];

pub const OTHER_EVENTS: &[(&str, &[&str])] = &[
    ("Nettoyage des berges de la rivière", &["nature", "zéro déchet"]),
    ("Collecte de jouets pour Noël", &["solidarité", "enfance"]),
    ("Don du sang {a}", &["santé", "solidarité"]),
    ("Journée portes ouvertes", &["convivialité"]),
    ("Chantier participatif au jardin", &["jardin", "chantier participatif"]),
    ("Comptage des oiseaux des jardins", &["biodiversité", "nature"]),
];
