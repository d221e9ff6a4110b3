//! OpenSSL-style argument parsing (`-option value`), shared option handling.

use std::fs;

use tlswire::{ClientAuth, ClientConfig, ServerConfig, Version};

/// A usage error: message for stderr, exit status 2. An empty message means "help was shown".
pub struct UsageError(pub String);

const CLIENT_HELP: &str = "tlswire s_client options:
  -connect host:port  server to connect to (default localhost:4433)
  -servername name    SNI and the name to verify (default: the -connect host)
  -CAfile file        trust these CA certificates (PEM) instead of the bundled roots
  -cert file -key f   client certificate chain and key (PEM)
  -CRL file           check the server's certificate against this CRL (PEM or DER; repeatable;
                      -crl_check is accepted and implied)
  -alpn list          comma-separated ALPN protocols, e.g. h2,http/1.1
  -max_send_frag n    at most n bytes of data per record sent (64..16384)
  -tls1_2 | -tls1_3   only this protocol version
  -groups list        colon-separated: X25519MLKEM768, X25519, P-256, P-384, P-521; the pure
                      MLKEM768 and MLKEM1024 only when named
  -sigalgs list       colon-separated signature schemes in preference order, for this side's
                      signatures and the peer's, e.g. ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256
  -ciphersuites list  colon-separated TLS 1.3 suites, e.g. TLS_AES_128_GCM_SHA256
  -cipher list        colon-separated TLS 1.2 suites (OpenSSL names)
  -msg                print every protocol message (like openssl -msg) to stderr
  -msgfile file       write the -msg trace to this file instead
  -keylogfile file    append the connection's secrets to file (SSLKEYLOGFILE format: anyone
                      with it can decrypt the traffic; for Wireshark)
  -keymatexport label print keying material exported for label (RFC 5705 / RFC 8446 7.5)
  -keymatexportlen n  how many bytes to export (default 20)
  -sess_out file      write each session the server gives to file (the newest; it holds the
                      session's secret: keep it like a key)
  -sess_in file       offer the session in file (from -sess_out) to resume it
  -early_data file    send file's contents as TLS 1.3 early data (0-RTT) when resuming; what the
                      server refuses is sent again after the handshake
  -status             print the OCSP response the server stapled (its size and SHA-256)
  -ech_config_list b64
                      Encrypted Client Hello with the server's ECHConfigList (base64, as in its
                      DNS HTTPS record's ech=): only the list's public name goes in the clear;
                      TLS 1.3 only. A server that refuses it fails with ECH_REJECTED and the
                      retry list it sent, if any
  -ech_grease         send a GREASE ECH extension (hides nothing; TLS 1.3 only)
  -verify_cmd cmd     also run `sh -c cmd` on the server's chain (PEM on stdin, the name in
                      $TLSWIRE_SERVER_NAME) during the handshake: exit 0 accepts, else refused
                      (CERT_REJECTED, with what it wrote to stderr)
  -ign_eof            keep reading from the server after stdin ends
  -quiet              no connection summary (implies -ign_eof)
  -insecure           DANGEROUS: do not verify the server certificate";

const SERVER_HELP: &str = "tlswire s_server options:
  -accept host:port   listen address (default 127.0.0.1:4433)
  -cert file -key f   server certificate chain and key (PEM)
  -CAfile file        CAs for client certificates
  -Verify n           require a client certificate (n: depth, accepted for compatibility)
  -verify n           request a client certificate, do not require it
  -CRL file           check client certificates against this CRL (PEM or DER; repeatable)
  -alpn list          comma-separated ALPN protocols
  -max_send_frag n    at most n bytes of data per record sent (64..16384)
  -tls1_2 | -tls1_3   only this protocol version
  -groups list        colon-separated key exchange groups
  -sigalgs list       colon-separated signature schemes in preference order, for this side's
                      signatures and the peer's, e.g. ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256
  -naccept n          exit after n connections
  -no_ticket          no stateless session tickets (sessions in the server's cache instead)
  -num_tickets n      TLS 1.3 tickets sent after each handshake (default 2)
  -no_cache           no server session cache
  -status_file file   staple this DER OCSP response to the certificate
  -early_data         accept up to 16384 bytes of TLS 1.3 early data (0-RTT) from resuming
                      clients (sessions then live in the cache: single use)
  -dcert file -dkey f another certificate chain and key (repeatable): per client, the one valid
                      for the name it asked for whose key makes a signature it accepts
  -msg / -msgfile f   print every protocol message to stderr / a file
  -keylogfile file    append each connection's secrets to file (SSLKEYLOGFILE format)
  -keymatexport label print keying material exported for label (RFC 5705 / RFC 8446 7.5)
  -keymatexportlen n  how many bytes to export (default 20)
  -quiet              no per-connection summary";

/// Settings shared by both commands.
#[derive(Default)]
pub struct Common {
    pub alpn: Vec<String>,
    pub version: Option<Version>,
    pub groups: Vec<String>,
    pub suites: Vec<String>,
    pub msg: bool,
    pub msgfile: Option<String>,
    pub quiet: bool,
    pub ca_file: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub crls: Vec<String>,
    pub keylogfile: Option<String>,
    pub max_send_frag: Option<usize>,
    pub keymatexport: Option<String>,
    pub sigalgs: Vec<String>,
    pub keymatexportlen: Option<usize>,
}

pub struct ClientArgs {
    pub connect: String,
    pub sess_out: Option<String>,
    pub sess_in: Option<String>,
    pub status: bool,
    pub verify_cmd: Option<String>,
    pub early_data: Option<String>,
    pub ech_config_list: Option<String>,
    pub ech_grease: bool,
    pub servername: Option<String>,
    pub ign_eof: bool,
    pub insecure: bool,
    pub common: Common,
}

pub struct ServerArgs {
    pub accept: String,
    pub no_ticket: bool,
    pub num_tickets: Option<usize>,
    pub no_cache: bool,
    pub status_file: Option<String>,
    pub dcerts: Vec<(String, String)>,
    pub early_data: bool,
    pub client_auth: ClientAuth,
    pub naccept: Option<usize>,
    pub common: Common,
}

struct Parser<'a> {
    args: &'a [String],
    at: usize,
}

impl<'a> Parser<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let a = self.args.get(self.at)?;
        self.at += 1;
        Some(a)
    }

    fn value(&mut self, option: &str) -> Result<String, UsageError> {
        self.next().map(str::to_string).ok_or_else(|| UsageError(format!("option '{option}' needs a value")))
    }
}

/// Parses an option both commands share; `Ok(false)` if `option` is not one of them.
fn common_option(option: &str, p: &mut Parser<'_>, c: &mut Common) -> Result<bool, UsageError> {
    match option {
        "-alpn" => c.alpn = p.value(option)?.split(',').map(str::to_string).collect(),
        "-tls1_2" => c.version = Some(Version::Tls12),
        "-tls1_3" => c.version = Some(Version::Tls13),
        "-groups" | "-curves" => c.groups = p.value(option)?.split(':').map(str::to_string).collect(),
        "-ciphersuites" => c.suites.extend(p.value(option)?.split(':').map(str::to_string)),
        "-cipher" => {
            for name in p.value(option)?.split(':') {
                c.suites.push(openssl_cipher_name(name).unwrap_or(name).to_string());
            }
        }
        "-msg" => c.msg = true,
        "-msgfile" => {
            c.msg = true;
            c.msgfile = Some(p.value(option)?);
        }
        "-quiet" => c.quiet = true,
        "-CAfile" => c.ca_file = Some(p.value(option)?),
        "-cert" => c.cert = Some(p.value(option)?),
        "-key" => c.key = Some(p.value(option)?),
        "-CRL" => c.crls.push(p.value(option)?),
        "-keylogfile" => c.keylogfile = Some(p.value(option)?),
        "-max_send_frag" => {
            let v = p.value(option)?;
            c.max_send_frag = Some(v.parse().map_err(|_| UsageError(format!("-max_send_frag: not a number: {v}")))?);
        }
        "-keymatexport" => c.keymatexport = Some(p.value(option)?),
        "-sigalgs" => c.sigalgs = p.value(option)?.split(':').map(str::to_string).collect(),
        "-keymatexportlen" => {
            let v = p.value(option)?;
            let n = v.parse().ok().filter(|n| *n > 0);
            c.keymatexportlen =
                Some(n.ok_or_else(|| UsageError(format!("-keymatexportlen: not a positive number: {v}")))?);
        }
        // OpenSSL needs it beside -CRL; here a CRL given is a CRL checked.
        "-crl_check" => {}
        _ => return Ok(false),
    }
    Ok(true)
}

/// OpenSSL's TLS 1.2 cipher names → IANA names.
fn openssl_cipher_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "ECDHE-ECDSA-AES128-GCM-SHA256" => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384" => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305" => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256" => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384" => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-RSA-CHACHA20-POLY1305" => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        _ => return None,
    })
}

/// The option loop both commands share: their own options via `own` (true = handled), then the
/// common ones, `-help`, and a usage error naming any unknown option.
fn parse_options(
    args: &[String],
    command: &str,
    help: &str,
    common: &mut Common,
    mut own: impl FnMut(&str, &mut Parser<'_>) -> Result<bool, UsageError>,
) -> Result<(), UsageError> {
    let mut p = Parser { args, at: 0 };
    while let Some(option) = p.next() {
        if own(option, &mut p)? || common_option(option, &mut p, common)? {
            continue;
        }
        if option == "-help" {
            println!("{help}");
            return Err(UsageError(String::new()));
        }
        return Err(UsageError(format!("{command}: unknown option '{option}'")));
    }
    Ok(())
}

impl ClientArgs {
    pub fn parse(args: &[String]) -> Result<Self, UsageError> {
        let (mut connect, mut servername) = ("localhost:4433".to_string(), None);
        let (mut ign_eof, mut insecure) = (false, false);
        let (mut sess_out, mut sess_in, mut status, mut verify_cmd) = (None, None, false, None);
        let mut early_data = None;
        let (mut ech_config_list, mut ech_grease) = (None, false);
        let mut common = Common::default();
        parse_options(args, "s_client", CLIENT_HELP, &mut common, |option, p| {
            match option {
                "-connect" => connect = p.value(option)?,
                "-servername" => servername = Some(p.value(option)?),
                "-ign_eof" => ign_eof = true,
                "-insecure" => insecure = true,
                "-sess_out" => sess_out = Some(p.value(option)?),
                "-sess_in" => sess_in = Some(p.value(option)?),
                "-status" => status = true,
                "-verify_cmd" => verify_cmd = Some(p.value(option)?),
                "-early_data" => early_data = Some(p.value(option)?),
                "-ech_config_list" => ech_config_list = Some(p.value(option)?),
                "-ech_grease" => ech_grease = true,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        // As in OpenSSL, -quiet implies -ign_eof.
        ign_eof |= common.quiet;
        Ok(Self {
            connect,
            sess_out,
            sess_in,
            status,
            verify_cmd,
            early_data,
            ech_config_list,
            ech_grease,
            servername,
            ign_eof,
            insecure,
            common,
        })
    }
}

impl ServerArgs {
    pub fn parse(args: &[String]) -> Result<Self, UsageError> {
        let mut accept = "127.0.0.1:4433".to_string();
        let mut client_auth = ClientAuth::None;
        let mut naccept = None;
        let (mut no_ticket, mut num_tickets, mut no_cache, mut status_file) = (false, None, false, None);
        let (mut dcerts, mut dkeys) = (Vec::new(), Vec::new());
        let mut early_data = false;
        let mut common = Common::default();
        parse_options(args, "s_server", SERVER_HELP, &mut common, |option, p| {
            match option {
                "-accept" | "-port" => {
                    let v = p.value(option)?;
                    accept = if v.contains(':') { v } else { format!("127.0.0.1:{v}") };
                }
                "-Verify" => {
                    p.value(option)?;
                    client_auth = ClientAuth::Required;
                }
                "-verify" => {
                    p.value(option)?;
                    client_auth = ClientAuth::Optional;
                }
                "-naccept" => {
                    let v = p.value(option)?;
                    naccept = Some(v.parse().map_err(|_| UsageError(format!("-naccept: not a number: {v}")))?);
                }
                "-no_ticket" => no_ticket = true,
                "-no_cache" => no_cache = true,
                "-status_file" => status_file = Some(p.value(option)?),
                "-dcert" => dcerts.push(p.value(option)?),
                "-early_data" => early_data = true,
                "-dkey" => dkeys.push(p.value(option)?),
                "-num_tickets" => {
                    let v = p.value(option)?;
                    num_tickets = Some(v.parse().map_err(|_| UsageError(format!("-num_tickets: not a number: {v}")))?);
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        if common.cert.is_none() || common.key.is_none() {
            return Err(UsageError("s_server: -cert and -key are required".into()));
        }
        if dcerts.len() != dkeys.len() {
            return Err(UsageError("s_server: each -dcert needs its -dkey".into()));
        }
        let dcerts = dcerts.into_iter().zip(dkeys).collect();
        Ok(Self {
            accept,
            no_ticket,
            num_tickets,
            no_cache,
            status_file,
            dcerts,
            early_data,
            client_auth,
            naccept,
            common,
        })
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

pub fn read_file(path: &str) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

impl Common {
    fn versions(&self) -> (Version, Version) {
        match self.version {
            Some(v) => (v, v),
            None => (Version::Tls12, Version::Tls13),
        }
    }

    fn groups(&self) -> Vec<&str> {
        self.groups.iter().map(String::as_str).collect()
    }

    fn suites(&self) -> Vec<&str> {
        self.suites.iter().map(String::as_str).collect()
    }

    pub fn client_config(&self) -> Result<ClientConfig, String> {
        let mut c = ClientConfig::new();
        let (min, max) = self.versions();
        c.versions(min, max).alpn(&self.alpn);
        if !self.groups.is_empty() {
            c.groups(&self.groups()).map_err(|e| e.to_string())?;
        }
        if !self.suites.is_empty() {
            c.cipher_suites(&self.suites()).map_err(|e| e.to_string())?;
        }
        if let Some(ca) = &self.ca_file {
            c.add_ca(&read_file(ca)?).map_err(|e| format!("{ca}: {e}"))?;
        }
        for crl in &self.crls {
            c.add_crl(&read_file(crl)?).map_err(|e| format!("{crl}: {e}"))?;
        }
        if let Some(bytes) = self.max_send_frag {
            c.max_send_fragment(bytes).map_err(|e| e.to_string())?;
        }
        if !self.sigalgs.is_empty() {
            c.signature_schemes(&strs(&self.sigalgs)).map_err(|e| e.to_string())?;
        }
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                c.client_auth(&read_file(cert)?, &read_file(key)?).map_err(|e| e.to_string())?;
            }
            (None, None) => {}
            _ => return Err("-cert and -key go together".into()),
        }
        Ok(c)
    }

    pub fn server_config(&self, client_auth: ClientAuth) -> Result<ServerConfig, String> {
        let cert = read_file(self.cert.as_deref().unwrap_or_default())?;
        let key = read_file(self.key.as_deref().unwrap_or_default())?;
        let mut s = ServerConfig::new(&cert, &key).map_err(|e| e.to_string())?;
        let (min, max) = self.versions();
        s.versions(min, max).alpn(&self.alpn);
        if !self.groups.is_empty() {
            s.groups(&self.groups()).map_err(|e| e.to_string())?;
        }
        if !self.suites.is_empty() {
            s.cipher_suites(&self.suites()).map_err(|e| e.to_string())?;
        }
        for crl in &self.crls {
            s.add_crl(&read_file(crl)?).map_err(|e| format!("{crl}: {e}"))?;
        }
        if let Some(bytes) = self.max_send_frag {
            s.max_send_fragment(bytes).map_err(|e| e.to_string())?;
        }
        if !self.sigalgs.is_empty() {
            s.signature_schemes(&strs(&self.sigalgs)).map_err(|e| e.to_string())?;
        }
        if client_auth != ClientAuth::None {
            let ca = self.ca_file.as_deref().ok_or("-Verify/-verify need -CAfile")?;
            s.client_auth(client_auth, &read_file(ca)?).map_err(|e| e.to_string())?;
        }
        Ok(s)
    }
}
