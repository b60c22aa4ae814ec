//! The default bot rules: the seed guide's eight intents with car-rental answers, plus three
//! rules that sharpen them (pricing policy, fleet, acknowledgement).
//!
//! Priorities put specific intents above generic ones: a visitor asking for a person beats
//! everything, a question about a fee or the deposit beats a price question ("how much is the
//! deposit?"), a price question beats a booking question that mentions renting, a problem with a
//! booking beats the booking itself, and greetings, acknowledgements or farewells only answer when
//! nothing else matched.
//!
//! Three intents have two rules. `pricing`: the price of renting a car (quoted from the catalog
//! when there is one) and, above it, the rental's policies (deposit, insurance, payment, fuel …),
//! which never need a car class or dates. `availability`: which cars are free (from the catalog)
//! and, below it, what the fleet is ("do you have child seats?" should not ask for a car class).
//! `goodbye`: the farewell and, below it, the acknowledgement ("ok", "great") that keeps the chat
//! going.
//!
//! Every language has the same rules: the same intents with the same priorities. All languages
//! share one automaton, so a keyword of one language must not be a keyword (or a word of one) of
//! another intent in another language: French "location" (a rental) is why the English contact
//! rule says "your location" rather than "location", "prise en charge" (pick-up) why the English
//! pricing policy says "a charge" rather than "charge", and Spanish "yo" (I) why "yo" is no
//! English greeting. A keyword of the *same* intent in two languages ("contact", "disponible",
//! "paypal") is fine as long as it belongs to the intent's highest-priority rule: the service
//! answers in the room's language, with that language's highest-priority rule of the intent.

use std::collections::BTreeMap;

use crate::{Intent, NewRule};

/// Priority of each default rule (higher wins).
pub mod priority {
    /// "I want to speak to a human".
    pub const ESCALATION: i32 = 100;
    /// Pricing policies: fees, deposit, discounts, insurance, payment, mileage, fuel, young
    /// drivers. Above [`PRICING`] so that "how much is the deposit?" gets the policy.
    pub const PRICING_POLICY: i32 = 85;
    /// The price of renting a car (a catalog quote).
    pub const PRICING: i32 = 80;
    /// Which cars are free (a catalog answer).
    pub const AVAILABILITY: i32 = 70;
    /// Problems with a booking or on the road.
    pub const SUPPORT: i32 = 60;
    /// Phone, email, hours, address.
    pub const CONTACT: i32 = 50;
    /// Reservations.
    pub const BOOKING_INQUIRY: i32 = 40;
    /// What the fleet is ("do you have …", "which cars"): below every other question, since "do
    /// you have" starts many ("do you have an office at the airport?", "do you have one-way
    /// rentals?"), and below [`AVAILABILITY`], so that "do you have SUVs available tomorrow?" is
    /// answered from the catalog.
    pub const FLEET: i32 = 35;
    /// Farewells.
    pub const GOODBYE: i32 = 20;
    /// "Ok", "great" after an answer (intent `goodbye`): below every question, so "ok, how much
    /// is an SUV?" is a price question, and above greetings.
    pub const ACKNOWLEDGEMENT: i32 = 15;
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
    /// The follow-up question when a catalog answer needs the vehicle class.
    pub ask_vehicle_class: String,
    /// Follows `ask_vehicle_class` and `class_not_offered` when the catalog lists its classes;
    /// `{vehicle_classes}` becomes the list.
    pub classes_on_offer: String,
    /// The follow-up question when a catalog answer needs the dates.
    pub ask_dates: String,
    /// Before `ask_dates` when the dates the visitor named have passed.
    pub dates_in_past: String,
    /// Before `ask_dates` when the rental named is longer than
    /// [`crate::ChatConfig::max_rental_days`] (`{max_days}`).
    pub rental_too_long: String,
    /// The reply when the catalog does not offer the class asked about; `{vehicle_class}` is that
    /// class.
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
        ask_vehicle_class: "Which kind of car would you like?".to_owned(),
        classes_on_offer: "We have {vehicle_classes}.".to_owned(),
        ask_dates: "For which dates? For example \"tomorrow\", \"this weekend\" or \"from 3 to 7 \
                    December\"."
            .to_owned(),
        dates_in_past: "Those dates have already passed.".to_owned(),
        rental_too_long: "I can quote rentals of up to {max_days} days here; for a longer one, \
                          please ask for a human agent."
            .to_owned(),
        class_not_offered: "Sorry, we don't rent {vehicle_class} cars.".to_owned(),
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
        ask_vehicle_class: "¿Qué tipo de coche le gustaría?".to_owned(),
        classes_on_offer: "Tenemos {vehicle_classes}.".to_owned(),
        ask_dates: "¿Para qué fechas? Por ejemplo «mañana», «este fin de semana» o «del 3 al 7 de \
                    diciembre»."
            .to_owned(),
        dates_in_past: "Esas fechas ya han pasado.".to_owned(),
        rental_too_long: "Aquí puedo dar precios de alquileres de hasta {max_days} días; para uno \
                          más largo, pida hablar con un agente."
            .to_owned(),
        class_not_offered: "Lo sentimos, no alquilamos ningún coche {vehicle_class}.".to_owned(),
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
        ask_vehicle_class: "Quel type de voiture souhaitez-vous ?".to_owned(),
        classes_on_offer: "Nous avons : {vehicle_classes}.".to_owned(),
        ask_dates: "Pour quelles dates ? Par exemple « demain », « ce week-end » ou « du 3 au 7 \
                    décembre »."
            .to_owned(),
        dates_in_past: "Ces dates sont déjà passées.".to_owned(),
        rental_too_long: "Je peux donner ici le prix de locations de {max_days} jours au plus ; \
                          pour une location plus longue, demandez à parler à un conseiller."
            .to_owned(),
        class_not_offered: "Désolé, nous ne louons pas de voiture {vehicle_class}.".to_owned(),
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

/// How many rules each language had before the pricing policy, fleet and acknowledgement rules.
const FIRST_RULES_PER_LANGUAGE: usize = 8;

/// The default rule set: the eight intents in English, Spanish and French, then the pricing
/// policy, fleet and acknowledgement rules of each language.
///
/// The first eight rules of each language come first, in the order they always had, so a store
/// seeded with this set gives them the ids they had before (1 to 24: English, Spanish, French);
/// the rules added since follow (25 to 33, English, Spanish, French again).
pub fn default_rules() -> Vec<NewRule> {
    let mut rules = Vec::new();
    let mut added = Vec::new();
    for mut language in [english_rules(), spanish_rules(), french_rules()] {
        added.extend(language.split_off(FIRST_RULES_PER_LANGUAGE));
        rules.extend(language);
    }
    rules.extend(added);
    rules
}

/// The English rules: the eight intents, then the rules added since (always last).
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
                "price", "prices", "pricing", "cost", "costs", "how much", "rate", "rates", "quote",
                "quotes", "cheap", "cheaper", "cheapest", "expensive", "tariff", "tariffs",
                "per day", "per week", "daily rate", "daily rates", "weekly rate", "weekly rates",
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
                "car free", "free cars", "free car", "have cars", "cars left", "vacancy",
                "sold out", "fully booked",
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
        // Added rules: always after the first eight (see `default_rules`).
        rule(
            Intent::PRICING,
            priority::PRICING_POLICY,
            &[
                "fee", "fees", "a charge", "any charge", "extra charge", "the charge", "charges", "hidden costs", "deposit", "deposits", "discount",
                "discounts", "discount code", "promo code", "coupon", "voucher", "insurance",
                "full coverage", "excess", "damage waiver", "mileage", "fuel", "fuel policy",
                "refuel", "full tank", "full to full", "petrol", "young driver", "young drivers",
                "under 25", "surcharge", "surcharges", "payment", "payments", "payment method",
                "pay with", "pay by", "pay cash", "pay in cash", "pay online", "pay later",
                "pay extra", "pay more", "pay in advance", "pay upfront", "can i pay",
                "how do i pay", "how can i pay", "prepay", "credit card", "debit card", "paypal",
                "cash", "apple pay", "google pay",
            ],
            "Basic insurance is included in every rental, with an optional full-coverage upgrade \
             at $15/day, and mileage is unlimited. A refundable deposit of $200 is held on your \
             card at pick-up. Payment is by credit or debit card in the driver's name. Weekly \
             rentals get 15% off. A young-driver surcharge applies to drivers under 25; the exact \
             amount is shown when you book. Our fuel policy is full to full: you get the car with \
             a full tank and bring it back full. Cancellations more than 48 hours before pick-up \
             are free. For the price of a car, ask me for example \"How much is an SUV this \
             weekend?\"",
        ),
        rule(
            Intent::AVAILABILITY,
            priority::FLEET,
            &[
                "do you have", "fleet", "models", "what cars", "which cars", "what kind of cars",
                "kind of cars", "kinds of cars", "type of cars", "types of cars", "car types",
                "car classes", "classes of cars", "categories", "what vehicles", "which vehicles",
                "vehicle types",
            ],
            "We rent economy, compact, sedan, SUV, minivan, convertible, luxury, pickup and \
             electric cars, and when you book you can add extras such as a child seat, an \
             additional driver or GPS. Ask me the price or availability of a class for your \
             dates, for example \"How much is an SUV this weekend?\" or \"Is a convertible \
             available tomorrow?\"",
        ),
        rule(
            Intent::GOODBYE,
            priority::ACKNOWLEDGEMENT,
            &[
                "ok", "okay", "great", "perfect", "got it", "sounds good", "cool", "alright",
                "all right", "understood", "awesome", "super", "i see", "makes sense", "noted",
                "good to know", "fair enough",
            ],
            "Glad I could help! Is there anything else you'd like to know?",
        ),
    ]
}

/// The Spanish rules, in the English order (neutral `usted`; "coche", "carro" and "auto" all
/// understood).
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
                "costes", "costo", "costos", "presupuesto", "cotización", "cotizacion", "barato",
                "baratos", "caro", "caros", "por día", "por dia", "por semana",
                "cuánto tengo que pagar", "cuanto tengo que pagar", "cuánto hay que pagar",
                "cuanto hay que pagar", "cuánto pago", "cuanto pago",
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
                "tienen algún coche", "tienen algun coche", "coche libre", "coches libres",
                "agotado", "agotados", "quedan coches", "está completo", "esta completo",
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
        // Added rules: always after the first eight (see `default_rules`).
        rule(
            Intent::PRICING,
            priority::PRICING_POLICY,
            &[
                "fianza", "depósito", "deposito", "descuento", "descuentos", "código promocional",
                "codigo promocional", "cupón", "cupon", "promoción", "promocion", "ofertas",
                "el seguro", "un seguro", "los seguros", "todo riesgo", "franquicia", "cobertura",
                "kilometraje", "combustible", "gasolina", "lleno a lleno", "conductor joven",
                "conductores jóvenes", "conductores jovenes", "menores de 25", "recargo",
                "recargos", "cobran", "cobrar", "comisión", "comisiones", "cargo extra",
                "cargos extra", "cargo adicional", "cargos adicionales", "el pago", "forma de pago",
                "formas de pago", "método de pago", "métodos de pago", "metodo de pago",
                "metodos de pago", "medios de pago", "pagar con", "pagar en efectivo", "pagar más",
                "pagar mas", "pagar extra", "puedo pagar", "efectivo", "tarjeta de crédito",
                "tarjeta de credito", "tarjeta de débito", "tarjeta de debito", "paypal",
            ],
            "El seguro básico está incluido en todos los alquileres, con una mejora opcional a \
             cobertura total por 15 $ al día, y el kilometraje es ilimitado. Al recoger el coche \
             se retiene en su tarjeta un depósito reembolsable de 200 $. El pago se hace con \
             tarjeta de crédito o débito a nombre del conductor. Los alquileres semanales tienen \
             un 15 % de descuento. A los conductores menores de 25 años se les aplica un recargo \
             por conductor joven; el importe exacto se indica al reservar. La política de \
             combustible es lleno a lleno: recibe el coche con el depósito lleno y lo devuelve \
             lleno. Las cancelaciones con más de 48 horas de antelación a la recogida son \
             gratuitas. Para el precio de un coche, pregúnteme por ejemplo «¿Cuánto cuesta un SUV \
             este fin de semana?».",
        )
        .language("es"),
        rule(
            Intent::AVAILABILITY,
            priority::FLEET,
            &[
                "qué coches", "que coches", "qué carros", "que carros", "qué autos", "que autos",
                "qué vehículos", "que vehiculos", "modelos", "flota", "tipo de coche",
                "tipos de coche", "tipos de coches", "categorías", "categorias",
            ],
            "Alquilamos coches de estas categorías: económico, compacto, sedán, SUV, \
             monovolumen, descapotable, de lujo, pickup y eléctrico. Al reservar puede añadir \
             extras como una silla infantil, un conductor adicional o GPS. Pregúnteme el precio o \
             la disponibilidad de una categoría para sus fechas, por ejemplo «¿Cuánto cuesta un \
             SUV este fin de semana?» o «¿Hay algún descapotable disponible mañana?».",
        )
        .language("es"),
        rule(
            Intent::GOODBYE,
            priority::ACKNOWLEDGEMENT,
            &[
                "vale", "de acuerdo", "perfecto", "genial", "entendido", "muy bien", "estupendo",
                "excelente", "ok", "okey",
            ],
            "¡Me alegra haber podido ayudarle! ¿Hay algo más que quiera saber?",
        )
        .language("es"),
    ]
}

/// The French rules, in the English order (`vous`).
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
                "prix", "tarif", "tarifs", "tarification", "coûte", "coute", "coûtent", "coutent",
                "coût", "cout", "coûts", "couts", "c'est combien", "ça fait combien",
                "ca fait combien", "combien pour", "combien dois-je payer", "combien je dois payer",
                "combien vais-je payer", "combien je vais payer", "devis", "cher", "chers",
                "par jour", "par semaine", "tout compris",
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
                "disponibilites", "dispo", "dispos", "il reste des", "reste-t-il des",
                "reste-t-il une", "voiture libre", "voitures libres", "véhicule libre",
                "véhicules libres", "complet", "en stock",
                // "disponible" is also Spanish (and its Spanish rule comes first): phrases
                // only French has keep a French question French.
                "voiture disponible", "voitures disponibles", "véhicule disponible",
                "véhicules disponibles", "vehicule disponible", "vehicules disponibles",
                "est-il disponible", "est-elle disponible", "sont-ils disponibles",
                "sont-elles disponibles", "encore disponible", "encore disponibles",
                "est disponible", "sont disponibles", "disponible demain", "disponibles demain",
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
        // Added rules: always after the first eight (see `default_rules`).
        rule(
            Intent::PRICING,
            priority::PRICING_POLICY,
            &[
                "la caution", "une caution", "dépôt de garantie", "depot de garantie",
                "une remise", "réduction", "réductions", "code promo", "code promotionnel",
                "l'assurance", "une assurance", "les assurances", "assurance tous risques",
                "la franchise", "rachat de franchise", "kilométrage", "kilometrage", "carburant",
                "essence", "le plein", "plein à plein", "plein a plein", "jeune conducteur",
                "jeunes conducteurs", "moins de 25 ans", "supplément", "suppléments", "des frais",
                "les frais", "frais de", "paiement", "moyens de paiement", "payer avec",
                "payer par carte", "payer en espèces", "payer en liquide", "puis-je payer",
                "peut-on payer", "je peux payer", "comment payer", "payer plus", "payer en plus",
                "espèces", "especes", "carte bancaire", "carte de crédit", "carte de credit",
                "carte de débit", "carte de debit", "paypal",
            ],
            "L'assurance de base est incluse dans chaque location, avec une option couverture \
             complète à 15 $ par jour, et le kilométrage est illimité. Une caution remboursable \
             de 200 $ est bloquée sur votre carte à la prise en charge. Le paiement se fait par \
             carte de crédit ou de débit au nom du conducteur. Les locations à la semaine \
             bénéficient de 15 % de réduction. Un supplément jeune conducteur s'applique aux \
             conducteurs de moins de 25 ans ; le montant exact est indiqué lors de la \
             réservation. Le carburant est en « plein à plein » : vous recevez la voiture avec le \
             plein et la rendez avec le plein. L'annulation est gratuite plus de 48 heures avant \
             la prise en charge. Pour le prix d'une voiture, demandez-moi par exemple « Combien \
             coûte un SUV ce week-end ? ».",
        )
        .language("fr"),
        rule(
            Intent::AVAILABILITY,
            priority::FLEET,
            &[
                "avez-vous des", "vous avez des", "quelles voitures", "quels véhicules",
                "quels vehicules", "quels modèles", "quels modeles", "modèles", "flotte",
                "type de voiture", "types de voitures", "types de véhicules", "catégories",
            ],
            "Nous louons des voitures de ces catégories : économique, compacte, berline, SUV, \
             monospace, cabriolet, de luxe, pick-up et électrique. À la réservation, vous pouvez \
             ajouter des options comme un siège enfant, un conducteur supplémentaire ou un GPS. \
             Demandez-moi le prix ou la disponibilité d'une catégorie pour vos dates, par exemple \
             « Combien coûte un SUV ce week-end ? » ou « Un cabriolet est-il disponible \
             demain ? ».",
        )
        .language("fr"),
        rule(
            Intent::GOODBYE,
            priority::ACKNOWLEDGEMENT,
            &[
                "d'accord", "parfait", "super", "génial", "j'ai compris", "c'est compris",
                "bien compris", "entendu", "très bien", "tres bien", "ça marche", "ca marche",
                "c'est noté", "bien reçu", "bien recu", "cool", "ok",
            ],
            "Ravi d'avoir pu vous aider ! Y a-t-il autre chose que vous aimeriez savoir ?",
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
    use crate::{BotMatcher, BotRule, KeywordMatcher, RuleId, VehicleClass};

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

    /// The first rule of `intent` in `language`: for pricing and availability, the one answering
    /// from the catalog.
    fn find<'a>(rules: &'a [BotRule], intent: &str, language: &str) -> &'a BotRule {
        rules
            .iter()
            .find(|r| r.intent.as_str() == intent && r.language == language)
            .unwrap_or_else(|| panic!("no {intent} rule in {language}"))
    }

    /// The rule of `intent` with `priority` in `language`.
    fn find_at<'a>(
        rules: &'a [BotRule],
        intent: &str,
        priority: i32,
        language: &str,
    ) -> &'a BotRule {
        rules
            .iter()
            .find(|r| {
                r.intent.as_str() == intent && r.priority == priority && r.language == language
            })
            .unwrap_or_else(|| panic!("no {intent} rule with priority {priority} in {language}"))
    }

    /// Each rule of a language, in order: the eight intents, then the rules added since.
    const RULES: [(&str, i32); 11] = [
        (Intent::GREETING, priority::GREETING),
        (Intent::BOOKING_INQUIRY, priority::BOOKING_INQUIRY),
        (Intent::PRICING, priority::PRICING),
        (Intent::AVAILABILITY, priority::AVAILABILITY),
        (Intent::CONTACT, priority::CONTACT),
        (Intent::SUPPORT, priority::SUPPORT),
        (Intent::ESCALATION, priority::ESCALATION),
        (Intent::GOODBYE, priority::GOODBYE),
        (Intent::PRICING, priority::PRICING_POLICY),
        (Intent::AVAILABILITY, priority::FLEET),
        (Intent::GOODBYE, priority::ACKNOWLEDGEMENT),
    ];

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
    fn each_intent_exists_per_language_with_the_same_rules_in_every_language() {
        let rules = stored_rules();
        assert_eq!(rules.len(), RULES.len() * LANGUAGES.len());
        let rules_of = |language: &str| -> Vec<(&str, i32, bool)> {
            rules
                .iter()
                .filter(|r| r.language == language)
                .map(|r| (r.intent.as_str(), r.priority, r.catalog_response.is_some()))
                .collect()
        };
        let english = rules_of("en");
        let expected: Vec<(&str, i32, bool)> = RULES
            .iter()
            .map(|&(intent, priority)| {
                let catalog = priority == priority::PRICING || priority == priority::AVAILABILITY;
                (intent, priority, catalog)
            })
            .collect();
        assert_eq!(english, expected);
        for intent in INTENTS {
            assert!(english.iter().any(|r| r.0 == intent), "no {intent} rule");
        }
        for language in ["es", "fr"] {
            assert_eq!(rules_of(language), english, "{language}");
        }
        for rule in &rules {
            assert!(
                INTENTS.contains(&rule.intent.as_str()),
                "unexpected intent {}",
                rule.intent
            );
            assert!(LANGUAGES.contains(&rule.language.as_str()));
            assert!(rule.active);
            assert!(!rule.response.trim().is_empty());
        }
        // One rule per intent and priority in each language, translated.
        let mut seen = BTreeSet::new();
        for rule in &rules {
            assert!(
                seen.insert((
                    rule.intent.to_string(),
                    rule.priority,
                    rule.language.clone()
                )),
                "{} {} ({}) twice",
                rule.intent,
                rule.priority,
                rule.language
            );
            let english = find_at(&rules, rule.intent.as_str(), rule.priority, "en");
            if rule.language != "en" {
                assert_ne!(rule.response, english.response);
            }
        }
        // The first eight rules of each language keep the ids they had before the others were
        // added (1 to 24); the added rules follow, English, Spanish, French.
        let first = FIRST_RULES_PER_LANGUAGE;
        let added = RULES.len() - first;
        let all_first = first * LANGUAGES.len();
        for (i, rule) in rules.iter().enumerate() {
            let (language, (intent, priority)) = if i < all_first {
                (LANGUAGES[i / first], RULES[i % first])
            } else {
                let i = i - all_first;
                (LANGUAGES[i / added], RULES[first + i % added])
            };
            assert_eq!(
                (rule.language.as_str(), rule.intent.as_str(), rule.priority),
                (language, intent, priority),
                "rule {}",
                rule.id
            );
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
        let facts: &[(&str, i32, &[&str])] = &[
            (
                Intent::PRICING,
                priority::PRICING,
                &["29", "39", "49", "69", "79", "119", "15", "200"],
            ),
            (
                Intent::PRICING,
                priority::PRICING_POLICY,
                // Full cover per day and the weekly discount, the deposit, the young drivers' age,
                // free cancellation.
                &["15", "200", "25", "48"],
            ),
            (
                Intent::CONTACT,
                priority::CONTACT,
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
            (
                Intent::SUPPORT,
                priority::SUPPORT,
                &["48", "5", "7", "+1 555 0199"],
            ),
        ];
        for (intent, priority, facts) in facts {
            for language in LANGUAGES {
                let text = &find_at(&rules, intent, *priority, language).response;
                for fact in *facts {
                    assert!(
                        text.contains(fact),
                        "{intent} {priority} ({language}) lacks {fact:?}: {text}"
                    );
                }
            }
        }
        for language in LANGUAGES {
            // The catalog answer repeats the deposit.
            let rule = find(&rules, Intent::PRICING, language);
            assert!(rule.catalog_response.as_deref().unwrap().contains("200"));
            // The pricing policy names payment, young drivers and fuel; the price of a car is
            // left to the catalog rule.
            let policy = find_at(&rules, Intent::PRICING, priority::PRICING_POLICY, language);
            let words: &[&str] = match language {
                "en" => &["credit or debit card in the driver's name", "full to full"],
                "es" => &[
                    "tarjeta de crédito o débito a nombre del conductor",
                    "lleno a lleno",
                ],
                _ => &[
                    "carte de crédit ou de débit au nom du conducteur",
                    "plein à plein",
                ],
            };
            for words in words {
                assert!(policy.response.contains(words), "{language}: {words:?}");
            }
            // The fleet lists the nine standard classes, as the bot names them in that language.
            let fleet = find_at(&rules, Intent::AVAILABILITY, priority::FLEET, language);
            for class in VehicleClass::STANDARD {
                let label = VehicleClass::new(class).unwrap().label(language);
                assert!(
                    fleet.response.contains(&label),
                    "fleet ({language}) lacks {label:?}"
                );
            }
        }
        // The young-driver surcharge has no known amount: none is promised.
        let policy = find_at(&rules, Intent::PRICING, priority::PRICING_POLICY, "en");
        assert!(policy.response.contains(
            "A young-driver surcharge applies to drivers under 25; the exact amount is shown when \
             you book."
        ));
        assert_eq!(
            find_at(&rules, Intent::GOODBYE, priority::ACKNOWLEDGEMENT, "en").response,
            "Glad I could help! Is there anything else you'd like to know?"
        );
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
                &t.classes_on_offer,
                &t.ask_dates,
                &t.dates_in_past,
                &t.rental_too_long,
                &t.class_not_offered,
            ] {
                assert!(!text.trim().is_empty(), "{language}");
            }
            assert!(
                t.classes_on_offer.contains("{vehicle_classes}"),
                "{language}"
            );
            assert!(
                t.class_not_offered.contains("{vehicle_class}"),
                "{language}"
            );
            assert!(t.rental_too_long.contains("{max_days}"), "{language}");
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
            assert_ne!(t.classes_on_offer, english.classes_on_offer, "{language}");
            assert_ne!(t.dates_in_past, english.dates_in_past, "{language}");
            assert_ne!(t.rental_too_long, english.rental_too_long, "{language}");
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
        // "combien de temps" is not one, "la remise des clés" is the key handover, "le GPS est
        // compris ?" asks what is included, "bueno, …" starts a question).
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
            "compris",
            "bueno",
        ];
        // Not a whole English keyword: common Spanish or French words, and "nice" (Nice, where
        // people rent cars: "do you have an office in Nice?").
        let english: &[&str] = &[
            "yo", "location", "charge", "car", "pour", "de", "a", "me", "nice",
        ];
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
        // The intent, priority and language of the rule that should answer.
        type Answer = Option<(&'static str, i32, &'static str)>;
        let cases: &[(&str, Answer)] = &[
            // English, as before.
            ("hello", Some((Intent::GREETING, priority::GREETING, "en"))),
            (
                "How much does it cost to rent a sedan?",
                Some((Intent::PRICING, priority::PRICING, "en")),
            ),
            (
                "I want to book a car",
                Some((Intent::BOOKING_INQUIRY, priority::BOOKING_INQUIRY, "en")),
            ),
            (
                "Are there any cars available next week?",
                Some((Intent::AVAILABILITY, priority::AVAILABILITY, "en")),
            ),
            (
                "what's your phone number",
                Some((Intent::CONTACT, priority::CONTACT, "en")),
            ),
            (
                "what's your location?",
                Some((Intent::CONTACT, priority::CONTACT, "en")),
            ),
            (
                "where are your locations",
                Some((Intent::CONTACT, priority::CONTACT, "en")),
            ),
            (
                "Is there a charge for a second driver?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "en")),
            ),
            (
                "I want to speak to a human",
                Some((Intent::ESCALATION, priority::ESCALATION, "en")),
            ),
            (
                "my car broke down",
                Some((Intent::SUPPORT, priority::SUPPORT, "en")),
            ),
            (
                "thanks bye",
                Some((Intent::GOODBYE, priority::GOODBYE, "en")),
            ),
            // Pricing policies, not the price of a car: no follow-up question about the class.
            (
                "Can I pay with PayPal?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "en")),
            ),
            (
                "Is there a young driver surcharge?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "en")),
            ),
            (
                "What is your fuel policy?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "en")),
            ),
            (
                "Is mileage unlimited?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "en")),
            ),
            (
                "Do you have a promo code or discount?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "en")),
            ),
            (
                "How much is the deposit?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "en")),
            ),
            (
                "How much is an SUV this weekend?",
                Some((Intent::PRICING, priority::PRICING, "en")),
            ),
            (
                "How much will I pay for a compact next week?",
                Some((Intent::PRICING, priority::PRICING, "en")),
            ),
            // The fleet, unless the visitor asks what is free.
            (
                "Do you have child seats?",
                Some((Intent::AVAILABILITY, priority::FLEET, "en")),
            ),
            (
                "Which cars do you have?",
                Some((Intent::AVAILABILITY, priority::FLEET, "en")),
            ),
            (
                "Do you have SUVs available tomorrow?",
                Some((Intent::AVAILABILITY, priority::AVAILABILITY, "en")),
            ),
            // Acknowledgements, below every question and every farewell.
            (
                "ok",
                Some((Intent::GOODBYE, priority::ACKNOWLEDGEMENT, "en")),
            ),
            (
                "This is great",
                Some((Intent::GOODBYE, priority::ACKNOWLEDGEMENT, "en")),
            ),
            (
                "Okay, got it",
                Some((Intent::GOODBYE, priority::ACKNOWLEDGEMENT, "en")),
            ),
            (
                "ok, how much is an SUV?",
                Some((Intent::PRICING, priority::PRICING, "en")),
            ),
            (
                "ok thanks",
                Some((Intent::GOODBYE, priority::GOODBYE, "en")),
            ),
            ("The weather is nice in Nice", None),
            // Spanish.
            ("Hola", Some((Intent::GREETING, priority::GREETING, "es"))),
            (
                "Buenos días",
                Some((Intent::GREETING, priority::GREETING, "es")),
            ),
            (
                "¿Cuánto cuesta alquilar un coche?",
                Some((Intent::PRICING, priority::PRICING, "es")),
            ),
            (
                "quiero alquilar un carro, cuanto cuesta?",
                Some((Intent::PRICING, priority::PRICING, "es")),
            ),
            (
                "¿El precio es por persona?",
                Some((Intent::PRICING, priority::PRICING, "es")),
            ),
            (
                "¿Hay descuento para alquileres largos?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "es")),
            ),
            (
                "Hola, necesito un coche para mañana",
                Some((Intent::BOOKING_INQUIRY, priority::BOOKING_INQUIRY, "es")),
            ),
            (
                "Quiero reservar un SUV para el fin de semana",
                Some((Intent::BOOKING_INQUIRY, priority::BOOKING_INQUIRY, "es")),
            ),
            (
                "¿Tienen coches disponibles en diciembre?",
                Some((Intent::AVAILABILITY, priority::AVAILABILITY, "es")),
            ),
            (
                "¿Cuál es su número de teléfono?",
                Some((Intent::CONTACT, priority::CONTACT, "es")),
            ),
            (
                "¿A qué hora abren?",
                Some((Intent::CONTACT, priority::CONTACT, "es")),
            ),
            (
                "El coche se averió en la autopista",
                Some((Intent::SUPPORT, priority::SUPPORT, "es")),
            ),
            (
                "Quiero cancelar mi reserva",
                Some((Intent::SUPPORT, priority::SUPPORT, "es")),
            ),
            (
                "necesito ayuda con mi reserva",
                Some((Intent::SUPPORT, priority::SUPPORT, "es")),
            ),
            (
                "Quiero hablar con una persona",
                Some((Intent::ESCALATION, priority::ESCALATION, "es")),
            ),
            (
                "¿Cuánto me cobran por un conductor adicional?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "es")),
            ),
            (
                "¿Puedo hablar con un agente?",
                Some((Intent::ESCALATION, priority::ESCALATION, "es")),
            ),
            (
                "Muchas gracias, adiós",
                Some((Intent::GOODBYE, priority::GOODBYE, "es")),
            ),
            (
                "¿Cuánto es el depósito?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "es")),
            ),
            (
                "¿Hay recargo para conductores jóvenes?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "es")),
            ),
            (
                "¿Puedo pagar con PayPal?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "es")),
            ),
            (
                "¿Cuánto tengo que pagar por un SUV?",
                Some((Intent::PRICING, priority::PRICING, "es")),
            ),
            (
                "¿Qué coches tienen?",
                Some((Intent::AVAILABILITY, priority::FLEET, "es")),
            ),
            (
                "¿Qué modelos tienen disponibles mañana?",
                Some((Intent::AVAILABILITY, priority::AVAILABILITY, "es")),
            ),
            (
                "Vale",
                Some((Intent::GOODBYE, priority::ACKNOWLEDGEMENT, "es")),
            ),
            (
                "Perfecto, entendido",
                Some((Intent::GOODBYE, priority::ACKNOWLEDGEMENT, "es")),
            ),
            (
                "Vale, gracias",
                Some((Intent::GOODBYE, priority::GOODBYE, "es")),
            ),
            // "yo" is no longer an English greeting.
            ("Yo quiero saber algo", None),
            // French.
            (
                "Bonjour",
                Some((Intent::GREETING, priority::GREETING, "fr")),
            ),
            (
                "Salut, il y a quelqu'un ?",
                Some((Intent::GREETING, priority::GREETING, "fr")),
            ),
            (
                "Je voudrais louer une voiture",
                Some((Intent::BOOKING_INQUIRY, priority::BOOKING_INQUIRY, "fr")),
            ),
            (
                "Bonjour, je cherche une location de voiture pour demain",
                Some((Intent::BOOKING_INQUIRY, priority::BOOKING_INQUIRY, "fr")),
            ),
            (
                "Où se fait la prise en charge du véhicule ?",
                Some((Intent::BOOKING_INQUIRY, priority::BOOKING_INQUIRY, "fr")),
            ),
            (
                "Combien coûte une location pour une semaine ?",
                Some((Intent::PRICING, priority::PRICING, "fr")),
            ),
            (
                "C'est combien pour un SUV ?",
                Some((Intent::PRICING, priority::PRICING, "fr")),
            ),
            (
                "Quel est le prix de la location ?",
                Some((Intent::PRICING, priority::PRICING, "fr")),
            ),
            (
                "Le prix est-il par personne ?",
                Some((Intent::PRICING, priority::PRICING, "fr")),
            ),
            (
                "Avez-vous des voitures disponibles ce week-end ?",
                Some((Intent::AVAILABILITY, priority::AVAILABILITY, "fr")),
            ),
            (
                "Quel est votre numéro de téléphone ?",
                Some((Intent::CONTACT, priority::CONTACT, "fr")),
            ),
            (
                "Quels sont vos horaires d'ouverture ?",
                Some((Intent::CONTACT, priority::CONTACT, "fr")),
            ),
            (
                "Ma voiture est tombée en panne",
                Some((Intent::SUPPORT, priority::SUPPORT, "fr")),
            ),
            (
                "Je veux annuler ma réservation",
                Some((Intent::SUPPORT, priority::SUPPORT, "fr")),
            ),
            (
                "Puis-je annuler sans frais ?",
                Some((Intent::SUPPORT, priority::SUPPORT, "fr")),
            ),
            (
                "Je voudrais parler à un conseiller",
                Some((Intent::ESCALATION, priority::ESCALATION, "fr")),
            ),
            (
                "je veux parler a quelqu'un",
                Some((Intent::ESCALATION, priority::ESCALATION, "fr")),
            ),
            (
                "Quel est le montant de la caution ?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "fr")),
            ),
            (
                "Combien coûte la caution ?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "fr")),
            ),
            (
                "Y a-t-il un supplément jeune conducteur ?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "fr")),
            ),
            (
                "Puis-je payer avec PayPal ?",
                Some((Intent::PRICING, priority::PRICING_POLICY, "fr")),
            ),
            (
                "Avez-vous des sièges enfant ?",
                Some((Intent::AVAILABILITY, priority::FLEET, "fr")),
            ),
            (
                "Avez-vous des SUV disponibles demain ?",
                Some((Intent::AVAILABILITY, priority::AVAILABILITY, "fr")),
            ),
            (
                "D'accord",
                Some((Intent::GOODBYE, priority::ACKNOWLEDGEMENT, "fr")),
            ),
            (
                "Très bien, c'est noté",
                Some((Intent::GOODBYE, priority::ACKNOWLEDGEMENT, "fr")),
            ),
            // "compris" alone is "included", not "understood".
            ("Le GPS est-il compris ?", None),
            (
                "Merci, au revoir",
                Some((Intent::GOODBYE, priority::GOODBYE, "fr")),
            ),
            (
                "merci beaucoup, bonne journee",
                Some((Intent::GOODBYE, priority::GOODBYE, "fr")),
            ),
        ];
        let mut per_language: BTreeMap<&str, usize> = BTreeMap::new();
        let mut wrong = Vec::new();
        for (text, want) in cases {
            let got = matcher.match_text(text);
            let got = got
                .as_ref()
                .map(|m| (m.intent.as_str(), m.priority, m.language.as_str()));
            if got != *want {
                wrong.push(format!("{text:?}: {got:?}, want {want:?}"));
            }
            if let Some((_, _, language)) = want {
                *per_language.entry(language).or_default() += 1;
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
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

    /// A keyword several languages share for one intent keeps a room's language, and the reply is
    /// that language's rule of the intent with the highest priority. So the keyword must belong
    /// to that rule in every language: a fleet word shared by two languages would get the
    /// catalog availability answer. Greetings and farewells are exempt: their reply always keeps
    /// the room's language.
    #[test]
    fn keywords_shared_across_languages_belong_to_the_top_rule_of_their_intent() {
        let rules = stored_rules();
        let top = |intent: &str| RULES.iter().filter(|r| r.0 == intent).map(|r| r.1).max();
        for a in &rules {
            for b in &rules {
                if a.language == b.language
                    || a.intent != b.intent
                    || matches!(a.intent.as_str(), Intent::GREETING | Intent::GOODBYE)
                {
                    continue;
                }
                for ka in &a.keywords {
                    let na = normalize(ka).text;
                    if b.keywords.iter().any(|kb| normalize(kb).text == na) {
                        assert_eq!(
                            Some(a.priority),
                            top(a.intent.as_str()),
                            "{ka:?} ({} {} {}) is shared with {}",
                            a.intent,
                            a.priority,
                            a.language,
                            b.language
                        );
                    }
                }
            }
        }
    }
}
