//! Entity extraction: the vehicle class and the rental dates a visitor's message names.
//!
//! [`EntityExtractor::extract`] reads a message in English, Spanish or French and returns
//! [`Entities`]: the first [`VehicleClass`] it names, the first date or date range (extended by a
//! rental length such as "for 10 days") and, when it names no dates, the rental length alone; each
//! with the byte span of the words it came from in the message as given. It is deterministic and
//! pure: relative dates are computed from the `today` the caller passes (the visitor's or the
//! site's local date), never from a clock.
//!
//! ```
//! use chatcore::entities::EntityExtractor;
//! use chrono::NaiveDate;
//!
//! let today = NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date"); // a Thursday
//! let message = "How much is an SUV from 3 to 7 December?";
//! let found = EntityExtractor::new().extract(message, today);
//!
//! let class = found.vehicle_class.expect("a class");
//! assert_eq!(class.value.as_str(), "suv");
//! assert_eq!(&message[class.span], "SUV");
//!
//! let dates = found.dates.expect("dates");
//! assert_eq!(&message[dates.span.clone()], "from 3 to 7 December");
//! assert_eq!(dates.value.days(), 4); // pick up on the 3rd, return on the 7th
//! assert_eq!(dates.value.describe("en"), "Thu 3 Dec to Mon 7 Dec 2026");
//! assert_eq!(dates.value.describe("es-MX"), "del jue 3 dic al lun 7 dic de 2026");
//!
//! // A rental length extends a start date, or comes alone for the caller to apply.
//! let message = "Price of an electric car for a week from tomorrow?";
//! let dates = EntityExtractor::new().extract(message, today).dates.expect("dates");
//! assert_eq!(&message[dates.span.clone()], "for a week from tomorrow");
//! assert_eq!(dates.value.describe("en"), "Fri 27 Nov to Fri 4 Dec 2026");
//! let length = EntityExtractor::new().extract("por dos semanas", today).duration_days;
//! assert_eq!(length.map(|found| found.value), Some(14));
//! ```
//!
//! # Words
//!
//! The message is read as a sequence of words: case-insensitively and accent-insensitively (letters
//! are lowercased, canonically decomposed and stripped of their combining marks, so `ÉLECTRIQUE`,
//! `électrique` and `electrique` are the same word). Every run of characters that are not letters or
//! digits separates words (`aujourd'hui` is the two words `aujourd hui`), except that a hyphen or a
//! dash is kept as a word of its own: `pick-up` is not `pick up`, which is what lets "pick-up" name
//! the class while "pick up the car" does not.
//!
//! # Vehicle classes
//!
//! Each class has synonyms, matched as whole words (`van` does not match `vanilla`, `ev` does not
//! match `events`) with one Aho-Corasick automaton; the longest synonym starting at a place wins
//! (`pickup truck` over `pickup`), and when several classes are named, the first in the text wins.
//! A class's own name always matches (a host class `camper-van` matches `camper-van` and
//! `camper van`). [`EntityExtractor::new`] knows the nine [`VehicleClass::STANDARD`] classes in
//! English, Spanish and French, singular and plural:
//!
//! - `economy`: economy, economic, economical, cheap car, small car, budget car, económico, coche
//!   barato, coche pequeño, économique, petite voiture …
//! - `compact`: compact, compacto, compacte …
//! - `sedan`: sedan, saloon, sedán, berlina, berline …
//! - `suv`: SUV, 4x4, 4WD, four wheel drive, jeep, crossover, todoterreno, tout-terrain …
//! - `minivan`: minivan, van, MPV, people carrier, 7 seater, seven seater, monovolumen, furgoneta,
//!   monospace, 7 places …
//! - `convertible`: convertible, cabrio, cabriolet, soft top, descapotable, décapotable …
//! - `luxury`: luxury, premium, lujo, luxe, prestige …
//! - `pickup`: pickup, pick-up, pickup truck, pick up truck, camioneta …
//! - `electric`: electric, EV, Tesla, eléctrico, électrique …
//!
//! Words that are also the keywords of ordinary questions are left out on purpose: "pick up" (two
//! words, "where do I pick up the car?") is not the pickup class, nor is "pickup"/"pick-up" right
//! before time, location, point, date, address, place, desk, counter, hour(s), service, area, spot,
//! office, window or instructions ("what is the pick-up time?"); and "cheap" / "barato" / "pas
//! cher" alone are pricing words, not the economy class ("cheap car", "coche barato" are).
//! [`EntityExtractor::with_class_synonyms`] adds a host's own classes and words.
//!
//! # Dates
//!
//! A [`DateRange`] is pick-up date .. return date; an expression naming one day gives
//! [`DateRange::day`]. Recognised expressions (a span covers the words listed; an article or "on"
//! before them is not part of it):
//!
//! - **today**: today, tonight, this evening, hoy, esta noche, aujourd'hui, ce soir.
//! - **tomorrow**: tomorrow, mañana, demain. "Mañana" right after `la`, `esta`, `una` or `cada`
//!   is the morning ("por la mañana", "de la mañana", "esta mañana"), not tomorrow.
//! - **the day after tomorrow**: day after tomorrow, pasado mañana, après-demain (après demain).
//! - **this weekend** (the coming Saturday to Monday; on a Saturday today to Monday, on a Sunday
//!   today to Monday): this weekend, this coming weekend, weekend, week-end, este fin de semana, fin
//!   de semana, finde, ce week-end, ce weekend.
//! - **next weekend** (this weekend's Saturday plus 7 days, to the Monday after): next weekend,
//!   próximo fin de semana, fin de semana que viene, fin de semana próximo, week-end prochain,
//!   prochain week-end. So on a Monday to Friday "next weekend" is the weekend after the coming one,
//!   and on a Sunday it is the coming Saturday.
//! - **this week** (today to next Monday): this week, esta semana, cette semaine.
//! - **next week** (next Monday to the Monday after): next week, semana que viene, próxima semana,
//!   semana próxima, semaine prochaine, prochaine semaine.
//! - **weekdays**: monday … sunday, lunes … domingo, lundi … dimanche, optionally after "this",
//!   "coming", "este", "ce". A bare weekday is the next such day *on or after today* (on a Friday,
//!   "friday" is today). With "next", "próximo", "prochain" before it or "que viene", "próximo",
//!   "prochain" after it, it is the next such day *strictly after today* (on a Friday, "next friday"
//!   is in 7 days; on a Thursday it is tomorrow). A weekday (also abbreviated: "Sat", "sáb",
//!   "sam.") followed by an explicit date is that date ("Friday 4 December").
//! - **explicit dates**: ISO `2026-12-03`; day then month: `3 December`, `3rd of December`, `3 Dec`,
//!   `3 de diciembre`, `3 décembre`, `1er décembre`; month then day: `December 3`, `December 3rd`,
//!   `dec 3`; each with an optional year (`3 December 2027`, `December 3, 2027`,
//!   `3 de diciembre de 2027`; years 2000 to 2199). Month names in English, Spanish and French with
//!   their abbreviations (jan, feb, sept, ene, dic, janv, févr, déc …). Ordinal suffixes `st`,
//!   `nd`, `rd`, `th`, `er`, `re`, `o`, `º` are accepted after the day.
//! - **ranges**: `[opener] start connector end`, where start and end are any of the one-day forms
//!   above, or a bare day number when the other end names the month:
//!   - openers: from, between, de, del, desde, entre, du, a partir de/del/du;
//!   - connectors: to, until, till, through, `-`, al, hasta, au, jusqu'au, jusqu'à; "a"/"à" only
//!     after an opener; and, y, et only after between/entre;
//!   - e.g. `from 3 to 7 December`, `3-7 December`, `3 to 7 Dec`, `December 3 to 7`,
//!     `December 3-7, 2027`, `from 3 December to 7 December`, `between 3 and 7 December`,
//!     `from 30 December to 2 January`, `28 February to 3 March`, `2026-12-03 to 2026-12-07`,
//!     `from 2026-12-03 until 2026-12-07`, `del 3 al 7 de diciembre`,
//!     `desde el 3 hasta el 7 de diciembre`, `de lunes a viernes`, `du 3 au 7 décembre`,
//!     `du lundi au vendredi`, `from friday to sunday`, `from tomorrow until 3 December`.
//!
//!   The end is the return date: "from 3 to 7 December" is picked up on the 3rd and returned on
//!   the 7th, four rental days. A weekday as the end is the first such day after the start.
//!
//! **Year inference.** A date without a year is its next occurrence on or after today (in late
//! November "3 January" is next January, "26 November" today and "25 November" next year; "29
//! February" is the next leap day). In a range, an end without a month or year takes the start's;
//! when both ends name their month and the end's month and day come before the start's, the end is
//! in the following year (`from 30 December to 2 January`). A start without a year when the end has
//! one takes the end's year, or the year before if it would otherwise come after the end. A bare
//! day never moves to another year: `December 7 to 3` is not a range.
//!
//! **Invalid dates** give no dates at all (never a panic): a day that does not exist ("31 April",
//! "30 February", "0 May", "29 February 2027", `2026-13-01`) or a range whose end is not after its
//! start ("from 7 to 3 December"). Numbers that are not followed or preceded by a month ("I need 3
//! cars", "7 seater") are not dates.
//!
//! **Which one.** The first date expression in the message wins; at the same place the longest
//! one wins, so a range beats the single date it starts with. If that first expression is invalid,
//! the message has no dates (a later expression is not used).
//!
//! # Rental lengths
//!
//! A rental length is `[preposition] number [-] unit`, e.g. `for 10 days`, `for two weeks`,
//! `3 nights`, `a 3-day rental`, `por una semana`, `durante 3 días`, `pour 3 jours`,
//! `pendant une semaine`:
//!
//! - prepositions (part of the span): for, para, por, durante, pour, pendant;
//! - numbers: digits, or one to ten in words: a, an, one, two … ten; un, uno, una, dos … diez; un,
//!   une, deux … dix;
//! - units: day(s), night(s), week(s); día(s), noche(s), semana(s); jour(s), journée(s), nuit(s),
//!   semaine(s). A week is 7 days; a night is a rental day ("3 nights" is 3 days).
//!
//! A length of 0 or more than 366 days is no rental length. Nor are:
//!
//! - a number meaning 1 written as a word (a, an, one, un, uno, una, une) without a preposition,
//!   unless a start link and the start date follow right after the unit ("a week from tomorrow",
//!   "une semaine à partir de demain"; links: from, starting, starting on, starting from,
//!   beginning, beginning on, desde, a partir de, a partir del, empezando, comenzando, à partir de,
//!   à partir du, dès). Alone, "a day" is more often a rate ("how much is it a day?") and "one day"
//!   some day;
//! - a number right after in, within, after, every, each, per, last, past, first, than, least, up
//!   to, over, under, minimum, maximum, min, max, en, dans, cada, hace, tras, después de, más de,
//!   menos de, al menos, il y a, après, plus de, moins de, au moins, par ("in 3 days", "every 2
//!   weeks", "more than 7 days", "il y a 3 jours");
//! - a unit followed by ago, before, beforehand, after, later, late, earlier, early, prior, in
//!   advance, notice, antes, después, tarde, más tarde, de antelación, de anticipación, de retraso,
//!   avant, après, plus tard, à l'avance, d'avance, en avance, de retard, en retard ("cancel 2 days
//!   before"), or by a rate: a, an, per, each, every, por, al, a la, cada, par, chaque and a unit
//!   ("7 days a week", "2 días por semana", "3 jours par semaine");
//! - the second number of a vague length: a number, then `-`, to, or, and, o, a, y, ou or et
//!   ("2 or 3 days", "3-5 days", "entre 2 y 3 días");
//! - "week" starting a weekend ("un week-end" is the weekend). "7 seater", "3 cars", "2 adults"
//!   name no unit.
//!
//! **With dates.** The first date expression is found as above (rental lengths play no part in
//! it); the first rental length whose words are outside it then combines with it, wherever it is
//! in the message:
//!
//! - a one-day expression is the pick-up date and the length gives the return date:
//!   `for 10 days from 1 December`, `from 1 December for 10 days` and
//!   `I need it for 10 days, pick-up on 1 December` are 1 to 11 December; `a week from tomorrow`
//!   on 30 December 2026 is 31 December to 7 January 2027; `for 3 days starting Monday`,
//!   `durante 3 días desde el lunes`. The span runs from the first word of one to the last word
//!   of the other: `for 10 days from 1 December`, `1 December for 10 days` (an opener before a
//!   one-day expression is not part of it);
//! - a range, a weekend or a week wins: `from 3 to 7 December for 2 days` is 3 to 7 December,
//!   with the range's span, and no rental length;
//! - no date expression: the length is [`Entities::duration_days`], for the caller to apply to
//!   dates named earlier ([`DateRange::for_days`]);
//! - an invalid first date expression: neither dates nor a rental length.
//!
//! The first rental length decides: one of more than 366 days leaves a one-day expression one day.
//!
//! [`DateRange::describe`] and [`VehicleClass::label`] write the values back in the visitor's
//! language, e.g. for the bot's confirmation ("an SUV, Thu 3 Dec to Mon 7 Dec 2026"), which is how
//! a visitor notices a choice above that was not what they meant.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};
use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use unicode_normalization::char::{decompose_canonical, is_combining_mark};

use crate::{Error, Result};

/// A kind of car (`economy`, `suv`, …): a lowercase ASCII name the catalog and the extractor share.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VehicleClass(String);

impl VehicleClass {
    /// Small, cheap cars.
    pub const ECONOMY: &'static str = "economy";
    /// A size up from economy.
    pub const COMPACT: &'static str = "compact";
    /// Mid-size saloons.
    pub const SEDAN: &'static str = "sedan";
    /// Sport utility vehicles and 4x4s.
    pub const SUV: &'static str = "suv";
    /// Minivans and people carriers.
    pub const MINIVAN: &'static str = "minivan";
    /// Soft tops and cabriolets.
    pub const CONVERTIBLE: &'static str = "convertible";
    /// Premium cars.
    pub const LUXURY: &'static str = "luxury";
    /// Pickup trucks.
    pub const PICKUP: &'static str = "pickup";
    /// Battery-electric cars.
    pub const ELECTRIC: &'static str = "electric";

    /// The classes the extractor knows synonyms for in every shipped language.
    pub const STANDARD: [&'static str; 9] = [
        VehicleClass::ECONOMY,
        VehicleClass::COMPACT,
        VehicleClass::SEDAN,
        VehicleClass::SUV,
        VehicleClass::MINIVAN,
        VehicleClass::CONVERTIBLE,
        VehicleClass::LUXURY,
        VehicleClass::PICKUP,
        VehicleClass::ELECTRIC,
    ];

    /// A class name: 1-40 characters of `a-z`, `0-9`, `-` and `_`.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let ok = (1..=40).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(VehicleClass(name))
        } else {
            Err(Error::InvalidId {
                kind: "vehicle class",
                value: crate::types::truncate_for_error(&name),
            })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VehicleClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for VehicleClass {
    type Error = Error;
    fn try_from(name: String) -> Result<Self> {
        VehicleClass::new(name)
    }
}

impl From<VehicleClass> for String {
    fn from(class: VehicleClass) -> Self {
        class.0
    }
}

/// A rental period: the pick-up date and the (later) return date. One day's rental of the 5th is
/// `5th..6th`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "UncheckedDateRange")]
pub struct DateRange {
    /// Pick-up date.
    pub start: NaiveDate,
    /// Return date, after `start`.
    pub end: NaiveDate,
}

impl DateRange {
    /// A period; [`Error::InvalidRequest`] unless `end` is after `start`.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Self> {
        if end <= start {
            return Err(Error::InvalidRequest(format!(
                "a rental must end after it starts ({start} to {end})"
            )));
        }
        Ok(DateRange { start, end })
    }

    /// One day's rental starting on `day`.
    pub fn day(day: NaiveDate) -> Self {
        DateRange {
            start: day,
            end: day.succ_opt().unwrap_or(day),
        }
    }

    /// A rental of `days` days picked up on `start` (`for_days(5th, 2)` is `5th..7th`); `None` for 0
    /// days or past the end of the calendar.
    pub fn for_days(start: NaiveDate, days: u32) -> Option<Self> {
        let end = start.checked_add_days(Days::new(u64::from(days)))?;
        DateRange::new(start, end).ok()
    }

    /// Rental days (nights between pick-up and return).
    pub fn days(&self) -> u32 {
        (self.end - self.start).num_days().max(1) as u32
    }

    /// Each rented day, from `start` up to the day before `end`.
    pub fn iter_days(&self) -> impl Iterator<Item = NaiveDate> {
        self.start.iter_days().take(self.days() as usize)
    }

    /// Whether `day` is one of the rented days.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.start <= day && day < self.end
    }
}

/// A [`DateRange`] as read, before its check.
#[derive(Deserialize)]
struct UncheckedDateRange {
    start: NaiveDate,
    end: NaiveDate,
}

impl TryFrom<UncheckedDateRange> for DateRange {
    type Error = Error;
    fn try_from(unchecked: UncheckedDateRange) -> Result<Self> {
        DateRange::new(unchecked.start, unchecked.end)
    }
}

/// The primary subtag of a language tag, as written: `es` for `es-MX`, `ES` for `ES-mx` (compare
/// with `eq_ignore_ascii_case`).
pub fn primary_language(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or(tag)
}

/// A value found in a message and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found<T> {
    /// The value.
    pub value: T,
    /// Byte range of the words it came from, in the message as given.
    pub span: Range<usize>,
}

/// What a message names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entities {
    /// The first vehicle class named.
    pub vehicle_class: Option<Found<VehicleClass>>,
    /// The first date or date range named; a rental length named with a single date extends it
    /// ("for 10 days from 1 December").
    pub dates: Option<Found<DateRange>>,
    /// A rental length in days (1 to 366) named without any date ("for two weeks", "3 nights"), for
    /// the caller to apply to dates named earlier: see [`DateRange::for_days`]. `None` when the
    /// message names dates.
    pub duration_days: Option<Found<u32>>,
}

impl VehicleClass {
    /// The class's name for a visitor speaking `language` (a language tag such as `es-MX`): the
    /// nine standard classes in English, Spanish and French (`SUV`, `descapotable`, `berline` …);
    /// any other class, or any other language, gives the class name with `-` and `_` as spaces.
    pub fn label(&self, language: &str) -> String {
        let language = primary_language(language).to_ascii_lowercase();
        let known = match (language.as_str(), self.as_str()) {
            ("en", VehicleClass::ECONOMY) => "economy",
            ("en", VehicleClass::COMPACT) => "compact",
            ("en", VehicleClass::SEDAN) => "sedan",
            ("en", VehicleClass::SUV) => "SUV",
            ("en", VehicleClass::MINIVAN) => "minivan",
            ("en", VehicleClass::CONVERTIBLE) => "convertible",
            ("en", VehicleClass::LUXURY) => "luxury",
            ("en", VehicleClass::PICKUP) => "pickup",
            ("en", VehicleClass::ELECTRIC) => "electric",
            ("es", VehicleClass::ECONOMY) => "económico",
            ("es", VehicleClass::COMPACT) => "compacto",
            ("es", VehicleClass::SEDAN) => "sedán",
            ("es", VehicleClass::SUV) => "SUV",
            ("es", VehicleClass::MINIVAN) => "monovolumen",
            ("es", VehicleClass::CONVERTIBLE) => "descapotable",
            ("es", VehicleClass::LUXURY) => "de lujo",
            ("es", VehicleClass::PICKUP) => "pickup",
            ("es", VehicleClass::ELECTRIC) => "eléctrico",
            ("fr", VehicleClass::ECONOMY) => "économique",
            ("fr", VehicleClass::COMPACT) => "compacte",
            ("fr", VehicleClass::SEDAN) => "berline",
            ("fr", VehicleClass::SUV) => "SUV",
            ("fr", VehicleClass::MINIVAN) => "monospace",
            ("fr", VehicleClass::CONVERTIBLE) => "cabriolet",
            ("fr", VehicleClass::LUXURY) => "de luxe",
            ("fr", VehicleClass::PICKUP) => "pick-up",
            ("fr", VehicleClass::ELECTRIC) => "électrique",
            _ => return self.as_str().replace(['-', '_'], " "),
        };
        known.to_owned()
    }
}

/// Abbreviated weekday names, Monday first, as [`DateRange::describe`] writes them.
const EN_WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const ES_WEEKDAYS: [&str; 7] = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"];
const FR_WEEKDAYS: [&str; 7] = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."];
/// Abbreviated month names, January first.
const EN_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const ES_MONTHS: [&str; 12] = [
    "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic",
];
const FR_MONTHS: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];

/// "Sat 5 Dec" (no year) with the given name tables; French writes the first of a month `1er`.
fn short_date(date: NaiveDate, weekdays: &[&str; 7], months: &[&str; 12], first: &str) -> String {
    let weekday = weekdays[date.weekday().num_days_from_monday() as usize % 7];
    let month = months[date.month0() as usize % 12];
    if date.day() == 1 {
        format!("{weekday} 1{first} {month}")
    } else {
        format!("{weekday} {} {month}", date.day())
    }
}

impl DateRange {
    /// The period for a visitor speaking `language` (a language tag such as `fr-CA`), with
    /// abbreviated weekday and month names and the year once at the end (both years when they
    /// differ); English for any language other than `es` and `fr`:
    ///
    /// | language | one day                   | several days                                   |
    /// |----------|---------------------------|------------------------------------------------|
    /// | en       | `Sat 5 Dec 2026`          | `Sat 5 Dec to Mon 7 Dec 2026`                  |
    /// | es       | `el sáb 5 dic de 2026`    | `del sáb 5 dic al lun 7 dic de 2026`           |
    /// | fr       | `le sam. 5 déc. 2026`     | `du sam. 5 déc. au lun. 7 déc. 2026`           |
    ///
    /// With different years: `Wed 30 Dec 2026 to Sat 2 Jan 2027`,
    /// `del mié 30 dic de 2026 al sáb 2 ene de 2027`, `du mer. 30 déc. 2026 au sam. 2 janv. 2027`.
    pub fn describe(&self, language: &str) -> String {
        let one_day = self.end <= self.start || self.start.succ_opt() == Some(self.end);
        let (start_year, end_year) = (self.start.year(), self.end.year());
        let language = primary_language(language).to_ascii_lowercase();
        match language.as_str() {
            "es" => {
                let start = short_date(self.start, &ES_WEEKDAYS, &ES_MONTHS, "");
                let end = short_date(self.end, &ES_WEEKDAYS, &ES_MONTHS, "");
                if one_day {
                    format!("el {start} de {start_year}")
                } else if start_year == end_year {
                    format!("del {start} al {end} de {end_year}")
                } else {
                    format!("del {start} de {start_year} al {end} de {end_year}")
                }
            }
            "fr" => {
                let start = short_date(self.start, &FR_WEEKDAYS, &FR_MONTHS, "er");
                let end = short_date(self.end, &FR_WEEKDAYS, &FR_MONTHS, "er");
                if one_day {
                    format!("le {start} {start_year}")
                } else if start_year == end_year {
                    format!("du {start} au {end} {end_year}")
                } else {
                    format!("du {start} {start_year} au {end} {end_year}")
                }
            }
            _ => {
                let start = short_date(self.start, &EN_WEEKDAYS, &EN_MONTHS, "");
                let end = short_date(self.end, &EN_WEEKDAYS, &EN_MONTHS, "");
                if one_day {
                    format!("{start} {start_year}")
                } else if start_year == end_year {
                    format!("{start} to {end} {end_year}")
                } else {
                    format!("{start} {start_year} to {end} {end_year}")
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Words
// ---------------------------------------------------------------------------------------------

/// A message read as words (see the module docs), normalised once for both the class automaton and
/// the date grammar.
#[derive(Clone, Debug, Default)]
struct Words {
    /// The normalised words joined by single spaces, with a space before and after
    /// (`" from 3 to 7 december "`), so a pattern `" a b "` found in it is always whole words.
    text: String,
    words: Vec<Word>,
}

/// One word of [`Words`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Word {
    /// Byte range of the normalised word in [`Words::text`]: lowercased, without accents; `-` for a
    /// hyphen or dash.
    norm_start: usize,
    norm_end: usize,
    /// Byte range of the word in the message as given.
    start: usize,
    end: usize,
    /// What the date grammar knows about the word: [`Table::bit`]s and [`ANCHOR`]; set by
    /// [`Words::mark_date_words`].
    flags: u32,
}

fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        c.is_alphanumeric() || is_combining_mark(c)
    }
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2014}' | '\u{2212}')
}

/// Appends `c` in matching form: lowercase, decomposed, without combining marks, with the folds
/// lowercasing misses (`ß` → `ss`, final `ς` → `σ`) and the ligatures `œ`, `æ` spelt out.
fn fold_into(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    for lower in c.to_lowercase() {
        decompose_canonical(lower, |d| match d {
            d if is_combining_mark(d) => {}
            'ß' => out.push_str("ss"),
            'ς' => out.push('σ'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            other => out.push(other),
        });
    }
}

impl Words {
    /// The words of `text`: runs of letters, digits and combining marks, and each hyphen or dash on
    /// its own.
    fn new(text: &str) -> Words {
        // Folding rarely lengthens a word; words are rarely under 3 bytes with their separator.
        let mut words = Words {
            text: String::with_capacity(text.len() + 2),
            words: Vec::with_capacity(text.len() / 3 + 1),
        };
        words.text.push(' ');
        let mut in_word = false;
        for (index, ch) in text.char_indices() {
            let end = index + ch.len_utf8();
            if is_word_char(ch) {
                if !in_word {
                    in_word = true;
                    words.start_word(index);
                }
                fold_into(ch, &mut words.text);
                if let Some(word) = words.words.last_mut() {
                    word.end = end;
                }
            } else {
                if in_word {
                    in_word = false;
                    words.end_word();
                }
                if is_dash(ch) {
                    words.start_word(index);
                    words.text.push('-');
                    if let Some(word) = words.words.last_mut() {
                        word.end = end;
                    }
                    words.end_word();
                }
            }
        }
        if in_word {
            words.end_word();
        }
        words
    }

    /// Opens a word at byte `start` of the message.
    fn start_word(&mut self, start: usize) {
        self.words.push(Word {
            norm_start: self.text.len(),
            norm_end: self.text.len(),
            start,
            end: start,
            flags: 0,
        });
    }

    /// Closes the last word: a space after it, or dropped if it folded to nothing (a lone
    /// combining mark).
    fn end_word(&mut self) {
        match self.words.last_mut() {
            Some(word) if self.text.len() > word.norm_start => {
                word.norm_end = self.text.len();
                self.text.push(' ');
            }
            _ => {
                self.words.pop();
            }
        }
    }

    fn len(&self) -> usize {
        self.words.len()
    }

    fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The normalised word `i`.
    fn word(&self, i: usize) -> Option<&str> {
        let word = self.words.get(i)?;
        self.text.get(word.norm_start..word.norm_end)
    }

    /// The byte range in the message as given of words `first..end` (not empty).
    fn span(&self, words: Range<usize>) -> Option<Range<usize>> {
        let first = self.words.get(words.start)?;
        let last = self.words.get(words.end.checked_sub(1)?)?;
        Some(first.start..last.end)
    }

    /// Sets each word's [`Word::flags`] from the [`Lexicon`] (one pass of its automaton); whether
    /// any word is an [`ANCHOR`] or starts with a digit, i.e. whether the message may name dates
    /// or a rental length at all.
    fn mark_date_words(&mut self) -> bool {
        let lexicon = lexicon();
        let Some(automaton) = &lexicon.automaton else {
            // No automaton (never expected): every word may be anything.
            self.words.iter_mut().for_each(|w| w.flags = u32::MAX);
            return !self.words.is_empty();
        };
        let mut anchored = false;
        let mut next = 0;
        for found in automaton.find_iter(self.text.as_str()) {
            // Patterns are " word": a whole word only if a space follows.
            if self.text.as_bytes().get(found.end()) != Some(&b' ') {
                continue;
            }
            let start = found.start() + 1;
            while self.words.get(next).is_some_and(|w| w.norm_start < start) {
                next += 1;
            }
            if let Some(word) = self.words.get_mut(next) {
                if word.norm_start == start {
                    word.flags = lexicon
                        .flags
                        .get(found.pattern().as_usize())
                        .copied()
                        .unwrap_or(0);
                    anchored |= word.flags & ANCHOR != 0;
                }
            }
        }
        anchored
            || self.words.iter().any(|w| {
                self.text
                    .as_bytes()
                    .get(w.norm_start)
                    .is_some_and(u8::is_ascii_digit)
            })
    }
}

// ---------------------------------------------------------------------------------------------
// Vehicle classes
// ---------------------------------------------------------------------------------------------

/// The built-in synonyms of the standard classes (written naturally; they are normalised).
const STANDARD_SYNONYMS: [(&str, &[&str]); 9] = [
    (
        VehicleClass::ECONOMY,
        &[
            "economy",
            "economic",
            "economical",
            "cheap car",
            "cheap cars",
            "small car",
            "small cars",
            "budget car",
            "budget cars",
            "económico",
            "económicos",
            "económica",
            "económicas",
            "coche barato",
            "coches baratos",
            "carro barato",
            "carros baratos",
            "auto barato",
            "autos baratos",
            "coche pequeño",
            "coches pequeños",
            "carro pequeño",
            "auto pequeño",
            "économique",
            "économiques",
            "petite voiture",
            "petites voitures",
            "voiture pas chère",
            "voitures pas chères",
        ],
    ),
    (
        VehicleClass::COMPACT,
        &[
            "compact",
            "compacts",
            "compacto",
            "compactos",
            "compacta",
            "compactas",
            "compacte",
            "compactes",
        ],
    ),
    (
        VehicleClass::SEDAN,
        &[
            "sedan", "sedans", "saloon", "saloons", "sedán", "sedanes", "berlina", "berlinas",
            "berline", "berlines",
        ],
    ),
    (
        VehicleClass::SUV,
        &[
            "suv",
            "suvs",
            "4x4",
            "4x4s",
            "4wd",
            "four wheel drive",
            "four-wheel drive",
            "four-wheel-drive",
            "jeep",
            "jeeps",
            "crossover",
            "crossovers",
            "todoterreno",
            "todoterrenos",
            "todo terreno",
            "tout-terrain",
            "tout terrain",
            "tout-terrains",
        ],
    ),
    (
        VehicleClass::MINIVAN,
        &[
            "minivan",
            "minivans",
            "mini van",
            "van",
            "vans",
            "mpv",
            "mpvs",
            "people carrier",
            "people carriers",
            "7 seater",
            "7-seater",
            "7 seaters",
            "seven seater",
            "seven-seater",
            "8 seater",
            "8-seater",
            "monovolumen",
            "monovolúmenes",
            "furgoneta",
            "furgonetas",
            "7 plazas",
            "siete plazas",
            "monospace",
            "monospaces",
            "7 places",
            "sept places",
        ],
    ),
    (
        VehicleClass::CONVERTIBLE,
        &[
            "convertible",
            "convertibles",
            "cabrio",
            "cabrios",
            "cabriolet",
            "cabriolets",
            "soft top",
            "soft-top",
            "descapotable",
            "descapotables",
            "décapotable",
            "décapotables",
        ],
    ),
    (
        VehicleClass::LUXURY,
        &["luxury", "premium", "lujo", "luxe", "prestige"],
    ),
    (
        VehicleClass::PICKUP,
        &[
            "pickup",
            "pickups",
            "pick-up",
            "pick-ups",
            "pickup truck",
            "pickup trucks",
            "pick-up truck",
            "pick-up trucks",
            "pick up truck",
            "pick up trucks",
            "camioneta",
            "camionetas",
        ],
    ),
    (
        VehicleClass::ELECTRIC,
        &[
            "electric",
            "electrics",
            "ev",
            "evs",
            "tesla",
            "teslas",
            "eléctrico",
            "eléctricos",
            "eléctrica",
            "eléctricas",
            "électrique",
            "électriques",
        ],
    ),
];

/// Phrases that start with a class synonym but name no class: "pickup" followed by these words
/// is the collection of the car ("what is the pickup time?"), not the pickup class.
const PICKUP_WORDS: [&str; 2] = ["pickup", "pick-up"];
const NOT_A_PICKUP_AFTER: [&str; 20] = [
    "time",
    "times",
    "location",
    "locations",
    "point",
    "points",
    "date",
    "dates",
    "address",
    "place",
    "desk",
    "counter",
    "hour",
    "hours",
    "service",
    "area",
    "spot",
    "office",
    "window",
    "instructions",
];

/// One synonym in the automaton.
#[derive(Clone)]
struct ClassPattern {
    /// The normalised words with a space before, between and after.
    text: String,
    /// `None` for a phrase that names no class (see [`NOT_A_PICKUP_AFTER`]).
    class: Option<VehicleClass>,
    /// Number of words.
    words: usize,
}

/// Finds the vehicle class and the dates a message names (see the [module docs](self) for the
/// vocabulary, the date grammar and its choices). Cheap to clone; build it once.
#[derive(Clone)]
pub struct EntityExtractor {
    patterns: Vec<ClassPattern>,
    /// Pattern text → index in `patterns`.
    index: HashMap<String, usize>,
    /// Over `patterns`, leftmost-longest; `None` without patterns.
    automaton: Option<AhoCorasick>,
}

impl fmt::Debug for EntityExtractor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut classes: Vec<&str> = self
            .patterns
            .iter()
            .filter_map(|p| p.class.as_ref().map(VehicleClass::as_str))
            .collect();
        classes.sort_unstable();
        classes.dedup();
        f.debug_struct("EntityExtractor")
            .field("classes", &classes)
            .field("synonyms", &self.patterns.len())
            .finish()
    }
}

impl Default for EntityExtractor {
    fn default() -> Self {
        EntityExtractor::new()
    }
}

impl EntityExtractor {
    /// An extractor with the built-in vocabulary of the nine [`VehicleClass::STANDARD`] classes in
    /// English, Spanish and French.
    pub fn new() -> Self {
        let mut extractor = EntityExtractor {
            patterns: Vec::new(),
            index: HashMap::new(),
            automaton: None,
        };
        for (name, synonyms) in STANDARD_SYNONYMS {
            // The standard names are valid class names.
            if let Ok(class) = VehicleClass::new(name) {
                extractor.add_class(&class, synonyms.iter().copied());
            }
        }
        for pickup in PICKUP_WORDS {
            for word in NOT_A_PICKUP_AFTER {
                extractor.add_synonym(None, &format!("{pickup} {word}"));
            }
        }
        extractor.rebuild();
        extractor
    }

    /// Adds `class` (its name always matches, with `-` and `_` read as spaces too) and `synonyms`
    /// for it. A synonym is matched like the built-in ones: whole words, case and accents ignored.
    /// A word another class already had now means `class`; synonyms with no letter or digit are
    /// ignored.
    pub fn with_class_synonyms(
        mut self,
        class: VehicleClass,
        synonyms: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let synonyms: Vec<String> = synonyms.into_iter().map(Into::into).collect();
        self.add_class(&class, synonyms.iter().map(String::as_str));
        self.rebuild();
        self
    }

    fn add_class<'a>(&mut self, class: &VehicleClass, synonyms: impl IntoIterator<Item = &'a str>) {
        let spaced = class.as_str().replace(['-', '_'], " ");
        self.add_synonym(Some(class), class.as_str());
        self.add_synonym(Some(class), &spaced);
        for synonym in synonyms {
            self.add_synonym(Some(class), synonym);
        }
    }

    /// Adds one phrase for `class` (`None`: a phrase that names no class).
    fn add_synonym(&mut self, class: Option<&VehicleClass>, synonym: &str) {
        let words = Words::new(synonym);
        if words.is_empty() {
            return;
        }
        let text = words.text;
        match self.index.get(&text) {
            Some(&existing) => {
                if let Some(pattern) = self.patterns.get_mut(existing) {
                    pattern.class = class.cloned();
                }
            }
            None => {
                self.index.insert(text.clone(), self.patterns.len());
                self.patterns.push(ClassPattern {
                    text,
                    class: class.cloned(),
                    words: words.words.len(),
                });
            }
        }
    }

    fn rebuild(&mut self) {
        self.automaton = if self.patterns.is_empty() {
            None
        } else {
            // A DFA searches fastest; beyond a few thousand synonyms its memory (about 1 KB per
            // synonym) is not worth it. Every pattern starts with a space: a prefilter would stop
            // at each space.
            let kind = (self.patterns.len() <= 2_000).then_some(AhoCorasickKind::DFA);
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(kind)
                .prefilter(false)
                .build(self.patterns.iter().map(|p| p.text.as_str()))
                .ok()
        };
    }

    /// The vehicle class, the dates and the rental length `text` names, dates relative to `today`
    /// (the visitor's or the site's local date). Deterministic; spans are byte ranges in `text`.
    pub fn extract(&self, text: &str, today: NaiveDate) -> Entities {
        let mut words = Words::new(text);
        let vehicle_class = self.find_class(&words);
        let (dates, duration_days) = find_dates(&mut words, today);
        Entities {
            vehicle_class,
            dates,
            duration_days,
        }
    }

    /// Only the first vehicle class `text` names.
    pub fn vehicle_class(&self, text: &str) -> Option<Found<VehicleClass>> {
        self.find_class(&Words::new(text))
    }

    /// Only the dates `text` names, relative to `today` (with a rental length when it names one):
    /// [`Entities::dates`] of [`EntityExtractor::extract`].
    pub fn dates(&self, text: &str, today: NaiveDate) -> Option<Found<DateRange>> {
        find_dates(&mut Words::new(text), today).0
    }

    fn find_class(&self, words: &Words) -> Option<Found<VehicleClass>> {
        let automaton = self.automaton.as_ref()?;
        let mut from = 0;
        loop {
            let input = Input::new(words.text.as_str()).range(from..);
            let found = automaton.find(input)?;
            let pattern = self.patterns.get(found.pattern().as_usize())?;
            let Some(class) = &pattern.class else {
                // A phrase that names no class: go on from its trailing space, which is the space
                // before the next word. Matches are at least " x ", so this always advances.
                from = found.end() - 1;
                continue;
            };
            // The match starts with the space before its first word.
            let first = words
                .words
                .binary_search_by_key(&(found.start() + 1), |w| w.norm_start)
                .ok()?;
            return Some(Found {
                value: class.clone(),
                span: words.span(first..first + pattern.words.max(1))?,
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

/// A one-day expression, before it is resolved against today (or a range's other end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Day {
    /// Today, tomorrow, …: already resolved.
    Fixed(NaiveDate),
    /// Day, month and year as written; `month: None` is a bare day number, only allowed as one end
    /// of a range whose other end names the month. Not validated yet.
    Calendar {
        day: u32,
        month: Option<u32>,
        year: Option<i32>,
    },
    /// A weekday: the next one on or after today, or strictly after today.
    Weekday {
        weekday: Weekday,
        strictly_after: bool,
    },
}

impl Day {
    fn month(&self) -> Option<u32> {
        match self {
            Day::Calendar { month, .. } => *month,
            _ => None,
        }
    }

    fn is_bare(&self) -> bool {
        matches!(self, Day::Calendar { month: None, .. })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Period {
    ThisWeekend,
    NextWeekend,
    ThisWeek,
    NextWeek,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expr {
    Day(Day),
    Period(Period),
    Range(Day, Day),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relative {
    Today,
    Tomorrow,
    DayAfterTomorrow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opener {
    Plain,
    Between,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Connector {
    Plain,
    /// "a"/"à": only after an opener ("de 3 a 7", not "3 December a 7 seater").
    AfterOpener,
    /// "and", "y", "et": only after "between"/"entre".
    AfterBetween,
}

/// Phrases of the date grammar with their values: normalised words separated by single spaces (a
/// hyphen may sit between two words in a message: "week-end", "après-demain").
///
/// `bit` marks, in [`Word::flags`], the words that start one of the phrases: the parser looks a table
/// up only at those words (at most words of a message, it looks up none).
struct Table<T: 'static> {
    bit: u32,
    phrases: &'static [(&'static str, T)],
}

/// Phrases of the date grammar without values; `bit` as in [`Table`].
struct Phrases {
    bit: u32,
    phrases: &'static [&'static str],
}

/// [`Word::flags`] bit of the words every date expression or rental length contains (unless it has
/// a number in digits): a message without them names no dates and is not parsed.
const ANCHOR: u32 = 1 << 31;

/// The anchors of the relative days and the periods; the weekdays and the [`UNITS`] are anchors
/// too. Each phrase of [`RELATIVE_DAYS`] and [`PERIODS`] contains one (a test checks it).
const ANCHOR_WORDS: &[&str] = &[
    "today", "tonight", "evening", "hoy", "noche", "hui", "soir", "tomorrow", "manana", "demain",
    "weekend", "week", "finde", "semana", "semaine",
];

/// Every word the date grammar looks up, and what it is: one automaton run over a message's
/// normalised text sets all its words' [`Word::flags`].
struct Lexicon {
    /// Leftmost-longest over `" word"` for each word (a match followed by a space is the whole
    /// word); `None` only if it failed to build.
    automaton: Option<AhoCorasick>,
    /// Per pattern, the word's flags.
    flags: Vec<u32>,
}

/// The lexicon, built on first use.
fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(Lexicon::new)
}

impl Lexicon {
    fn new() -> Lexicon {
        let mut flags: HashMap<&'static str, u32> = HashMap::new();
        for (word, bit) in first_words() {
            *flags.entry(word).or_default() |= bit;
        }
        let weekdays = WEEKDAYS.phrases.iter().map(|(word, _)| *word);
        let units = UNITS.phrases.iter().map(|(word, _)| *word);
        let anchors = ANCHOR_WORDS.iter().copied().chain(weekdays).chain(units);
        for word in anchors {
            *flags.entry(word).or_default() |= ANCHOR;
        }
        let (words, flags): (Vec<&str>, Vec<u32>) = flags.into_iter().unzip();
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .prefilter(false)
            .build(words.iter().map(|w| format!(" {w}")))
            .ok();
        Lexicon { automaton, flags }
    }
}

/// The first word of each phrase of each table, with the table's bit.
fn first_words() -> Vec<(&'static str, u32)> {
    fn table<T>(table: &Table<T>) -> impl Iterator<Item = (&'static str, u32)> {
        let bit = table.bit;
        table
            .phrases
            .iter()
            .map(move |(phrase, _)| (first_word(phrase), bit))
    }
    fn phrases(phrases: &Phrases) -> impl Iterator<Item = (&'static str, u32)> {
        let bit = phrases.bit;
        phrases
            .phrases
            .iter()
            .map(move |phrase| (first_word(phrase), bit))
    }
    fn first_word(phrase: &'static str) -> &'static str {
        phrase.split(' ').next().unwrap_or(phrase)
    }
    table(&RELATIVE_DAYS)
        .chain(table(&PERIODS))
        .chain(table(&WEEKDAYS))
        .chain(phrases(&WEEKDAY_ABBREVIATIONS))
        .chain(table(&WEEKDAY_BEFORE))
        .chain(table(&WEEKDAY_AFTER))
        .chain(table(&MONTHS))
        .chain(table(&OPENERS))
        .chain(table(&CONNECTORS))
        .chain(phrases(&DURATION_BEFORE))
        .chain(table(&NUMBER_WORDS))
        .chain(table(&UNITS))
        .chain(phrases(&START_LINKS))
        .chain(phrases(&NOT_A_DURATION_AFTER))
        .chain(phrases(&RATE_BEFORE))
        .collect()
}

const RELATIVE_DAYS: Table<Relative> = Table {
    bit: 1 << 0,
    phrases: &[
        ("today", Relative::Today),
        ("tonight", Relative::Today),
        ("this evening", Relative::Today),
        ("hoy", Relative::Today),
        ("esta noche", Relative::Today),
        ("aujourd hui", Relative::Today),
        ("ce soir", Relative::Today),
        ("tomorrow", Relative::Tomorrow),
        ("manana", Relative::Tomorrow),
        ("demain", Relative::Tomorrow),
        ("day after tomorrow", Relative::DayAfterTomorrow),
        ("pasado manana", Relative::DayAfterTomorrow),
        ("apres demain", Relative::DayAfterTomorrow),
    ],
};

/// Words right before "mañana" that make it "morning" rather than "tomorrow".
const MORNING_BEFORE: &[&str] = &["la", "esta", "una", "cada"];

const PERIODS: Table<Period> = Table {
    bit: 1 << 1,
    phrases: &[
        ("weekend", Period::ThisWeekend),
        ("week end", Period::ThisWeekend),
        ("this weekend", Period::ThisWeekend),
        ("this week end", Period::ThisWeekend),
        ("this coming weekend", Period::ThisWeekend),
        ("fin de semana", Period::ThisWeekend),
        ("este fin de semana", Period::ThisWeekend),
        ("finde", Period::ThisWeekend),
        ("este finde", Period::ThisWeekend),
        ("ce weekend", Period::ThisWeekend),
        ("ce week end", Period::ThisWeekend),
        ("next weekend", Period::NextWeekend),
        ("next week end", Period::NextWeekend),
        ("proximo fin de semana", Period::NextWeekend),
        ("fin de semana que viene", Period::NextWeekend),
        ("fin de semana proximo", Period::NextWeekend),
        ("proximo finde", Period::NextWeekend),
        ("finde que viene", Period::NextWeekend),
        ("weekend prochain", Period::NextWeekend),
        ("week end prochain", Period::NextWeekend),
        ("prochain weekend", Period::NextWeekend),
        ("prochain week end", Period::NextWeekend),
        ("this week", Period::ThisWeek),
        ("esta semana", Period::ThisWeek),
        ("cette semaine", Period::ThisWeek),
        ("next week", Period::NextWeek),
        ("semana que viene", Period::NextWeek),
        ("proxima semana", Period::NextWeek),
        ("semana proxima", Period::NextWeek),
        ("semaine prochaine", Period::NextWeek),
        ("prochaine semaine", Period::NextWeek),
    ],
};

const WEEKDAYS: Table<Weekday> = Table {
    bit: 1 << 2,
    phrases: &[
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("saturday", Weekday::Sat),
        ("sunday", Weekday::Sun),
        ("lunes", Weekday::Mon),
        ("martes", Weekday::Tue),
        ("miercoles", Weekday::Wed),
        ("jueves", Weekday::Thu),
        ("viernes", Weekday::Fri),
        ("sabado", Weekday::Sat),
        ("domingo", Weekday::Sun),
        ("lundi", Weekday::Mon),
        ("mardi", Weekday::Tue),
        ("mercredi", Weekday::Wed),
        ("jeudi", Weekday::Thu),
        ("vendredi", Weekday::Fri),
        ("samedi", Weekday::Sat),
        ("dimanche", Weekday::Sun),
    ],
};

/// Abbreviated weekdays: only read in front of an explicit date ("Sat 5 Dec").
const WEEKDAY_ABBREVIATIONS: Phrases = Phrases {
    bit: 1 << 3,
    phrases: &[
        "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun", "lun", "mar",
        "mie", "jue", "vie", "sab", "dom", "mer", "jeu", "ven", "sam", "dim",
    ],
};

/// Words before a weekday, and whether they mean "strictly after today".
const WEEKDAY_BEFORE: Table<bool> = Table {
    bit: 1 << 4,
    phrases: &[
        ("next", true),
        ("this", false),
        ("coming", false),
        ("this coming", false),
        ("proximo", true),
        ("este", false),
        ("prochain", true),
        ("ce", false),
    ],
};

/// Words after a weekday that mean "strictly after today".
const WEEKDAY_AFTER: Table<bool> = Table {
    bit: 1 << 5,
    phrases: &[("que viene", true), ("proximo", true), ("prochain", true)],
};

const MONTHS: Table<u32> = Table {
    bit: 1 << 6,
    phrases: &[
        ("january", 1),
        ("jan", 1),
        ("enero", 1),
        ("ene", 1),
        ("janvier", 1),
        ("janv", 1),
        ("february", 2),
        ("feb", 2),
        ("febrero", 2),
        ("fevrier", 2),
        ("fevr", 2),
        ("fev", 2),
        ("march", 3),
        ("mar", 3),
        ("marzo", 3),
        ("mars", 3),
        ("april", 4),
        ("apr", 4),
        ("abril", 4),
        ("abr", 4),
        ("avril", 4),
        ("avr", 4),
        ("may", 5),
        ("mayo", 5),
        ("mai", 5),
        ("june", 6),
        ("jun", 6),
        ("junio", 6),
        ("juin", 6),
        ("july", 7),
        ("jul", 7),
        ("julio", 7),
        ("juillet", 7),
        ("juil", 7),
        ("august", 8),
        ("aug", 8),
        ("agosto", 8),
        ("ago", 8),
        ("aout", 8),
        ("september", 9),
        ("sep", 9),
        ("sept", 9),
        ("septiembre", 9),
        ("setiembre", 9),
        ("set", 9),
        ("septembre", 9),
        ("october", 10),
        ("oct", 10),
        ("octubre", 10),
        ("octobre", 10),
        ("november", 11),
        ("nov", 11),
        ("noviembre", 11),
        ("novembre", 11),
        ("december", 12),
        ("dec", 12),
        ("diciembre", 12),
        ("dic", 12),
        ("decembre", 12),
    ],
};

const OPENERS: Table<Opener> = Table {
    bit: 1 << 7,
    phrases: &[
        ("from", Opener::Plain),
        ("de", Opener::Plain),
        ("del", Opener::Plain),
        ("desde", Opener::Plain),
        ("du", Opener::Plain),
        ("a partir de", Opener::Plain),
        ("a partir del", Opener::Plain),
        ("a partir du", Opener::Plain),
        ("between", Opener::Between),
        ("entre", Opener::Between),
    ],
};

const CONNECTORS: Table<Connector> = Table {
    bit: 1 << 8,
    phrases: &[
        ("to", Connector::Plain),
        ("until", Connector::Plain),
        ("till", Connector::Plain),
        ("til", Connector::Plain),
        ("through", Connector::Plain),
        ("thru", Connector::Plain),
        ("-", Connector::Plain),
        ("al", Connector::Plain),
        ("hasta", Connector::Plain),
        ("au", Connector::Plain),
        ("jusqu au", Connector::Plain),
        ("jusqu a", Connector::Plain),
        ("a", Connector::AfterOpener),
        ("and", Connector::AfterBetween),
        ("y", Connector::AfterBetween),
        ("et", Connector::AfterBetween),
    ],
};

/// Articles skipped after an opener, a connector or a weekday ("from the 3rd", "desde el 3").
const ARTICLES: &[&str] = &["the", "el", "le"];

/// Suffixes accepted after a day number: 3rd, 1er, 1º.
const ORDINAL_SUFFIXES: &[&str] = &["", "st", "nd", "rd", "th", "er", "re", "o", "º"];

/// Years accepted in dates.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2199;

/// The longest rental length read, in days.
const MAX_DURATION_DAYS: u32 = 366;

/// Prepositions before a rental length ("for 3 days", "por una semana"), part of its span.
const DURATION_BEFORE: Phrases = Phrases {
    bit: 1 << 9,
    phrases: &["for", "para", "por", "durante", "pour", "pendant"],
};

/// Numbers written as words. Those meaning 1 ("a", "un", "one" …) are also articles and pronouns:
/// without a preposition before them they count only right before a start date.
const NUMBER_WORDS: Table<u32> = Table {
    bit: 1 << 10,
    phrases: &[
        ("a", 1),
        ("an", 1),
        ("one", 1),
        ("two", 2),
        ("three", 3),
        ("four", 4),
        ("five", 5),
        ("six", 6),
        ("seven", 7),
        ("eight", 8),
        ("nine", 9),
        ("ten", 10),
        ("un", 1),
        ("uno", 1),
        ("una", 1),
        ("dos", 2),
        ("tres", 3),
        ("cuatro", 4),
        ("cinco", 5),
        ("seis", 6),
        ("siete", 7),
        ("ocho", 8),
        ("nueve", 9),
        ("diez", 10),
        ("une", 1),
        ("deux", 2),
        ("trois", 3),
        ("quatre", 4),
        ("cinq", 5),
        ("sept", 7),
        ("huit", 8),
        ("neuf", 9),
        ("dix", 10),
    ],
};

/// Units of a rental length, in days: a night is a rental day too.
const UNITS: Table<u32> = Table {
    bit: 1 << 11,
    phrases: &[
        ("day", 1),
        ("days", 1),
        ("night", 1),
        ("nights", 1),
        ("week", 7),
        ("weeks", 7),
        ("dia", 1),
        ("dias", 1),
        ("noche", 1),
        ("noches", 1),
        ("semana", 7),
        ("semanas", 7),
        ("jour", 1),
        ("jours", 1),
        ("journee", 1),
        ("journees", 1),
        ("nuit", 1),
        ("nuits", 1),
        ("semaine", 7),
        ("semaines", 7),
    ],
};

/// Words linking a rental length to the start date after it ("a week from tomorrow").
const START_LINKS: Phrases = Phrases {
    bit: 1 << 12,
    phrases: &[
        "from",
        "starting",
        "starting on",
        "starting from",
        "beginning",
        "beginning on",
        "desde",
        "a partir de",
        "a partir del",
        "empezando",
        "comenzando",
        "a partir du",
        "des",
    ],
};

/// Words after a number and unit that make them something other than a rental length ("3 days
/// before", "2 días de antelación", "3 jours avant").
const NOT_A_DURATION_AFTER: Phrases = Phrases {
    bit: 1 << 13,
    phrases: &[
        "ago",
        "before",
        "beforehand",
        "after",
        "later",
        "late",
        "earlier",
        "early",
        "prior",
        "in advance",
        "notice",
        "antes",
        "despues",
        "tarde",
        "mas tarde",
        "de antelacion",
        "de anticipacion",
        "de retraso",
        "avant",
        "apres",
        "plus tard",
        "a l avance",
        "d avance",
        "en avance",
        "de retard",
        "en retard",
    ],
};

/// Words between a number and unit and another unit that make a rate, not a rental length ("7
/// days a week", "3 jours par semaine").
const RATE_BEFORE: Phrases = Phrases {
    bit: 1 << 14,
    phrases: &[
        "a", "an", "per", "each", "every", "por", "al", "a la", "cada", "par", "chaque",
    ],
};

/// Words right before a number that make it and its unit something other than a rental length
/// ("in 3 days", "every 2 weeks", "more than 7 days", "il y a 3 jours"); not needed after a
/// preposition from [`DURATION_BEFORE`].
const NOT_A_DURATION_BEFORE: &[&str] = &[
    "in",
    "within",
    "after",
    "every",
    "each",
    "per",
    "last",
    "past",
    "first",
    "than",
    "least",
    "up to",
    "over",
    "under",
    "minimum",
    "maximum",
    "min",
    "max",
    "en",
    "dans",
    "cada",
    "hace",
    "tras",
    "despues de",
    "mas de",
    "menos de",
    "al menos",
    "y a",
    "apres",
    "plus de",
    "moins de",
    "au moins",
    "par",
];

/// Words between two numbers that make the second one part of a vague length ("2 or 3 days",
/// "3-5 days"): not a rental length.
const BETWEEN_NUMBERS: &[&str] = &["-", "to", "or", "and", "o", "a", "y", "ou", "et"];

/// A rental length as read, before it is combined with the dates.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Duration {
    /// Days; `None` for 0 or more than [`MAX_DURATION_DAYS`] (no rental length).
    days: Option<u32>,
    /// Its words (with the preposition).
    words: Range<usize>,
    /// A number meaning 1 written as a word without a preposition ("a week"): a rental length only
    /// right before a start date.
    weak: bool,
}

/// The dates and the rental length a message names (see the module docs): the first date
/// expression, extended by a rental length when it is one day, or else the first rental length
/// alone.
fn find_dates(
    words: &mut Words,
    today: NaiveDate,
) -> (Option<Found<DateRange>>, Option<Found<u32>>) {
    if !words.mark_date_words() {
        return (None, None);
    }
    let parser = DateParser { words, today };
    let first = (0..words.len()).find_map(|i| {
        let (expr, end) = parser.expression(i)?;
        Some((expr, i..end))
    });
    match first {
        Some((expr, at)) => (parser.dates(expr, at), None),
        None => {
            let length = parser.first_duration(None).and_then(|length| {
                Some(Found {
                    value: length.days?,
                    span: words.span(length.words)?,
                })
            });
            (None, length)
        }
    }
}

fn ymd(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The first `weekday` on or after `from`.
fn on_or_after(from: NaiveDate, weekday: Weekday) -> Option<NaiveDate> {
    let ahead = (weekday.num_days_from_monday() + 7 - from.weekday().num_days_from_monday()) % 7;
    from.checked_add_days(Days::new(u64::from(ahead)))
}

fn add_days(date: NaiveDate, days: u64) -> Option<NaiveDate> {
    date.checked_add_days(Days::new(days))
}

struct DateParser<'a> {
    words: &'a Words,
    today: NaiveDate,
}

impl DateParser<'_> {
    fn word(&self, i: usize) -> Option<&str> {
        self.words.word(i)
    }

    /// Whether word `i` has `bit` ([`Table::bit`]): a phrase of that table may start there.
    fn starts(&self, i: usize, bit: u32) -> bool {
        self.words.words.get(i).is_some_and(|w| w.flags & bit != 0)
    }

    fn is(&self, i: usize, word: &str) -> bool {
        self.word(i) == Some(word)
    }

    /// The index after `phrase` if it starts at `i`.
    fn phrase(&self, i: usize, phrase: &str) -> Option<usize> {
        // The first word decides most calls: compare it (its first byte first) before splitting
        // the rest.
        let word = self.word(i)?;
        if phrase.as_bytes().first() != word.as_bytes().first() {
            return None;
        }
        let rest = phrase.strip_prefix(word)?;
        if rest.is_empty() {
            return Some(i + 1);
        }
        let mut j = i + 1;
        for word in rest.strip_prefix(' ')?.split(' ') {
            if word != "-" && self.is(j, "-") {
                j += 1;
            }
            if !self.is(j, word) {
                return None;
            }
            j += 1;
        }
        Some(j)
    }

    /// The longest phrase of `table` starting at `i`, its value and the index after it.
    fn longest<T: Copy>(&self, i: usize, table: &Table<T>) -> Option<(T, usize)> {
        if !self.starts(i, table.bit) {
            return None;
        }
        table
            .phrases
            .iter()
            .filter_map(|&(phrase, value)| Some((value, self.phrase(i, phrase)?)))
            .fold(None, |best: Option<(T, usize)>, (value, end)| match best {
                Some((_, best_end)) if best_end >= end => best,
                _ => Some((value, end)),
            })
    }

    /// The index after the longest phrase of `phrases` starting at `i`.
    fn longest_phrase(&self, i: usize, phrases: &Phrases) -> Option<usize> {
        if !self.starts(i, phrases.bit) {
            return None;
        }
        phrases
            .phrases
            .iter()
            .filter_map(|p| self.phrase(i, p))
            .max()
    }

    /// Skips one of `words` at `i`, if there.
    fn skip(&self, i: usize, words: &[&str]) -> usize {
        if words.iter().any(|w| self.is(i, w)) {
            i + 1
        } else {
            i
        }
    }

    /// A day number (1-2 digits, optional ordinal suffix), not validated.
    fn day_number(&self, i: usize) -> Option<u32> {
        let word = self.word(i)?;
        let digits = word.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=2).contains(&digits) || !ORDINAL_SUFFIXES.contains(&&word[digits..]) {
            return None;
        }
        word[..digits].parse().ok()
    }

    fn month(&self, i: usize) -> Option<u32> {
        self.longest(i, &MONTHS).map(|(month, _)| month)
    }

    fn year(&self, i: usize) -> Option<i32> {
        let word = self.word(i)?;
        if word.len() != 4 || !word.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        word.parse().ok().filter(|y| YEARS.contains(y))
    }

    /// An optional year after a date ("2027", "de 2027"): the year and the index after it.
    fn year_after(&self, i: usize) -> (Option<i32>, usize) {
        let j = self.skip(i, &["de"]);
        match self.year(j) {
            Some(year) => (Some(year), j + 1),
            None => (None, i),
        }
    }

    /// `2026-12-03`.
    fn iso(&self, i: usize) -> Option<(Day, usize)> {
        let year = self.year(i)?;
        let number = |j: usize| -> Option<u32> {
            let word = self.word(j)?;
            if (1..=2).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_digit()) {
                word.parse().ok()
            } else {
                None
            }
        };
        if !self.is(i + 1, "-") || !self.is(i + 3, "-") {
            return None;
        }
        let month = number(i + 2)?;
        let day = number(i + 4)?;
        let date = Day::Calendar {
            day,
            month: Some(month),
            year: Some(year),
        };
        Some((date, i + 5))
    }

    /// `3 December`, `3rd of December`, `3 de diciembre [de 2027]`.
    fn day_month(&self, i: usize) -> Option<(Day, usize)> {
        let day = self.day_number(i)?;
        let j = self.skip(i + 1, &["of", "de"]);
        let month = self.month(j)?;
        let (year, end) = self.year_after(j + 1);
        let month = Some(month);
        Some((Day::Calendar { day, month, year }, end))
    }

    /// `December 3`, `December the 3rd`, `dec 3 2027`.
    fn month_day(&self, i: usize) -> Option<(Day, usize)> {
        let month = self.month(i)?;
        let j = self.skip(i + 1, &["the"]);
        let day = self.day_number(j)?;
        let (year, end) = self.year_after(j + 1);
        let month = Some(month);
        Some((Day::Calendar { day, month, year }, end))
    }

    /// An explicit date (month named or ISO).
    fn calendar(&self, i: usize) -> Option<(Day, usize)> {
        longest_of([self.iso(i), self.day_month(i), self.month_day(i)])
    }

    fn relative(&self, i: usize) -> Option<(Day, usize)> {
        if !self.starts(i, RELATIVE_DAYS.bit) {
            return None;
        }
        let morning = i
            .checked_sub(1)
            .and_then(|p| self.word(p))
            .is_some_and(|w| MORNING_BEFORE.contains(&w));
        let (relative, end) = RELATIVE_DAYS
            .phrases
            .iter()
            .filter(|(phrase, _)| !(morning && *phrase == "manana"))
            .filter_map(|&(phrase, value)| Some((value, self.phrase(i, phrase)?)))
            .max_by_key(|&(_, end)| end)?;
        let date = match relative {
            Relative::Today => Some(self.today),
            Relative::Tomorrow => add_days(self.today, 1),
            Relative::DayAfterTomorrow => add_days(self.today, 2),
        }?;
        Some((Day::Fixed(date), end))
    }

    /// `friday`, `next friday`, `el viernes que viene`, `vendredi prochain`, `Friday 4 December`.
    fn weekday(&self, i: usize) -> Option<(Day, usize)> {
        let (strict_before, j) = match self.longest(i, &WEEKDAY_BEFORE) {
            Some((strict, j)) => (strict, j),
            None => (false, i),
        };
        if let Some((weekday, k)) = self.longest(j, &WEEKDAYS) {
            if let Some(date) = self.calendar(self.skip(k, ARTICLES)) {
                return Some(date);
            }
            let (strict_after, k) = match self.longest(k, &WEEKDAY_AFTER) {
                Some((strict, k)) => (strict, k),
                None => (false, k),
            };
            let strictly_after = strict_before || strict_after;
            return Some((
                Day::Weekday {
                    weekday,
                    strictly_after,
                },
                k,
            ));
        }
        if let Some(k) = self.longest_phrase(j, &WEEKDAY_ABBREVIATIONS) {
            return self.calendar(self.skip(k, ARTICLES));
        }
        None
    }

    /// Any one-day expression (not a bare day number).
    fn day(&self, i: usize) -> Option<(Day, usize)> {
        longest_of([self.relative(i), self.weekday(i), self.calendar(i)])
    }

    /// A one-day expression or a bare day number (`7`, `7th`, `7, 2027`), for the ends of a range.
    fn range_end(&self, i: usize) -> Option<(Day, usize)> {
        let bare = self.day_number(i).map(|day| {
            let (year, end) = self.year_after(i + 1);
            let month = None;
            (Day::Calendar { day, month, year }, end)
        });
        longest_of([self.day(i), bare])
    }

    fn range(&self, i: usize) -> Option<(Day, Day, usize)> {
        let (opener, j) = match self.longest(i, &OPENERS) {
            Some((opener, j)) => (Some(opener), j),
            None => (None, i),
        };
        let (start, j) = self.range_end(self.skip(j, ARTICLES))?;
        let (connector, j) = self.longest(j, &CONNECTORS)?;
        let allowed = match connector {
            Connector::Plain => true,
            Connector::AfterOpener => opener.is_some(),
            Connector::AfterBetween => opener == Some(Opener::Between),
        };
        if !allowed {
            return None;
        }
        let (end, j) = self.range_end(self.skip(j, ARTICLES))?;
        // A bare day borrows its month from the other end, which must name one.
        let borrows = |bare: &Day, other: &Day| bare.is_bare() && other.month().is_none();
        if borrows(&start, &end) || borrows(&end, &start) {
            return None;
        }
        Some((start, end, j))
    }

    fn period(&self, i: usize) -> Option<(Period, usize)> {
        self.longest(i, &PERIODS)
    }

    /// The longest expression starting at `i`; a range wins a tie.
    fn expression(&self, i: usize) -> Option<(Expr, usize)> {
        let range = self.range(i).map(|(s, e, end)| (Expr::Range(s, e), end));
        let period = self.period(i).map(|(p, end)| (Expr::Period(p), end));
        let day = self.day(i).map(|(d, end)| (Expr::Day(d), end));
        longest_of([range, period, day])
    }

    /// A number in digits or one of [`NUMBER_WORDS`], and whether it is a word meaning 1.
    fn count(&self, i: usize) -> Option<(u32, bool)> {
        let word = self.word(i)?;
        if word.bytes().all(|b| b.is_ascii_digit()) {
            // Too many digits is too many days.
            return Some((word.parse().unwrap_or(u32::MAX), false));
        }
        self.longest(i, &NUMBER_WORDS)
            .map(|(count, _)| (count, count == 1))
    }

    /// `[for] N[-]unit` at `i`: "for 10 days", "a week", "3-day", "durante 3 días", "pour une
    /// semaine" (see the module docs).
    fn duration(&self, i: usize) -> Option<Duration> {
        let (preposition, j) = match self.longest_phrase(i, &DURATION_BEFORE) {
            Some(j) => (true, j),
            None => (false, i),
        };
        let (count, weak) = self.count(j)?;
        let k = if self.is(j + 1, "-") { j + 2 } else { j + 1 };
        let (per_unit, end) = self.longest(k, &UNITS)?;
        // "un week-end" is a weekend, not a week.
        if self
            .period(k)
            .is_some_and(|(_, period_end)| period_end > end)
        {
            return None;
        }
        if !preposition && self.not_a_duration_before(j) {
            return None;
        }
        let rate = self
            .longest_phrase(end, &RATE_BEFORE)
            .is_some_and(|r| self.longest(r, &UNITS).is_some());
        if rate || self.longest_phrase(end, &NOT_A_DURATION_AFTER).is_some() {
            return None;
        }
        let days = count
            .checked_mul(per_unit)
            .filter(|days| (1..=MAX_DURATION_DAYS).contains(days));
        Some(Duration {
            days,
            words: i..end,
            weak: weak && !preposition,
        })
    }

    /// Whether the words before `i` make the number there something other than a rental length:
    /// one of [`NOT_A_DURATION_BEFORE`], or another number and one of [`BETWEEN_NUMBERS`].
    fn not_a_duration_before(&self, i: usize) -> bool {
        let ends_here = |phrase: &str| {
            let words = phrase.split(' ').count();
            i.checked_sub(words)
                .is_some_and(|start| self.phrase(start, phrase) == Some(i))
        };
        let vague = i.checked_sub(2).is_some_and(|before| {
            self.count(before).is_some() && BETWEEN_NUMBERS.iter().any(|w| self.is(before + 1, w))
        });
        vague || NOT_A_DURATION_BEFORE.iter().any(|phrase| ends_here(phrase))
    }

    /// The first rental length outside the words `date` of the first date expression; a weak one
    /// only when it leads to that date ("a week from tomorrow").
    fn first_duration(&self, date: Option<Range<usize>>) -> Option<Duration> {
        (0..self.words.len())
            .filter_map(|i| self.duration(i))
            .filter(|d| {
                date.as_ref()
                    .is_none_or(|date| d.words.end <= date.start || d.words.start >= date.end)
            })
            .find(|d| {
                !d.weak
                    || date
                        .as_ref()
                        .is_some_and(|date| self.leads_to(d.words.end, date.start))
            })
    }

    /// Whether a start link ([`START_LINKS`]) and maybe an article at `i` lead to word `date`.
    fn leads_to(&self, i: usize, date: usize) -> bool {
        self.longest_phrase(i, &START_LINKS)
            .is_some_and(|j| j == date || self.skip(j, ARTICLES) == date)
    }

    /// The first date expression `expr`, at words `at`, resolved; a one-day expression extended
    /// by the first rental length outside it. `None` if invalid.
    fn dates(&self, expr: Expr, at: Range<usize>) -> Option<Found<DateRange>> {
        let mut value = self.resolve(expr)?;
        let mut span = at.clone();
        if let Expr::Day(_) = expr {
            if let Some(Duration {
                days: Some(days),
                words,
                ..
            }) = self.first_duration(Some(at))
            {
                value = DateRange::for_days(value.start, days)?;
                span = span.start.min(words.start)..span.end.max(words.end);
            }
        }
        Some(Found {
            value,
            span: self.words.span(span)?,
        })
    }

    fn resolve(&self, expr: Expr) -> Option<DateRange> {
        match expr {
            Expr::Day(day) => self.single(day).map(DateRange::day),
            Expr::Period(period) => self.period_range(period),
            Expr::Range(start, end) => self.range_dates(start, end),
        }
    }

    /// The next `month`/`day` on or after today (29 February: the next leap day).
    fn next_occurrence(&self, month: u32, day: u32) -> Option<NaiveDate> {
        let year = self.today.year();
        (year..=year.saturating_add(8))
            .filter_map(|y| ymd(y, month, day))
            .find(|date| *date >= self.today)
    }

    fn single(&self, day: Day) -> Option<NaiveDate> {
        match day {
            Day::Fixed(date) => Some(date),
            Day::Calendar {
                day,
                month: Some(month),
                year: Some(year),
            } => ymd(year, month, day),
            Day::Calendar {
                day,
                month: Some(month),
                year: None,
            } => self.next_occurrence(month, day),
            Day::Calendar { month: None, .. } => None,
            Day::Weekday {
                weekday,
                strictly_after,
            } => {
                let from = if strictly_after {
                    self.today.succ_opt()?
                } else {
                    self.today
                };
                on_or_after(from, weekday)
            }
        }
    }

    fn range_dates(&self, start: Day, end: Day) -> Option<DateRange> {
        let start_date = match start {
            Day::Calendar { day, month, year } => {
                let borrowed = month.is_none();
                let month = month.or(end.month())?;
                match (year, end) {
                    (Some(year), _) => ymd(year, month, day)?,
                    (
                        None,
                        Day::Calendar {
                            day: end_day,
                            month: end_month,
                            year: Some(end_year),
                        },
                    ) => {
                        let end_month = end_month.unwrap_or(month);
                        let year = if borrowed || (month, day) <= (end_month, end_day) {
                            end_year
                        } else {
                            end_year - 1
                        };
                        ymd(year, month, day)?
                    }
                    (None, _) => self.next_occurrence(month, day)?,
                }
            }
            other => self.single(other)?,
        };
        let end_date = match end {
            Day::Calendar { day, month, year } => match (month, year) {
                (month, Some(year)) => ymd(year, month.unwrap_or(start_date.month()), day)?,
                (Some(month), None) => {
                    let next_year = start.month().is_some()
                        && (month, day) < (start_date.month(), start_date.day());
                    let year = start_date.year() + i32::from(next_year);
                    ymd(year, month, day)?
                }
                (None, None) => ymd(start_date.year(), start_date.month(), day)?,
            },
            Day::Weekday { weekday, .. } => on_or_after(start_date.succ_opt()?, weekday)?,
            Day::Fixed(date) => date,
        };
        DateRange::new(start_date, end_date).ok()
    }

    fn period_range(&self, period: Period) -> Option<DateRange> {
        let today = self.today;
        let saturday = match today.weekday() {
            Weekday::Sat => today,
            Weekday::Sun => today.pred_opt()?,
            _ => on_or_after(today, Weekday::Sat)?,
        };
        let next_monday = on_or_after(today.succ_opt()?, Weekday::Mon)?;
        let (start, end) = match period {
            Period::ThisWeekend => (saturday.max(today), add_days(saturday, 2)?),
            Period::NextWeekend => (add_days(saturday, 7)?, add_days(saturday, 9)?),
            Period::ThisWeek => (today, next_monday),
            Period::NextWeek => (next_monday, add_days(next_monday, 7)?),
        };
        DateRange::new(start, end).ok()
    }
}

/// The candidate that reaches furthest; the earliest listed wins a tie.
fn longest_of<T, const N: usize>(candidates: [Option<(T, usize)>; N]) -> Option<(T, usize)> {
    let mut best: Option<(T, usize)> = None;
    for (value, end) in candidates.into_iter().flatten() {
        if best.as_ref().is_none_or(|(_, best_end)| end > *best_end) {
            best = Some((value, end));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A Thursday.
    const TODAY: &str = "2026-11-26";

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn class(name: &str) -> VehicleClass {
        VehicleClass::new(name).unwrap()
    }

    /// (message, expected class, the words its span covers).
    type ClassCase = (&'static str, Option<(&'static str, &'static str)>);

    fn check_classes(extractor: &EntityExtractor, cases: &[ClassCase]) {
        for &(text, expected) in cases {
            let found = extractor.vehicle_class(text);
            let got = found
                .as_ref()
                .map(|f| (f.value.as_str(), &text[f.span.clone()]));
            assert_eq!(got, expected, "message {text:?}");
            let all = extractor.extract(text, date(TODAY));
            assert_eq!(all.vehicle_class, found, "extract() agrees for {text:?}");
        }
    }

    #[test]
    fn standard_classes_and_synonyms() {
        let cases: &[ClassCase] = &[
            // English
            ("I want an economy car", Some(("economy", "economy"))),
            ("something economic please", Some(("economy", "economic"))),
            ("a cheap car please", Some(("economy", "cheap car"))),
            ("any small cars left?", Some(("economy", "small cars"))),
            ("a compact", Some(("compact", "compact"))),
            ("a sedan for four", Some(("sedan", "sedan"))),
            ("a saloon", Some(("sedan", "saloon"))),
            ("do you have a 4x4?", Some(("suv", "4x4"))),
            ("four wheel drive please", Some(("suv", "four wheel drive"))),
            ("a four-wheel drive", Some(("suv", "four-wheel drive"))),
            ("a jeep", Some(("suv", "jeep"))),
            ("a minivan", Some(("minivan", "minivan"))),
            ("a van for the move", Some(("minivan", "van"))),
            ("an MPV", Some(("minivan", "MPV"))),
            ("a people carrier", Some(("minivan", "people carrier"))),
            ("a 7 seater", Some(("minivan", "7 seater"))),
            ("a 7-seater", Some(("minivan", "7-seater"))),
            ("a seven seater", Some(("minivan", "seven seater"))),
            ("a convertible", Some(("convertible", "convertible"))),
            ("a cabrio", Some(("convertible", "cabrio"))),
            ("something luxury", Some(("luxury", "luxury"))),
            ("a premium car", Some(("luxury", "premium"))),
            ("a pickup", Some(("pickup", "pickup"))),
            ("a pick-up", Some(("pickup", "pick-up"))),
            ("a pickup truck", Some(("pickup", "pickup truck"))),
            ("a pick up truck", Some(("pickup", "pick up truck"))),
            ("an electric one", Some(("electric", "electric"))),
            ("an EV", Some(("electric", "EV"))),
            ("a Tesla", Some(("electric", "Tesla"))),
            // Spanish
            ("un coche económico", Some(("economy", "económico"))),
            ("un coche economico", Some(("economy", "economico"))),
            ("un coche barato", Some(("economy", "coche barato"))),
            ("un compacto", Some(("compact", "compacto"))),
            ("un sedán", Some(("sedan", "sedán"))),
            ("una berlina", Some(("sedan", "berlina"))),
            ("un todoterreno", Some(("suv", "todoterreno"))),
            ("un monovolumen", Some(("minivan", "monovolumen"))),
            ("una furgoneta", Some(("minivan", "furgoneta"))),
            ("un descapotable", Some(("convertible", "descapotable"))),
            ("un coche de lujo", Some(("luxury", "lujo"))),
            ("una camioneta", Some(("pickup", "camioneta"))),
            ("un coche eléctrico", Some(("electric", "eléctrico"))),
            // French
            ("une voiture économique", Some(("economy", "économique"))),
            ("une petite voiture", Some(("economy", "petite voiture"))),
            ("une compacte", Some(("compact", "compacte"))),
            ("une berline", Some(("sedan", "berline"))),
            ("un tout-terrain", Some(("suv", "tout-terrain"))),
            ("un monospace", Some(("minivan", "monospace"))),
            ("une décapotable", Some(("convertible", "décapotable"))),
            ("un cabriolet", Some(("convertible", "cabriolet"))),
            ("une voiture de luxe", Some(("luxury", "luxe"))),
            ("un pick-up", Some(("pickup", "pick-up"))),
            ("une voiture électrique", Some(("electric", "électrique"))),
        ];
        check_classes(&EntityExtractor::new(), cases);
    }

    #[test]
    fn plurals_case_and_accents() {
        let cases: &[ClassCase] = &[
            ("SUVs", Some(("suv", "SUVs"))),
            ("SUV", Some(("suv", "SUV"))),
            ("Suv", Some(("suv", "Suv"))),
            ("any vans?", Some(("minivan", "vans"))),
            ("convertibles", Some(("convertible", "convertibles"))),
            (
                "¿tienen descapotables?",
                Some(("convertible", "descapotables")),
            ),
            ("Cabriolet", Some(("convertible", "Cabriolet"))),
            ("des cabriolets", Some(("convertible", "cabriolets"))),
            ("des berlines", Some(("sedan", "berlines"))),
            ("pickups", Some(("pickup", "pickups"))),
            ("ÉLECTRIQUE", Some(("electric", "ÉLECTRIQUE"))),
            ("electrique", Some(("electric", "electrique"))),
            // Decomposed é (e + combining acute): the span still covers the whole word.
            (
                "e\u{301}lectrique!",
                Some(("electric", "e\u{301}lectrique")),
            ),
            ("DÉCAPOTABLES", Some(("convertible", "DÉCAPOTABLES"))),
            ("SEDÁN", Some(("sedan", "SEDÁN"))),
            ("Économique?", Some(("economy", "Économique"))),
        ];
        check_classes(&EntityExtractor::new(), cases);
    }

    #[test]
    fn ordinary_words_are_not_classes() {
        let cases: &[ClassCase] = &[
            ("Where do I pick up the car?", None),
            ("can I pick up tomorrow", None),
            ("PICK UP at the airport", None),
            ("what is the pickup time?", None),
            ("Pick-up location: airport", None),
            ("the pickup point, then a van", Some(("minivan", "van"))),
            (
                "pickup time for the pickup truck",
                Some(("pickup", "pickup truck")),
            ),
            ("is it cheap?", None),
            ("what is the cheapest?", None),
            ("¿es barato?", None),
            ("c'est pas cher ?", None),
            ("vanilla", None),
            ("events this evening", None),
            ("a souvenir", None),
            ("electricity bill", None),
            ("", None),
            ("?!", None),
        ];
        check_classes(&EntityExtractor::new(), cases);
    }

    #[test]
    fn first_class_in_the_text_wins() {
        let cases: &[ClassCase] = &[
            ("an SUV or a van", Some(("suv", "SUV"))),
            ("a van or an SUV", Some(("minivan", "van"))),
            (
                "pick up a convertible",
                Some(("convertible", "convertible")),
            ),
            (
                "I'll pick up the pickup truck",
                Some(("pickup", "pickup truck")),
            ),
            ("electric-SUV", Some(("electric", "electric"))),
        ];
        check_classes(&EntityExtractor::new(), cases);
    }

    #[test]
    fn host_classes_and_synonyms() {
        let extractor = EntityExtractor::new()
            .with_class_synonyms(
                class("camper-van"),
                ["campervan", "motorhome", "autocaravana"],
            )
            .with_class_synonyms(
                class("minibus"),
                vec!["minibus".to_owned(), "van".to_owned()],
            )
            .with_class_synonyms(class("luxury"), ["Rolls Royce"])
            .with_class_synonyms(class("odd"), ["", "?!"]);
        let cases: &[ClassCase] = &[
            ("a camper van", Some(("camper-van", "camper van"))),
            ("a camper-van", Some(("camper-van", "camper-van"))),
            ("a Campervan", Some(("camper-van", "Campervan"))),
            ("una autocaravana", Some(("camper-van", "autocaravana"))),
            ("a van", Some(("minibus", "van"))),
            ("a minivan", Some(("minivan", "minivan"))),
            ("a rolls-royce", None),
            ("a Rolls Royce", Some(("luxury", "Rolls Royce"))),
            ("an odd one", Some(("odd", "odd"))),
            ("an SUV", Some(("suv", "SUV"))),
        ];
        check_classes(&extractor, cases);
        let debug = format!("{extractor:?}");
        assert!(debug.contains("camper-van"), "{debug}");
    }

    /// (today, message, expected pick-up and return dates, the words the span covers).
    type DateCase = (
        &'static str,
        &'static str,
        Option<(&'static str, &'static str)>,
        &'static str,
    );

    fn check_dates(cases: &[DateCase]) {
        let extractor = EntityExtractor::new();
        let mut failures = Vec::new();
        for &(today, text, expected, words) in cases {
            let found = extractor.dates(text, date(today));
            let got = found.as_ref().map(|f| (f.value.start, f.value.end));
            let want = expected.map(|(s, e)| (date(s), date(e)));
            let span = found.as_ref().map(|f| &text[f.span.clone()]);
            let want_span = expected.map(|_| words);
            if got != want || span != want_span {
                failures.push(format!(
                    "{today} {text:?}: got {got:?} {span:?}, want {want:?} {want_span:?}"
                ));
            }
            assert_eq!(
                extractor.extract(text, date(today)).dates,
                found,
                "extract() agrees for {text:?}"
            );
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn relative_days() {
        check_dates(&[
            (TODAY, "today", Some(("2026-11-26", "2026-11-27")), "today"),
            (
                TODAY,
                "Can I get one tonight?",
                Some(("2026-11-26", "2026-11-27")),
                "tonight",
            ),
            (TODAY, "para hoy", Some(("2026-11-26", "2026-11-27")), "hoy"),
            (
                TODAY,
                "pour aujourd'hui",
                Some(("2026-11-26", "2026-11-27")),
                "aujourd'hui",
            ),
            (
                TODAY,
                "pour aujourd’hui",
                Some(("2026-11-26", "2026-11-27")),
                "aujourd’hui",
            ),
            (
                TODAY,
                "Tomorrow please",
                Some(("2026-11-27", "2026-11-28")),
                "Tomorrow",
            ),
            (
                TODAY,
                "para mañana",
                Some(("2026-11-27", "2026-11-28")),
                "mañana",
            ),
            (
                TODAY,
                "MAÑANA",
                Some(("2026-11-27", "2026-11-28")),
                "MAÑANA",
            ),
            (
                TODAY,
                "mañana por la mañana",
                Some(("2026-11-27", "2026-11-28")),
                "mañana",
            ),
            (TODAY, "por la mañana", None, ""),
            (TODAY, "esta mañana", None, ""),
            (TODAY, "a las 10 de la mañana", None, ""),
            (
                TODAY,
                "demain matin",
                Some(("2026-11-27", "2026-11-28")),
                "demain",
            ),
            (
                TODAY,
                "the day after tomorrow",
                Some(("2026-11-28", "2026-11-29")),
                "day after tomorrow",
            ),
            (
                TODAY,
                "pasado mañana",
                Some(("2026-11-28", "2026-11-29")),
                "pasado mañana",
            ),
            (
                TODAY,
                "après-demain",
                Some(("2026-11-28", "2026-11-29")),
                "après-demain",
            ),
            (
                TODAY,
                "après demain",
                Some(("2026-11-28", "2026-11-29")),
                "après demain",
            ),
            (
                "2026-12-31",
                "tomorrow",
                Some(("2027-01-01", "2027-01-02")),
                "tomorrow",
            ),
        ]);
    }

    #[test]
    fn weekends_and_weeks() {
        check_dates(&[
            // Thursday 26 November 2026.
            (
                TODAY,
                "this weekend",
                Some(("2026-11-28", "2026-11-30")),
                "this weekend",
            ),
            (
                TODAY,
                "for the weekend",
                Some(("2026-11-28", "2026-11-30")),
                "weekend",
            ),
            (
                TODAY,
                "este fin de semana",
                Some(("2026-11-28", "2026-11-30")),
                "este fin de semana",
            ),
            (
                TODAY,
                "ce week-end",
                Some(("2026-11-28", "2026-11-30")),
                "ce week-end",
            ),
            (
                TODAY,
                "ce weekend",
                Some(("2026-11-28", "2026-11-30")),
                "ce weekend",
            ),
            (
                TODAY,
                "next weekend",
                Some(("2026-12-05", "2026-12-07")),
                "next weekend",
            ),
            (
                TODAY,
                "el próximo fin de semana",
                Some(("2026-12-05", "2026-12-07")),
                "próximo fin de semana",
            ),
            (
                TODAY,
                "el fin de semana que viene",
                Some(("2026-12-05", "2026-12-07")),
                "fin de semana que viene",
            ),
            (
                TODAY,
                "le week-end prochain",
                Some(("2026-12-05", "2026-12-07")),
                "week-end prochain",
            ),
            (
                TODAY,
                "this week",
                Some(("2026-11-26", "2026-11-30")),
                "this week",
            ),
            (
                TODAY,
                "next week",
                Some(("2026-11-30", "2026-12-07")),
                "next week",
            ),
            (
                TODAY,
                "la semana que viene",
                Some(("2026-11-30", "2026-12-07")),
                "semana que viene",
            ),
            (
                TODAY,
                "la próxima semana",
                Some(("2026-11-30", "2026-12-07")),
                "próxima semana",
            ),
            (
                TODAY,
                "la semaine prochaine",
                Some(("2026-11-30", "2026-12-07")),
                "semaine prochaine",
            ),
            // Saturday and Sunday: this weekend starts today.
            (
                "2026-11-28",
                "this weekend",
                Some(("2026-11-28", "2026-11-30")),
                "this weekend",
            ),
            (
                "2026-11-28",
                "next weekend",
                Some(("2026-12-05", "2026-12-07")),
                "next weekend",
            ),
            (
                "2026-11-29",
                "this weekend",
                Some(("2026-11-29", "2026-11-30")),
                "this weekend",
            ),
            (
                "2026-11-29",
                "next weekend",
                Some(("2026-12-05", "2026-12-07")),
                "next weekend",
            ),
            (
                "2026-11-29",
                "this week",
                Some(("2026-11-29", "2026-11-30")),
                "this week",
            ),
            (
                "2026-11-29",
                "next week",
                Some(("2026-11-30", "2026-12-07")),
                "next week",
            ),
            // Monday.
            (
                "2026-11-30",
                "this week",
                Some(("2026-11-30", "2026-12-07")),
                "this week",
            ),
            (
                "2026-11-30",
                "next week",
                Some(("2026-12-07", "2026-12-14")),
                "next week",
            ),
            // Year change (30 December 2026 is a Wednesday).
            (
                "2026-12-30",
                "next week",
                Some(("2027-01-04", "2027-01-11")),
                "next week",
            ),
            (
                "2026-12-30",
                "this weekend",
                Some(("2027-01-02", "2027-01-04")),
                "this weekend",
            ),
        ]);
    }

    #[test]
    fn weekdays() {
        check_dates(&[
            (
                TODAY,
                "on friday",
                Some(("2026-11-27", "2026-11-28")),
                "friday",
            ),
            (
                TODAY,
                "Friday",
                Some(("2026-11-27", "2026-11-28")),
                "Friday",
            ),
            (
                TODAY,
                "next friday",
                Some(("2026-11-27", "2026-11-28")),
                "next friday",
            ),
            (
                TODAY,
                "this friday",
                Some(("2026-11-27", "2026-11-28")),
                "this friday",
            ),
            (
                TODAY,
                "on monday",
                Some(("2026-11-30", "2026-12-01")),
                "monday",
            ),
            // Today is Thursday: "thursday" is today, "next thursday" a week later.
            (
                TODAY,
                "thursday",
                Some(("2026-11-26", "2026-11-27")),
                "thursday",
            ),
            (
                TODAY,
                "next thursday",
                Some(("2026-12-03", "2026-12-04")),
                "next thursday",
            ),
            (
                TODAY,
                "el viernes",
                Some(("2026-11-27", "2026-11-28")),
                "viernes",
            ),
            (
                TODAY,
                "el miércoles",
                Some(("2026-12-02", "2026-12-03")),
                "miércoles",
            ),
            (
                TODAY,
                "el jueves que viene",
                Some(("2026-12-03", "2026-12-04")),
                "jueves que viene",
            ),
            (
                TODAY,
                "el próximo sábado",
                Some(("2026-11-28", "2026-11-29")),
                "próximo sábado",
            ),
            (
                TODAY,
                "vendredi",
                Some(("2026-11-27", "2026-11-28")),
                "vendredi",
            ),
            (
                TODAY,
                "jeudi prochain",
                Some(("2026-12-03", "2026-12-04")),
                "jeudi prochain",
            ),
            (
                TODAY,
                "ce dimanche",
                Some(("2026-11-29", "2026-11-30")),
                "ce dimanche",
            ),
            // A weekday in front of a date is that date.
            (
                TODAY,
                "Friday 4 December",
                Some(("2026-12-04", "2026-12-05")),
                "Friday 4 December",
            ),
            (
                TODAY,
                "el viernes 4 de diciembre",
                Some(("2026-12-04", "2026-12-05")),
                "viernes 4 de diciembre",
            ),
            (
                TODAY,
                "Sat 5 Dec",
                Some(("2026-12-05", "2026-12-06")),
                "Sat 5 Dec",
            ),
            (
                TODAY,
                "mar 5 dic",
                Some(("2026-12-05", "2026-12-06")),
                "mar 5 dic",
            ),
        ]);
    }

    #[test]
    fn explicit_dates() {
        check_dates(&[
            (
                TODAY,
                "on 2026-12-03",
                Some(("2026-12-03", "2026-12-04")),
                "2026-12-03",
            ),
            (
                TODAY,
                "3 December",
                Some(("2026-12-03", "2026-12-04")),
                "3 December",
            ),
            (
                TODAY,
                "December 3",
                Some(("2026-12-03", "2026-12-04")),
                "December 3",
            ),
            (
                TODAY,
                "December 3rd?",
                Some(("2026-12-03", "2026-12-04")),
                "December 3rd",
            ),
            (
                TODAY,
                "on the 3rd of December",
                Some(("2026-12-03", "2026-12-04")),
                "3rd of December",
            ),
            (TODAY, "3 Dec", Some(("2026-12-03", "2026-12-04")), "3 Dec"),
            (TODAY, "dec 3", Some(("2026-12-03", "2026-12-04")), "dec 3"),
            (
                TODAY,
                "3 December 2027",
                Some(("2027-12-03", "2027-12-04")),
                "3 December 2027",
            ),
            (
                TODAY,
                "December 3, 2027",
                Some(("2027-12-03", "2027-12-04")),
                "December 3, 2027",
            ),
            (
                TODAY,
                "el 3 de diciembre",
                Some(("2026-12-03", "2026-12-04")),
                "3 de diciembre",
            ),
            (
                TODAY,
                "el 3 de diciembre de 2027",
                Some(("2027-12-03", "2027-12-04")),
                "3 de diciembre de 2027",
            ),
            (
                TODAY,
                "le 3 décembre",
                Some(("2026-12-03", "2026-12-04")),
                "3 décembre",
            ),
            (
                TODAY,
                "le 1er décembre",
                Some(("2026-12-01", "2026-12-02")),
                "1er décembre",
            ),
            (
                TODAY,
                "15 janv.",
                Some(("2027-01-15", "2027-01-16")),
                "15 janv",
            ),
            (
                TODAY,
                "sept 15",
                Some(("2027-09-15", "2027-09-16")),
                "sept 15",
            ),
            (
                TODAY,
                "2 févr",
                Some(("2027-02-02", "2027-02-03")),
                "2 févr",
            ),
            (TODAY, "4 ago", Some(("2027-08-04", "2027-08-05")), "4 ago"),
            (
                TODAY,
                "May 1st",
                Some(("2027-05-01", "2027-05-02")),
                "May 1st",
            ),
            (
                TODAY,
                "1º de mayo",
                Some(("2027-05-01", "2027-05-02")),
                "1º de mayo",
            ),
        ]);
    }

    #[test]
    fn year_inference_and_month_ends() {
        check_dates(&[
            (
                TODAY,
                "3 January",
                Some(("2027-01-03", "2027-01-04")),
                "3 January",
            ),
            (
                TODAY,
                "26 November",
                Some(("2026-11-26", "2026-11-27")),
                "26 November",
            ),
            (
                TODAY,
                "25 November",
                Some(("2027-11-25", "2027-11-26")),
                "25 November",
            ),
            (
                TODAY,
                "31 January",
                Some(("2027-01-31", "2027-02-01")),
                "31 January",
            ),
            (
                TODAY,
                "28 February",
                Some(("2027-02-28", "2027-03-01")),
                "28 February",
            ),
            (TODAY, "29 February 2027", None, ""),
            (
                TODAY,
                "29 February 2028",
                Some(("2028-02-29", "2028-03-01")),
                "29 February 2028",
            ),
            (
                TODAY,
                "29 February",
                Some(("2028-02-29", "2028-03-01")),
                "29 February",
            ),
            (
                "2027-11-26",
                "29 February",
                Some(("2028-02-29", "2028-03-01")),
                "29 February",
            ),
            (
                TODAY,
                "30 April",
                Some(("2027-04-30", "2027-05-01")),
                "30 April",
            ),
            (
                TODAY,
                "31 December",
                Some(("2026-12-31", "2027-01-01")),
                "31 December",
            ),
            (
                "2026-12-30",
                "3 January",
                Some(("2027-01-03", "2027-01-04")),
                "3 January",
            ),
            (
                "2026-12-30",
                "tomorrow",
                Some(("2026-12-31", "2027-01-01")),
                "tomorrow",
            ),
            (
                "2026-12-30",
                "day after tomorrow",
                Some(("2027-01-01", "2027-01-02")),
                "day after tomorrow",
            ),
        ]);
    }

    #[test]
    fn ranges() {
        check_dates(&[
            (
                TODAY,
                "from 3 to 7 December",
                Some(("2026-12-03", "2026-12-07")),
                "from 3 to 7 December",
            ),
            (
                TODAY,
                "3-7 December",
                Some(("2026-12-03", "2026-12-07")),
                "3-7 December",
            ),
            (
                TODAY,
                "3 – 7 December",
                Some(("2026-12-03", "2026-12-07")),
                "3 – 7 December",
            ),
            (
                TODAY,
                "3 to 7 Dec",
                Some(("2026-12-03", "2026-12-07")),
                "3 to 7 Dec",
            ),
            (
                TODAY,
                "December 3 to 7",
                Some(("2026-12-03", "2026-12-07")),
                "December 3 to 7",
            ),
            (
                TODAY,
                "December 3-7, 2027",
                Some(("2027-12-03", "2027-12-07")),
                "December 3-7, 2027",
            ),
            (
                TODAY,
                "from 3 December to 7 December",
                Some(("2026-12-03", "2026-12-07")),
                "from 3 December to 7 December",
            ),
            (
                TODAY,
                "between 3 and 7 December",
                Some(("2026-12-03", "2026-12-07")),
                "between 3 and 7 December",
            ),
            (
                TODAY,
                "from the 3rd to the 7th of December",
                Some(("2026-12-03", "2026-12-07")),
                "from the 3rd to the 7th of December",
            ),
            (
                TODAY,
                "from 30 December to 2 January",
                Some(("2026-12-30", "2027-01-02")),
                "from 30 December to 2 January",
            ),
            (
                TODAY,
                "28 February to 3 March",
                Some(("2027-02-28", "2027-03-03")),
                "28 February to 3 March",
            ),
            (
                TODAY,
                "28 February 2028 to 1 March",
                Some(("2028-02-28", "2028-03-01")),
                "28 February 2028 to 1 March",
            ),
            (
                TODAY,
                "2026-12-03 to 2026-12-07",
                Some(("2026-12-03", "2026-12-07")),
                "2026-12-03 to 2026-12-07",
            ),
            (
                TODAY,
                "from 2026-12-03 until 2026-12-07",
                Some(("2026-12-03", "2026-12-07")),
                "from 2026-12-03 until 2026-12-07",
            ),
            (
                TODAY,
                "from 30 December to 2 January 2028",
                Some(("2027-12-30", "2028-01-02")),
                "from 30 December to 2 January 2028",
            ),
            (
                TODAY,
                "del 3 al 7 de diciembre",
                Some(("2026-12-03", "2026-12-07")),
                "del 3 al 7 de diciembre",
            ),
            (
                TODAY,
                "desde el 3 hasta el 7 de diciembre",
                Some(("2026-12-03", "2026-12-07")),
                "desde el 3 hasta el 7 de diciembre",
            ),
            (
                TODAY,
                "de lunes a viernes",
                Some(("2026-11-30", "2026-12-04")),
                "de lunes a viernes",
            ),
            (
                TODAY,
                "entre el 3 y el 7 de diciembre",
                Some(("2026-12-03", "2026-12-07")),
                "entre el 3 y el 7 de diciembre",
            ),
            (
                TODAY,
                "del 30 de diciembre al 2 de enero",
                Some(("2026-12-30", "2027-01-02")),
                "del 30 de diciembre al 2 de enero",
            ),
            (
                TODAY,
                "du 3 au 7 décembre",
                Some(("2026-12-03", "2026-12-07")),
                "du 3 au 7 décembre",
            ),
            (
                TODAY,
                "du 30 décembre au 2 janvier",
                Some(("2026-12-30", "2027-01-02")),
                "du 30 décembre au 2 janvier",
            ),
            (
                TODAY,
                "from friday to sunday",
                Some(("2026-11-27", "2026-11-29")),
                "from friday to sunday",
            ),
            (
                TODAY,
                "from tomorrow until monday",
                Some(("2026-11-27", "2026-11-30")),
                "from tomorrow until monday",
            ),
            (
                TODAY,
                "de mañana hasta el 3 de diciembre",
                Some(("2026-11-27", "2026-12-03")),
                "de mañana hasta el 3 de diciembre",
            ),
            (
                "2026-12-30",
                "from 30 December to 2 January",
                Some(("2026-12-30", "2027-01-02")),
                "from 30 December to 2 January",
            ),
            (
                "2026-12-30",
                "du 30 décembre au 2 janvier",
                Some(("2026-12-30", "2027-01-02")),
                "du 30 décembre au 2 janvier",
            ),
        ]);
    }

    #[test]
    fn invalid_dates_and_numbers_that_are_not_dates() {
        check_dates(&[
            (TODAY, "31 April", None, ""),
            (TODAY, "30 February", None, ""),
            (TODAY, "0 May", None, ""),
            (TODAY, "32 May", None, ""),
            (TODAY, "2026-13-01", None, ""),
            (TODAY, "2026-02-30", None, ""),
            (TODAY, "from 7 to 3 December", None, ""),
            (TODAY, "December 7 to 3", None, ""),
            (TODAY, "from 3 to 3 December", None, ""),
            (TODAY, "2026-12-07 to 2026-12-03", None, ""),
            (TODAY, "from 28 to 31 April", None, ""),
            (TODAY, "I need 3 cars", None, ""),
            (TODAY, "a 7 seater for 5 people", None, ""),
            (TODAY, "3 to 7 cars", None, ""),
            (TODAY, "in May", None, ""),
            (TODAY, "call 555-1234", None, ""),
            (TODAY, "1999-12-03", None, ""),
            (TODAY, "", None, ""),
            // The first expression decides, even when it is invalid.
            (TODAY, "31 April or 2 May", None, ""),
        ]);
    }

    #[test]
    fn first_expression_wins_and_spans() {
        check_dates(&[
            (
                TODAY,
                "tomorrow or 3 December",
                Some(("2026-11-27", "2026-11-28")),
                "tomorrow",
            ),
            (
                TODAY,
                "3 December or tomorrow",
                Some(("2026-12-03", "2026-12-04")),
                "3 December",
            ),
            (
                TODAY,
                "I want an SUV from 3 to 7 December, please",
                Some(("2026-12-03", "2026-12-07")),
                "from 3 to 7 December",
            ),
            (
                TODAY,
                "¿Cuánto cuesta un SUV del 3 al 7 de diciembre?",
                Some(("2026-12-03", "2026-12-07")),
                "del 3 al 7 de diciembre",
            ),
            (
                TODAY,
                "I'll pick up on 3 December at 10 and need a 7 seater",
                Some(("2026-12-03", "2026-12-04")),
                "3 December",
            ),
            (
                TODAY,
                "from 3 December",
                Some(("2026-12-03", "2026-12-04")),
                "3 December",
            ),
        ]);
    }

    #[test]
    fn describe_output_reads_back() {
        let extractor = EntityExtractor::new();
        let today = date(TODAY);
        let ranges = [
            DateRange::day(date("2026-12-05")),
            DateRange::day(date("2026-12-01")),
            DateRange::new(date("2026-12-05"), date("2026-12-07")).unwrap(),
            DateRange::new(date("2026-12-30"), date("2027-01-02")).unwrap(),
            DateRange::new(date("2027-02-27"), date("2027-03-01")).unwrap(),
        ];
        for range in ranges {
            for language in ["en", "es", "fr"] {
                let text = range.describe(language);
                let found = extractor.dates(&text, today).map(|f| f.value);
                assert_eq!(found, Some(range), "{language}: {text:?}");
            }
        }
    }

    #[test]
    fn describe() {
        let weekend = DateRange::new(date("2026-12-05"), date("2026-12-07")).unwrap();
        let new_year = DateRange::new(date("2026-12-30"), date("2027-01-02")).unwrap();
        let day = DateRange::day(date("2026-12-05"));
        let first = DateRange::day(date("2026-12-01"));
        let cases = [
            (weekend, "en", "Sat 5 Dec to Mon 7 Dec 2026"),
            (weekend, "en-GB", "Sat 5 Dec to Mon 7 Dec 2026"),
            (weekend, "es", "del sáb 5 dic al lun 7 dic de 2026"),
            (weekend, "fr", "du sam. 5 déc. au lun. 7 déc. 2026"),
            (weekend, "de", "Sat 5 Dec to Mon 7 Dec 2026"),
            (day, "en", "Sat 5 Dec 2026"),
            (day, "ES-mx", "el sáb 5 dic de 2026"),
            (day, "fr_CA", "le sam. 5 déc. 2026"),
            (first, "fr", "le mar. 1er déc. 2026"),
            (first, "en", "Tue 1 Dec 2026"),
            (new_year, "en", "Wed 30 Dec 2026 to Sat 2 Jan 2027"),
            (
                new_year,
                "es",
                "del mié 30 dic de 2026 al sáb 2 ene de 2027",
            ),
            (new_year, "fr", "du mer. 30 déc. 2026 au sam. 2 janv. 2027"),
        ];
        for (range, language, expected) in cases {
            assert_eq!(range.describe(language), expected, "{language}");
        }
    }

    #[test]
    fn labels() {
        let cases = [
            ("economy", "en", "economy"),
            ("suv", "en", "SUV"),
            ("luxury", "en-US", "luxury"),
            ("economy", "es", "económico"),
            ("compact", "es", "compacto"),
            ("sedan", "es", "sedán"),
            ("suv", "es-MX", "SUV"),
            ("minivan", "es", "monovolumen"),
            ("convertible", "es", "descapotable"),
            ("luxury", "es", "de lujo"),
            ("pickup", "es", "pickup"),
            ("electric", "es", "eléctrico"),
            ("economy", "fr", "économique"),
            ("compact", "fr", "compacte"),
            ("sedan", "fr", "berline"),
            ("suv", "fr", "SUV"),
            ("minivan", "fr", "monospace"),
            ("convertible", "FR", "cabriolet"),
            ("luxury", "fr", "de luxe"),
            ("pickup", "fr", "pick-up"),
            ("electric", "fr-CA", "électrique"),
            ("camper-van", "en", "camper van"),
            ("people_mover", "fr", "people mover"),
            ("suv", "de", "suv"),
        ];
        for (name, language, expected) in cases {
            assert_eq!(class(name).label(language), expected, "{name} {language}");
        }
    }

    /// (today, message, expected pick-up and return dates and the words their span covers,
    /// expected rental length alone and the words its span covers).
    type LengthCase = (
        &'static str,
        &'static str,
        Option<(&'static str, &'static str, &'static str)>,
        Option<(u32, &'static str)>,
    );

    fn check_lengths(cases: &[LengthCase]) {
        let extractor = EntityExtractor::new();
        let mut failures = Vec::new();
        for &(today, text, dates, length) in cases {
            let found = extractor.extract(text, date(today));
            let got_dates = found.dates.as_ref().map(|f| {
                let words = &text[f.span.clone()];
                (f.value.start, f.value.end, words)
            });
            let want_dates = dates.map(|(s, e, words)| (date(s), date(e), words));
            let got_length = found
                .duration_days
                .as_ref()
                .map(|f| (f.value, &text[f.span.clone()]));
            if got_dates != want_dates || got_length != length {
                failures.push(format!(
                    "{today} {text:?}: got {got_dates:?} {got_length:?}, \
                     want {want_dates:?} {length:?}"
                ));
            }
            assert_eq!(
                extractor.dates(text, date(today)),
                found.dates,
                "dates() agrees for {text:?}"
            );
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn rental_lengths_with_a_start_date() {
        check_lengths(&[
            (
                TODAY,
                "for 10 days from 1 December",
                Some(("2026-12-01", "2026-12-11", "for 10 days from 1 December")),
                None,
            ),
            (
                TODAY,
                "from 1 December for 10 days",
                Some(("2026-12-01", "2026-12-11", "1 December for 10 days")),
                None,
            ),
            (
                TODAY,
                "a week from tomorrow",
                Some(("2026-11-27", "2026-12-04", "a week from tomorrow")),
                None,
            ),
            (
                TODAY,
                "Price of an electric car for a week from tomorrow?",
                Some(("2026-11-27", "2026-12-04", "for a week from tomorrow")),
                None,
            ),
            (
                TODAY,
                "one week from today",
                Some(("2026-11-26", "2026-12-03", "one week from today")),
                None,
            ),
            (
                TODAY,
                "for 3 days starting Monday",
                Some(("2026-11-30", "2026-12-03", "for 3 days starting Monday")),
                None,
            ),
            (
                TODAY,
                "starting Monday for 3 days",
                Some(("2026-11-30", "2026-12-03", "Monday for 3 days")),
                None,
            ),
            (
                TODAY,
                "3 days from Monday",
                Some(("2026-11-30", "2026-12-03", "3 days from Monday")),
                None,
            ),
            (
                TODAY,
                "Friday 4 December for a week",
                Some(("2026-12-04", "2026-12-11", "Friday 4 December for a week")),
                None,
            ),
            (
                TODAY,
                "I need a car for 5 days, pick-up on Friday",
                Some(("2026-11-27", "2026-12-02", "for 5 days, pick-up on Friday")),
                None,
            ),
            (
                TODAY,
                "a 3-day rental from 2026-12-03",
                Some(("2026-12-03", "2026-12-06", "3-day rental from 2026-12-03")),
                None,
            ),
            (
                TODAY,
                "durante 3 días desde el lunes",
                Some(("2026-11-30", "2026-12-03", "durante 3 días desde el lunes")),
                None,
            ),
            (
                TODAY,
                "dos semanas a partir del 3 de diciembre",
                Some((
                    "2026-12-03",
                    "2026-12-17",
                    "dos semanas a partir del 3 de diciembre",
                )),
                None,
            ),
            (
                TODAY,
                "el viernes por 2 noches",
                Some(("2026-11-27", "2026-11-29", "viernes por 2 noches")),
                None,
            ),
            (
                TODAY,
                "pendant une semaine à partir de demain",
                Some((
                    "2026-11-27",
                    "2026-12-04",
                    "pendant une semaine à partir de demain",
                )),
                None,
            ),
            (
                TODAY,
                "deux nuits dès le 30 décembre",
                Some(("2026-12-30", "2027-01-01", "deux nuits dès le 30 décembre")),
                None,
            ),
            // Month ends, leap years and year changes.
            (
                TODAY,
                "for 3 days from 30 January",
                Some(("2027-01-30", "2027-02-02", "for 3 days from 30 January")),
                None,
            ),
            (
                TODAY,
                "for 2 days from 28 February 2028",
                Some((
                    "2028-02-28",
                    "2028-03-01",
                    "for 2 days from 28 February 2028",
                )),
                None,
            ),
            (
                TODAY,
                "for 10 days from 25 December",
                Some(("2026-12-25", "2027-01-04", "for 10 days from 25 December")),
                None,
            ),
            (
                "2026-12-30",
                "a week from tomorrow",
                Some(("2026-12-31", "2027-01-07", "a week from tomorrow")),
                None,
            ),
            (
                "2026-12-30",
                "for a week from 28 December",
                Some(("2027-12-28", "2028-01-04", "for a week from 28 December")),
                None,
            ),
            (
                TODAY,
                "for 366 days from 1 March",
                Some(("2027-03-01", "2028-03-01", "for 366 days from 1 March")),
                None,
            ),
            // Over the cap: no rental length, the date stays one day.
            (
                TODAY,
                "for 400 days from 1 December",
                Some(("2026-12-01", "2026-12-02", "1 December")),
                None,
            ),
            // A range, a weekend or a week wins.
            (
                TODAY,
                "from 3 to 7 December for 2 days",
                Some(("2026-12-03", "2026-12-07", "from 3 to 7 December")),
                None,
            ),
            (
                TODAY,
                "for 2 days from 3 to 7 December",
                Some(("2026-12-03", "2026-12-07", "from 3 to 7 December")),
                None,
            ),
            (
                TODAY,
                "next weekend for 3 days",
                Some(("2026-12-05", "2026-12-07", "next weekend")),
                None,
            ),
            // An invalid date: neither.
            (TODAY, "31 April for 3 days", None, None),
            (TODAY, "for 3 days from 30 February", None, None),
        ]);
    }

    #[test]
    fn rental_lengths_alone() {
        check_lengths(&[
            (TODAY, "for two weeks", None, Some((14, "for two weeks"))),
            (TODAY, "for 2 weeks", None, Some((14, "for 2 weeks"))),
            (TODAY, "3 nights", None, Some((3, "3 nights"))),
            (TODAY, "for a day", None, Some((1, "for a day"))),
            (TODAY, "for one night", None, Some((1, "for one night"))),
            (TODAY, "a 10-day rental", None, Some((10, "10-day"))),
            (
                TODAY,
                "a 7 seater for 3 days",
                None,
                Some((3, "for 3 days")),
            ),
            (TODAY, "por una semana", None, Some((7, "por una semana"))),
            (TODAY, "para 3 días", None, Some((3, "para 3 días"))),
            (
                TODAY,
                "durante diez dias",
                None,
                Some((10, "durante diez dias")),
            ),
            (TODAY, "2 semanas", None, Some((14, "2 semanas"))),
            (TODAY, "pour 3 jours", None, Some((3, "pour 3 jours"))),
            (
                TODAY,
                "pour une journée",
                None,
                Some((1, "pour une journée")),
            ),
            (TODAY, "sept nuits", None, Some((7, "sept nuits"))),
            (TODAY, "for 366 days", None, Some((366, "for 366 days"))),
            (TODAY, "for 52 weeks", None, Some((364, "for 52 weeks"))),
            // The first one decides.
            (TODAY, "3 days or maybe 4 days", None, Some((3, "3 days"))),
            (TODAY, "for 367 days", None, None),
            (TODAY, "for 53 weeks, or 2 weeks", None, None),
            (TODAY, "for 0 days", None, None),
        ]);
    }

    #[test]
    fn numbers_that_are_not_rental_lengths() {
        check_lengths(&[
            (TODAY, "a 7 seater", None, None),
            (TODAY, "I need 3 cars for 2 adults", None, None),
            (TODAY, "how much is it a day?", None, None),
            (TODAY, "one day I'd like a convertible", None, None),
            (TODAY, "una semana", None, None),
            (TODAY, "are you open 7 days a week?", None, None),
            (TODAY, "7 días a la semana", None, None),
            (TODAY, "can I pick it up in 3 days?", None, None),
            (TODAY, "every 2 weeks", None, None),
            (TODAY, "discounts for more than 7 days?", None, None),
            (TODAY, "2 or 3 days", None, None),
            (TODAY, "3-5 days", None, None),
            (TODAY, "entre 2 y 3 días", None, None),
            (TODAY, "can I cancel up to 2 days before?", None, None),
            (TODAY, "I booked 3 days ago", None, None),
            (TODAY, "con 2 días de antelación", None, None),
            (TODAY, "j'ai réservé il y a 3 jours", None, None),
            (
                TODAY,
                "a week on Monday",
                Some(("2026-11-30", "2026-12-01", "Monday")),
                None,
            ),
            (
                TODAY,
                "un week-end",
                Some(("2026-11-28", "2026-11-30", "week-end")),
                None,
            ),
        ]);
    }

    #[test]
    fn extract_finds_both() {
        let text = "How much is an SUV from 3 to 7 December?";
        let found = EntityExtractor::default().extract(text, date(TODAY));
        let class = found.vehicle_class.unwrap();
        assert_eq!((class.value.as_str(), &text[class.span]), ("suv", "SUV"));
        let dates = found.dates.unwrap();
        assert_eq!(
            dates.value,
            DateRange::new(date("2026-12-03"), date("2026-12-07")).unwrap()
        );
        assert_eq!(dates.value.days(), 4);
        assert_eq!(&text[dates.span], "from 3 to 7 December");
    }

    #[test]
    fn never_panics_on_odd_input() {
        let extractor = EntityExtractor::new();
        let texts = [
            "-",
            "- - -",
            "3-",
            "-3",
            "2026-",
            "2026-12",
            "2026-12-",
            "from",
            "from 3",
            "from 3 to",
            "between 3 and",
            "del",
            "31",
            "9999-12-31",
            "\u{301}",
            "ß ς œ",
            "🚗 SUV 🚙 3 dec",
        ];
        for text in texts {
            for today in [
                date(TODAY),
                NaiveDate::MAX,
                NaiveDate::MIN,
                date("2028-02-29"),
            ] {
                let _ = extractor.extract(text, today);
            }
        }
        let far = extractor.extract("tomorrow, next week, this weekend, friday", NaiveDate::MAX);
        assert_eq!(far.dates, None);
        let far = extractor.extract("today for 3 days", NaiveDate::MAX);
        assert_eq!((far.dates, far.duration_days), (None, None));
        let near = extractor.extract("for 99999999999 days, 4294967296 weeks", NaiveDate::MIN);
        assert_eq!((near.dates, near.duration_days), (None, None));
    }

    /// Words that make up dates and classes, to build messages that are nearly dates.
    const WORDS: &[&str] = &[
        "3", "7", "31", "29", "0", "2026", "2027", "12", "-", "to", "from", "between", "and",
        "del", "al", "de", "du", "au", "a", "el", "the", "December", "dic", "févr", "April", "mar",
        "sat", "friday", "next", "this", "weekend", "week", "fin", "semana", "que", "viene",
        "mañana", "la", "tomorrow", "pick", "up", "pickup", "truck", "van", "SUV", "3rd", "1er",
        "of", "é", "for", "days", "nights", "a", "an", "una", "two", "starting", "pour", "jours",
        "366", "367", "in", "or", "end", "per", "à", "partir", "une", "semaine", "durante",
    ];

    fn message() -> impl Strategy<Value = String> {
        let word = proptest::sample::select(WORDS);
        let separator = proptest::sample::select(&[" ", "  ", "-", ", ", "'", "–", ""][..]);
        proptest::collection::vec((word, separator), 0..10).prop_map(|parts| {
            parts
                .into_iter()
                .map(|(w, s)| format!("{w}{s}"))
                .collect::<String>()
        })
    }

    /// One extractor for every proptest case (building one is the slow part in a debug build).
    fn shared() -> &'static EntityExtractor {
        static SHARED: std::sync::OnceLock<EntityExtractor> = std::sync::OnceLock::new();
        SHARED.get_or_init(EntityExtractor::new)
    }

    fn check_found(text: &str, found: &Entities) -> std::result::Result<(), TestCaseError> {
        let spans = [
            found.vehicle_class.as_ref().map(|f| f.span.clone()),
            found.dates.as_ref().map(|f| f.span.clone()),
            found.duration_days.as_ref().map(|f| f.span.clone()),
        ];
        for span in spans.into_iter().flatten() {
            prop_assert!(
                span.start < span.end && span.end <= text.len(),
                "{span:?} in {text:?}"
            );
            prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
        }
        if let Some(dates) = &found.dates {
            prop_assert!(dates.value.start < dates.value.end, "{text:?}");
            prop_assert!(found.duration_days.is_none(), "{text:?}");
        }
        if let Some(length) = &found.duration_days {
            prop_assert!((1..=MAX_DURATION_DAYS).contains(&length.value), "{text:?}");
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn any_text_is_safe(text in any::<String>(), days in 0u64..3000) {
            let today = date("2025-01-01") + Days::new(days);
            let found = shared().extract(&text, today);
            check_found(&text, &found)?;
        }

        #[test]
        fn near_dates_are_safe(text in message(), days in 0u64..3000) {
            let today = date("2025-01-01") + Days::new(days);
            let found = shared().extract(&text, today);
            check_found(&text, &found)?;
        }

        #[test]
        fn described_dates_read_back(start in 0u64..3000, length in 1u64..40, days in 0u64..400) {
            let start = date("2026-01-01") + Days::new(start);
            let range = DateRange::new(start, start + Days::new(length)).unwrap();
            let today = start - Days::new(days);
            for language in ["en", "es", "fr"] {
                let text = range.describe(language);
                let found = shared().dates(&text, today).map(|f| f.value);
                prop_assert_eq!(found, Some(range), "{} {:?}", language, text);
            }
        }

        #[test]
        fn rental_lengths_read_back(start in 0u64..3000, length in 1u32..=366, days in 0u64..400) {
            let start = date("2026-01-01") + Days::new(start);
            let range = DateRange::for_days(start, length).unwrap();
            let today = start - Days::new(days);
            let day = DateRange::day(start);
            let texts = [
                format!("for {length} days from {}", day.describe("en")),
                format!("{}, {length} nights", day.describe("en")),
                format!("durante {length} días desde {}", day.describe("es")),
                format!("pendant {length} jours, {}", day.describe("fr")),
            ];
            for text in texts {
                let found = shared().extract(&text, today);
                prop_assert_eq!(found.dates.map(|f| f.value), Some(range), "{:?}", text);
            }
            let alone = shared().extract(&format!("pour {length} jours"), today).duration_days;
            prop_assert_eq!(alone.map(|f| f.value), Some(length));
        }
    }

    #[test]
    fn every_relative_day_and_period_has_an_anchor() {
        let relative = RELATIVE_DAYS.phrases.iter().map(|(phrase, _)| *phrase);
        let periods = PERIODS.phrases.iter().map(|(phrase, _)| *phrase);
        for phrase in relative.chain(periods) {
            assert!(
                phrase.split(' ').any(|word| ANCHOR_WORDS.contains(&word)),
                "{phrase:?} has no anchor word"
            );
        }
    }

    #[test]
    fn table_bits_are_distinct() {
        let bits = [
            RELATIVE_DAYS.bit,
            PERIODS.bit,
            WEEKDAYS.bit,
            WEEKDAY_ABBREVIATIONS.bit,
            WEEKDAY_BEFORE.bit,
            WEEKDAY_AFTER.bit,
            MONTHS.bit,
            OPENERS.bit,
            CONNECTORS.bit,
            DURATION_BEFORE.bit,
            NUMBER_WORDS.bit,
            UNITS.bit,
            START_LINKS.bit,
            NOT_A_DURATION_AFTER.bit,
            RATE_BEFORE.bit,
            ANCHOR,
        ];
        let all = bits.iter().fold(0, |all, bit| {
            assert_eq!(bit.count_ones(), 1);
            assert_eq!(all & bit, 0, "bit {bit:#x} used twice");
            all | bit
        });
        let used = first_words().iter().fold(0, |all, (_, bit)| all | bit);
        assert_eq!(used | ANCHOR, all, "first_words() lists every table");
    }
}
