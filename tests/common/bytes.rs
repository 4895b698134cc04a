//! Test data: a seeded xorshift PRNG (no dependencies, same sequence everywhere) and SHA-256
//! digests (through the openssl crate) for comparing large transfers.

/// Marsaglia's xorshift64: small, fast, deterministic for a given seed.
#[derive(Clone, Debug)]
pub struct XorShift64(u64);

impl XorShift64 {
    pub fn new(seed: u64) -> XorShift64 {
        // The state must not be zero; mix the seed so that small seeds differ early.
        XorShift64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }
}

/// `n` pseudo-random bytes from `seed`.
pub fn random_bytes(seed: u64, n: usize) -> Vec<u8> {
    XorShift64::new(seed).bytes(n)
}

/// Lower-case hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&openssl::sha::sha256(data))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An incremental SHA-256 with a byte count.
pub struct Digest {
    hasher: openssl::sha::Sha256,
    pub len: u64,
}

impl Default for Digest {
    fn default() -> Self {
        Digest {
            hasher: openssl::sha::Sha256::new(),
            len: 0,
        }
    }
}

impl Digest {
    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.len += data.len() as u64;
    }

    /// `"<len> <hex sha256>"`, the format the Python peers report.
    pub fn finish(self) -> String {
        format!("{} {}", self.len, hex(&self.hasher.finish()))
    }
}

/// `"<len> <hex sha256>"` of `data`.
pub fn len_and_sha(data: &[u8]) -> String {
    format!("{} {}", data.len(), sha256_hex(data))
}
