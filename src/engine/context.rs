//! From an `SslConfiguration` to an OpenSSL `SslContext` (Qt: `QSslContext::initSslContext`).
//!
//! Contexts are expensive (0.5 ms, or 16 ms when a CA bundle is parsed) and connections are cheap
//! (1 us), so one context is built per distinct configuration and role and shared by every socket
//! that uses it: all sockets a server accepts, and client sockets with equal configurations.
//! Sharing also makes session resumption work: the server's ticket keys and session cache live
//! in the context, and client sessions are kept next to it.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use foreign_types::ForeignTypeRef;
use once_cell::sync::Lazy;
use openssl::error::ErrorStack;
use openssl::ex_data::Index;
use openssl::pkey::{PKey, Private};
use openssl::sha::sha256;
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslMode, SslOptions, SslRef, SslSession,
    SslSessionCacheMode, SslVersion,
};
use openssl::x509::{X509, X509Ref};

use crate::{SslCipher, SslConfiguration, SslOption, SslProtocol};

use super::Role;

/// How many entries (content and identity keys) the context cache holds.
const CACHE_LIMIT: usize = 64;
/// How many peers' sessions a client context remembers.
const SESSION_LIMIT: usize = 1024;

/// A context shared by every connection with the same configuration and role, plus the client
/// sessions remembered for resumption (keyed by peer name and port).
pub(crate) struct SharedContext {
    pub(crate) ctx: SslContext,
    sessions: SessionCache,
}

/// Client sessions by peer, filled by the context's new-session callback.
type SessionCache = Arc<Mutex<OrderedMap<String, SslSession>>>;

/// A map that remembers the order keys were first inserted in, so that a full cache can evict
/// its oldest entries instead of starting over.
struct OrderedMap<K, V> {
    map: HashMap<K, V>,
    /// Every key of `map` once, oldest first.
    order: VecDeque<K>,
}

impl<K, V> Default for OrderedMap<K, V> {
    fn default() -> Self {
        OrderedMap {
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<K: Hash + Eq + Clone, V> OrderedMap<K, V> {
    fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.map.get(key)
    }

    /// Inserts `value` under `key`, first making room if `key` is new and `limit` entries are
    /// held: the oldest entry that `cheap` says is cheap to recreate goes, or if there is none,
    /// the oldest entry, except that a cheap value never displaces a costly one (it is then not
    /// inserted). A replaced key keeps its place in the order.
    fn insert_evicting(&mut self, key: K, value: V, limit: usize, cheap: impl Fn(&V) -> bool) {
        if let Some(slot) = self.map.get_mut(&key) {
            *slot = value;
            return;
        }
        while self.map.len() >= limit.max(1) {
            if self.evict_oldest(&cheap) {
                continue;
            }
            if cheap(&value) || !self.evict_oldest(|_| true) {
                return;
            }
        }
        self.order.push_back(key.clone());
        self.map.insert(key, value);
    }

    /// Removes the oldest entry `pick` accepts. Returns whether there was one.
    fn evict_oldest(&mut self, pick: impl Fn(&V) -> bool) -> bool {
        let map = &self.map;
        let Some(i) = self
            .order
            .iter()
            .position(|k| map.get(k).is_some_and(&pick))
        else {
            return false;
        };
        if let Some(key) = self.order.remove(i) {
            self.map.remove(&key);
        }
        true
    }
}

/// Per-connection session state, attached to the `SSL` as ex_data so that the context's
/// new-session callback (which only gets the `SSL`) knows where a session belongs.
#[derive(Default)]
pub(crate) struct SessionSlot {
    /// The peer key sessions are cached under (`None`: session sharing is off).
    pub(crate) key: Option<String>,
    /// The newest session of this connection not yet taken by the socket (TLS 1.3 tickets
    /// arrive after the handshake).
    pub(crate) latest: Mutex<Option<SslSession>>,
    /// Whether `latest` holds a session not yet taken: checked on every read instead of locking
    /// `latest`.
    pub(crate) fresh: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for SessionSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSlot")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The ex_data index of [`SessionSlot`] on an `SSL`.
pub(crate) fn session_slot_index()
-> Option<openssl::ex_data::Index<openssl::ssl::Ssl, Arc<SessionSlot>>> {
    static INDEX: once_cell::sync::OnceCell<
        Option<openssl::ex_data::Index<openssl::ssl::Ssl, Arc<SessionSlot>>>,
    > = once_cell::sync::OnceCell::new();
    *INDEX.get_or_init(|| openssl::ssl::Ssl::new_ex_index().ok())
}

impl std::fmt::Debug for SharedContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedContext").finish_non_exhaustive()
    }
}

impl SharedContext {
    /// The session last established with `peer`, to offer for resumption.
    pub(crate) fn session_for(&self, peer: &str) -> Option<SslSession> {
        self.sessions.lock().ok()?.get(peer).cloned()
    }
}

/// The new-session callback's body: cache the session for its peer and hand it to the
/// connection. Runs inside OpenSSL; touches no user code.
fn remember_session(cache: &SessionCache, ssl: &mut openssl::ssl::SslRef, session: SslSession) {
    let Some(slot) = session_slot_index().and_then(|i| ssl.ex_data(i)) else {
        return;
    };
    if let (Some(key), Ok(mut sessions)) = (&slot.key, cache.lock()) {
        // Full: the peer whose session was remembered first makes room.
        sessions.insert_evicting(key.clone(), session.clone(), SESSION_LIMIT, |_| false);
    }
    if let Ok(mut latest) = slot.latest.lock() {
        *latest = Some(session);
        slot.fresh.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Why a context could not be built: Qt's message (`SslInvalidUserDataError`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ContextError {
    pub(crate) message: String,
}

impl ContextError {
    fn new(message: impl Into<String>) -> ContextError {
        ContextError {
            message: message.into(),
        }
    }
}

/// Cached contexts, each under two keys: its configuration's content (certificates and keys
/// by their encoding) and, for every configuration object seen using it, that object's identity
/// (certificates and keys by address), which is cheap to compute on every connection.
///
/// When full, identity entries go first, oldest first: they only alias contexts that content
/// entries hold, and cost one content fingerprint to recreate. Only when content entries alone
/// fill the cache does the oldest of them make room for a new context, taking its client
/// sessions along (rebuilding a context costs up to ~16 ms with a CA bundle); a new identity
/// entry is then not cached at all.
static CACHE: Lazy<Mutex<OrderedMap<CacheKey, CacheEntry>>> = Lazy::new(Default::default);

/// A cache key: an identity key's fields themselves, or a content key's SHA-256 digest (see
/// `fingerprint`). The first byte tells which, so the two kinds never meet.
type CacheKey = Box<[u8]>;

struct CacheEntry {
    shared: Arc<SharedContext>,
    /// For identity keys: the objects whose addresses make the key, held so that no other object
    /// can take those addresses while the entry exists. `None` for content keys.
    pinned: Option<Pinned>,
}

/// What an identity key points at: certificates, private key, cipher list.
struct Pinned {
    _certificates: Vec<X509>,
    _key: Option<PKey<Private>>,
    _ciphers: Arc<[SslCipher]>,
}

impl CacheEntry {
    fn is_identity(&self) -> bool {
        self.pinned.is_some()
    }
}

/// The shared context for `config` in `role`, built on first use.
/// `now` decides which CA certificates have expired (they are left out of the trust store);
/// the engine never reads the clock itself.
pub(crate) fn shared_context(
    config: &SslConfiguration,
    role: Role,
    now: SystemTime,
) -> Result<Arc<SharedContext>, ContextError> {
    let lookup = |key: &CacheKey| {
        CACHE
            .lock()
            .ok()
            .and_then(|c| c.get(key).map(|e| e.shared.clone()))
    };
    let identity = fingerprint(config, role, Identity::Address);
    if let Some(found) = lookup(&identity) {
        return Ok(found);
    }
    // A configuration object not seen before: an equal one (certificates loaded again, say)
    // may already have a context.
    let content = fingerprint(config, role, Identity::Content);
    let shared = match lookup(&content) {
        Some(found) => found,
        None => {
            let sessions = SessionCache::default();
            let ctx = build(config, role, &content[1..], now, &sessions)?;
            let shared = Arc::new(SharedContext { ctx, sessions });
            remember(content, shared.clone(), None);
            shared
        }
    };
    let pinned = Pinned {
        _certificates: config
            .local_certificate_chain
            .iter()
            .chain(config.ca_certificates.iter())
            .filter_map(|c| c.as_x509().map(ToOwned::to_owned))
            .collect(),
        _key: config.private_key.private_pkey().map(ToOwned::to_owned),
        _ciphers: cipher_list(config),
    };
    remember(identity, shared.clone(), Some(pinned));
    Ok(shared)
}

/// A context for `config` in `role` that is not cached: for one-off configurations that no
/// other connection will share (the protocol probe's, with a throwaway certificate), which would
/// only push useful contexts out of the cache.
pub(crate) fn uncached_context(
    config: &SslConfiguration,
    role: Role,
    now: SystemTime,
) -> Result<Arc<SharedContext>, ContextError> {
    let key = fingerprint(config, role, Identity::Content);
    let sessions = SessionCache::default();
    let ctx = build(config, role, &key[1..], now, &sessions)?;
    Ok(Arc::new(SharedContext { ctx, sessions }))
}

fn remember(key: CacheKey, shared: Arc<SharedContext>, pinned: Option<Pinned>) {
    if let Ok(mut cache) = CACHE.lock() {
        cache.insert_evicting(
            key,
            CacheEntry { shared, pinned },
            CACHE_LIMIT,
            CacheEntry::is_identity,
        );
    }
}

/// OpenSSL's `(min, max)` versions and whether the security level must drop to 0 for `protocol`.
/// `Err` for protocols a TCP socket cannot use (DTLS, unknown) or this OpenSSL lacks.
pub(crate) fn protocol_range(
    protocol: SslProtocol,
) -> Result<(Option<SslVersion>, Option<SslVersion>, bool), ContextError> {
    use SslProtocol::*;
    let v10 = Some(SslVersion::TLS1);
    let v11 = Some(SslVersion::TLS1_1);
    let v12 = Some(SslVersion::TLS1_2);
    let v13 = Some(SslVersion::TLS1_3);
    Ok(match protocol {
        TlsV1_0 => (v10, v10, true),
        TlsV1_1 => (v11, v11, true),
        TlsV1_2 => (v12, v12, false),
        TlsV1_3 => (v13, v13, false),
        TlsV1_0OrLater => (v10, None, true),
        TlsV1_1OrLater => (v11, None, true),
        SecureProtocols | TlsV1_2OrLater => (v12, None, false),
        TlsV1_3OrLater => (v13, None, false),
        // Qt 6 keeps AnyProtocol at TLS 1.0 and up, but does not lower the security level for
        // it: only an explicit request for an old protocol does.
        AnyProtocol => (v10, None, false),
        // Qt 5.15 maps TlsV1SslV3 like AnyProtocol; asking for it names TLS 1.0 explicitly.
        TlsV1SslV3 => (v10, None, true),
        SslV3 => {
            if !crate::engine::probe::ssl3_compiled_in() {
                return Err(ContextError::new(ssl3_missing_message()));
            }
            (Some(SslVersion::SSL3), Some(SslVersion::SSL3), true)
        }
        SslV2 => {
            return Err(ContextError::new(
                "Error creating SSL context (unsupported protocol: SSL 2.0 is not implemented by \
                 any supported OpenSSL)",
            ));
        }
        DtlsV1_0 | DtlsV1_0OrLater | DtlsV1_2 | DtlsV1_2OrLater | UnknownProtocol => {
            return Err(ContextError::new(
                "Attempted to use an unsupported protocol.",
            ));
        }
    })
}

/// The error for `SslV3` on an OpenSSL built without it.
pub(crate) fn ssl3_missing_message() -> String {
    format!(
        "Error creating SSL context (unsupported protocol: SSL 3.0 is not compiled into the linked \
         {}; it was built with OPENSSL_NO_SSL3. Link an OpenSSL configured with `enable-ssl3 \
         enable-ssl3-method` to talk to SSLv3 peers, see vendor-notes/)",
        openssl::version::version()
    )
}

fn build(
    config: &SslConfiguration,
    role: Role,
    key: &[u8],
    now: SystemTime,
    sessions: &SessionCache,
) -> Result<SslContext, ContextError> {
    let method = match role {
        Role::Client => SslMethod::tls_client(),
        Role::Server => SslMethod::tls_server(),
    };
    let mut b = SslContextBuilder::new(method).map_err(|e| {
        ContextError::new(format!("Error creating SSL context ({})", openssl_text(&e)))
    })?;

    let (min, max, legacy) = protocol_range(config.protocol)?;
    if legacy {
        // OpenSSL 3 allows SSL 3.0, TLS 1.0 and TLS 1.1 only at security level 0 (their
        // handshakes sign with SHA-1 / MD5-SHA1).
        b.set_security_level(0);
    }
    b.set_min_proto_version(min)
        .map_err(|_| ContextError::new("Error while setting the minimal protocol version"))?;
    b.set_max_proto_version(max)
        .map_err(|_| ContextError::new("Error while setting the maximum protocol version"))?;

    apply_options(&mut b, config, role);
    apply_ciphers(&mut b, config)?;
    apply_local_identity(&mut b, config)?;
    apply_trust(&mut b, config, now)?;
    if config.local_certificate_chain.len() == 1 {
        // Once per context, with the trust store complete, instead of on every handshake.
        crate::ffi::openssl::build_cert_chain(&mut b);
    }

    if config.peer_verify_depth > 0 {
        b.set_verify_depth(config.peer_verify_depth as u32);
    }
    crate::ffi::openssl::set_dh_auto(&mut b);
    apply_alpn(&mut b, config, role)?;
    match role {
        Role::Server => {
            // Needed for resumption when client certificates are requested; any stable value
            // unique to this configuration will do.
            b.set_session_id_context(&key[..16]).map_err(|e| {
                ContextError::new(format!("Error creating SSL context ({})", openssl_text(&e)))
            })?;
            b.set_session_cache_mode(SslSessionCacheMode::SERVER);
        }
        Role::Client => {
            // NO_INTERNAL_STORE is what makes offering a session (`ffi::openssl::set_session`)
            // memory-safe: sessions stay out of OpenSSL's internal cache, and live in
            // `SharedContext::sessions` instead. set_session checks it (debug_assert, and offers
            // nothing without it).
            b.set_session_cache_mode(
                SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL_STORE,
            );
            let cache = sessions.clone();
            b.set_new_session_callback(move |ssl, session| remember_session(&cache, ssl, session));
        }
    }
    Ok(b.build())
}

fn apply_options(b: &mut SslContextBuilder, config: &SslConfiguration, role: Role) {
    let mut set = SslOptions::ALL;
    let mut clear = SslOptions::empty();
    if config.test_ssl_option(SslOption::SslOptionDisableEmptyFragments) {
        set |= SslOptions::DONT_INSERT_EMPTY_FRAGMENTS;
    } else {
        clear |= SslOptions::DONT_INSERT_EMPTY_FRAGMENTS;
    }
    if !config.test_ssl_option(SslOption::SslOptionDisableLegacyRenegotiation) {
        set |= SslOptions::ALLOW_UNSAFE_LEGACY_RENEGOTIATION;
    }
    if config.test_ssl_option(SslOption::SslOptionDisableSessionTickets) {
        set |= SslOptions::NO_TICKET;
    }
    if config.test_ssl_option(SslOption::SslOptionDisableCompression) {
        set |= SslOptions::NO_COMPRESSION;
    }
    if role == Role::Server
        && !config.test_ssl_option(SslOption::SslOptionDisableServerCipherPreference)
    {
        set |= SslOptions::CIPHER_SERVER_PREFERENCE;
    }
    b.set_options(set);
    b.clear_options(clear);
    // No SSL_MODE_RELEASE_BUFFERS: it frees and reallocates OpenSSL's 17 KB buffers around every
    // record, handshake messages included. The engine frees them itself once the connection is
    // established and idle (`Engine::release_buffers`), which keeps idle connections as small.
    b.set_mode(SslMode::ACCEPT_MOVING_WRITE_BUFFER);
}

fn apply_ciphers(b: &mut SslContextBuilder, config: &SslConfiguration) -> Result<(), ContextError> {
    let lists = config.context_cipher_lists();
    if lists.tls12.is_none() && lists.tls13.is_none() {
        return Err(ContextError::new("Invalid or empty cipher list ()"));
    }
    let invalid = |e: ErrorStack| {
        ContextError::new(format!(
            "Invalid or empty cipher list ({})",
            openssl_text(&e)
        ))
    };
    if let Some(list) = &lists.tls12 {
        b.set_cipher_list(list).map_err(invalid)?;
    }
    if let Some(list) = &lists.tls13 {
        b.set_ciphersuites(list).map_err(invalid)?;
    }
    Ok(())
}

fn apply_local_identity(
    b: &mut SslContextBuilder,
    config: &SslConfiguration,
) -> Result<(), ContextError> {
    let Some(leaf) = config
        .local_certificate_chain
        .first()
        .and_then(|c| c.as_x509())
    else {
        return Ok(());
    };
    let Some(key) = config.private_key.private_pkey() else {
        return Err(ContextError::new(
            "Cannot provide a certificate with no key",
        ));
    };
    b.set_certificate(leaf).map_err(|e| {
        ContextError::new(format!(
            "Error loading local certificate, {}",
            openssl_text(&e)
        ))
    })?;
    for extra in config
        .local_certificate_chain
        .iter()
        .skip(1)
        .filter_map(|c| c.as_x509())
    {
        b.add_extra_chain_cert(extra.to_owned()).map_err(|e| {
            ContextError::new(format!(
                "Error loading local certificate, {}",
                openssl_text(&e)
            ))
        })?;
    }
    b.set_private_key(key).map_err(|e| {
        ContextError::new(format!("Error loading private key, {}", openssl_text(&e)))
    })?;
    b.check_private_key().map_err(|e| {
        ContextError::new(format!(
            "Private key does not certify public key, {}",
            openssl_text(&e)
        ))
    })?;
    Ok(())
}

fn apply_trust(
    b: &mut SslContextBuilder,
    config: &SslConfiguration,
    now: SystemTime,
) -> Result<(), ContextError> {
    for ca in config.ca_certificates.iter().filter_map(|c| c.as_x509()) {
        // Qt skips expired CA certificates (QTBUG-38896) so an expired root cannot anchor a chain.
        if expired(ca, now) {
            continue;
        }
        // A duplicate is not an error worth failing the handshake for.
        let _ = b.cert_store_mut().add_cert(ca.to_owned());
    }
    if config.allows_on_demand_roots() {
        for dir in crate::defaults::on_demand_root_dirs() {
            // A directory that vanished since start-up only loses its roots.
            let _ = b.load_verify_locations(None, Some(dir));
        }
    }
    Ok(())
}

fn expired(cert: &X509Ref, now: SystemTime) -> bool {
    let Ok(now) = openssl::asn1::Asn1Time::from_unix(
        now.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0) as _,
    ) else {
        return false;
    };
    cert.not_after() < now
}

fn apply_alpn(
    b: &mut SslContextBuilder,
    config: &SslConfiguration,
    role: Role,
) -> Result<(), ContextError> {
    if config.allowed_next_protocols.is_empty() {
        return Ok(());
    }
    let mut wire = Vec::new();
    for p in config
        .allowed_next_protocols
        .iter()
        .filter(|p| !p.is_empty() && p.len() < 256)
    {
        wire.push(p.len() as u8);
        wire.extend_from_slice(p);
    }
    match role {
        Role::Client => b.set_alpn_protos(&wire).map_err(|e| {
            ContextError::new(format!(
                "Error setting ALPN protocols ({})",
                openssl_text(&e)
            ))
        }),
        Role::Server => {
            let server = wire;
            b.set_alpn_select_callback(move |ssl, client| {
                select_alpn(&server, client).ok_or_else(|| {
                    // Qt's meaning of NextProtocolNegotiationUnsupported; see `alpn_no_overlap`.
                    ssl.set_ex_data(*ALPN_NO_OVERLAP, true);
                    openssl::ssl::AlpnError::NOACK
                })
            });
            Ok(())
        }
    }
}

/// Set on a server connection whose client offered ALPN protocols of which the server allows
/// none. Qt's server then answers with its own first protocol, which the client never offered,
/// and OpenSSL clients abort the handshake; the crate answers without ALPN, so the handshake goes
/// on and the server reports `NextProtocolNegotiationUnsupported`.
static ALPN_NO_OVERLAP: Lazy<Index<Ssl, bool>> =
    Lazy::new(|| Ssl::new_ex_index().expect("an SSL ex_data index"));

/// Whether `ssl` is a server connection whose client offered no protocol the server allows.
pub(crate) fn alpn_no_overlap(ssl: &SslRef) -> bool {
    ssl.ex_data(*ALPN_NO_OVERLAP).copied().unwrap_or(false)
}

/// The first of the client's protocols (wire format) that the server also allows, as a slice of
/// the client's list: the client's preference, as in Qt (its callback hands the client's list to
/// `SSL_select_next_proto` as the preferred one).
fn select_alpn<'a>(server: &[u8], client: &'a [u8]) -> Option<&'a [u8]> {
    fn entries(wire: &[u8]) -> impl Iterator<Item = &[u8]> {
        let mut rest = wire;
        std::iter::from_fn(move || {
            let (&len, tail) = rest.split_first()?;
            let len = usize::from(len);
            if tail.len() < len {
                return None;
            }
            let (entry, tail) = tail.split_at(len);
            rest = tail;
            Some(entry)
        })
    }
    entries(client).find(|offered| entries(server).any(|allowed| allowed == *offered))
}

/// How `fingerprint` identifies certificates and keys.
#[derive(Clone, Copy)]
enum Identity {
    /// By address: cheap, valid while the objects live (the cache entry pins them).
    Address,
    /// By encoding: equal configurations built from separate objects get the same digest.
    Content,
}

/// Everything that goes into the context, so equal configurations share one: as it is for an
/// identity key (a few hundred bytes, compared in full by the map), as a SHA-256 digest for a
/// content key (whole certificate encodings). Hashing the identity fields with SHA-256 cost
/// ~9 K instructions per lookup, twice per connection; the map's own hash costs a tenth.
fn fingerprint(config: &SslConfiguration, role: Role, identity: Identity) -> CacheKey {
    let mut d = Fingerprint {
        bytes: Vec::with_capacity(256),
        identity,
    };
    d.bytes.push(match identity {
        Identity::Address => b'A',
        Identity::Content => b'C',
    });
    d.field(&[role as u8]);
    d.field(&(config.protocol as i32).to_le_bytes());
    d.field(&config.peer_verify_depth.to_le_bytes());
    d.field(&config.ssl_options.to_le_bytes());
    d.field(&[config.allows_on_demand_roots() as u8]);
    // The cipher inputs as configured (cheap), not the joined strings built from them.
    d.field(
        config
            .cipher_string
            .as_deref()
            .unwrap_or("\0none")
            .as_bytes(),
    );
    d.field(
        config
            .cipher_suites
            .as_deref()
            .unwrap_or("\0none")
            .as_bytes(),
    );
    // The cipher list by address, like certificates: hashing its names (the default list has
    // about 60) was most of the cost of a lookup, twice per connection.
    let ciphers = cipher_list(config);
    match d.identity {
        Identity::Address => d.field(&(Arc::as_ptr(&ciphers) as *const u8 as usize).to_le_bytes()),
        Identity::Content => {
            for c in ciphers.iter() {
                d.field(c.name.as_bytes());
            }
        }
    }
    d.field(b"local");
    for cert in config
        .local_certificate_chain
        .iter()
        .filter_map(|c| c.as_x509())
    {
        d.object(cert.as_ptr(), || cert.to_der().unwrap_or_default());
    }
    if let Some(key) = config.private_key.private_pkey() {
        // A private key is identified by its public half (DER-encoding a private RSA key costs
        // ~150 us).
        d.object(key.as_ptr(), || key.public_key_to_der().unwrap_or_default());
    }
    d.field(b"ca");
    for cert in config.ca_certificates.iter().filter_map(|c| c.as_x509()) {
        d.object(cert.as_ptr(), || cert.to_der().unwrap_or_default());
    }
    d.field(b"alpn");
    for p in &config.allowed_next_protocols {
        d.field(p);
    }
    match identity {
        Identity::Address => d.bytes.into_boxed_slice(),
        Identity::Content => {
            let digest = sha256(&d.bytes[1..]);
            [&d.bytes[..1], &digest[..]].concat().into_boxed_slice()
        }
    }
}

/// The cipher list a context for `config` uses: its own, or the process default (shared).
fn cipher_list(config: &SslConfiguration) -> Arc<[SslCipher]> {
    if config.ciphers.is_empty() {
        crate::defaults::default_cipher_list()
    } else {
        config.ciphers.clone()
    }
}

struct Fingerprint {
    bytes: Vec<u8>,
    identity: Identity,
}

impl Fingerprint {
    /// Length-prefixed, so that adjacent fields cannot run into each other.
    fn field(&mut self, bytes: &[u8]) {
        self.bytes
            .extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        self.bytes.extend_from_slice(bytes);
    }

    /// A certificate or key: its address or its encoding, as `identity` says.
    fn object<T>(&mut self, address: *mut T, encode: impl FnOnce() -> Vec<u8>) {
        match self.identity {
            Identity::Address => self.field(&(address as usize).to_le_bytes()),
            Identity::Content => self.field(&encode()),
        }
    }
}

/// Qt's rendering of OpenSSL's error queue: each entry as `ERR_error_string_n` prints it
/// (`error:0A000410:SSL routines::sslv3 alert handshake failure`), joined by ", ".
pub(crate) fn openssl_text(stack: &ErrorStack) -> String {
    stack
        .errors()
        .iter()
        .map(|e| {
            format!(
                "error:{:08X}:{}:{}:{}",
                e.code(),
                e.library().unwrap_or(""),
                "",
                e.reason().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::OrderedMap;

    /// `(cheap, name)`: cheap stands for an identity entry, costly for a content entry.
    type Entry = (bool, &'static str);

    fn keys(m: &OrderedMap<&'static str, Entry>) -> Vec<&'static str> {
        let mut k: Vec<_> = m.map.keys().copied().collect();
        k.sort_unstable();
        assert_eq!(k.len(), m.order.len(), "order lists every key once");
        k
    }

    #[test]
    fn a_full_cache_evicts_identity_entries_first_then_the_oldest_content_entry() {
        let cheap = |e: &Entry| e.0;
        let mut m = OrderedMap::default();
        for (key, is_cheap) in [("c1", false), ("i1", true), ("c2", false), ("i2", true)] {
            m.insert_evicting(key, (is_cheap, key), 4, cheap);
        }
        assert_eq!(keys(&m), ["c1", "c2", "i1", "i2"]);
        m.insert_evicting("c3", (false, "c3"), 4, cheap);
        assert_eq!(
            keys(&m),
            ["c1", "c2", "c3", "i2"],
            "the oldest identity entry went"
        );
        m.insert_evicting("c4", (false, "c4"), 4, cheap);
        assert_eq!(keys(&m), ["c1", "c2", "c3", "c4"]);
        m.insert_evicting("i3", (true, "i3"), 4, cheap);
        assert_eq!(
            keys(&m),
            ["c1", "c2", "c3", "c4"],
            "an identity entry does not displace a context"
        );
        m.insert_evicting("c1", (false, "c1 again"), 4, cheap);
        assert_eq!(m.get("c1"), Some(&(false, "c1 again")), "replaced in place");
        m.insert_evicting("c5", (false, "c5"), 4, cheap);
        assert_eq!(
            keys(&m),
            ["c2", "c3", "c4", "c5"],
            "content entries alone: the oldest went, not all"
        );
    }

    #[test]
    fn a_full_session_cache_evicts_the_oldest_peer() {
        let mut m = OrderedMap::default();
        for peer in ["a:443", "b:443", "c:443", "d:443"] {
            m.insert_evicting(peer, (false, peer), 3, |_| false);
        }
        assert_eq!(keys(&m), ["b:443", "c:443", "d:443"]);
        m.insert_evicting("b:443", (false, "newer"), 3, |_| false);
        m.insert_evicting("e:443", (false, "e:443"), 3, |_| false);
        assert_eq!(keys(&m), ["c:443", "d:443", "e:443"]);
    }
}
