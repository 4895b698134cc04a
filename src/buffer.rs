//! `ByteQueue`: a FIFO of bytes with appends at the back and consumption at the front, used for
//! every buffer of the crate (ciphertext in and out, plaintext read and write).
//!
//! The backing vector is always fully initialised, so a socket read can land directly in it
//! without `unsafe`. An empty queue can `release()` its vector into a small per-thread pool: an
//! idle connection then holds no buffer at all, and a busy one gets a warm buffer back without
//! touching the allocator. The pool is bounded by bytes as well as by count, and hands out the
//! smallest vector that fits.

use std::cell::RefCell;

/// Smallest backing vector allocated: one TLS record plus headroom.
const MIN_CAPACITY: usize = 18 * 1024;
/// Vectors larger than this are freed rather than pooled.
const MAX_POOLED: usize = 4 * 1024 * 1024;
/// Buffers kept per thread.
const POOL_SIZE: usize = 32;
/// Bytes kept per thread, all pooled vectors together.
const POOL_BYTES: usize = 4 * 1024 * 1024;

/// A thread's spare vectors.
struct Pool {
    buffers: Vec<Vec<u8>>,
    /// The sum of their lengths, at most `POOL_BYTES`.
    bytes: usize,
}

impl Pool {
    /// Keeps `buf` if it fits the count and byte bounds; frees it otherwise.
    fn put(&mut self, buf: Vec<u8>) {
        if buf.len() <= MAX_POOLED
            && self.buffers.len() < POOL_SIZE
            && self.bytes + buf.len() <= POOL_BYTES
        {
            self.bytes += buf.len();
            self.buffers.push(buf);
        }
    }

    /// The smallest pooled vector of at least `min` bytes (best fit), if any.
    fn take(&mut self, min: usize) -> Option<Vec<u8>> {
        let (i, _) = self
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| b.len() >= min)
            .min_by_key(|(_, b)| b.len())?;
        let buf = self.buffers.swap_remove(i);
        self.bytes -= buf.len();
        Some(buf)
    }
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool {
            buffers: Vec::new(),
            bytes: 0,
        })
    };
}

/// A byte FIFO: `buf[head..tail]` holds the queued bytes.
#[derive(Default, Debug)]
pub(crate) struct ByteQueue {
    buf: Vec<u8>,
    head: usize,
    tail: usize,
}

impl ByteQueue {
    pub(crate) fn new() -> ByteQueue {
        ByteQueue::default()
    }

    /// Number of queued bytes.
    pub(crate) fn len(&self) -> usize {
        self.tail - self.head
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head == self.tail
    }

    /// The queued bytes, oldest first.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf[self.head..self.tail]
    }

    /// Appends bytes at the back.
    pub(crate) fn push(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.spare(data.len())[..data.len()].copy_from_slice(data);
        self.tail += data.len();
    }

    /// Drops `n` bytes from the front (at most `len()`).
    pub(crate) fn consume(&mut self, n: usize) {
        self.head += n.min(self.len());
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
        }
    }

    /// Copies up to `out.len()` bytes from the front into `out` and consumes them.
    pub(crate) fn read_into(&mut self, out: &mut [u8]) -> usize {
        let n = self.peek_into(out);
        self.consume(n);
        n
    }

    /// Copies up to `out.len()` bytes from the front without consuming them.
    pub(crate) fn peek_into(&self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.len());
        out[..n].copy_from_slice(&self.as_slice()[..n]);
        n
    }

    /// Takes everything out.
    pub(crate) fn take_all(&mut self) -> Vec<u8> {
        let out = self.as_slice().to_vec();
        self.consume(out.len());
        out
    }

    /// The position of the first `byte`, if queued.
    pub(crate) fn find(&self, byte: u8) -> Option<usize> {
        self.as_slice().iter().position(|b| *b == byte)
    }

    /// Room for at least `min` more bytes at the back. Write into it, then `commit(n)`.
    pub(crate) fn spare(&mut self, min: usize) -> &mut [u8] {
        if self.buf.len() - self.tail < min {
            self.make_room(min);
        }
        &mut self.buf[self.tail..]
    }

    /// Marks `n` bytes written into the slice from `spare` as queued.
    pub(crate) fn commit(&mut self, n: usize) {
        self.tail += n.min(self.buf.len() - self.tail);
    }

    /// Gives the backing vector back to the thread's pool if the queue is empty, so that an idle
    /// connection holds no buffer.
    pub(crate) fn release(&mut self) {
        if !self.is_empty() || self.buf.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut self.buf);
        self.head = 0;
        self.tail = 0;
        if buf.len() <= MAX_POOLED {
            // `try_with`: a queue dropped while the thread's locals are torn down frees instead.
            let _ = POOL.try_with(|pool| {
                if let Ok(mut pool) = pool.try_borrow_mut() {
                    pool.put(buf);
                }
            });
        }
    }

    /// Bytes held by the backing vector.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Makes `buf.len() - tail >= min`: takes a pooled vector if the queue has none, moves the
    /// queued bytes to the front if that frees enough and is worth it, or else grows (which
    /// moves them to the front of the new vector too).
    fn make_room(&mut self, min: usize) {
        if self.buf.is_empty() {
            // `try_with`: during thread-local teardown the pool is gone; allocate instead.
            let pooled = POOL
                .try_with(|pool| pool.try_borrow_mut().ok()?.take(min))
                .ok()
                .flatten();
            if let Some(buf) = pooled {
                self.buf = buf;
                return;
            }
        }
        let live = self.len();
        // Compacting copies every queued byte; it is worth it only when at least as many bytes
        // were consumed from the front since the last move (or they are half the vector), so
        // that a full queue draining slowly does not copy itself on every push.
        let worth_compacting = self.head > 0
            && (self.head >= live || self.head >= self.buf.len() / 2)
            && self.buf.len() - live >= min;
        if worth_compacting {
            self.buf.copy_within(self.head..self.tail, 0);
        } else {
            // A fresh zeroed allocation (calloc: the kernel's zero pages) plus one copy of what
            // is queued, rather than `resize`, which zero-fills byte by byte in debug builds.
            let new_len = (live + min).max(self.buf.len() * 2).max(MIN_CAPACITY);
            let mut grown = vec![0u8; new_len];
            grown[..live].copy_from_slice(self.as_slice());
            self.buf = grown;
        }
        self.head = 0;
        self.tail = live;
    }
}

impl Drop for ByteQueue {
    /// A dropped queue's vector goes back to the pool too: the next connection on this thread
    /// reuses it instead of allocating and zeroing a fresh one.
    fn drop(&mut self) {
        self.consume(usize::MAX);
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_and_compaction() {
        let mut q = ByteQueue::new();
        q.push(b"hello ");
        q.push(b"world");
        let mut out = [0u8; 5];
        assert_eq!(q.read_into(&mut out), 5);
        assert_eq!(&out, b"hello");
        assert_eq!(q.as_slice(), b" world");
        assert_eq!(q.find(b'w'), Some(1));
        q.push(&[b'!'; 100_000]);
        assert_eq!(q.len(), 100_006);
        assert_eq!(&q.as_slice()[..6], b" world");
        q.consume(usize::MAX);
        assert!(q.is_empty());
    }

    #[test]
    fn a_dropped_queue_gives_its_vector_to_the_next_one() {
        // An unusual size, so that no other queue of this test thread has pooled one like it.
        const SIZE: usize = 777_777;
        let mut first = ByteQueue::new();
        first.spare(SIZE);
        first.commit(10);
        assert!(first.capacity() >= SIZE);
        let vector = first.buf.as_ptr();
        drop(first);
        let mut second = ByteQueue::new();
        second.spare(SIZE);
        assert_eq!(second.buf.as_ptr(), vector, "the pooled vector is reused");
    }

    /// Runs `f` on a fresh thread, so that it starts with an empty pool.
    fn on_fresh_thread(f: impl FnOnce() + Send + 'static) {
        std::thread::spawn(f).join().unwrap();
    }

    fn pool_state() -> (usize, usize) {
        POOL.with(|p| {
            let p = p.borrow();
            (p.buffers.len(), p.bytes)
        })
    }

    #[test]
    fn compaction_only_when_it_frees_enough() {
        let mut q = ByteQueue::new();
        q.push(&[1u8; 1000]);
        let capacity = q.capacity();
        // Nearly full, a little consumed: growing beats copying the whole queue on every push.
        q.push(&vec![2u8; capacity - 1000]);
        q.consume(10);
        q.push(&[3u8; 20]);
        assert!(q.capacity() >= 2 * capacity, "grown, {}", q.capacity());
        assert_eq!(q.head, 0, "growing moves the queued bytes to the front");
        assert_eq!(q.len(), capacity - 10 + 20);
        assert_eq!(q.as_slice()[..990], [1u8; 990]);
        assert_eq!(q.as_slice()[q.len() - 20..], [3u8; 20]);

        // Mostly consumed: the few queued bytes move to the front, no allocation.
        let capacity = q.capacity();
        let fill = capacity - q.len();
        q.push(&vec![4u8; fill]);
        q.consume(capacity - 100);
        assert_eq!(q.len(), 100);
        q.push(&[5u8; 50]);
        assert_eq!(q.capacity(), capacity, "compacted in place");
        assert_eq!(q.head, 0);
        assert_eq!(q.as_slice()[..100], [4u8; 100]);
        assert_eq!(q.as_slice()[100..], [5u8; 50]);
    }

    #[test]
    fn the_pool_is_bounded_by_bytes_and_hands_out_the_best_fit() {
        on_fresh_thread(|| {
            fn queue_of(size: usize) -> ByteQueue {
                let mut q = ByteQueue::new();
                q.spare(size);
                q
            }
            // Five 1 MiB vectors: only four fit in 4 MiB.
            let big: Vec<ByteQueue> = (0..5).map(|_| queue_of(1024 * 1024)).collect();
            drop(big);
            assert_eq!(pool_state(), (4, 4 * 1024 * 1024));

            on_fresh_thread(|| {
                let small = queue_of(MIN_CAPACITY);
                let large = queue_of(1024 * 1024);
                let (small_ptr, large_ptr) = (small.buf.as_ptr(), large.buf.as_ptr());
                drop(large);
                drop(small);
                assert_eq!(pool_state(), (2, MIN_CAPACITY + 1024 * 1024));
                let mut q = ByteQueue::new();
                q.push(b"x");
                assert_eq!(q.buf.as_ptr(), small_ptr, "the smallest vector that fits");
                let mut r = ByteQueue::new();
                r.spare(MIN_CAPACITY + 1);
                assert_eq!(r.buf.as_ptr(), large_ptr);
                assert_eq!(pool_state(), (0, 0));
            });
        });
    }

    #[test]
    fn a_queue_used_during_thread_teardown_allocates_instead_of_panicking() {
        struct PushOnDrop;
        impl Drop for PushOnDrop {
            fn drop(&mut self) {
                let mut q = ByteQueue::new();
                q.push(b"late");
                assert_eq!(q.as_slice(), b"late");
            }
        }
        thread_local! {
            static LATE: PushOnDrop = const { PushOnDrop };
        }
        on_fresh_thread(|| {
            // LATE registers its destructor before the pool does, so (destructors running in
            // reverse order) it runs after the pool is gone.
            LATE.with(|_| {});
            let mut q = ByteQueue::new();
            q.push(b"warm the pool");
            drop(q);
        });
    }

    #[test]
    fn spare_commit_and_release() {
        let mut q = ByteQueue::new();
        q.push(b"ab");
        let spare = q.spare(3);
        spare[..3].copy_from_slice(b"xyz");
        q.commit(3);
        assert_eq!(q.as_slice(), b"abxyz");
        q.release();
        assert!(q.capacity() > 0, "a non-empty queue keeps its buffer");
        q.consume(5);
        q.release();
        assert_eq!(q.capacity(), 0);
        q.push(b"again");
        assert_eq!(q.as_slice(), b"again");
    }
}
