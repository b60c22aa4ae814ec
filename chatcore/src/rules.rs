//! The default bot rules: the seed guide's eight intents with car-rental answers.
//!
//! Priorities put specific intents above generic ones: a visitor asking for a person beats everything,
//! a price question beats a booking question that mentions renting, a problem with a booking beats the
//! booking itself, and greetings or farewells only answer when nothing else matched.

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

fn rule(intent: &str, priority: i32, keywords: &[&str], response: &str) -> NewRule {
    // The names below are valid intent names, so this cannot fail.
    let intent = Intent::new(intent).unwrap_or_else(|_| unreachable!("built-in intent name"));
    NewRule::new(intent, keywords.iter().copied(), response, priority)
}

/// The default English rule set for the eight intents.
pub fn default_rules() -> Vec<NewRule> {
    vec![
        rule(
            Intent::GREETING,
            priority::GREETING,
            &[
                "hello", "hi", "hey", "hiya", "howdy", "greetings", "good morning",
                "good afternoon", "good evening", "good day", "hi there", "hello there",
                "anyone there", "is anyone there", "yo",
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
                "fees", "charge", "charges", "deposit", "discount", "discounts", "promo code",
                "coupon", "insurance", "excess", "quote", "cheap", "cheapest", "expensive",
                "tariff", "per day", "daily rate", "weekly rate", "pay", "payment", "mileage",
                "fuel policy", "young driver", "surcharge",
            ],
            "Our daily rates start at $29 for economy, $39 for compact, $49 for a sedan, $69 for an \
             SUV, $79 for a minivan and $119 for luxury cars. Weekly rentals get 15% off, unlimited \
             mileage is included, and basic insurance is included with an optional full-coverage \
             upgrade at $15/day. A refundable deposit of $200 is held on your card at pick-up.",
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
        ),
        rule(
            Intent::CONTACT,
            priority::CONTACT,
            &[
                "contact", "contact details", "phone", "phone number", "telephone", "call",
                "call you", "email", "e-mail", "mail", "address", "where are you", "location",
                "locations", "opening hours", "hours", "open", "office", "branch", "reach you",
                "whatsapp",
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
