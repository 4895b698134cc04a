//! `SslSocket`'s static (associated) functions: the process-wide defaults, as Qt exposes them on
//! `QSslSocket`. They delegate to `crate::defaults` (see there for the CA-database model).

use std::path::Path;

use crate::{
    EncodingFormat, PatternSyntax, SslCertificate, SslCipher, SslConfiguration, SslSocket, defaults,
};

impl SslSocket {
    /// Appends `certificate` to the default CA list (unless it is already there), which sockets
    /// created afterwards trust. On-demand system roots stay on. Qt: `addDefaultCaCertificate`.
    #[doc(alias = "addDefaultCaCertificate")]
    pub fn add_default_ca_certificate(certificate: SslCertificate) {
        defaults::add_default_ca_certificate(certificate);
    }

    /// Appends `certificates` to the default CA list. On-demand system roots stay on.
    /// Qt: `addDefaultCaCertificates(const QList<QSslCertificate> &)`.
    #[doc(alias = "addDefaultCaCertificates")]
    pub fn add_default_ca_certificates(certificates: &[SslCertificate]) {
        defaults::add_default_ca_certificates(certificates);
    }

    /// Loads CA certificates from `path` (a file for `FixedString`; a pattern for `Wildcard` or
    /// `RegExp`) and appends them to the default CA list. Returns false if nothing was loaded.
    /// Qt: `addDefaultCaCertificates(const QString &path, QSsl::EncodingFormat, PatternSyntax)`.
    ///
    /// ```
    /// use qsslsocket::{EncodingFormat, PatternSyntax, SslSocket};
    ///
    /// assert!(!SslSocket::add_default_ca_certificates_from_path(
    ///     "/nonexistent/ca.pem",
    ///     EncodingFormat::Pem,
    ///     PatternSyntax::FixedString,
    /// ));
    /// ```
    #[doc(alias = "addDefaultCaCertificates")]
    pub fn add_default_ca_certificates_from_path(
        path: impl AsRef<Path>,
        format: EncodingFormat,
        syntax: PatternSyntax,
    ) -> bool {
        defaults::add_default_ca_certificates_from_path(path.as_ref(), format, syntax)
    }

    /// The default CA list. On a system whose certificate directory has OpenSSL hash links
    /// (Debian, Ubuntu, ...) it is empty until CAs are added: system roots are then looked up
    /// on demand while verifying. Qt: `defaultCaCertificates`.
    #[doc(alias = "defaultCaCertificates")]
    pub fn default_ca_certificates() -> Vec<SslCertificate> {
        defaults::default_ca_certificates()
    }

    /// Replaces the default CA list, and switches on-demand loading of system roots off for the
    /// whole process: the application brings its own roots. Qt: `setDefaultCaCertificates`.
    #[doc(alias = "setDefaultCaCertificates")]
    pub fn set_default_ca_certificates(certificates: Vec<SslCertificate>) {
        defaults::set_default_ca_certificates(certificates);
    }

    /// Every CA certificate of the system store, read once on first call (see
    /// [`SslConfiguration::system_ca_certificates`]). Qt: `systemCaCertificates`.
    #[doc(alias = "systemCaCertificates")]
    pub fn system_ca_certificates() -> Vec<SslCertificate> {
        SslConfiguration::system_ca_certificates()
    }

    /// The default cipher list new sockets get: by Qt's rule the supported ciphers with at
    /// least 128 bits, unless changed with [`set_default_ciphers`](Self::set_default_ciphers)
    /// or `SslConfiguration::set_default_configuration`. Qt: `defaultCiphers`.
    #[doc(alias = "defaultCiphers")]
    pub fn default_ciphers() -> Vec<SslCipher> {
        defaults::default_ciphers()
    }

    /// Replaces the default cipher list of sockets created afterwards. Qt: `setDefaultCiphers`.
    #[doc(alias = "setDefaultCiphers")]
    pub fn set_default_ciphers(ciphers: Vec<SslCipher>) {
        defaults::set_default_ciphers(ciphers);
    }

    /// The ciphers the linked OpenSSL supports: its default client list, in OpenSSL's order,
    /// without anonymous (`ADH`, `AECDH`) suites. Qt: `supportedCiphers`.
    ///
    /// ```
    /// use qsslsocket::SslSocket;
    ///
    /// let supported = SslSocket::supported_ciphers();
    /// assert!(supported.iter().any(|c| c.name() == "TLS_AES_256_GCM_SHA384"));
    /// assert!(SslSocket::default_ciphers().iter().all(|c| c.used_bits() >= 128));
    /// ```
    #[doc(alias = "supportedCiphers")]
    pub fn supported_ciphers() -> Vec<SslCipher> {
        SslConfiguration::supported_ciphers()
    }

    /// Whether TLS is available: the linked OpenSSL creates a context and lists ciphers.
    /// Qt: `supportsSsl`.
    #[doc(alias = "supportsSsl")]
    pub fn supports_ssl() -> bool {
        defaults::supports_ssl()
    }

    /// `OpenSSL_version_num()` of the library loaded at run time (e.g. `0x30000130` for
    /// 3.0.19). Qt: `sslLibraryVersionNumber`.
    #[doc(alias = "sslLibraryVersionNumber")]
    pub fn ssl_library_version_number() -> i64 {
        defaults::library_version_number()
    }

    /// The run-time library's version text, e.g. `OpenSSL 3.0.19 27 Jan 2026`.
    /// Qt: `sslLibraryVersionString`.
    #[doc(alias = "sslLibraryVersionString")]
    pub fn ssl_library_version_string() -> String {
        defaults::library_version_string()
    }

    /// The `OPENSSL_VERSION_NUMBER` of the OpenSSL headers the crate was built against.
    /// Qt: `sslLibraryBuildVersionNumber`.
    #[doc(alias = "sslLibraryBuildVersionNumber")]
    pub fn ssl_library_build_version_number() -> i64 {
        defaults::build_version_number()
    }

    /// The build-time OpenSSL version as `OpenSSL x.y.z` (without the release date, which the
    /// build does not record). Qt: `sslLibraryBuildVersionString`.
    #[doc(alias = "sslLibraryBuildVersionString")]
    pub fn ssl_library_build_version_string() -> String {
        defaults::build_version_string()
    }
}
