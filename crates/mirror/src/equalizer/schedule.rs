//! When each equalize record runs under `drx equalize --every`
//! (docs/DR.md, "Equalizer"): every record on its own `equalize_interval`
//! (minutes; a record without one, or with 0, every
//! [`DEFAULT_EQUALIZE_MINUTES`]). Pure: the caller gives the instants.

use super::{DEFAULT_EQUALIZE_MINUTES, equalize_record_list};
use drx_config::Config;
use std::time::{Duration, Instant};

/// The interval of one equalize record: its `equalize_interval` minutes,
/// else (absent or 0) [`DEFAULT_EQUALIZE_MINUTES`].
pub fn record_interval(minutes: Option<u32>) -> Duration {
    let minutes = minutes
        .filter(|&m| m > 0)
        .unwrap_or(DEFAULT_EQUALIZE_MINUTES);
    Duration::from_secs(u64::from(minutes) * 60)
}

/// Which equalize records are due when. Records are numbered as
/// [`crate::equalize_records`] takes them: the Files Table's equalize
/// records in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EqualizeSchedule {
    intervals: Vec<Duration>,
    next: Vec<Instant>,
}

impl EqualizeSchedule {
    /// Records with these intervals, all due at `start`. An interval of
    /// zero counts as one second (a schedule never spins).
    pub fn new(intervals: Vec<Duration>, start: Instant) -> Self {
        let intervals: Vec<Duration> = intervals
            .into_iter()
            .map(|i| i.max(Duration::from_secs(1)))
            .collect();
        let next = vec![start; intervals.len()];
        Self { intervals, next }
    }

    /// The equalize records of `config`, each on its own interval
    /// ([`record_interval`]), all due at `start`.
    pub fn from_config(config: &Config, start: Instant) -> Self {
        let intervals = equalize_record_list(config)
            .iter()
            .map(|r| record_interval(r.equalize_interval))
            .collect();
        Self::new(intervals, start)
    }

    /// `records` records, all every `every` (`--every-secs`), all due at
    /// `start`.
    pub fn uniform(records: usize, every: Duration, start: Instant) -> Self {
        Self::new(vec![every; records], start)
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.intervals.len()
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// The interval of record `index`.
    pub fn interval(&self, index: usize) -> Option<Duration> {
        self.intervals.get(index).copied()
    }

    /// The records due at `now`, in order.
    pub fn due(&self, now: Instant) -> Vec<usize> {
        (0..self.next.len())
            .filter(|&i| self.next[i] <= now)
            .collect()
    }

    /// Records `ran` ran at `now`: each is next due a whole number of its
    /// intervals after the time it was due, the first such time after
    /// `now` (a round that took long skips the times it missed rather
    /// than running again at once; records due together stay together).
    pub fn ran(&mut self, ran: &[usize], now: Instant) {
        for &i in ran {
            let (Some(next), Some(&every)) = (self.next.get_mut(i), self.intervals.get(i)) else {
                continue;
            };
            if *next > now {
                continue;
            }
            let behind = now.duration_since(*next).as_nanos();
            let steps = behind / every.as_nanos() + 1;
            let step = u32::try_from(steps).unwrap_or(u32::MAX);
            *next += every.saturating_mul(step);
        }
    }

    /// When the next record is due (none without records).
    pub fn next_due(&self) -> Option<Instant> {
        self.next.iter().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    /// Runs the records due at `now` (as `drx equalize --every` does) and
    /// returns them.
    fn round(schedule: &mut EqualizeSchedule, now: Instant) -> Vec<usize> {
        let due = schedule.due(now);
        schedule.ran(&due, now);
        due
    }

    #[test]
    fn two_records_at_one_and_three_minutes() {
        let t0 = Instant::now();
        let mut s = EqualizeSchedule::new(vec![MIN, 3 * MIN], t0);
        assert_eq!(s.len(), 2);
        assert_eq!(s.next_due(), Some(t0));
        assert_eq!(round(&mut s, t0), vec![0, 1]);
        assert_eq!(s.next_due(), Some(t0 + MIN));
        // Nothing due just before the minute.
        assert_eq!(
            s.due(t0 + MIN - Duration::from_millis(1)),
            Vec::<usize>::new()
        );
        assert_eq!(round(&mut s, t0 + MIN), vec![0]);
        assert_eq!(s.next_due(), Some(t0 + 2 * MIN));
        assert_eq!(round(&mut s, t0 + 2 * MIN), vec![0]);
        assert_eq!(s.next_due(), Some(t0 + 3 * MIN));
        assert_eq!(round(&mut s, t0 + 3 * MIN), vec![0, 1]);
        assert_eq!(s.next_due(), Some(t0 + 4 * MIN));
        assert_eq!(round(&mut s, t0 + 4 * MIN), vec![0]);
        assert_eq!(round(&mut s, t0 + 5 * MIN), vec![0]);
        assert_eq!(round(&mut s, t0 + 6 * MIN), vec![0, 1]);
    }

    #[test]
    fn a_round_started_late_keeps_the_grid() {
        let t0 = Instant::now();
        let mut s = EqualizeSchedule::new(vec![MIN, 3 * MIN], t0);
        round(&mut s, t0);
        // Woken 10 s late: record 0 ran, next due on the minute grid.
        let late = t0 + MIN + Duration::from_secs(10);
        assert_eq!(round(&mut s, late), vec![0]);
        assert_eq!(s.next_due(), Some(t0 + 2 * MIN));
        // A round that overran several intervals skips the missed times.
        let much_later = t0 + 7 * MIN + Duration::from_secs(30);
        assert_eq!(round(&mut s, much_later), vec![0, 1]);
        assert_eq!(s.next_due(), Some(t0 + 8 * MIN));
        assert_eq!(s.due(t0 + 8 * MIN), vec![0]);
        assert_eq!(s.due(t0 + 9 * MIN), vec![0, 1]);
    }

    #[test]
    fn only_the_records_that_ran_move() {
        let t0 = Instant::now();
        let mut s = EqualizeSchedule::new(vec![MIN, MIN], t0);
        s.ran(&[1], t0);
        assert_eq!(s.due(t0), vec![0]);
        assert_eq!(s.next_due(), Some(t0));
        // Ran before it was due: unchanged.
        s.ran(&[1], t0);
        assert_eq!(s.due(t0 + MIN), vec![0, 1]);
        // Unknown record numbers are ignored.
        s.ran(&[7], t0);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn a_record_without_interval_or_with_zero_runs_every_five_minutes() {
        assert_eq!(record_interval(None), 5 * MIN);
        assert_eq!(record_interval(Some(0)), 5 * MIN);
        assert_eq!(record_interval(Some(2)), 2 * MIN);
        let t0 = Instant::now();
        let mut s =
            EqualizeSchedule::new(vec![record_interval(None), record_interval(Some(0))], t0);
        assert_eq!(round(&mut s, t0), vec![0, 1]);
        assert_eq!(s.next_due(), Some(t0 + 5 * MIN));
        assert!(s.due(t0 + 4 * MIN).is_empty());
        assert_eq!(s.due(t0 + 5 * MIN), vec![0, 1]);
    }

    #[test]
    fn a_zero_duration_never_spins_and_uniform_runs_all_together() {
        let t0 = Instant::now();
        let mut s = EqualizeSchedule::new(vec![Duration::ZERO], t0);
        assert_eq!(s.interval(0), Some(Duration::from_secs(1)));
        assert_eq!(round(&mut s, t0), vec![0]);
        assert_eq!(s.next_due(), Some(t0 + Duration::from_secs(1)));
        assert!(s.due(t0).is_empty());

        let mut u = EqualizeSchedule::uniform(3, Duration::from_secs(2), t0);
        assert_eq!(round(&mut u, t0), vec![0, 1, 2]);
        assert!(u.due(t0 + Duration::from_secs(1)).is_empty());
        assert_eq!(round(&mut u, t0 + Duration::from_secs(2)), vec![0, 1, 2]);
    }

    #[test]
    fn no_record_is_never_due() {
        let t0 = Instant::now();
        let s = EqualizeSchedule::new(Vec::new(), t0);
        assert!(s.is_empty());
        assert_eq!(s.next_due(), None);
        assert!(s.due(t0 + MIN).is_empty());
    }

    #[test]
    fn from_config_reads_each_records_interval() {
        let text = "[[files]]\nrecord_type = \"equalize\"\nsource_path = \"a/*\"\nequalize_interval = 1\n\n\
             [[files]]\nrecord_type = \"exclude\"\nsource_path = \"*.kp\"\n\n\
             [[files]]\nrecord_type = \"equalize\"\nsource_path = \"b/*\"\nequalize_interval = 3\n\n\
             [[files]]\nrecord_type = \"equalize\"\nsource_path = \"c/*\"\n";
        let config = Config::parse("drx.toml", text, std::path::Path::new("/srv/drx")).unwrap();
        let t0 = Instant::now();
        let s = EqualizeSchedule::from_config(&config, t0);
        assert_eq!(s.len(), 3);
        assert_eq!(s.interval(0), Some(MIN));
        assert_eq!(s.interval(1), Some(3 * MIN));
        assert_eq!(s.interval(2), Some(5 * MIN));
    }
}
