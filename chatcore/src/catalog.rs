//! What the bot knows of the fleet: the [`RentalCatalog`] a host application implements, the
//! placeholders rule responses may use to quote it, and [`MemoryCatalog`], an in-memory catalog for
//! demos and tests.
//!
//! A rule with a [`catalog_response`](crate::BotRule::catalog_response) answers from the catalog when
//! the service has one ([`crate::ChatServiceBuilder::catalog`]): the service extracts the vehicle
//! class and dates from the visitor's words ([`crate::entities`]), remembers them in the room's
//! context, asks a follow-up question when one is missing, calls the catalog and fills the
//! placeholders. Without a catalog, or when it fails, the rule's static `response` is sent.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate, Weekday};

use crate::entities::{DateRange, VehicleClass};
use crate::Result;

/// The host application's fleet and prices. Implement it over your booking system; calls happen on
/// the chat path, so answer quickly (the service gives up after
/// [`crate::ChatConfig::catalog_timeout`] and sends the static response).
#[async_trait]
pub trait RentalCatalog: Send + Sync + fmt::Debug + 'static {
    /// The vehicle classes on offer, in the order the bot lists them.
    async fn vehicle_classes(&self) -> Result<Vec<VehicleClass>>;

    /// The price of renting `request.class` for `request.dates`; `None` when the class is not offered
    /// (there or then).
    async fn quote(&self, request: &QuoteRequest) -> Result<Option<Quote>>;

    /// How many cars of `request.class` are free for the whole of `request.dates`; `None` when the
    /// class is not offered.
    async fn availability(&self, request: &QuoteRequest) -> Result<Option<u32>>;
}

/// What a quote or an availability check is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct QuoteRequest {
    /// The vehicle class.
    pub class: VehicleClass,
    /// Pick-up and return dates.
    pub dates: DateRange,
    /// The pick-up location, when the host set one in the room's context (key `location`).
    pub location: Option<String>,
}

impl QuoteRequest {
    /// A request without a location.
    pub fn new(class: VehicleClass, dates: DateRange) -> Self {
        QuoteRequest {
            class,
            dates,
            location: None,
        }
    }

    /// Sets the pick-up location.
    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
}

/// A price in a currency's minor units (cents), formatted with two decimals.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Price {
    /// Amount in minor units: 6900 is 69.00.
    pub minor_units: u64,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
}

impl Price {
    /// A price.
    pub fn new(minor_units: u64, currency: impl Into<String>) -> Self {
        Price {
            minor_units,
            currency: currency.into(),
        }
    }

    /// The price as a visitor of `language` writes it: `$1,069.00` in English, `1.069,00 $` in
    /// Spanish, `1 069,00 $` in French; codes without a well-known symbol are written out
    /// (`69.00 CHF`).
    pub fn format(&self, language: &str) -> String {
        let symbol = match self.currency.as_str() {
            "USD" => Some("$"),
            "EUR" => Some("€"),
            "GBP" => Some("£"),
            _ => None,
        };
        let cents = self.minor_units % 100;
        let language = crate::entities::primary_language(language).to_ascii_lowercase();
        // Thousands grouped as each language writes them: 1,234.50 / 1.234,50 / 1 234,50.
        let group = |separator: &str| {
            let digits = (self.minor_units / 100).to_string();
            let mut grouped = String::new();
            for (i, digit) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i).is_multiple_of(3) {
                    grouped.push_str(separator);
                }
                grouped.push(digit);
            }
            grouped
        };
        match (language.as_str(), symbol) {
            ("es", Some(symbol)) => format!("{},{cents:02} {symbol}", group(".")),
            ("es", None) => format!("{},{cents:02} {}", group("."), self.currency),
            ("fr", Some(symbol)) => format!("{},{cents:02} {symbol}", group("\u{202f}")),
            ("fr", None) => format!("{},{cents:02} {}", group("\u{202f}"), self.currency),
            (_, Some(symbol)) => format!("{symbol}{}.{cents:02}", group(",")),
            (_, None) => format!("{}.{cents:02} {}", group(","), self.currency),
        }
    }
}

/// The catalog's answer to [`RentalCatalog::quote`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Quote {
    /// The mean price per rental day over the dates.
    pub daily: Price,
    /// The price of the whole rental.
    pub total: Price,
}

impl Quote {
    /// A quote.
    pub fn new(daily: Price, total: Price) -> Self {
        Quote { daily, total }
    }
}

/// A value a catalog response can show, written `{name}` in the template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Placeholder {
    /// `{vehicle_class}`: the class asked about, named in the room's language.
    VehicleClass,
    /// `{dates}`: the pick-up and return dates, written out.
    Dates,
    /// `{days}`: the number of rental days.
    Days,
    /// `{daily_price}`: the mean daily price for those dates, with its currency.
    DailyPrice,
    /// `{total_price}`: the price of the whole rental, with its currency.
    TotalPrice,
    /// `{currency}`: the quote's ISO 4217 code.
    Currency,
    /// `{available_count}`: how many cars of the class are free for the dates.
    AvailableCount,
}

impl Placeholder {
    /// Every placeholder, in documentation order.
    pub const ALL: [Placeholder; 7] = [
        Placeholder::VehicleClass,
        Placeholder::Dates,
        Placeholder::Days,
        Placeholder::DailyPrice,
        Placeholder::TotalPrice,
        Placeholder::Currency,
        Placeholder::AvailableCount,
    ];

    /// The name written between braces.
    pub fn name(self) -> &'static str {
        match self {
            Placeholder::VehicleClass => "vehicle_class",
            Placeholder::Dates => "dates",
            Placeholder::Days => "days",
            Placeholder::DailyPrice => "daily_price",
            Placeholder::TotalPrice => "total_price",
            Placeholder::Currency => "currency",
            Placeholder::AvailableCount => "available_count",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether filling it needs the vehicle class.
    pub fn needs_class(self) -> bool {
        !matches!(self, Placeholder::Dates | Placeholder::Days)
    }

    /// Whether filling it needs the dates. Every price and count depends on them.
    pub fn needs_dates(self) -> bool {
        self != Placeholder::VehicleClass
    }

    fn needs_quote(self) -> bool {
        matches!(
            self,
            Placeholder::DailyPrice | Placeholder::TotalPrice | Placeholder::Currency
        )
    }
}

/// A parsed catalog response: literal text and placeholders. `{{` and `}}` write a literal brace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Value(Placeholder),
}

impl Template {
    /// Parses a template; the error names the problem and the known placeholders.
    pub fn parse(template: &str) -> std::result::Result<Self, String> {
        let known = || {
            Placeholder::ALL
                .iter()
                .map(|p| format!("{{{}}}", p.name()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = template;
        while let Some(at) = rest.find(['{', '}']) {
            text.push_str(&rest[..at]);
            let tail = &rest[at..];
            if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
                text.push_str(&tail[..1]);
                rest = after;
                continue;
            }
            if tail.starts_with('}') {
                return Err("a lone \"}\" (write \"}}\" for a literal brace)".into());
            }
            let Some(end) = tail.find('}') else {
                return Err(format!(
                    "an unclosed \"{{\" (write \"{{{{\" for a literal brace); placeholders are {}",
                    known()
                ));
            };
            let name = &tail[1..end];
            let Some(placeholder) = Placeholder::from_name(name.trim()) else {
                return Err(format!(
                    "unknown placeholder {{{}}}; placeholders are {}",
                    crate::types::truncate_for_error(name),
                    known()
                ));
            };
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Value(placeholder));
            rest = &tail[end + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    /// The placeholders it uses, each once, in order.
    pub fn placeholders(&self) -> Vec<Placeholder> {
        let mut seen = Vec::new();
        for part in &self.parts {
            if let Part::Value(p) = part {
                if !seen.contains(p) {
                    seen.push(*p);
                }
            }
        }
        seen
    }

    /// Whether filling it needs the vehicle class.
    pub fn needs_class(&self) -> bool {
        self.placeholders().iter().any(|p| p.needs_class())
    }

    /// Whether filling it needs the dates.
    pub fn needs_dates(&self) -> bool {
        self.placeholders().iter().any(|p| p.needs_dates())
    }

    /// Whether filling it needs [`RentalCatalog::quote`].
    pub fn needs_quote(&self) -> bool {
        self.placeholders().iter().any(|p| p.needs_quote())
    }

    /// Whether filling it needs [`RentalCatalog::availability`].
    pub fn needs_availability(&self) -> bool {
        self.placeholders().contains(&Placeholder::AvailableCount)
    }

    /// The text with every placeholder filled; `None` when a value it uses is missing.
    pub fn render(&self, values: &BTreeMap<Placeholder, String>) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Value(p) => out.push_str(values.get(p)?),
            }
        }
        Some(out)
    }
}

/// One vehicle class of a [`MemoryCatalog`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct Offer {
    class: VehicleClass,
    daily_minor_units: u64,
    fleet: u32,
}

/// An in-memory [`RentalCatalog`]: a price per class and day, a weekend surcharge, a discount for
/// long rentals, a fleet size per class and the bookings that take cars out of it. The reference
/// server's demo data is [`MemoryCatalog::demo`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryCatalog {
    currency: String,
    offers: Vec<Offer>,
    weekend_surcharge_percent: u64,
    weekly_discount_percent: u64,
    bookings: Vec<(VehicleClass, DateRange, u32)>,
}

impl MemoryCatalog {
    /// An empty catalog pricing in `currency` (ISO 4217).
    pub fn new(currency: impl Into<String>) -> Self {
        MemoryCatalog {
            currency: currency.into(),
            offers: Vec::new(),
            weekend_surcharge_percent: 0,
            weekly_discount_percent: 0,
            bookings: Vec::new(),
        }
    }

    /// Offers `class` at `daily_minor_units` per weekday with `fleet` cars.
    pub fn offer(mut self, class: VehicleClass, daily_minor_units: u64, fleet: u32) -> Self {
        self.offers.retain(|o| o.class != class);
        self.offers.push(Offer {
            class,
            daily_minor_units,
            fleet,
        });
        self
    }

    /// Saturdays and Sundays cost this much more.
    pub fn weekend_surcharge_percent(mut self, percent: u64) -> Self {
        self.weekend_surcharge_percent = percent;
        self
    }

    /// Rentals of 7 days or more cost this much less.
    pub fn weekly_discount_percent(mut self, percent: u64) -> Self {
        self.weekly_discount_percent = percent;
        self
    }

    /// `count` cars of `class` are booked for `dates`.
    pub fn booked(mut self, class: VehicleClass, dates: DateRange, count: u32) -> Self {
        self.bookings.push((class, dates, count));
        self
    }

    /// The demo fleet: the prices the default rules quote ($29 economy … $119 luxury per weekday),
    /// 20 % more on weekends, 15 % off weekly rentals, and a few convertibles and SUVs booked on the
    /// given days so availability differs by date.
    pub fn demo(today: NaiveDate) -> Self {
        let class = |name: &str| {
            VehicleClass::new(name).unwrap_or_else(|_| unreachable!("built-in class name"))
        };
        let days = |from: i64, to: i64| {
            DateRange::new(
                today + chrono::Days::new(from as u64),
                today + chrono::Days::new(to as u64),
            )
            .unwrap_or_else(|_| unreachable!("from < to"))
        };
        MemoryCatalog::new("USD")
            .offer(class(VehicleClass::ECONOMY), 2900, 40)
            .offer(class(VehicleClass::COMPACT), 3900, 35)
            .offer(class(VehicleClass::SEDAN), 4900, 30)
            .offer(class(VehicleClass::SUV), 6900, 20)
            .offer(class(VehicleClass::MINIVAN), 7900, 10)
            .offer(class(VehicleClass::CONVERTIBLE), 8900, 6)
            .offer(class(VehicleClass::LUXURY), 11900, 5)
            .offer(class(VehicleClass::PICKUP), 7500, 8)
            .offer(class(VehicleClass::ELECTRIC), 5900, 12)
            .weekend_surcharge_percent(20)
            .weekly_discount_percent(15)
            .booked(class(VehicleClass::CONVERTIBLE), days(1, 3), 4)
            .booked(class(VehicleClass::SUV), days(0, 14), 7)
    }

    fn offer_for(&self, class: &VehicleClass) -> Option<&Offer> {
        self.offers.iter().find(|o| &o.class == class)
    }

    /// The price of one day; `None` when it does not fit in a `u64`.
    fn day_price(&self, offer: &Offer, day: NaiveDate) -> Option<u64> {
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        let surcharge = if weekend {
            self.weekend_surcharge_percent
        } else {
            0
        };
        offer
            .daily_minor_units
            .checked_mul(surcharge.checked_add(100)?)
            .map(|p| p / 100)
    }
}

#[async_trait]
impl RentalCatalog for MemoryCatalog {
    async fn vehicle_classes(&self) -> Result<Vec<VehicleClass>> {
        Ok(self.offers.iter().map(|o| o.class.clone()).collect())
    }

    async fn quote(&self, request: &QuoteRequest) -> Result<Option<Quote>> {
        let Some(offer) = self.offer_for(&request.class) else {
            return Ok(None);
        };
        let days = request.dates.days();
        let too_big = || crate::Error::InvalidRequest("the price does not fit in 64 bits".into());
        let mut total: u64 = request
            .dates
            .iter_days()
            .try_fold(0u64, |sum, day| {
                sum.checked_add(self.day_price(offer, day)?)
            })
            .ok_or_else(too_big)?;
        if days >= 7 {
            total = total
                .checked_mul(100 - self.weekly_discount_percent.min(100))
                .ok_or_else(too_big)?
                / 100;
        }
        let daily = total / u64::from(days.max(1));
        Ok(Some(Quote::new(
            Price::new(daily, self.currency.clone()),
            Price::new(total, self.currency.clone()),
        )))
    }

    async fn availability(&self, request: &QuoteRequest) -> Result<Option<u32>> {
        let Some(offer) = self.offer_for(&request.class) else {
            return Ok(None);
        };
        // The busiest day of the range decides: a car must be free for all of it.
        let busiest = request
            .dates
            .iter_days()
            .map(|day| {
                self.bookings
                    .iter()
                    .filter(|(class, dates, _)| class == &request.class && dates.contains(day))
                    .fold(0u32, |sum, (_, _, count)| sum.saturating_add(*count))
            })
            .max()
            .unwrap_or(0);
        Ok(Some(offer.fleet.saturating_sub(busiest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn templates_parse_and_render() {
        let cases: &[(&str, Result<Vec<Placeholder>, &str>)] = &[
            ("plain text", Ok(vec![])),
            (
                "{vehicle_class} from {daily_price} a day, {total_price} in all",
                Ok(vec![
                    Placeholder::VehicleClass,
                    Placeholder::DailyPrice,
                    Placeholder::TotalPrice,
                ]),
            ),
            ("{{literal}} braces", Ok(vec![])),
            ("{ days }", Ok(vec![Placeholder::Days])),
            ("{price}", Err("unknown placeholder {price}")),
            ("{daily_price", Err("an unclosed \"{\"")),
            ("oops }", Err("a lone \"}\"")),
            ("{}", Err("unknown placeholder {}")),
        ];
        for (template, expected) in cases {
            match (Template::parse(template), expected) {
                (Ok(t), Ok(placeholders)) => {
                    assert_eq!(&t.placeholders(), placeholders, "{template}")
                }
                (Err(e), Err(start)) => assert!(e.starts_with(start), "{template}: {e}"),
                (got, want) => panic!("{template}: got {got:?}, want {want:?}"),
            }
        }
        let t = Template::parse("{{{vehicle_class}}}: {days} days").unwrap();
        let mut values = BTreeMap::new();
        values.insert(Placeholder::VehicleClass, "SUV".to_owned());
        assert_eq!(t.render(&values), None, "days missing");
        values.insert(Placeholder::Days, "3".to_owned());
        assert_eq!(t.render(&values).as_deref(), Some("{SUV}: 3 days"));
    }

    #[test]
    fn prices_are_written_per_language() {
        let p = Price::new(6900, "USD");
        assert_eq!(p.format("en"), "$69.00");
        assert_eq!(p.format("es"), "69,00 $");
        assert_eq!(Price::new(1205, "EUR").format("fr-CA"), "12,05 €");
        assert_eq!(Price::new(5, "CHF").format("en"), "0.05 CHF");
        let big = Price::new(123_456_789, "USD");
        assert_eq!(big.format("en"), "$1,234,567.89");
        assert_eq!(big.format("es"), "1.234.567,89 $");
        assert_eq!(big.format("fr"), "1\u{202f}234\u{202f}567,89 $");
        assert_eq!(Price::new(99_900, "EUR").format("en"), "€999.00");
    }

    #[tokio::test]
    async fn the_demo_catalog_prices_weekends_and_long_rentals() {
        // 2026-12-05 is a Saturday.
        let catalog = MemoryCatalog::demo(date(2026, 11, 26));
        let suv = VehicleClass::new("suv").unwrap();
        let weekend = DateRange::new(date(2026, 12, 5), date(2026, 12, 7)).unwrap();
        let quote = catalog
            .quote(&QuoteRequest::new(suv.clone(), weekend))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(quote.total, Price::new(2 * 8280, "USD"));
        assert_eq!(quote.daily, Price::new(8280, "USD"));
        let week = DateRange::new(date(2026, 12, 7), date(2026, 12, 14)).unwrap();
        let quote = catalog
            .quote(&QuoteRequest::new(suv.clone(), week))
            .await
            .unwrap()
            .unwrap();
        // Five weekdays at 69, two weekend days at 82.80, 15 % off.
        assert_eq!(quote.total.minor_units, (5 * 6900 + 2 * 8280) * 85 / 100);
        let convertible = VehicleClass::new("convertible").unwrap();
        let tomorrow = DateRange::new(date(2026, 11, 27), date(2026, 11, 28)).unwrap();
        let free = |dates| QuoteRequest::new(convertible.clone(), dates);
        assert_eq!(
            catalog.availability(&free(tomorrow)).await.unwrap(),
            Some(2)
        );
        let later = DateRange::new(date(2026, 12, 1), date(2026, 12, 2)).unwrap();
        assert_eq!(catalog.availability(&free(later)).await.unwrap(), Some(6));
        // Prices too big for 64 bits are an error, never a panic or a wrapped number.
        let huge = MemoryCatalog::new("USD")
            .offer(VehicleClass::new("suv").unwrap(), u64::MAX / 2, 1)
            .weekend_surcharge_percent(50);
        let week = DateRange::new(date(2026, 12, 7), date(2026, 12, 14)).unwrap();
        let refused = huge
            .quote(&QuoteRequest::new(VehicleClass::new("suv").unwrap(), week))
            .await;
        assert!(
            matches!(refused, Err(crate::Error::InvalidRequest(_))),
            "{refused:?}"
        );
        let spaceship = VehicleClass::new("spaceship").unwrap();
        let nothing = catalog
            .quote(&QuoteRequest::new(spaceship, later))
            .await
            .unwrap();
        assert_eq!(nothing, None);
    }
}
