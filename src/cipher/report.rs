//! [`SslCipher::report`]: what this OpenSSL makes of a cipher string, token by token.

use std::fmt;

use crate::SslCipher;

/// A per-token diagnosis of a cipher string against the linked OpenSSL (crate extension).
///
/// Built by [`SslCipher::report`]. [`entries`](Self::entries) says for every token whether this
/// OpenSSL provides it and, if not, why; [`ciphers`](Self::ciphers) is the final ordered list,
/// exactly what `SslConfiguration::set_ciphers_str` would store. `Display` prints a table.
///
/// # Examples
/// ```
/// use qsslsocket::{CipherAvailability, SslCipher};
///
/// let report = SslCipher::report("ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH-CIPHER");
/// assert!(report.entries()[0].is_provided());
/// assert_eq!(report.entries()[1].availability, CipherAvailability::UnknownName);
/// assert_eq!(report.ciphers().len(), 1);
/// println!("{report}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CipherReport {
    pub(super) string: String,
    pub(super) entries: Vec<CipherReportEntry>,
    pub(super) ciphers: Vec<SslCipher>,
    pub(super) security_level: u32,
    pub(super) rejected: bool,
}

/// One token of a cipher string and what this OpenSSL makes of it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CipherReportEntry {
    /// The token as written, with its operator.
    pub token: String,
    /// The operator in front of it.
    pub operator: CipherOperator,
    /// What kind of token it is.
    pub kind: CipherTokenKind,
    /// Whether OpenSSL provides it, and if not, why.
    pub availability: CipherAvailability,
    /// The suites it names or selects that this OpenSSL can offer at the report's security
    /// level (for `-`/`!`/`+` tokens: the suites it removes or moves, whatever their state).
    pub ciphers: Vec<SslCipher>,
    /// Further facts worth knowing (certificate type needed, forward secrecy, highest security
    /// level that still allows it, how Qt treats the name, ...).
    pub notes: Vec<String>,
}

/// The operator in front of a cipher-string token (OpenSSL's syntax).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherOperator {
    /// No prefix: append the suites.
    Add,
    /// `-`: remove the suites (a later token may add them again).
    Remove,
    /// `!`: remove the suites for good.
    Forbid,
    /// `+`: move the suites to the end of the list.
    MoveToEnd,
}

/// What a cipher-string token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherTokenKind {
    /// The OpenSSL name of one TLS 1.2-and-below suite (`ECDHE-RSA-AES128-GCM-SHA256`).
    Suite,
    /// The name of a TLS 1.3 suite (`TLS_AES_128_GCM_SHA256`), routed to OpenSSL's TLS 1.3 list.
    Tls13Suite,
    /// A keyword or `+`-combination selecting suites by property (`HIGH`, `aNULL`, `kRSA+AES`).
    Keyword,
    /// `@STRENGTH`: sort the list by strength.
    SortByStrength,
    /// `@SECLEVEL=n`: set OpenSSL's security level.
    SecurityLevel(u32),
    /// Another `@` command (OpenSSL rejects the whole string).
    Command,
    /// Nothing OpenSSL recognises as a name or keyword.
    Unrecognized,
}

/// Whether OpenSSL provides a token, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherAvailability {
    /// It names or selects at least one suite this OpenSSL offers at the report's security
    /// level (for `-`/`!`/`+`: it matches suites, so it has its effect).
    Provided,
    /// A command OpenSSL applies (`@STRENGTH`, `@SECLEVEL=n`).
    Applied,
    /// OpenSSL has no suite or keyword of this name (unknown names are skipped silently).
    UnknownName,
    /// OpenSSL's table has the suite, but its cipher algorithm is not available in this build
    /// (for example SEED and IDEA live in the legacy provider, which TLS does not load).
    AlgorithmUnavailable {
        /// The suite's encryption, as [`SslCipher::encryption_method`] writes it.
        encryption: String,
    },
    /// A keyword OpenSSL knows that selects no suite this build has (`kGOST`).
    MatchesNothing,
    /// The suites exist, but the security level rules them out.
    DisabledBySecurityLevel {
        /// The security level the string runs at.
        level: u32,
        /// The highest level at which OpenSSL would still offer one of them.
        usable_up_to: u32,
    },
    /// The suites need a protocol version this OpenSSL cannot use (SSL 2.0 suites; suites
    /// outside the library's configured protocol range).
    ProtocolUnavailable {
        /// The protocol, as OpenSSL names it (`SSLv2`, `TLSv1.3`, ...).
        protocol: String,
    },
    /// The suites need credentials qsslsocket never provides: SRP user names (OpenSSL lists
    /// those suites but never offers them) or pre-shared keys (offered, but a handshake limited to
    /// them fails).
    NeedsCredentials {
        /// The kind of key exchange that needs them (`SRP`, `PSK`, `ECDHEPSK`, ...).
        kind: String,
    },
    /// OpenSSL lists the suites but can offer none of them (no enabled protocol version or
    /// signature algorithm fits).
    NotNegotiable,
    /// An invalid `@` command: OpenSSL rejects the whole string, so the defaults stay.
    Rejected,
    /// The token has no effect (an operator on a TLS 1.3 name; `DEFAULT` after the start).
    Ignored,
}

impl SslCipher {
    /// Explains a cipher string (crate extension): for every token, whether this OpenSSL
    /// provides it and, if not, why; plus the final ordered list, the one
    /// `SslConfiguration::set_ciphers_str` would store. Splits on `:` `,` `;` and spaces;
    /// understands the `!` `-` `+` prefixes, `@STRENGTH`, `@SECLEVEL=n` and OpenSSL's keywords.
    ///
    /// On Debian 12's OpenSSL 3.0 the legacy string `DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:
    /// AES256-SHA` is provided in full at security levels 0, 1 and 2 (AES256-SHA, without forward
    /// secrecy, stops at level 2; a DHE-DSS handshake needs a DSA server certificate).
    /// Suites that need a lower level are e.g. the anonymous `ADH-*` and the `NULL-*` ones.
    ///
    /// ```
    /// use qsslsocket::{CipherAvailability, SslCipher};
    ///
    /// let report = SslCipher::report("ADH-AES256-SHA:AES256-SHA");
    /// assert!(matches!(
    ///     report.entries()[0].availability,
    ///     CipherAvailability::DisabledBySecurityLevel { usable_up_to: 0, .. }
    /// ));
    /// assert_eq!(report.ciphers(), &[SslCipher::new("AES256-SHA")]);
    /// ```
    pub fn report(cipher_string: &str) -> CipherReport {
        super::diagnose::build(cipher_string)
    }
}

impl CipherReport {
    /// The string the report is about.
    pub fn cipher_string(&self) -> &str {
        &self.string
    }

    /// One entry per token, in string order.
    pub fn entries(&self) -> &[CipherReportEntry] {
        &self.entries
    }

    /// The final ordered list (what `ciphers()` returns after `set_ciphers_str`); empty when
    /// nothing resolved, which means the default ciphers are used.
    pub fn ciphers(&self) -> &[SslCipher] {
        &self.ciphers
    }

    /// The security level the string runs at: its last `@SECLEVEL=n`, else the library default.
    pub fn security_level(&self) -> u32 {
        self.security_level
    }

    /// Whether OpenSSL rejects the string as a whole (an invalid `@` command).
    pub fn is_rejected(&self) -> bool {
        self.rejected
    }

    /// Whether every token is provided or applied.
    pub fn is_fully_provided(&self) -> bool {
        self.entries.iter().all(CipherReportEntry::is_provided)
    }
}

impl CipherReportEntry {
    /// Whether the token does what it says (provided, or an applied command).
    pub fn is_provided(&self) -> bool {
        matches!(
            self.availability,
            CipherAvailability::Provided | CipherAvailability::Applied
        )
    }
}

impl fmt::Display for CipherReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Cipher string {:?} on {}, security level {}:",
            self.string,
            openssl::version::version(),
            self.security_level
        )?;
        let kinds: Vec<String> = self.entries.iter().map(|e| e.kind.to_string()).collect();
        let tw = self
            .entries
            .iter()
            .map(|e| e.token.len())
            .chain([5])
            .max()
            .unwrap_or(5);
        let kw = kinds.iter().map(String::len).chain([4]).max().unwrap_or(4);
        writeln!(f, "  {:tw$}  {:kw$}  result", "token", "kind")?;
        for (e, kind) in self.entries.iter().zip(&kinds) {
            write!(f, "  {:tw$}  {:kw$}  {}", e.token, kind, e.availability)?;
            if e.kind != CipherTokenKind::Suite
                && e.kind != CipherTokenKind::Tls13Suite
                && !e.ciphers.is_empty()
            {
                write!(f, " ({} suites)", e.ciphers.len())?;
            }
            writeln!(f)?;
            for note in &e.notes {
                writeln!(f, "  {:tw$}  {:kw$}    - {note}", "", "")?;
            }
        }
        if self.rejected {
            writeln!(
                f,
                "OpenSSL rejects the whole string: the default ciphers stay."
            )?;
        }
        if self.ciphers.is_empty() {
            return writeln!(f, "Resolved: nothing, so the default ciphers are used.");
        }
        let names: Vec<&str> = self.ciphers.iter().map(|c| c.name.as_str()).collect();
        writeln!(f, "Resolved ({}): {}", names.len(), names.join(", "))?;
        let names_tls13 = self
            .entries
            .iter()
            .any(|e| e.kind == CipherTokenKind::Tls13Suite);
        if !names_tls13 {
            writeln!(
                f,
                "TLS 1.3: OpenSSL's default suites stay (the string names none)."
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for CipherTokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CipherTokenKind::Suite => f.write_str("suite"),
            CipherTokenKind::Tls13Suite => f.write_str("TLS 1.3 suite"),
            CipherTokenKind::Keyword => f.write_str("keyword"),
            CipherTokenKind::SortByStrength => f.write_str("command"),
            CipherTokenKind::SecurityLevel(_) => f.write_str("command"),
            CipherTokenKind::Command => f.write_str("command"),
            CipherTokenKind::Unrecognized => f.write_str("?"),
        }
    }
}

impl fmt::Display for CipherAvailability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CipherAvailability::Provided => f.write_str("provided"),
            CipherAvailability::Applied => f.write_str("applied"),
            CipherAvailability::UnknownName => {
                f.write_str("not provided: unknown to this OpenSSL (skipped)")
            }
            CipherAvailability::AlgorithmUnavailable { encryption } => {
                write!(
                    f,
                    "not provided: {encryption} is not available in this OpenSSL build"
                )
            }
            CipherAvailability::MatchesNothing => {
                f.write_str("not provided: selects no suite this OpenSSL has")
            }
            CipherAvailability::DisabledBySecurityLevel {
                level,
                usable_up_to,
            } => write!(
                f,
                "not provided: disabled by security level {level} (usable at @SECLEVEL={usable_up_to})"
            ),
            CipherAvailability::ProtocolUnavailable { protocol } => {
                write!(
                    f,
                    "not provided: needs {protocol}, which this OpenSSL cannot use"
                )
            }
            CipherAvailability::NeedsCredentials { kind } => {
                write!(
                    f,
                    "not provided: needs {kind} credentials, which qsslsocket does not configure"
                )
            }
            CipherAvailability::NotNegotiable => {
                f.write_str("not provided: listed but never offered by this OpenSSL")
            }
            CipherAvailability::Rejected => {
                f.write_str("rejected: OpenSSL refuses the whole string")
            }
            CipherAvailability::Ignored => f.write_str("ignored: has no effect"),
        }
    }
}
