//! Which price stage applies.
//!
//! An event's stages form sequences, one per scope: the whole event, or one
//! zone. Within a scope the stages run in their `position` order:
//!
//! - a stage is **over** once its transition is recorded, its window has ended
//!   (`ends_at <= now`), or its quantity limit is sold;
//! - the **current** stage is the first stage not over, provided it has started:
//!   its `starts_at` has passed or is unset, or an earlier stage of the scope is
//!   over. The next stage starts at once when its predecessor ends, so a stage
//!   sold out mid-window never drops the price back to the base;
//! - before the first stage starts there is no stage, and the zone's base price
//!   applies;
//! - when every stage is over, the last stage's price stays.
//!
//! For a zone, its own scope wins whenever that scope has a stage (current or
//! finished); otherwise the event-wide scope applies.

use chrono::{DateTime, Utc};

/// State of one stage, as far as the selection needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageState {
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub quantity_limit: Option<i64>,
    pub units_sold: i64,
    /// The stage's transition is recorded.
    pub ended: bool,
}

impl StageState {
    /// True when the stage can no longer price a unit at `now`.
    pub fn is_over(&self, now: DateTime<Utc>) -> bool {
        self.ended
            || self.ends_at.is_some_and(|ends| ends <= now)
            || self
                .quantity_limit
                .is_some_and(|limit| self.units_sold >= limit)
    }

    /// True when the window ended before the quantity was sold.
    pub fn window_passed(&self, now: DateTime<Utc>) -> bool {
        !self.ended && self.ends_at.is_some_and(|ends| ends <= now)
    }

    /// Units left before the quantity limit, if the stage has one.
    pub fn units_left(&self) -> Option<i64> {
        self.quantity_limit
            .map(|limit| (limit - self.units_sold).max(0))
    }
}

/// The stage that prices a unit in one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// No stage has started: the base price applies.
    NotStarted,
    /// The stage at this index is running.
    Running(usize),
    /// Every stage is over; the stage at this index (the last) keeps its price.
    Finished(usize),
}

impl Selection {
    /// Returns the index of the stage whose modifier applies, if any.
    pub fn index(self) -> Option<usize> {
        match self {
            Selection::NotStarted => None,
            Selection::Running(index) | Selection::Finished(index) => Some(index),
        }
    }
}

/// Selects the stage of one scope; `stages` must be in position order.
pub fn select(stages: &[StageState], now: DateTime<Utc>) -> Selection {
    let Some(first_open) = stages.iter().position(|stage| !stage.is_over(now)) else {
        return match stages.len() {
            0 => Selection::NotStarted,
            count => Selection::Finished(count - 1),
        };
    };
    let stage = &stages[first_open];
    let started = stage.starts_at.is_none_or(|starts| starts <= now);
    // Every stage before `first_open` is over, so any predecessor starts it.
    if started || first_open > 0 {
        Selection::Running(first_open)
    } else {
        Selection::NotStarted
    }
}

/// The stage that will follow the selected one, if any: the next stage not over.
pub fn next_after(
    stages: &[StageState],
    selection: Selection,
    now: DateTime<Utc>,
) -> Option<usize> {
    let from = match selection {
        Selection::NotStarted => 0,
        Selection::Running(index) => index + 1,
        Selection::Finished(_) => return None,
    };
    (from..stages.len()).find(|&index| !stages[index].is_over(now))
}

/// True when two optional windows `[start, end)` share an instant; a missing
/// bound is open.
pub fn windows_overlap(
    first: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    second: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
) -> bool {
    let starts_before_other_ends =
        |start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>| match (start, end) {
            (Some(start), Some(end)) => start < end,
            _ => true,
        };
    starts_before_other_ends(first.0, second.1) && starts_before_other_ends(second.0, first.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
    }

    fn stage(starts: Option<u32>, ends: Option<u32>, limit: Option<i64>, sold: i64) -> StageState {
        StageState {
            starts_at: starts.map(at),
            ends_at: ends.map(at),
            quantity_limit: limit,
            units_sold: sold,
            ended: false,
        }
    }

    #[test]
    fn no_stages_means_base_price() {
        assert_eq!(select(&[], at(10)), Selection::NotStarted);
    }

    #[test]
    fn first_stage_waits_for_its_start() {
        let stages = [stage(Some(12), Some(14), None, 0)];
        assert_eq!(select(&stages, at(11)), Selection::NotStarted);
        assert_eq!(select(&stages, at(12)), Selection::Running(0));
        assert_eq!(select(&stages, at(14)), Selection::Finished(0));
    }

    #[test]
    fn quantity_end_mid_window_starts_the_next_stage_at_once() {
        // Early bird 08:00–12:00 or 50 units; regular from 12:00.
        let stages = [
            stage(Some(8), Some(12), Some(50), 50),
            stage(Some(12), None, None, 0),
        ];
        assert_eq!(select(&stages, at(10)), Selection::Running(1));
    }

    #[test]
    fn date_end_moves_to_the_next_stage() {
        let stages = [
            stage(None, Some(12), Some(50), 10),
            stage(None, None, None, 0),
        ];
        assert_eq!(select(&stages, at(11)), Selection::Running(0));
        assert_eq!(select(&stages, at(12)), Selection::Running(1));
    }

    #[test]
    fn last_stage_price_stays() {
        let stages = [
            stage(None, None, Some(10), 10),
            stage(None, None, Some(20), 20),
        ];
        assert_eq!(select(&stages, at(10)), Selection::Finished(1));
        assert_eq!(next_after(&stages, Selection::Finished(1), at(10)), None);
    }

    #[test]
    fn recorded_transition_ends_a_stage() {
        let mut first = stage(None, None, Some(10), 3);
        first.ended = true;
        let stages = [first, stage(None, None, None, 0)];
        assert_eq!(select(&stages, at(10)), Selection::Running(1));
    }

    #[test]
    fn next_stage_is_the_following_open_one() {
        let stages = [
            stage(None, Some(12), None, 0),
            stage(None, Some(9), None, 0),
            stage(None, None, None, 0),
        ];
        assert_eq!(next_after(&stages, Selection::Running(0), at(10)), Some(2));
        assert_eq!(next_after(&stages, Selection::NotStarted, at(10)), Some(0));
    }

    #[test]
    fn units_left_counts_down() {
        assert_eq!(stage(None, None, Some(50), 20).units_left(), Some(30));
        assert_eq!(stage(None, None, None, 20).units_left(), None);
    }

    #[test]
    fn windows_overlap_with_open_bounds() {
        let closed = |start: u32, end: u32| (Some(at(start)), Some(at(end)));
        assert!(windows_overlap(closed(8, 12), closed(11, 14)));
        assert!(!windows_overlap(closed(8, 12), closed(12, 14)));
        assert!(windows_overlap((None, Some(at(12))), closed(9, 10)));
        assert!(!windows_overlap((None, Some(at(12))), (Some(at(12)), None)));
        assert!(windows_overlap((None, None), closed(1, 2)));
    }
}
