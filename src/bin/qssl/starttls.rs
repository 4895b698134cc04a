//! `connect --starttls`: the plain-text exchange that precedes `start_client_encryption()` in
//! SMTP, IMAP, POP3 and FTP, as a line-by-line state machine (no I/O here).

use clap::ValueEnum;

/// The protocols `--starttls` knows.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Starttls {
    /// SMTP: greeting 220, EHLO, STARTTLS, 220.
    Smtp,
    /// IMAP: greeting `* OK`, `a1 STARTTLS`, `a1 OK`.
    Imap,
    /// POP3: greeting `+OK`, `STLS`, `+OK`.
    Pop3,
    /// FTP: greeting 220, `AUTH TLS`, 234.
    Ftp,
}

/// What to do after a line from the server.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send this command.
    Send(&'static [u8]),
    /// The server agreed: start the handshake.
    StartTls,
    /// Read the next line.
    Wait,
    /// The server said something else.
    Fail(String),
}

/// Where the exchange is.
#[derive(Debug)]
pub(crate) struct Dialog {
    protocol: Starttls,
    /// 0: waiting for the greeting; 1: (SMTP) waiting for the EHLO reply; 2: waiting for the
    /// answer to the STARTTLS command.
    stage: u8,
}

impl Dialog {
    pub(crate) fn new(protocol: Starttls) -> Dialog {
        Dialog { protocol, stage: 0 }
    }

    /// Feeds one line (with or without its line end).
    pub(crate) fn on_line(&mut self, raw: &[u8]) -> Step {
        let line = String::from_utf8_lossy(raw);
        let line = line.trim_end_matches(['\r', '\n']);
        let fail = |what: &str| {
            Step::Fail(format!(
                "{:?} STARTTLS: expected {what}, the server sent {line:?}",
                self.protocol
            ))
        };
        // A multi-line reply (`220-...`, `250-...`) continues.
        let continued = |code: &str| line.starts_with(&format!("{code}-"));
        let last = |code: &str| line.starts_with(&format!("{code} ")) || line == code;
        match (self.protocol, self.stage) {
            (Starttls::Smtp, 0) | (Starttls::Ftp, 0) if continued("220") => Step::Wait,
            (Starttls::Smtp, 0) if last("220") => self.next(1, b"EHLO qssl.invalid\r\n"),
            (Starttls::Ftp, 0) if last("220") => self.next(2, b"AUTH TLS\r\n"),
            (Starttls::Smtp, 1) if continued("250") => Step::Wait,
            (Starttls::Smtp, 1) if last("250") => self.next(2, b"STARTTLS\r\n"),
            (Starttls::Smtp, 2) if last("220") => Step::StartTls,
            (Starttls::Smtp, 0) | (Starttls::Ftp, 0) => fail("a 220 greeting"),
            (Starttls::Smtp, 1) => fail("250 (the EHLO reply)"),
            (Starttls::Smtp, _) => fail("220 (ready to start TLS)"),
            (Starttls::Imap, 0) if line.starts_with("* OK") => self.next(2, b"a1 STARTTLS\r\n"),
            (Starttls::Imap, 0) => fail("an `* OK` greeting"),
            (Starttls::Imap, _) if line.starts_with("* ") => Step::Wait,
            (Starttls::Imap, _) if line.starts_with("a1 OK") => Step::StartTls,
            (Starttls::Imap, _) => fail("`a1 OK` (ready to start TLS)"),
            (Starttls::Pop3, 0) if line.starts_with("+OK") => self.next(2, b"STLS\r\n"),
            (Starttls::Pop3, 0) => fail("a `+OK` greeting"),
            (Starttls::Pop3, _) if line.starts_with("+OK") => Step::StartTls,
            (Starttls::Pop3, _) => fail("`+OK` (ready to start TLS)"),
            (Starttls::Ftp, _) if continued("234") => Step::Wait,
            (Starttls::Ftp, _) if last("234") => Step::StartTls,
            (Starttls::Ftp, _) => fail("234 (ready to start TLS)"),
        }
    }

    fn next(&mut self, stage: u8, command: &'static [u8]) -> Step {
        self.stage = stage;
        Step::Send(command)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(protocol: Starttls, lines: &[&str]) -> Vec<Step> {
        let mut d = Dialog::new(protocol);
        lines.iter().map(|l| d.on_line(l.as_bytes())).collect()
    }

    #[test]
    fn smtp_with_multiline_replies() {
        let steps = run(
            Starttls::Smtp,
            &[
                "220-hi\r\n",
                "220 ready\r\n",
                "250-x\r\n",
                "250 STARTTLS\r\n",
                "220 go\r\n",
            ],
        );
        assert_eq!(
            steps,
            [
                Step::Wait,
                Step::Send(b"EHLO qssl.invalid\r\n"),
                Step::Wait,
                Step::Send(b"STARTTLS\r\n"),
                Step::StartTls
            ]
        );
    }

    #[test]
    fn imap_pop3_ftp_and_refusals() {
        assert_eq!(
            run(
                Starttls::Imap,
                &["* OK IMAP\r\n", "* CAPABILITY\r\n", "a1 OK go\r\n"]
            )[2],
            Step::StartTls
        );
        assert_eq!(
            run(Starttls::Pop3, &["+OK\r\n", "+OK\r\n"])[1],
            Step::StartTls
        );
        assert_eq!(
            run(Starttls::Ftp, &["220 x\r\n", "234 AUTH\r\n"])[1],
            Step::StartTls
        );
        assert!(matches!(
            run(Starttls::Pop3, &["+OK\r\n", "-ERR no\r\n"])[1],
            Step::Fail(ref m) if m.contains("-ERR no")
        ));
        assert!(matches!(
            run(Starttls::Smtp, &["554 go away"])[0],
            Step::Fail(_)
        ));
    }
}
