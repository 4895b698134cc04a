//! A min-heap of deadlines. Entries with the same deadline come out in insertion order (Qt's
//! single-shot timers started with the same interval fire in the order they were started), and a
//! drain can be limited to entries that existed when it began, so a timer that starts another
//! zero-delay timer cannot keep one round of the loop busy forever.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::Instant;

/// One scheduled item.
struct Entry<T> {
    deadline: Instant,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl<T> Entry<T> {
    fn key(&self) -> (Instant, u64) {
        (self.deadline, self.seq)
    }
}

/// Deadlines with payloads, earliest first (FIFO among equal deadlines).
pub(crate) struct TimerHeap<T> {
    heap: BinaryHeap<Reverse<Entry<T>>>,
    next_seq: u64,
}

impl<T> Default for TimerHeap<T> {
    fn default() -> Self {
        TimerHeap {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<T> std::fmt::Debug for TimerHeap<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerHeap")
            .field("len", &self.heap.len())
            .field("next_deadline", &self.next_deadline())
            .finish()
    }
}

impl<T> TimerHeap<T> {
    /// Schedules `item` at `deadline`.
    pub(crate) fn push(&mut self, deadline: Instant, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Entry {
            deadline,
            seq,
            item,
        }));
    }

    /// The earliest deadline, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(e)| e.deadline)
    }

    /// A mark for [`pop_due`](Self::pop_due): entries pushed after it are not drained.
    pub(crate) fn mark(&self) -> u64 {
        self.next_seq
    }

    /// Removes and returns the earliest entry due at `now` that was pushed before `mark`.
    pub(crate) fn pop_due(&mut self, now: Instant, mark: u64) -> Option<T> {
        let Reverse(top) = self.heap.peek()?;
        if top.deadline > now || top.seq >= mark {
            // An entry pushed after the mark with an earlier deadline may hide older due
            // entries behind it; it is rare (a zero-delay timer started by a timer) and those
            // entries simply wait for the next drain.
            return None;
        }
        self.heap.pop().map(|Reverse(e)| e.item)
    }

    /// How many entries are scheduled.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn drain(heap: &mut TimerHeap<&'static str>, now: Instant) -> Vec<&'static str> {
        let mark = heap.mark();
        std::iter::from_fn(|| heap.pop_due(now, mark)).collect()
    }

    #[test]
    fn earliest_first_and_fifo_among_equals() {
        let t0 = Instant::now();
        let mut heap = TimerHeap::default();
        heap.push(t0 + Duration::from_millis(30), "c");
        heap.push(t0 + Duration::from_millis(10), "a1");
        heap.push(t0 + Duration::from_millis(20), "b");
        heap.push(t0 + Duration::from_millis(10), "a2");
        heap.push(t0 + Duration::from_millis(10), "a3");
        assert_eq!(heap.len(), 5);
        assert_eq!(heap.next_deadline(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(
            drain(&mut heap, t0 + Duration::from_millis(30)),
            ["a1", "a2", "a3", "b", "c"]
        );
        assert_eq!(heap.len(), 0);
        assert_eq!(heap.next_deadline(), None);
    }

    #[test]
    fn only_due_entries_come_out() {
        let t0 = Instant::now();
        let mut heap = TimerHeap::default();
        heap.push(t0 + Duration::from_millis(5), "soon");
        heap.push(t0 + Duration::from_secs(60), "later");
        assert_eq!(drain(&mut heap, t0), Vec::<&str>::new());
        assert_eq!(drain(&mut heap, t0 + Duration::from_millis(5)), ["soon"]);
        assert_eq!(heap.len(), 1);
        assert_eq!(heap.next_deadline(), Some(t0 + Duration::from_secs(60)));
    }

    #[test]
    fn entries_pushed_after_the_mark_wait_for_the_next_drain() {
        let t0 = Instant::now();
        let mut heap = TimerHeap::default();
        heap.push(t0, "first");
        let mark = heap.mark();
        assert_eq!(heap.pop_due(t0, mark), Some("first"));
        // A timer started by a running timer, due immediately: not part of this drain.
        heap.push(t0, "spawned");
        assert_eq!(heap.pop_due(t0, mark), None);
        assert_eq!(drain(&mut heap, t0), ["spawned"]);
    }
}
