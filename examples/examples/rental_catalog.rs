//! Your own fleet behind the bot: a `RentalCatalog` over a small fleet table (a price per class,
//! cars per class, a few bookings), given to `ChatServiceBuilder::catalog`. The default rules then
//! answer prices and availability for the class and dates the visitor names, ask for what is
//! missing and remember it, and answer in the visitor's language. Each catalog call is printed
//! (`catalog:` lines) where the service makes it. A `ManualClock` fixes "today" on Wednesday
//! 10 June 2026, so "tomorrow" and "next weekend" always mean the same days.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p examples --example rental_catalog
//! ```

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chatcore::{
    ChatService, DateRange, ManualClock, MemoryFanout, MemoryStore, OpenRoom, Price, Quote,
    QuoteRequest, RentalCatalog, Result, Timestamp, VehicleClass,
};
use chrono::NaiveDate;
use examples::print_message;

/// One line of the fleet table.
#[derive(Debug)]
struct Fleet {
    class: VehicleClass,
    /// Price per rental day, in cents.
    daily_cents: u64,
    cars: u32,
}

/// Cars of a class taken for some days.
#[derive(Debug)]
struct Booking {
    class: VehicleClass,
    dates: DateRange,
    cars: u32,
}

/// The host's booking system, reduced to two tables.
#[derive(Debug)]
struct FleetCatalog {
    fleet: Vec<Fleet>,
    bookings: Vec<Booking>,
}

const CURRENCY: &str = "USD";

impl FleetCatalog {
    fn fleet(&self, class: &VehicleClass) -> Option<&Fleet> {
        self.fleet.iter().find(|row| &row.class == class)
    }
}

#[async_trait]
impl RentalCatalog for FleetCatalog {
    async fn vehicle_classes(&self) -> Result<Vec<VehicleClass>> {
        Ok(self.fleet.iter().map(|row| row.class.clone()).collect())
    }

    async fn quote(&self, request: &QuoteRequest) -> Result<Option<Quote>> {
        // `None`: we do not rent this class, and the bot says so.
        let quote = self.fleet(&request.class).map(|row| {
            let total = row.daily_cents * u64::from(request.dates.days());
            Quote::new(
                Price::new(row.daily_cents, CURRENCY),
                Price::new(total, CURRENCY),
            )
        });
        println!(
            "          catalog: quote({}, {} to {}) = {}",
            request.class,
            request.dates.start,
            request.dates.end,
            quote
                .as_ref()
                .map_or("not offered".into(), |q| q.total.format("en"))
        );
        Ok(quote)
    }

    async fn availability(&self, request: &QuoteRequest) -> Result<Option<u32>> {
        let Some(row) = self.fleet(&request.class) else {
            return Ok(None);
        };
        // A car must be free on every day of the rental: the busiest day decides.
        let busiest = request
            .dates
            .iter_days()
            .map(|day| {
                self.bookings
                    .iter()
                    .filter(|b| b.class == request.class && b.dates.contains(day))
                    .map(|b| b.cars)
                    .sum::<u32>()
            })
            .max()
            .unwrap_or(0);
        let free = row.cars.saturating_sub(busiest);
        println!(
            "          catalog: availability({}, {} to {}) = {free} of {}",
            request.class, request.dates.start, request.dates.end, row.cars
        );
        Ok(Some(free))
    }
}

/// Our fleet: six classes (no pickups), and bookings around the two coming weekends.
fn fleet_catalog() -> Result<FleetCatalog> {
    let class = VehicleClass::new;
    let date = |day| NaiveDate::from_ymd_opt(2026, 6, day).expect("a June date");
    let fleet = [
        (VehicleClass::ECONOMY, 3500, 12),
        (VehicleClass::COMPACT, 4200, 10),
        (VehicleClass::SEDAN, 5500, 8),
        (VehicleClass::SUV, 7900, 6),
        (VehicleClass::CONVERTIBLE, 9900, 4),
        (VehicleClass::ELECTRIC, 6500, 5),
    ];
    let bookings = [
        (VehicleClass::CONVERTIBLE, date(11), date(14), 3),
        (VehicleClass::SUV, date(19), date(23), 2),
        (VehicleClass::SUV, date(20), date(21), 1),
    ];
    Ok(FleetCatalog {
        fleet: fleet
            .into_iter()
            .map(|(name, daily_cents, cars)| {
                Ok(Fleet {
                    class: class(name)?,
                    daily_cents,
                    cars,
                })
            })
            .collect::<Result<_>>()?,
        bookings: bookings
            .into_iter()
            .map(|(name, start, end, cars)| {
                Ok(Booking {
                    class: class(name)?,
                    dates: DateRange::new(start, end)?,
                    cars,
                })
            })
            .collect::<Result<_>>()?,
    })
}

/// One conversation in a fresh room.
async fn conversation(
    chat: &ChatService,
    title: &str,
    open: OpenRoom,
    lines: &[&str],
) -> Result<()> {
    println!("\n== {title}");
    let (room, _welcome) = chat.open_room(open).await?;
    for line in lines {
        // The visitor's line first, so the catalog calls print between it and the answer.
        println!("{:>14}: {line}", "visitor");
        let turn = chat.post_visitor_message(room.id, line, None).await?;
        turn.bot_reply.iter().for_each(print_message);
    }
    let room = chat.room(room.id).await?;
    println!(
        "      (the room remembers: {:?}, language {:?})",
        room.context,
        room.language.unwrap_or_default()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let today = NaiveDate::from_ymd_opt(2026, 6, 10).expect("a date");
    let clock = ManualClock::new(Timestamp::start_of(today).plus(Duration::from_secs(9 * 3600)));
    let chat = ChatService::builder(Arc::new(MemoryStore::new()), Arc::new(MemoryFanout::new()))
        .catalog(Arc::new(fleet_catalog()?))
        .clock(Arc::new(clock))
        .build();
    chat.seed_default_rules().await?;
    println!("Today is {} (a ManualClock).", today.format("%A %-d %B %Y"));

    conversation(
        &chat,
        "A price for a class and dates",
        OpenRoom::anonymous(),
        &["How much is an SUV next weekend?"],
    )
    .await?;
    conversation(
        &chat,
        "Availability",
        OpenRoom::anonymous(),
        &["Any convertibles available tomorrow?"],
    )
    .await?;
    conversation(
        &chat,
        "The bot asks for what is missing",
        OpenRoom::anonymous(),
        &["How much does it cost?", "an SUV", "this weekend"],
    )
    .await?;
    conversation(
        &chat,
        "A class we do not rent",
        OpenRoom::anonymous(),
        &["What's the price of a pickup truck tomorrow?"],
    )
    .await?;
    conversation(
        &chat,
        "In Spanish",
        OpenRoom::anonymous().language("es"),
        &[
            "¿Cuánto cuesta un todoterreno este fin de semana?",
            "¿Y un descapotable?",
            "¿Hay todoterrenos disponibles el fin de semana que viene?",
        ],
    )
    .await?;
    Ok(())
}
