//! Process-wide state (Qt's global default configuration and CA database): the default
//! configuration, the default and system CA certificates (loaded lazily), the supported and
//! default ciphers, and the OpenSSL library versions.
