//! Analytics: the seed guide's figures over a time window.
//!
//! A store computes [`AnalyticsCounts`] (plain counts and sums, cheap to compute in SQL or from
//! counters); [`Analytics`] derives the rates and averages from them in one place, so every backend
//! reports the same figures the same way.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::clock::DAY_MS;
use crate::{Error, Message, Result, Room, RoomStatus, Sender, Timestamp};

/// How many days [`AnalyticsCounts::daily`] covers.
pub const DAILY_ACTIVITY_DAYS: u64 = 7;

/// The rooms analytics look at: those created in `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsWindow {
    /// Inclusive start.
    pub from: Timestamp,
    /// Exclusive end.
    pub to: Timestamp,
}

impl AnalyticsWindow {
    /// `[from, to)`; [`Error::InvalidRequest`] when `from > to`.
    pub fn new(from: Timestamp, to: Timestamp) -> Result<Self> {
        if from > to {
            return Err(Error::InvalidRequest(format!(
                "analytics window starts ({from}) after it ends ({to})"
            )));
        }
        Ok(AnalyticsWindow { from, to })
    }

    /// The `days` days up to `now`.
    pub fn last_days(now: Timestamp, days: u32) -> Self {
        AnalyticsWindow {
            from: Timestamp(now.0.saturating_sub(i64::from(days) * DAY_MS)),
            to: Timestamp(now.0.saturating_add(1)),
        }
    }

    /// Whether an instant is inside the window.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.from <= at && at < self.to
    }

    /// The window's last UTC day (the day of `to - 1 ms`).
    pub fn last_day(&self) -> NaiveDate {
        Timestamp(self.to.0.saturating_sub(1).max(self.from.0)).date()
    }

    /// The [`DAILY_ACTIVITY_DAYS`] UTC days ending on [`Self::last_day`], oldest first.
    pub fn daily_days(&self) -> Vec<NaiveDate> {
        let last = self.last_day();
        (0..DAILY_ACTIVITY_DAYS)
            .rev()
            .filter_map(|back| last.checked_sub_days(Days::new(back)))
            .collect()
    }

    /// `[start, end)` in milliseconds covering [`Self::daily_days`].
    pub fn daily_range(&self) -> (Timestamp, Timestamp) {
        let days = self.daily_days();
        let first = days.first().copied().unwrap_or_else(|| self.last_day());
        let last = days.last().copied().unwrap_or_else(|| self.last_day());
        (
            Timestamp::start_of(first),
            Timestamp(Timestamp::start_of(last).0.saturating_add(DAY_MS)),
        )
    }
}

/// Activity on one UTC day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyActivity {
    /// The day.
    pub date: NaiveDate,
    /// Rooms created that day.
    pub rooms: u64,
    /// Visitor, bot and agent messages written that day (system messages excluded).
    pub messages: u64,
}

/// Raw figures a store computes for a window. Every field except `daily` is about the rooms created
/// in the window, in their current state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AnalyticsCounts {
    /// Rooms created in the window.
    pub rooms: u64,
    /// …now in [`RoomStatus::Bot`].
    pub with_bot: u64,
    /// …now in [`RoomStatus::WaitingForAgent`].
    pub waiting_for_agent: u64,
    /// …now in [`RoomStatus::WithAgent`].
    pub with_agent: u64,
    /// …now [`RoomStatus::Closed`].
    pub closed: u64,
    /// …closed and never escalated: the bot resolved them.
    pub closed_without_escalation: u64,
    /// …escalated at some point (`escalated_at` set).
    pub escalated: u64,
    /// Visitor messages in those rooms.
    pub visitor_messages: u64,
    /// Bot messages in those rooms (the welcome included).
    pub bot_messages: u64,
    /// Agent messages in those rooms.
    pub agent_messages: u64,
    /// Rooms with both `escalated_at` and `first_agent_reply_at`.
    pub first_replies: u64,
    /// Sum over those rooms of `first_agent_reply_at - escalated_at`, in milliseconds.
    pub first_reply_ms_total: i64,
    /// Rated rooms.
    pub rated: u64,
    /// Sum of their ratings.
    pub rating_total: u64,
    /// Rooms and messages per day for the [`DAILY_ACTIVITY_DAYS`] days ending on the window's last
    /// day, oldest first, every day present (zeros included). Not limited to the window.
    pub daily: Vec<DailyActivity>,
}

impl AnalyticsCounts {
    /// Counts one room of the window: its status, escalation, first reply and rating (not its
    /// messages). For backends that keep message counts elsewhere (counters) and read rooms whole.
    pub fn add_room(&mut self, room: &Room) {
        self.rooms += 1;
        match room.status {
            RoomStatus::Bot => self.with_bot += 1,
            RoomStatus::WaitingForAgent => self.waiting_for_agent += 1,
            RoomStatus::WithAgent => self.with_agent += 1,
            RoomStatus::Closed => {
                self.closed += 1;
                if room.escalated_at.is_none() {
                    self.closed_without_escalation += 1;
                }
            }
        }
        if room.escalated_at.is_some() {
            self.escalated += 1;
        }
        if let (Some(escalated), Some(replied)) = (room.escalated_at, room.first_agent_reply_at) {
            self.first_replies += 1;
            self.first_reply_ms_total += replied.0 - escalated.0;
        }
        if let Some(rating) = room.rating {
            self.rated += 1;
            self.rating_total += u64::from(rating.get());
        }
    }

    /// Computes the counts by scanning rooms and their messages: the reference definition, used by
    /// [`crate::MemoryStore`] and by tests of other backends.
    pub fn scan<'a>(
        window: &AnalyticsWindow,
        rooms: impl IntoIterator<Item = (&'a Room, &'a [Message])>,
    ) -> Self {
        let mut counts = AnalyticsCounts::default();
        let days = window.daily_days();
        let mut daily: Vec<DailyActivity> = days
            .iter()
            .map(|&date| DailyActivity {
                date,
                rooms: 0,
                messages: 0,
            })
            .collect();
        let (daily_start, daily_end) = window.daily_range();
        let day_index = |at: Timestamp| -> Option<usize> {
            (daily_start <= at && at < daily_end)
                .then(|| usize::try_from((at.0 - daily_start.0) / DAY_MS).ok())
                .flatten()
        };
        for (room, messages) in rooms {
            if let Some(i) = day_index(room.created_at) {
                daily[i].rooms += 1;
            }
            for message in messages {
                if message.sender != Sender::System {
                    if let Some(i) = day_index(message.created_at) {
                        daily[i].messages += 1;
                    }
                }
            }
            if !window.contains(room.created_at) {
                continue;
            }
            counts.add_room(room);
            for message in messages {
                match message.sender {
                    Sender::Visitor => counts.visitor_messages += 1,
                    Sender::Bot => counts.bot_messages += 1,
                    Sender::Agent(_) => counts.agent_messages += 1,
                    Sender::System => {}
                }
            }
        }
        counts.daily = daily;
        counts
    }
}

/// The seed guide's analytics for a window, derived from [`AnalyticsCounts`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Analytics {
    /// The window.
    pub window: AnalyticsWindow,
    /// Chat sessions opened in the window.
    pub total_sessions: u64,
    /// Of those, now talking to an agent.
    pub active_conversations: u64,
    /// Of those, now waiting in the agents' queue.
    pub pending_escalations: u64,
    /// Of those, now with the bot.
    pub with_bot: u64,
    /// Of those, closed.
    pub closed_sessions: u64,
    /// Closed rooms never escalated ÷ closed rooms; `None` without closed rooms.
    pub bot_resolution_rate: Option<f64>,
    /// Escalated rooms ÷ all rooms; `None` without rooms.
    pub escalation_rate: Option<f64>,
    /// Visitor + bot + agent messages (system messages excluded).
    pub total_messages: u64,
    /// `total_messages` ÷ sessions; `None` without rooms.
    pub average_messages_per_chat: Option<f64>,
    /// Mean time from escalation to the agent's first reply, in seconds.
    pub average_first_reply_secs: Option<f64>,
    /// Mean CSAT rating, 1–5.
    pub average_rating: Option<f64>,
    /// Rated rooms.
    pub rated_sessions: u64,
    /// Rooms and messages per day for the last seven days of the window.
    pub daily_activity: Vec<DailyActivity>,
}

fn ratio(numerator: f64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator / denominator as f64)
}

impl Analytics {
    /// Derives the figures.
    pub fn from_counts(window: AnalyticsWindow, counts: AnalyticsCounts) -> Self {
        let total_messages = counts.visitor_messages + counts.bot_messages + counts.agent_messages;
        Analytics {
            window,
            total_sessions: counts.rooms,
            active_conversations: counts.with_agent,
            pending_escalations: counts.waiting_for_agent,
            with_bot: counts.with_bot,
            closed_sessions: counts.closed,
            bot_resolution_rate: ratio(counts.closed_without_escalation as f64, counts.closed),
            escalation_rate: ratio(counts.escalated as f64, counts.rooms),
            total_messages,
            average_messages_per_chat: ratio(total_messages as f64, counts.rooms),
            average_first_reply_secs: ratio(
                counts.first_reply_ms_total as f64 / 1000.0,
                counts.first_replies,
            ),
            average_rating: ratio(counts.rating_total as f64, counts.rated),
            rated_sessions: counts.rated,
            daily_activity: counts.daily,
        }
    }
}
