//! The default bot rules: the seed guide's eight intents with car-rental answers.
//!
//! Priorities put specific intents above generic ones: a visitor asking for a person beats everything,
//! a price question beats a booking question that mentions renting, a problem with a booking beats the
//! booking itself, and greetings or farewells only answer when nothing else matched.
//!
//! Every intent exists in English, Spanish and French with the same priority. All languages share
//! one automaton, so a keyword of one language must not be a keyword (or a word of one) of another
//! intent in another language: French "location" (a rental) is why the English contact rule says
//! "your location" rather than "location", "prise en charge" (pick-up) why the English pricing
//! rule says "a charge" rather than "charge", and Spanish "yo" (I) why "yo" is no English
//! greeting. A keyword of the *same* intent in two languages ("contact", "disponible") is fine:
//! the service answers in the room's language.

use std::collections::BTreeMap;

use crate::{Intent, NewRule};

/// Priority of each default intent (higher wins).
pub mod priority {
    /// "I want to speak to a human".
    pub const ESCALATION: i32 = 100;
    /// Prices, fees, insurance.
    pub const PRICING: i32 = 80;
    /// Which cars are free.
    pub const AVAILABILITY: i32 = 70;
    /// Problems with a booking or on the road.
    pub const SUPPORT: i32 = 60;
    /// Phone, email, hours, address.
    pub const CONTACT: i32 = 50;
    /// Reservations.
    pub const BOOKING_INQUIRY: i32 = 40;
    /// Farewells.
    pub const GOODBYE: i32 = 20;
    /// Greetings.
    pub const GREETING: i32 = 10;
}

/// The welcome message posted when a room opens.
pub const DEFAULT_WELCOME: &str = "Hi! I'm the rental assistant. I can help with bookings, prices, \
availability, our contact details and problems with a rental. Ask me anything, or press \"Talk to a \
human\" at any time.";

/// The reply when no rule matches.
pub const DEFAULT_FALLBACK: &str =
    "Sorry, I didn't quite get that. You can ask me about bookings, \
prices, availability, contact details or a problem with your rental, or ask for a human agent.";

/// What the bot says outside its rules, in one language.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BotTexts {
    /// Posted when a room opens.
    pub welcome: String,
    /// The reply when no rule matches.
    pub fallback: String,
    /// The follow-up question when a catalog answer needs the vehicle class; `{vehicle_classes}`
    /// becomes the catalog's classes.
    pub ask_vehicle_class: String,
    /// The follow-up question when a catalog answer needs the dates.
    pub ask_dates: String,
    /// The reply when the catalog does not offer the class asked about; `{vehicle_class}` is that
    /// class and `{vehicle_classes}` the ones on offer.
    pub class_not_offered: String,
}

impl BotTexts {
    /// Texts with these welcome and fallback messages and the English follow-up questions.
    pub fn new(welcome: impl Into<String>, fallback: impl Into<String>) -> Self {
        BotTexts {
            welcome: welcome.into(),
            fallback: fallback.into(),
            ..english_texts()
        }
    }
}

fn english_texts() -> BotTexts {
    BotTexts {
        welcome: DEFAULT_WELCOME.to_owned(),
        fallback: DEFAULT_FALLBACK.to_owned(),
        ask_vehicle_class: "Which kind of car would you like? We have {vehicle_classes}."
            .to_owned(),
        ask_dates: "For which dates? For example \"tomorrow\", \"this weekend\" or \"from 3 to 7 \
                    December\"."
            .to_owned(),
        class_not_offered: "Sorry, we don't rent {vehicle_class} cars. We have {vehicle_classes}."
            .to_owned(),
    }
}

fn spanish_texts() -> BotTexts {
    BotTexts {
        welcome: "¡Hola! Soy el asistente de alquiler. Puedo ayudarle con reservas, precios, \
                  disponibilidad, nuestros datos de contacto y problemas con un alquiler. \
                  Pregúnteme lo que quiera, o pida hablar con una persona en cualquier momento."
            .to_owned(),
        fallback: "Lo siento, no le he entendido bien. Puede preguntarme por reservas, precios, \
                   disponibilidad, datos de contacto o un problema con su alquiler, o pedir \
                   hablar con un agente."
            .to_owned(),
        ask_vehicle_class: "¿Qué tipo de coche le gustaría? Tenemos {vehicle_classes}.".to_owned(),
        ask_dates: "¿Para qué fechas? Por ejemplo «mañana», «este fin de semana» o «del 3 al 7 de \
                    diciembre»."
            .to_owned(),
        class_not_offered: "Lo sentimos, no alquilamos ningún coche {vehicle_class}. Tenemos \
                            {vehicle_classes}."
            .to_owned(),
    }
}

fn french_texts() -> BotTexts {
    BotTexts {
        welcome: "Bonjour ! Je suis l'assistant location. Je peux vous aider pour les \
                  réservations, les prix, les disponibilités, nos coordonnées et les problèmes \
                  avec une location. Posez-moi vos questions, ou demandez à parler à un \
                  conseiller à tout moment."
            .to_owned(),
        fallback: "Désolé, je n'ai pas bien compris. Vous pouvez me poser des questions sur les \
                   réservations, les prix, les disponibilités, nos coordonnées ou un problème \
                   avec votre location, ou demander à parler à un conseiller."
            .to_owned(),
        ask_vehicle_class: "Quel type de voiture souhaitez-vous ? Nous avons {vehicle_classes}."
            .to_owned(),
        ask_dates: "Pour quelles dates ? Par exemple « demain », « ce week-end » ou « du 3 au 7 \
                    décembre »."
            .to_owned(),
        class_not_offered: "Désolé, nous ne louons pas de voiture {vehicle_class}. Nous avons \
                            {vehicle_classes}."
            .to_owned(),
    }
}

/// The bot's texts for each shipped language (`en`, `es`, `fr`), by language tag.
pub fn default_texts() -> BTreeMap<String, BotTexts> {
    BTreeMap::from([
        ("en".to_owned(), english_texts()),
        ("es".to_owned(), spanish_texts()),
        ("fr".to_owned(), french_texts()),
    ])
}

fn rule(intent: &str, priority: i32, keywords: &[&str], response: &str) -> NewRule {
    // The names below are valid intent names, so this cannot fail.
    let intent = Intent::new(intent).unwrap_or_else(|_| unreachable!("built-in intent name"));
    NewRule::new(intent, keywords.iter().copied(), response, priority)
}

/// The default rule set: the eight intents in English, Spanish and French.
pub fn default_rules() -> Vec<NewRule> {
    let mut rules = english_rules();
    rules.extend(spanish_rules());
    rules.extend(french_rules());
    rules
}

/// The eight intents in English.
fn english_rules() -> Vec<NewRule> {
    vec![
        rule(
            Intent::GREETING,
            priority::GREETING,
            &[
                "hello", "hi", "hey", "hiya", "howdy", "greetings", "good morning",
                "good afternoon", "good evening", "good day", "hi there", "hello there",
                "anyone there", "is anyone there",
            ],
            "Hello! Welcome to our car rental service. I can help you book a car, check prices and \
             availability, or answer questions about an existing rental. What can I do for you?",
        ),
        rule(
            Intent::BOOKING_INQUIRY,
            priority::BOOKING_INQUIRY,
            &[
                "book", "booking", "reserve", "reservation", "rent", "rental", "renting", "hire",
                "hiring", "make a booking", "make a reservation", "book a car", "rent a car",
                "hire a car", "need a car", "want a car", "pick up", "pickup date", "one way",
                "long term", "monthly rental", "weekly rental",
            ],
            "Booking is easy: choose your pick-up location, dates and car class on our Book a Car \
             page, add extras (child seat, additional driver, GPS) and confirm with a credit or debit \
             card in the driver's name. You'll need a valid driving licence held for at least one \
             year. Tell me the dates and the kind of car and I can point you to the best option.",
        ),
        rule(
            Intent::PRICING,
            priority::PRICING,
            &[
                "price", "prices", "pricing", "cost", "costs", "how much", "rate", "rates", "fee",
                "fees", "a charge", "any charge", "extra charge", "the charge", "charge for",
                "you charge", "charges", "deposit", "discount", "discounts", "promo code", "coupon",
                "insurance", "excess", "quote", "cheap", "cheapest", "expensive",
                "tariff", "per day", "daily rate", "weekly rate", "pay", "payment", "mileage",
                "fuel policy", "young driver", "surcharge",
            ],
            "Our daily rates start at $29 for economy, $39 for compact, $49 for a sedan, $69 for an \
             SUV, $79 for a minivan and $119 for luxury cars. Weekly rentals get 15% off, unlimited \
             mileage is included, and basic insurance is included with an optional full-coverage \
             upgrade at $15/day. A refundable deposit of $200 is held on your card at pick-up.",
        )
        .catalog_response(
            "Our {vehicle_class} rate for {dates}: {total_price} in all ({daily_price} per day \
             on average). Unlimited mileage and basic insurance are included; a refundable \
             $200 deposit is held on your card at pick-up.",
        ),
        rule(
            Intent::AVAILABILITY,
            priority::AVAILABILITY,
            &[
                "available", "availability", "in stock", "any cars", "any free", "cars free",
                "car free", "free cars", "have cars", "do you have", "vacancy", "fleet",
                "what cars", "which cars", "models", "sold out",
            ],
            "Availability depends on the dates and the pick-up location. Most car classes are \
             available at short notice; SUVs, minivans and convertibles book out quickly around \
             weekends and holidays. Tell me the dates and the class you'd like and I'll check, or see \
             live availability on the Book a Car page.",
        )
        .catalog_response(
            "Cars free in the {vehicle_class} class for {dates}: {available_count}. Book on our \
             Book a Car page to hold one.",
        ),
        rule(
            Intent::CONTACT,
            priority::CONTACT,
            &[
                "contact", "contact details", "phone", "phone number", "telephone", "call",
                "call you", "email", "e-mail", "mail", "address", "where are you",
                "your location", "a location", "which location", "what location",
                "nearest location", "closest location", "locations", "opening hours", "hours",
                "open", "office", "branch", "reach you", "whatsapp",
            ],
            "You can reach us by phone at +1 555 0100 (24/7 roadside line +1 555 0199), by email at \
             support@example-rentals.com, or visit any branch. Branches are open Monday to Saturday \
             8:00-20:00 and Sunday 9:00-17:00; airport desks are open 24/7.",
        ),
        rule(
            Intent::SUPPORT,
            priority::SUPPORT,
            &[
                "need help", "help with", "help me with", "support", "problem", "issue", "trouble",
                "cancel", "cancellation",
                "refund", "change my booking", "modify", "my booking", "my reservation",
                "broke down", "breakdown", "broken", "accident", "damage", "damaged", "flat tire",
                "flat tyre", "lost", "lost keys", "stolen", "late", "extend", "extension",
                "complaint", "not working", "warning light",
            ],
            "I'm sorry you're having trouble. To change or cancel a booking, open Manage My Booking \
             with your booking number; cancellations more than 48 hours before pick-up are free and \
             refunds reach your card within 5-7 days. For a breakdown, accident or lost keys, call \
             our 24/7 roadside line at +1 555 0199. If you need more help, ask for a human agent.",
        ),
        rule(
            Intent::ESCALATION,
            priority::ESCALATION,
            &[
                "human", "human agent", "live agent", "an agent", "real agent", "real person",
                "a person", "actual person", "someone real", "speak to someone",
                "talk to someone", "speak with someone", "talk with someone", "speak to somebody",
                "representative", "operator", "supervisor", "a manager", "the manager",
                "your manager", "speak to", "talk to", "speak with", "live chat",
                "customer service", "not a bot", "no bot", "stop the bot",
            ],
            "Of course. I'm transferring you to a human agent now; someone from our team will join \
             this chat shortly.",
        ),
        rule(
            Intent::GOODBYE,
            priority::GOODBYE,
            &[
                "bye", "goodbye", "good bye", "bye bye", "see you", "see ya", "farewell",
                "thanks", "thank you", "thx", "cheers", "have a nice day", "have a good day",
                "that's all", "that is all", "take care",
            ],
            "Thank you for chatting with us! Have a great day and a safe drive.",
        ),
    ]
}

/// The eight intents in Spanish (neutral `usted`; "coche", "carro" and "auto" all understood).
fn spanish_rules() -> Vec<NewRule> {
    vec![
        rule(
            Intent::GREETING,
            priority::GREETING,
            &[
                "hola", "hey", "buenos días", "buenos dias", "buen día", "buen dia", "buenas",
                "buenas tardes", "buenas noches", "qué tal", "que tal", "saludos", "hay alguien",
                "aló",
            ],
            "¡Hola! Bienvenido a nuestro servicio de alquiler de coches. Puedo ayudarle a reservar \
             un coche, consultar precios y disponibilidad o responder a sus preguntas sobre un \
             alquiler que ya tenga. ¿En qué puedo ayudarle?",
        )
        .language("es"),
        rule(
            Intent::BOOKING_INQUIRY,
            priority::BOOKING_INQUIRY,
            &[
                "alquilar", "alquiler", "alquileres", "alquilo", "reservar", "reserva", "reservas",
                "reserve", "rentar", "renta", "arrendar", "arriendo", "quiero un coche",
                "necesito un coche", "busco un coche", "quiero un carro", "necesito un carro",
                "quiero un auto", "necesito un auto", "recoger el coche", "recogida", "solo ida",
                "larga duración", "larga duracion",
            ],
            "Reservar es fácil: elija el lugar de recogida, las fechas y la categoría de coche en \
             nuestra página «Reservar un coche», añada extras (silla infantil, conductor adicional, \
             GPS) y confirme con una tarjeta de crédito o débito a nombre del conductor. Necesitará \
             un permiso de conducir válido con al menos un año de antigüedad. Dígame las fechas y \
             el tipo de coche y le indicaré la mejor opción.",
        )
        .language("es"),
        rule(
            Intent::PRICING,
            priority::PRICING,
            &[
                "precio", "precios", "cuánto cuesta", "cuanto cuesta", "cuánto cuestan",
                "cuanto cuestan", "cuánto vale", "cuanto vale", "cuánto sale", "cuanto sale",
                "cuánto es", "cuanto es", "cuánto por", "cuanto por", "tarifa", "tarifas", "coste",
                "costo", "fianza", "depósito", "deposito", "descuento", "descuentos",
                "código promocional", "codigo promocional", "el seguro", "un seguro",
                "todo riesgo", "franquicia", "barato", "caro", "por día", "por dia", "pagar",
                "kilometraje", "conductor joven", "cobran", "cobrar",
            ],
            "Nuestras tarifas diarias empiezan en 29 $ para la categoría económica, 39 $ para un \
             compacto, 49 $ para un sedán, 69 $ para un SUV, 79 $ para un monovolumen y 119 $ para \
             los coches de lujo. Los alquileres semanales tienen un 15 % de descuento, el \
             kilometraje ilimitado está incluido y el seguro básico también, con una mejora \
             opcional a cobertura total por 15 $ al día. Al recoger el coche se retiene en su \
             tarjeta un depósito reembolsable de 200 $.",
        )
        .catalog_response(
            "Coche {vehicle_class}, {dates}: {total_price} en total ({daily_price} por día de \
             media). El kilometraje ilimitado y el seguro básico están incluidos; al recoger el \
             coche se retiene en su tarjeta un depósito reembolsable de 200 $.",
        )
        .language("es"),
        rule(
            Intent::AVAILABILITY,
            priority::AVAILABILITY,
            &[
                "disponible", "disponibles", "disponibilidad", "hay coches", "hay carros",
                "hay autos", "hay algún coche", "hay algun coche", "tienen coches",
                "tienen algún coche", "tienen algun coche", "qué coches", "que coches", "modelos",
                "flota", "coche libre", "coches libres", "agotado", "agotados", "quedan coches",
                "está completo", "esta completo",
            ],
            "La disponibilidad depende de las fechas y del lugar de recogida. La mayoría de las \
             categorías están disponibles con poca antelación; los SUV, los monovolúmenes y los \
             descapotables se agotan rápido los fines de semana y festivos. Dígame las fechas y la \
             categoría que prefiere y lo compruebo, o consulte la disponibilidad en tiempo real en \
             la página «Reservar un coche».",
        )
        .catalog_response(
            "Coche {vehicle_class}, {dates}. Coches libres: {available_count}. Reserve uno en \
             nuestra página «Reservar un coche» para asegurárselo.",
        )
        .language("es"),
        rule(
            Intent::CONTACT,
            priority::CONTACT,
            &[
                "contacto", "contactar", "contactarlos", "teléfono", "telefono", "llamar",
                "llamarlos", "correo", "email", "e-mail", "whatsapp", "dirección", "direccion",
                "dónde están", "donde estan", "ubicación", "ubicacion", "horario", "horarios",
                "abren", "cierran", "abierto", "oficina", "oficinas", "sucursal", "sucursales",
            ],
            "Puede contactarnos por teléfono en el +1 555 0100 (asistencia en carretera 24/7: \
             +1 555 0199), por correo electrónico en support@example-rentals.com, o visitar \
             cualquiera de nuestras oficinas. Las oficinas abren de lunes a sábado de 8:00 a 20:00 \
             y los domingos de 9:00 a 17:00; los mostradores de los aeropuertos abren 24/7.",
        )
        .language("es"),
        rule(
            Intent::SUPPORT,
            priority::SUPPORT,
            &[
                "necesito ayuda", "ayuda con", "ayúdeme", "ayudeme", "ayúdame", "ayudame",
                "problema", "problemas", "avería", "averia", "averiado", "se averió", "se averio",
                "accidente", "choque", "daños", "pinchazo", "rueda pinchada", "llanta ponchada",
                "cancelar", "cancelación", "cancelacion", "anular", "reembolso", "mi reserva",
                "cambiar la reserva", "modificar", "perdí las llaves", "perdi las llaves",
                "robado", "robaron", "retraso", "prolongar", "queja", "reclamación",
                "no funciona",
            ],
            "Siento que tenga problemas. Para cambiar o cancelar una reserva, abra «Gestionar mi \
             reserva» con su número de reserva; las cancelaciones con más de 48 horas de \
             antelación a la recogida son gratuitas y el reembolso llega a su tarjeta en 5-7 días. \
             En caso de avería, accidente o pérdida de llaves, llame a nuestra línea de asistencia \
             en carretera 24/7: +1 555 0199. Si necesita más ayuda, pida hablar con un agente.",
        )
        .language("es"),
        rule(
            Intent::ESCALATION,
            priority::ESCALATION,
            &[
                "humano", "persona real", "persona de verdad", "con una persona", "hablar con",
                "hablar con alguien", "alguien real", "un agente", "agente humano", "agente real",
                "operador", "operadora", "representante", "supervisor", "supervisora",
                "el gerente", "un gerente", "su gerente", "al gerente", "el encargado",
                "al encargado", "un encargado", "atención al cliente", "atencion al cliente",
                "servicio al cliente", "chat en vivo", "no quiero un bot",
            ],
            "Por supuesto. Le paso ahora con un agente; alguien de nuestro equipo se unirá a este \
             chat en breve.",
        )
        .language("es"),
        rule(
            Intent::GOODBYE,
            priority::GOODBYE,
            &[
                "adiós", "adios", "bye", "hasta luego", "hasta pronto", "hasta la próxima",
                "hasta la proxima", "nos vemos", "chao", "chau", "gracias", "eso es todo",
                "nada más", "nada mas", "que tenga un buen día", "que tenga un buen dia",
                "buen viaje",
            ],
            "¡Gracias por chatear con nosotros! Que tenga un gran día y buen viaje.",
        )
        .language("es"),
    ]
}

/// The eight intents in French (`vous`).
fn french_rules() -> Vec<NewRule> {
    vec![
        rule(
            Intent::GREETING,
            priority::GREETING,
            &[
                "bonjour", "bonsoir", "salut", "coucou", "hello", "hey", "allô", "allo", "bjr",
                "slt", "rebonjour", "bon matin", "y a quelqu'un", "y a-t-il quelqu'un",
            ],
            "Bonjour ! Bienvenue sur notre service de location de voitures. Je peux vous aider à \
             réserver une voiture, à consulter les prix et les disponibilités, ou répondre à vos \
             questions sur une location en cours. Que puis-je faire pour vous ?",
        )
        .language("fr"),
        rule(
            Intent::BOOKING_INQUIRY,
            priority::BOOKING_INQUIRY,
            &[
                "louer", "loue", "réserver", "reserver", "réservation", "reservation", "réserve",
                "reserve", "location de", "de location", "une location", "la location",
                "en location", "location pour", "location voiture", "besoin d'une voiture",
                "besoin d'un véhicule", "besoin d'un vehicule", "une voiture pour",
                "voudrais une voiture", "cherche une voiture", "prise en charge", "longue durée",
                "longue duree", "aller simple",
            ],
            "Réserver, c'est simple : choisissez le lieu de prise en charge, les dates et la \
             catégorie de voiture sur notre page « Réserver une voiture », ajoutez des options \
             (siège enfant, conducteur supplémentaire, GPS) et confirmez avec une carte de crédit \
             ou de débit au nom du conducteur. Il vous faut un permis de conduire valide obtenu \
             depuis au moins un an. Indiquez-moi les dates et le type de voiture, et je vous \
             orienterai vers la meilleure option.",
        )
        .language("fr"),
        rule(
            Intent::PRICING,
            priority::PRICING,
            &[
                "prix", "tarif", "tarifs", "coûte", "coute", "coûtent", "coutent", "coût", "cout",
                "c'est combien", "ça fait combien", "ca fait combien", "combien pour",
                "la caution", "une caution", "dépôt de garantie", "depot de garantie",
                "une remise", "réduction", "code promo", "l'assurance", "une assurance",
                "assurance tous risques", "la franchise", "devis", "cher", "par jour", "payer",
                "paiement", "kilométrage", "kilometrage", "jeune conducteur", "supplément",
                "des frais", "les frais", "frais de", "tout compris",
            ],
            "Nos tarifs journaliers commencent à 29 $ pour une économique, 39 $ pour une compacte, \
             49 $ pour une berline, 69 $ pour un SUV, 79 $ pour un monospace et 119 $ pour les \
             voitures de luxe. Les locations à la semaine bénéficient de 15 % de réduction, le \
             kilométrage illimité est inclus, et l'assurance de base aussi, avec une option \
             couverture complète à 15 $ par jour. Une caution remboursable de 200 $ est bloquée \
             sur votre carte à la prise en charge.",
        )
        .catalog_response(
            "Voiture {vehicle_class}, {dates} : {total_price} au total ({daily_price} par jour en \
             moyenne). Le kilométrage illimité et l'assurance de base sont inclus ; une caution \
             remboursable de 200 $ est bloquée sur votre carte à la prise en charge.",
        )
        .language("fr"),
        rule(
            Intent::AVAILABILITY,
            priority::AVAILABILITY,
            &[
                "disponible", "disponibles", "disponibilité", "disponibilite", "disponibilités",
                "disponibilites", "dispo", "dispos", "avez-vous des", "vous avez des",
                "il reste des", "reste-t-il des", "reste-t-il une", "voiture libre",
                "voitures libres", "véhicule libre", "véhicules libres", "quelles voitures",
                "quels véhicules", "quels vehicules", "quels modèles", "quels modeles", "flotte",
                "complet", "en stock",
            ],
            "La disponibilité dépend des dates et du lieu de prise en charge. La plupart des \
             catégories sont disponibles au dernier moment ; les SUV, monospaces et cabriolets \
             partent vite les week-ends et les jours fériés. Indiquez-moi les dates et la \
             catégorie souhaitée et je vérifie, ou consultez les disponibilités en temps réel sur \
             la page « Réserver une voiture ».",
        )
        .catalog_response(
            "Voiture {vehicle_class}, {dates}. Voitures libres : {available_count}. Réservez-en \
             une sur notre page « Réserver une voiture » pour la bloquer.",
        )
        .language("fr"),
        rule(
            Intent::CONTACT,
            priority::CONTACT,
            &[
                "contact", "contacter", "coordonnées", "coordonnees", "téléphone", "telephone",
                "votre numéro", "votre numero", "appeler", "vous joindre", "mail", "e-mail",
                "email", "courriel", "adresse", "où êtes-vous", "ou etes-vous", "où vous trouver",
                "horaires", "heures d'ouverture", "ouvert", "ouverts", "ouverte", "agence",
                "agences", "bureau", "whatsapp",
            ],
            "Vous pouvez nous joindre par téléphone au +1 555 0100 (assistance routière 24 h/24, \
             7 j/7 : +1 555 0199), par e-mail à support@example-rentals.com, ou dans n'importe \
             laquelle de nos agences. Les agences sont ouvertes du lundi au samedi de 8 h à 20 h et \
             le dimanche de 9 h à 17 h ; les comptoirs des aéroports sont ouverts 24 h/24, 7 j/7.",
        )
        .language("fr"),
        rule(
            Intent::SUPPORT,
            priority::SUPPORT,
            &[
                "besoin d'aide", "de l'aide", "aidez-moi", "problème", "probleme", "problèmes",
                "souci", "soucis", "panne", "dépannage", "depannage", "accident", "dégâts",
                "degats", "crevaison", "pneu crevé", "pneu creve", "annuler", "annulation",
                "remboursement", "modifier", "ma réservation", "ma reservation",
                "changer la date", "perdu", "volé", "volée", "en retard", "prolonger",
                "prolongation", "réclamation", "plainte", "ne marche pas", "ne fonctionne pas",
                "voyant", "support",
            ],
            "Je suis désolé que vous rencontriez un problème. Pour modifier ou annuler une \
             réservation, ouvrez « Gérer ma réservation » avec votre numéro de réservation ; \
             l'annulation est gratuite plus de 48 heures avant la prise en charge et le \
             remboursement arrive sur votre carte sous 5 à 7 jours. En cas de panne, d'accident \
             ou de perte des clés, appelez notre assistance routière 24 h/24, 7 j/7 au \
             +1 555 0199. Si vous avez besoin de plus d'aide, demandez à parler à un conseiller.",
        )
        .language("fr"),
        rule(
            Intent::ESCALATION,
            priority::ESCALATION,
            &[
                "humain", "un vrai humain", "une vraie personne", "une personne réelle",
                "une personne reelle", "un conseiller", "une conseillère", "une conseillere",
                "un agent", "un opérateur", "un operateur", "parler à", "parler a",
                "parler avec", "parler à quelqu'un", "parler a quelqu'un", "service client",
                "service clients", "service clientèle", "service clientele", "un responsable",
                "le responsable", "votre responsable", "superviseur", "pas un robot",
                "pas un bot", "chat en direct",
            ],
            "Bien sûr. Je vous transfère dès maintenant à un conseiller ; un membre de notre \
             équipe va rejoindre cette conversation sous peu.",
        )
        .language("fr"),
        rule(
            Intent::GOODBYE,
            priority::GOODBYE,
            &[
                "au revoir", "aurevoir", "bye", "merci", "bonne journée", "bonne journee",
                "bonne fin de journée", "bonne fin de journee", "bonne soirée", "bonne soiree",
                "à bientôt", "a bientot", "à plus tard", "a plus tard", "à la prochaine",
                "a la prochaine", "c'est tout", "ce sera tout", "rien d'autre", "tchao",
            ],
            "Merci d'avoir échangé avec nous ! Excellente journée et bonne route.",
        )
        .language("fr"),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::catalog::Template;
    use crate::matcher::normalize;
    use crate::{BotMatcher, BotRule, KeywordMatcher, RuleId};

    const INTENTS: [&str; 8] = [
        Intent::GREETING,
        Intent::BOOKING_INQUIRY,
        Intent::PRICING,
        Intent::AVAILABILITY,
        Intent::CONTACT,
        Intent::SUPPORT,
        Intent::ESCALATION,
        Intent::GOODBYE,
    ];
    const LANGUAGES: [&str; 3] = ["en", "es", "fr"];

    /// The default rules as the store would hold them (ids in order from 1).
    fn stored_rules() -> Vec<BotRule> {
        default_rules()
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.validated().unwrap().into_rule(RuleId(i as u64 + 1)))
            .collect()
    }

    fn find<'a>(rules: &'a [BotRule], intent: &str, language: &str) -> &'a BotRule {
        rules
            .iter()
            .find(|r| r.intent.as_str() == intent && r.language == language)
            .unwrap_or_else(|| panic!("no {intent} rule in {language}"))
    }

    #[test]
    fn every_default_rule_validates_without_duplicate_keywords() {
        for rule in default_rules() {
            let name = format!("{} ({})", rule.intent, rule.language);
            let count = rule.keywords.len();
            let valid = rule.validated().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(valid.keywords.len(), count, "{name}: a keyword repeats");
        }
    }

    #[test]
    fn each_intent_exists_once_per_language_with_the_english_priority() {
        let rules = stored_rules();
        assert_eq!(rules.len(), INTENTS.len() * LANGUAGES.len());
        let mut seen = BTreeSet::new();
        for rule in &rules {
            assert!(
                INTENTS.contains(&rule.intent.as_str()),
                "unexpected intent {}",
                rule.intent
            );
            assert!(LANGUAGES.contains(&rule.language.as_str()));
            assert!(
                seen.insert((rule.intent.to_string(), rule.language.clone())),
                "{} ({}) twice",
                rule.intent,
                rule.language
            );
            assert!(rule.active);
        }
        for intent in INTENTS {
            let english = find(&rules, intent, "en");
            for language in ["es", "fr"] {
                let translated = find(&rules, intent, language);
                assert_eq!(
                    translated.priority, english.priority,
                    "{intent} ({language})"
                );
                assert_eq!(
                    translated.catalog_response.is_some(),
                    english.catalog_response.is_some(),
                    "{intent} ({language}): catalog response"
                );
                assert_ne!(translated.response, english.response);
            }
        }
    }

    #[test]
    fn catalog_responses_use_the_english_placeholders() {
        let rules = stored_rules();
        let placeholders = |rule: &BotRule| -> BTreeSet<crate::Placeholder> {
            let template = rule.catalog_response.as_deref().unwrap_or_else(|| {
                panic!(
                    "{} ({}) has no catalog response",
                    rule.intent, rule.language
                )
            });
            Template::parse(template)
                .unwrap()
                .placeholders()
                .into_iter()
                .collect()
        };
        for intent in [Intent::PRICING, Intent::AVAILABILITY] {
            let english = placeholders(find(&rules, intent, "en"));
            assert!(!english.is_empty());
            for language in ["es", "fr"] {
                assert_eq!(
                    placeholders(find(&rules, intent, language)),
                    english,
                    "{intent} ({language})"
                );
            }
        }
    }

    /// The facts (prices, phone numbers, hours, delays) every translation must repeat.
    #[test]
    fn translations_keep_the_english_facts() {
        let rules = stored_rules();
        let facts: &[(&str, &[&str])] = &[
            (
                Intent::PRICING,
                &["29", "39", "49", "69", "79", "119", "15", "200"],
            ),
            (
                Intent::CONTACT,
                &[
                    "+1 555 0100",
                    "+1 555 0199",
                    "support@example-rentals.com",
                    "8",
                    "20",
                    "9",
                    "17",
                    "24",
                ],
            ),
            (Intent::SUPPORT, &["48", "5", "7", "+1 555 0199"]),
        ];
        for (intent, facts) in facts {
            for language in LANGUAGES {
                let text = &find(&rules, intent, language).response;
                for fact in *facts {
                    assert!(
                        text.contains(fact),
                        "{intent} ({language}) lacks {fact:?}: {text}"
                    );
                }
            }
        }
        for language in LANGUAGES {
            // The catalog answer repeats the deposit.
            let rule = find(&rules, Intent::PRICING, language);
            assert!(rule.catalog_response.as_deref().unwrap().contains("200"));
        }
    }

    #[test]
    fn default_texts_cover_every_language_with_their_markers() {
        let texts = default_texts();
        assert_eq!(
            texts.keys().map(String::as_str).collect::<Vec<_>>(),
            ["en", "es", "fr"]
        );
        for (language, t) in &texts {
            for text in [
                &t.welcome,
                &t.fallback,
                &t.ask_vehicle_class,
                &t.ask_dates,
                &t.class_not_offered,
            ] {
                assert!(!text.trim().is_empty(), "{language}");
            }
            assert!(
                t.ask_vehicle_class.contains("{vehicle_classes}"),
                "{language}"
            );
            assert!(
                t.class_not_offered.contains("{vehicle_class}"),
                "{language}"
            );
            assert!(
                t.class_not_offered.contains("{vehicle_classes}"),
                "{language}"
            );
        }
        assert_eq!(texts["en"].welcome, DEFAULT_WELCOME);
        assert_eq!(texts["en"].fallback, DEFAULT_FALLBACK);
        let english = &texts["en"];
        for language in ["es", "fr"] {
            let t = &texts[language];
            assert_ne!(t.welcome, english.welcome, "{language}");
            assert_ne!(t.fallback, english.fallback, "{language}");
            assert_ne!(t.ask_vehicle_class, english.ask_vehicle_class, "{language}");
            assert_ne!(t.ask_dates, english.ask_dates, "{language}");
            assert_ne!(t.class_not_offered, english.class_not_offered, "{language}");
        }
        for example in ["mañana", "este fin de semana", "del 3 al 7 de diciembre"] {
            assert!(texts["es"].ask_dates.contains(example), "{example}");
        }
        for example in ["demain", "ce week-end", "du 3 au 7 décembre"] {
            assert!(texts["fr"].ask_dates.contains(example), "{example}");
        }
    }

    /// One automaton holds every language, and the highest priority wins among all matches. So a
    /// Spanish or French keyword must never be shadowed by a keyword of another intent with a
    /// higher priority (the same words, or words inside it), nor shadow one itself: that would
    /// answer the wrong intent, often in the wrong language. Keywords shared by one intent across
    /// languages are fine (the service answers in the room's language).
    #[test]
    fn no_keyword_clashes_across_intents() {
        let rules = stored_rules();
        let keywords: Vec<(&BotRule, &String, String)> = rules
            .iter()
            .flat_map(|r| r.keywords.iter().map(move |k| (r, k, normalize(k).text)))
            .collect();
        let mut clashes = Vec::new();
        for (a, ka, na) in &keywords {
            for (b, kb, nb) in &keywords {
                let translated = a.language != "en" || b.language != "en";
                if translated
                    && a.intent != b.intent
                    && b.priority >= a.priority
                    && na.contains(nb.as_str())
                {
                    clashes.push(format!(
                        "{ka:?} ({} {}) is shadowed by {kb:?} ({} {})",
                        a.intent, a.language, b.intent, b.language
                    ));
                }
            }
        }
        assert!(clashes.is_empty(), "{clashes:#?}");
    }

    /// Words left out on purpose: common English words, or words a visitor of the other languages
    /// writes with another meaning.
    #[test]
    fn ambiguous_words_are_not_keywords() {
        let rules = stored_rules();
        // Not a whole Spanish or French keyword: English words (or English-looking ones) with
        // another meaning, and words too vague alone ("por persona" is a price question,
        // "combien de temps" is not one, "la remise des clés" is the key handover).
        let translated: &[&str] = &[
            "a",
            "me",
            "de",
            "la",
            "le",
            "en",
            "es",
            "no",
            "con",
            "sin",
            "son",
            "once",
            "pie",
            "sale",
            "red",
            "come",
            "fin",
            "car",
            "pour",
            "vole",
            "rate",
            "charge",
            "location",
            "locations",
            "person",
            "persona",
            "personne",
            "agent",
            "agente",
            "assurance",
            "caution",
            "franchise",
            "promo",
            "reduction",
            "combien",
            "cuanto",
            "cuánto",
            "seguro",
            "ayuda",
            "aide",
            "libre",
            "remise",
            "frais",
            "retard",
            "conseiller",
            "adieu",
            "ciao",
            "a plus",
        ];
        // Not a whole English keyword: common Spanish or French words.
        let english: &[&str] = &["yo", "location", "charge", "car", "pour", "de", "a", "me"];
        for rule in &rules {
            let forbidden = if rule.language == "en" {
                english
            } else {
                translated
            };
            for keyword in &rule.keywords {
                let normalized = normalize(keyword).text;
                assert!(
                    !forbidden.iter().any(|w| normalize(w).text == normalized),
                    "{keyword:?} ({} {})",
                    rule.intent,
                    rule.language
                );
            }
        }
    }

    #[test]
    fn sample_questions_get_their_intent_and_language() {
        let matcher = KeywordMatcher::new(&stored_rules()).unwrap();
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            // English, as before.
            ("hello", Some((Intent::GREETING, "en"))),
            (
                "How much does it cost to rent a sedan?",
                Some((Intent::PRICING, "en")),
            ),
            (
                "I want to book a car",
                Some((Intent::BOOKING_INQUIRY, "en")),
            ),
            (
                "Are there any cars available next week?",
                Some((Intent::AVAILABILITY, "en")),
            ),
            ("what's your phone number", Some((Intent::CONTACT, "en"))),
            ("what's your location?", Some((Intent::CONTACT, "en"))),
            ("where are your locations", Some((Intent::CONTACT, "en"))),
            (
                "Is there a charge for a second driver?",
                Some((Intent::PRICING, "en")),
            ),
            (
                "I want to speak to a human",
                Some((Intent::ESCALATION, "en")),
            ),
            ("my car broke down", Some((Intent::SUPPORT, "en"))),
            ("thanks bye", Some((Intent::GOODBYE, "en"))),
            ("This is great", None),
            // Spanish.
            ("Hola", Some((Intent::GREETING, "es"))),
            ("Buenos días", Some((Intent::GREETING, "es"))),
            (
                "¿Cuánto cuesta alquilar un coche?",
                Some((Intent::PRICING, "es")),
            ),
            (
                "quiero alquilar un carro, cuanto cuesta?",
                Some((Intent::PRICING, "es")),
            ),
            ("¿El precio es por persona?", Some((Intent::PRICING, "es"))),
            (
                "¿Hay descuento para alquileres largos?",
                Some((Intent::PRICING, "es")),
            ),
            (
                "Hola, necesito un coche para mañana",
                Some((Intent::BOOKING_INQUIRY, "es")),
            ),
            (
                "Quiero reservar un SUV para el fin de semana",
                Some((Intent::BOOKING_INQUIRY, "es")),
            ),
            (
                "¿Tienen coches disponibles en diciembre?",
                Some((Intent::AVAILABILITY, "es")),
            ),
            (
                "¿Cuál es su número de teléfono?",
                Some((Intent::CONTACT, "es")),
            ),
            ("¿A qué hora abren?", Some((Intent::CONTACT, "es"))),
            (
                "El coche se averió en la autopista",
                Some((Intent::SUPPORT, "es")),
            ),
            ("Quiero cancelar mi reserva", Some((Intent::SUPPORT, "es"))),
            (
                "necesito ayuda con mi reserva",
                Some((Intent::SUPPORT, "es")),
            ),
            (
                "Quiero hablar con una persona",
                Some((Intent::ESCALATION, "es")),
            ),
            (
                "¿Cuánto me cobran por un conductor adicional?",
                Some((Intent::PRICING, "es")),
            ),
            (
                "¿Puedo hablar con un agente?",
                Some((Intent::ESCALATION, "es")),
            ),
            ("Muchas gracias, adiós", Some((Intent::GOODBYE, "es"))),
            // "yo" is no longer an English greeting.
            ("Yo quiero saber algo", None),
            // French.
            ("Bonjour", Some((Intent::GREETING, "fr"))),
            ("Salut, il y a quelqu'un ?", Some((Intent::GREETING, "fr"))),
            (
                "Je voudrais louer une voiture",
                Some((Intent::BOOKING_INQUIRY, "fr")),
            ),
            (
                "Bonjour, je cherche une location de voiture pour demain",
                Some((Intent::BOOKING_INQUIRY, "fr")),
            ),
            (
                "Où se fait la prise en charge du véhicule ?",
                Some((Intent::BOOKING_INQUIRY, "fr")),
            ),
            (
                "Combien coûte une location pour une semaine ?",
                Some((Intent::PRICING, "fr")),
            ),
            ("C'est combien pour un SUV ?", Some((Intent::PRICING, "fr"))),
            (
                "Quel est le prix de la location ?",
                Some((Intent::PRICING, "fr")),
            ),
            (
                "Le prix est-il par personne ?",
                Some((Intent::PRICING, "fr")),
            ),
            (
                "Avez-vous des voitures disponibles ce week-end ?",
                Some((Intent::AVAILABILITY, "fr")),
            ),
            (
                "Quel est votre numéro de téléphone ?",
                Some((Intent::CONTACT, "fr")),
            ),
            (
                "Quels sont vos horaires d'ouverture ?",
                Some((Intent::CONTACT, "fr")),
            ),
            (
                "Ma voiture est tombée en panne",
                Some((Intent::SUPPORT, "fr")),
            ),
            (
                "Je veux annuler ma réservation",
                Some((Intent::SUPPORT, "fr")),
            ),
            (
                "Puis-je annuler sans frais ?",
                Some((Intent::SUPPORT, "fr")),
            ),
            (
                "Je voudrais parler à un conseiller",
                Some((Intent::ESCALATION, "fr")),
            ),
            (
                "je veux parler a quelqu'un",
                Some((Intent::ESCALATION, "fr")),
            ),
            ("Merci, au revoir", Some((Intent::GOODBYE, "fr"))),
            (
                "merci beaucoup, bonne journee",
                Some((Intent::GOODBYE, "fr")),
            ),
        ];
        let mut per_language: BTreeMap<&str, usize> = BTreeMap::new();
        for (text, want) in cases {
            let got = matcher.match_text(text);
            let got = got
                .as_ref()
                .map(|m| (m.intent.as_str(), m.language.as_str()));
            assert_eq!(got, *want, "{text:?}");
            if let Some((_, language)) = want {
                *per_language.entry(language).or_default() += 1;
            }
        }
        assert!(per_language.values().all(|&n| n >= 10), "{per_language:?}");
    }

    /// A keyword the Spanish and French rules share (same intent) belongs to the first of them in
    /// the automaton; the service answers in the room's language.
    #[test]
    fn shared_keywords_keep_their_intent() {
        let matcher = KeywordMatcher::new(&stored_rules()).unwrap();
        for text in ["¿Un SUV disponible?", "Un SUV est-il disponible ?"] {
            let found = matcher.match_text(text).unwrap();
            assert_eq!(found.intent.as_str(), Intent::AVAILABILITY, "{text:?}");
        }
    }
}
