//! `ByteQueue`: a FIFO of bytes with appends at the back and consumption at the front, used for
//! every buffer of the crate (ciphertext in and out, plaintext read and write).
//!
//! The backing vector is always fully initialised, so a socket read can land directly in it
//! without `unsafe`. An empty queue can `release()` its vector into a small per-thread pool: an
//! idle connection then holds no buffer at all, and a busy one gets a warm buffer back without
//! touching the allocator.

use std::cell::RefCell;

/// Smallest backing vector allocated: one TLS record plus headroom.
const MIN_CAPACITY: usize = 18 * 1024;
/// Vectors larger than this are freed rather than pooled.
const MAX_POOLED: usize = 4 * 1024 * 1024;
/// Buffers kept per thread.
const POOL_SIZE: usize = 32;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
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
                    if pool.len() < POOL_SIZE {
                        pool.push(buf);
                    }
                }
            });
        }
    }

    /// Bytes held by the backing vector.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.buf.len()
    }

    fn make_room(&mut self, min: usize) {
        if self.buf.is_empty() {
            let pooled = POOL.with(|pool| {
                let mut pool = pool.borrow_mut();
                let i = pool.iter().position(|b| b.len() >= min)?;
                Some(pool.swap_remove(i))
            });
            self.buf = pooled.unwrap_or_default();
        }
        if self.head > 0 {
            self.buf.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        let needed = self.tail + min;
        if self.buf.len() < needed {
            // A fresh zeroed allocation (calloc: the kernel's zero pages) plus one copy of what
            // is queued, rather than `resize`, which zero-fills byte by byte in debug builds.
            let new_len = needed.max(self.buf.len() * 2).max(MIN_CAPACITY);
            let mut grown = vec![0u8; new_len];
            grown[..self.tail].copy_from_slice(&self.buf[..self.tail]);
            self.buf = grown;
        }
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
