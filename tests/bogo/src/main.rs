//! tlswire's shim for BoGo, BoringSSL's TLS conformance runner (`tests/bogo/README.md`).
//!
//! The runner starts this program once per test with command-line flags; it connects to the
//! runner, does one handshake per connection (more with `-resume-count`), echoes application data
//! back with every byte XOR 0xFF until the peer closes, and exits 0 when the test's expectations
//! held. Everything goes through tlswire's public API: the same `Connection`, configs and errors
//! as the CLI and the bindings. A flag for a feature tlswire does not have exits 89
//! ("unimplemented"), which the runner counts apart from failures. A failure prints
//! `tlswire error CODE: message` (and the alert sent) on stderr, which `config.json`'s `ErrorMap`
//! matches against BoringSSL's error names.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpStream};
use std::process::exit;
use std::time::Duration;

use tlswire::{ClientAuth, ClientConfig, Connection, Error, ServerConfig, Status, TransportError, Version};

/// The runner's "this shim does not implement that" exit status.
const UNIMPLEMENTED: i32 = 89;
/// Longer than any legitimate wait in a test, shorter than the runner's 15 s idle timeout: a shim
/// that waits forever is a failure the runner reports, not a hang.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Flags that take a value (with or without an `-on-initial-` / `-on-resume-` / `-on-retry-` prefix).
const VALUED: &[&str] = &[
    "-port",
    "-shim-id",
    "-key-file",
    "-cert-file",
    "-trust-cert",
    "-min-version",
    "-max-version",
    "-host-name",
    "-advertise-alpn",
    "-select-alpn",
    "-expect-alpn",
    "-curves",
    "-expect-curve-id",
    "-expect-version",
    "-resume-count",
    "-read-size",
    "-expect-peer-cert-file",
    "-max-send-fragment",
    "-export-keying-material",
    "-export-label",
    "-export-context",
    "-ocsp-response",
    "-expect-ocsp-response",
    "-signing-prefs",
    "-verify-prefs",
    "-expect-selected-credential",
    "-expect-peer-signature-algorithm",
    "-ech-config-list",
    "-expect-ech-retry-configs",
    "-expect-ech-name-override",
    "-expect-msg-callback",
];
/// Flags that ask for what tlswire does anyway, or concern only BoringSSL's own internals.
const DEFAULTS: &[&str] = &[
    "-no-tls11",
    "-no-tls1",
    "-no-ssl3",
    "-enable-all-curves",
    "-async",
    "-implicit-handshake",
    "-handoff",
    "-use-old-client-cert-callback",
    "-decline-alpn",
    // tlswire's client always asks for a stapled OCSP response.
    "-enable-ocsp-stapling",
    // BoringSSL's OCSP callback: on a client an extra verify step that here accepts; on a server
    // the place the response is set from (-set-ocsp-in-callback), as tlswire's configuration does.
    "-use-ocsp-callback",
    "-set-ocsp-in-callback",
];

#[derive(Clone, Debug, Default)]
struct Credential {
    cert_file: Option<String>,
    key_file: Option<String>,
    ocsp_response: Option<Vec<u8>>,
    signing_prefs: Vec<u16>,
}

#[derive(Clone, Debug, Default)]
struct Options {
    port: u16,
    shim_id: u64,
    ipv6: bool,
    server: bool,
    key_file: Option<String>,
    cert_file: Option<String>,
    trust_cert: Option<String>,
    verify_peer: bool,
    require_any_client_certificate: bool,
    min_version: Option<u16>,
    max_send_fragment: Option<usize>,
    max_version: Option<u16>,
    no_tls13: bool,
    no_tls12: bool,
    host_name: Option<String>,
    advertise_alpn: Vec<Vec<u8>>,
    select_alpn: Option<String>,
    expect_alpn: Option<String>,
    curves: Vec<u16>,
    expect_curve_id: Option<u16>,
    expect_version: Option<u16>,
    expect_hrr: Option<bool>,
    expect_peer_cert_file: Option<String>,
    resume_count: usize,
    read_size: Option<usize>,
    shim_writes_first: bool,
    shim_shuts_down: bool,
    check_close_notify: bool,
    key_update: bool,
    no_ticket: bool,
    expect_session_miss: bool,
    export_keying_material: usize,
    export_label: String,
    export_context: String,
    use_export_context: bool,
    export_traffic_secrets: bool,
    ocsp_response: Option<Vec<u8>>,
    expect_ocsp_response: Option<Vec<u8>>,
    signing_prefs: Vec<u16>,
    verify_prefs: Vec<u16>,
    /// Credentials after the default one (`-new-x509-credential`), which the flags after each
    /// configure.
    credentials: Vec<Credential>,
    expect_selected_credential: Option<i64>,
    enable_early_data: bool,
    expect_accept_early_data: bool,
    expect_reject_early_data: bool,
    expect_peer_signature_algorithm: Option<u16>,
    /// BoringSSL's custom verify callback (`-use-custom-verify-callback`): tlswire's hook.
    custom_verify: bool,
    verify_fail: bool,
    /// Connection 1.. of `-resume-count`: the session must be resumed (unless `-expect-session-miss`).
    resumption: bool,
    ech_config_list: Option<Vec<u8>>,
    ech_grease: bool,
    expect_ech_accept: bool,
    /// `-expect-ech-retry-configs` (`Some(list)`) or `-expect-no-ech-retry-configs` (`Some(empty)`).
    expect_ech_retry_configs: Option<Vec<u8>>,
    /// `-expect-ech-name-override` (`Some(name)`) or `-expect-no-ech-name-override` (`Some("")`):
    /// the name the certificate was checked for, when ECH was rejected (the public name).
    expect_ech_name_override: Option<String>,
    /// BoringSSL's message callback trace expected by the time the peer's close_notify is read:
    /// `write hs 1`, `read ccs`, `read alert 1 0`, one per line.
    expect_msg_callback: Option<String>,
    /// `-decline-ocsp-callback`: the server staples nothing.
    decline_ocsp: bool,
    /// A compliance policy (`-fips-202205`, `-wpa-202304`, `-cnsa1-202603`).
    policy: Option<&'static Policy>,
}

/// BoringSSL's compliance policies as the parameters they allow (its compliance_policy tests).
#[derive(Debug)]
struct Policy {
    tls13_only: bool,
    suites: &'static [&'static str],
    groups: &'static [&'static str],
    schemes: &'static [&'static str],
}

const FIPS_202205: Policy = Policy {
    tls13_only: false,
    suites: &[
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ],
    groups: &["P-256", "P-384"],
    schemes: &[
        "rsa_pkcs1_sha256",
        "rsa_pkcs1_sha384",
        "rsa_pkcs1_sha512",
        "ecdsa_secp256r1_sha256",
        "ecdsa_secp384r1_sha384",
        "rsa_pss_rsae_sha256",
        "rsa_pss_rsae_sha384",
        "rsa_pss_rsae_sha512",
    ],
};
const WPA_202304: Policy = Policy {
    tls13_only: false,
    suites: &[
        "TLS_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ],
    groups: &["P-384"],
    schemes: &[
        "rsa_pkcs1_sha384",
        "rsa_pkcs1_sha512",
        "ecdsa_secp384r1_sha384",
        "rsa_pss_rsae_sha384",
        "rsa_pss_rsae_sha512",
    ],
};
const CNSA1_202603: Policy = Policy {
    tls13_only: false,
    suites: &[
        "TLS_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ],
    // ML-KEM-1024 first: a server picks it whenever the client offers it.
    groups: &["MLKEM1024", "P-384"],
    schemes: &["rsa_pkcs1_sha384", "ecdsa_secp384r1_sha384", "rsa_pss_rsae_sha384"],
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("-is-handshaker-supported") {
        println!("No");
        return;
    }
    // Connection 0 sees the base flags and `-on-initial-`; later ones (resumptions) `-on-resume-`.
    let initial = parse(&args, "-on-initial-");
    let resumed = Options { resumption: true, ..parse(&args, "-on-resume-") };
    let run = Run::new(&initial);
    for i in 0..=initial.resume_count {
        let opts = if i == 0 { &initial } else { &resumed };
        if let Err(e) = run.connection(opts) {
            eprintln!("{e}");
            exit(1);
        }
    }
}

/// The flags for one connection: the base ones and those with `prefix` (others' are skipped).
fn parse(args: &[String], prefix: &str) -> Options {
    let mut o = Options::default();
    let mut i = 0;
    while i < args.len() {
        let raw = args[i].as_str();
        let (flag, mine) = match ["-on-initial-", "-on-resume-", "-on-retry-"].iter().find(|p| raw.starts_with(**p)) {
            Some(p) => (format!("-{}", &raw[p.len()..]), *p == prefix),
            None => (raw.to_string(), true),
        };
        let value = if VALUED.contains(&flag.as_str()) {
            i += 1;
            Some(args.get(i).cloned().unwrap_or_else(|| unimplemented_flag(raw)))
        } else {
            None
        };
        i += 1;
        if !mine {
            continue;
        }
        let v = || value.clone().unwrap_or_default();
        let num = || v().parse::<u64>().unwrap_or_else(|_| unimplemented_flag(raw));
        match flag.as_str() {
            "-port" => o.port = num() as u16,
            "-shim-id" => o.shim_id = num(),
            "-ipv6" => o.ipv6 = true,
            "-server" => o.server = true,
            "-new-x509-credential" => o.credentials.push(Credential::default()),
            "-key-file" if !o.credentials.is_empty() => o.credentials.last_mut().unwrap().key_file = Some(v()),
            "-cert-file" if !o.credentials.is_empty() => o.credentials.last_mut().unwrap().cert_file = Some(v()),
            "-ocsp-response" if !o.credentials.is_empty() => {
                o.credentials.last_mut().unwrap().ocsp_response = Some(base64(&v()))
            }
            "-signing-prefs" if !o.credentials.is_empty() => {
                o.credentials.last_mut().unwrap().signing_prefs.push(num() as u16)
            }
            "-expect-selected-credential" => o.expect_selected_credential = Some(v().parse().unwrap_or(-1)),
            "-key-file" => o.key_file = Some(v()),
            "-cert-file" => o.cert_file = Some(v()),
            "-trust-cert" => o.trust_cert = Some(v()),
            "-verify-peer" => o.verify_peer = true,
            "-use-custom-verify-callback" => o.custom_verify = true,
            "-signing-prefs" => o.signing_prefs.push(num() as u16),
            "-verify-prefs" => o.verify_prefs.push(num() as u16),
            "-expect-peer-signature-algorithm" => o.expect_peer_signature_algorithm = Some(num() as u16),
            "-verify-fail" => o.verify_fail = true,
            // The handshake completing is the verification result tlswire has.
            "-expect-verify-result" => {}
            "-require-any-client-certificate" => o.require_any_client_certificate = true,
            "-min-version" => o.min_version = Some(num() as u16),
            "-max-version" => o.max_version = Some(num() as u16),
            "-no-tls13" => o.no_tls13 = true,
            "-no-tls12" => o.no_tls12 = true,
            "-host-name" => o.host_name = Some(v()),
            "-advertise-alpn" => o.advertise_alpn = split_alpn(v().as_bytes()),
            "-select-alpn" => o.select_alpn = Some(v()),
            "-expect-alpn" => o.expect_alpn = Some(v()),
            "-curves" => o.curves.push(num() as u16),
            "-expect-curve-id" => o.expect_curve_id = Some(num() as u16),
            "-expect-version" => o.expect_version = Some(num() as u16),
            "-expect-hrr" => o.expect_hrr = Some(true),
            "-expect-no-hrr" => o.expect_hrr = Some(false),
            "-expect-peer-cert-file" => o.expect_peer_cert_file = Some(v()),
            "-resume-count" => o.resume_count = num() as usize,
            "-read-size" => o.read_size = Some(num() as usize),
            "-shim-writes-first" => o.shim_writes_first = true,
            "-enable-early-data" => o.enable_early_data = true,
            "-expect-accept-early-data" => o.expect_accept_early_data = true,
            "-expect-reject-early-data" => o.expect_reject_early_data = true,
            // Shown by the early data the ticket lets the shim send (the runner checks it).
            "-expect-ticket-supports-early-data" => {}
            "-shim-shuts-down" => o.shim_shuts_down = true,
            "-check-close-notify" => o.check_close_notify = true,
            "-key-update" => o.key_update = true,
            "-no-ticket" => o.no_ticket = true,
            "-expect-session-miss" => o.expect_session_miss = true,
            "-max-send-fragment" => o.max_send_fragment = Some(num() as usize),
            "-export-keying-material" => o.export_keying_material = num() as usize,
            "-export-label" => o.export_label = v(),
            "-export-context" => o.export_context = v(),
            "-use-export-context" => o.use_export_context = true,
            "-export-traffic-secrets" => o.export_traffic_secrets = true,
            "-ocsp-response" => o.ocsp_response = Some(base64(&v())),
            "-expect-ocsp-response" => o.expect_ocsp_response = Some(base64(&v())),
            "-decline-ocsp-callback" => o.decline_ocsp = true,
            "-expect-msg-callback" => o.expect_msg_callback = Some(v()),
            "-fips-202205" => o.policy = Some(&FIPS_202205),
            "-wpa-202304" => o.policy = Some(&WPA_202304),
            "-cnsa1-202603" => o.policy = Some(&CNSA1_202603),
            "-cnsa2-202603" => o.policy = Some(&CNSA2_202603),
            "-ech-config-list" => o.ech_config_list = Some(base64(&v())),
            "-enable-ech-grease" => o.ech_grease = true,
            "-expect-ech-accept" => o.expect_ech_accept = true,
            "-expect-ech-retry-configs" => o.expect_ech_retry_configs = Some(base64(&v())),
            "-expect-no-ech-retry-configs" => o.expect_ech_retry_configs = Some(Vec::new()),
            "-expect-ech-name-override" => o.expect_ech_name_override = Some(v()),
            "-expect-no-ech-name-override" => o.expect_ech_name_override = Some(String::new()),
            f if DEFAULTS.contains(&f) => {}
            _ => unimplemented_flag(raw),
        }
    }
    o
}

fn base64(text: &str) -> Vec<u8> {
    use base64ct::{Base64, Encoding};
    Base64::decode_vec(text).unwrap_or_else(|_| unimplemented_flag("a base64 value that does not decode"))
}

fn unimplemented_flag(flag: &str) -> ! {
    println!("unimplemented: {flag}");
    // Planning aid: TLSWIRE_BOGO_UNIMPLEMENTED=FILE collects which flag stopped each test.
    if let Some(path) = std::env::var_os("TLSWIRE_BOGO_UNIMPLEMENTED") {
        use std::io::Write as _;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{flag}");
        }
    }
    exit(UNIMPLEMENTED)
}

/// ALPN's wire format (length-prefixed names) as a list.
fn split_alpn(mut wire: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = wire.split_first() {
        let len = usize::from(len).min(rest.len());
        out.push(rest[..len].to_vec());
        wire = &rest[len..];
    }
    out
}

/// BoGo's version numbers as tlswire's range; anything outside TLS 1.2–1.3 is unimplemented.
/// A policy's suites, groups (those of `-curves` it allows, if any were given) and schemes.
const CNSA2_202603: Policy = Policy {
    tls13_only: true,
    suites: &["TLS_AES_256_GCM_SHA384"],
    groups: &["MLKEM1024"],
    schemes: &["ecdsa_secp384r1_sha384", "rsa_pss_rsae_sha384"],
};

fn policy_settings(policy: &Policy, curves: &[&str]) -> (Vec<&'static str>, Vec<&'static str>, Vec<&'static str>) {
    let groups: Vec<&'static str> =
        policy.groups.iter().copied().filter(|g| curves.is_empty() || curves.contains(g)).collect();
    if groups.is_empty() {
        unimplemented_flag("-curves outside the compliance policy");
    }
    (policy.suites.to_vec(), groups, policy.schemes.to_vec())
}

fn versions(o: &Options) -> (Version, Version) {
    let wire = |v: Version| v.wire();
    let lo = o.min_version.unwrap_or(0).max(wire(Version::Tls12));
    let hi = o.max_version.unwrap_or(u16::MAX).min(wire(Version::Tls13));
    let allowed = |v: Version| {
        (lo..=hi).contains(&wire(v)) && !(v == Version::Tls13 && o.no_tls13) && !(v == Version::Tls12 && o.no_tls12)
    };
    match (allowed(Version::Tls12), allowed(Version::Tls13)) {
        (true, true) => (Version::Tls12, Version::Tls13),
        (true, false) => (Version::Tls12, Version::Tls12),
        (false, true) => (Version::Tls13, Version::Tls13),
        (false, false) => unimplemented_flag("-min-version/-max-version outside TLS 1.2-1.3"),
    }
}

const SCHEMES: &[(u16, &str)] = &[
    (0x0403, "ecdsa_secp256r1_sha256"),
    (0x0503, "ecdsa_secp384r1_sha384"),
    (0x0603, "ecdsa_secp521r1_sha512"),
    (0x0807, "ed25519"),
    (0x0804, "rsa_pss_rsae_sha256"),
    (0x0805, "rsa_pss_rsae_sha384"),
    (0x0806, "rsa_pss_rsae_sha512"),
    (0x0401, "rsa_pkcs1_sha256"),
    (0x0501, "rsa_pkcs1_sha384"),
    (0x0601, "rsa_pkcs1_sha512"),
];

/// BoGo's signature scheme numbers as tlswire's names; one tlswire lacks is unimplemented.
fn scheme_names(ids: &[u16], flag: &str) -> Vec<&'static str> {
    ids.iter()
        .map(|id| SCHEMES.iter().find(|(i, _)| i == id).map(|(_, n)| *n).unwrap_or_else(|| unimplemented_flag(flag)))
        .collect()
}

const GROUPS: &[(u16, &str)] =
    &[(0x11ec, "X25519MLKEM768"), (29, "X25519"), (23, "P-256"), (24, "P-384"), (25, "P-521"), (0x0202, "MLKEM1024")];

fn group_name(id: u16) -> Option<&'static str> {
    GROUPS.iter().find(|(i, _)| *i == id).map(|(_, n)| *n)
}

fn group_id(name: &str) -> Option<u16> {
    let name = match name {
        "secp256r1" => "P-256",
        "secp384r1" => "P-384",
        "secp521r1" => "P-521",
        other => other,
    };
    GROUPS.iter().find(|(_, n)| *n == name).map(|(i, _)| *i)
}

fn read_file(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("cannot read {path}: {e}");
        exit(1)
    })
}

/// The contexts shared by a test's connections (so later ones can resume).
enum Run {
    Client(tlswire::ClientContext),
    Server(tlswire::ServerContext),
}

impl Run {
    fn new(o: &Options) -> Self {
        let (mut min, max) = versions(o);
        if o.policy.is_some_and(|p| p.tls13_only) {
            if max != Version::Tls13 {
                // A policy that allows no version the test does: any handshake fails.
                eprintln!("tlswire error CONFIG: the compliance policy allows TLS 1.3 only");
                exit(1);
            }
            min = Version::Tls13;
        }
        let groups: Vec<&str> = o.curves.iter().filter_map(|id| group_name(*id)).collect();
        if !o.curves.is_empty() && groups.is_empty() {
            unimplemented_flag("-curves (none that tlswire has)");
        }
        let built = if o.server {
            // BoringSSL's order: -new-x509-credential's in order, then the default one (if any).
            let default = o.cert_file.clone().map(|cert| Credential {
                cert_file: Some(cert),
                key_file: o.key_file.clone(),
                ocsp_response: o.ocsp_response.clone(),
                signing_prefs: o.signing_prefs.clone(),
            });
            let all: Vec<Credential> = o.credentials.iter().cloned().chain(default).collect();
            let Some(first) = all.first() else { unimplemented_flag("-server without a credential") };
            if o.enable_early_data {
                // The runner expects half-RTT data (the echo of early data before the handshake
                // completes): tlswire's shim answers only after it.
                unimplemented_flag("-enable-early-data (server: half-RTT data)");
            }
            // tlswire's signing preferences are the server's, for all its certificates.
            if all.iter().any(|c| c.signing_prefs != first.signing_prefs) {
                unimplemented_flag("-signing-prefs that differ between credentials");
            }
            let files = |c: &Credential| match (&c.cert_file, &c.key_file) {
                (Some(cert), Some(key)) => (read_file(cert), read_file(key)),
                _ => unimplemented_flag("a credential without a certificate and key file"),
            };
            let (chain, key) = files(first);
            let mut c = ServerConfig::new(&chain, &key).unwrap_or_else(|e| config_error(&e));
            let ocsp = |c: &Credential| c.ocsp_response.clone().filter(|_| !o.decline_ocsp);
            if let Some(response) = ocsp(first) {
                c.ocsp_response(&response).unwrap_or_else(|e| config_error(&e));
            }
            for more in &all[1..] {
                let (chain, key) = files(more);
                c.add_certificate(&chain, &key, ocsp(more).as_deref()).unwrap_or_else(|e| config_error(&e));
            }
            if !first.signing_prefs.is_empty() {
                c.signing_schemes(&scheme_names(&first.signing_prefs, "-signing-prefs"))
                    .unwrap_or_else(|e| config_error(&e));
            }
            c.versions(min, max);
            if !groups.is_empty() {
                c.groups(&groups).unwrap_or_else(|e| config_error(&e));
            }
            if let Some(policy) = o.policy {
                let (suites, groups, schemes) = policy_settings(policy, &groups);
                c.cipher_suites(&suites).unwrap_or_else(|e| config_error(&e));
                c.groups(&groups).unwrap_or_else(|e| config_error(&e));
                c.signature_schemes(&schemes).unwrap_or_else(|e| config_error(&e));
            }
            if let Some(alpn) = &o.select_alpn {
                c.alpn(&[alpn.as_bytes()]);
            }
            if o.no_ticket {
                // SSL_OP_NO_TICKET: no tickets at all (TLS 1.2 resumes by session ID).
                c.tickets(0).stateless_tickets(false);
            }
            if let Some(bytes) = o.max_send_fragment {
                c.max_send_fragment(bytes).unwrap_or_else(|e| config_error(&e));
            }
            if !o.verify_prefs.is_empty() {
                c.verify_schemes(&scheme_names(&o.verify_prefs, "-verify-prefs")).unwrap_or_else(|e| config_error(&e));
            }
            if o.verify_peer || o.require_any_client_certificate {
                let mode = if o.require_any_client_certificate { ClientAuth::Required } else { ClientAuth::Optional };
                match &o.trust_cert {
                    Some(ca) if !o.custom_verify => {
                        c.client_auth(mode, &read_file(ca)).unwrap_or_else(|e| config_error(&e));
                    }
                    // BoringSSL's shim decides in its verify callback (it accepts, or refuses
                    // with -verify-fail): tlswire's hook, over any client certificate.
                    _ => {
                        c.dangerously_accept_any_client_certificate(mode);
                    }
                }
            }
            Self::Server(c.build().unwrap_or_else(|e| config_error(&e)))
        } else {
            if !o.credentials.is_empty() {
                unimplemented_flag("-new-x509-credential (client: one certificate)");
            }
            let mut c = ClientConfig::new();
            c.versions(min, max);
            c.early_data(o.enable_early_data);
            if let Some(bytes) = o.max_send_fragment {
                c.max_send_fragment(bytes).unwrap_or_else(|e| config_error(&e));
            }
            if !groups.is_empty() {
                c.groups(&groups).unwrap_or_else(|e| config_error(&e));
            }
            if let Some(policy) = o.policy {
                let (suites, groups, schemes) = policy_settings(policy, &groups);
                c.cipher_suites(&suites).unwrap_or_else(|e| config_error(&e));
                c.groups(&groups).unwrap_or_else(|e| config_error(&e));
                c.signature_schemes(&schemes).unwrap_or_else(|e| config_error(&e));
            }
            if !o.signing_prefs.is_empty() {
                c.signing_schemes(&scheme_names(&o.signing_prefs, "-signing-prefs"))
                    .unwrap_or_else(|e| config_error(&e));
            }
            if !o.verify_prefs.is_empty() {
                c.verify_schemes(&scheme_names(&o.verify_prefs, "-verify-prefs")).unwrap_or_else(|e| config_error(&e));
            }
            c.alpn(&o.advertise_alpn);
            if let Some(list) = &o.ech_config_list {
                c.ech_config_list(list).unwrap_or_else(|e| config_error(&e));
            }
            c.ech_grease(o.ech_grease);
            // The runner's server certificates chain to no CA: BoringSSL's shim does not check
            // them unless told to, and neither does this one.
            c.dangerously_disable_verification();
            if let (Some(cert), Some(key)) = (&o.cert_file, &o.key_file) {
                c.client_auth(&read_file(cert), &read_file(key)).unwrap_or_else(|e| config_error(&e));
            }
            Self::Client(c.build().unwrap_or_else(|e| config_error(&e)))
        };
        built
    }

    /// One connection to the runner: handshake, checks, echo until the peer closes.
    fn connection(&self, o: &Options) -> Result<(), String> {
        let ip = if o.ipv6 {
            SocketAddr::from((Ipv6Addr::LOCALHOST, o.port))
        } else {
            SocketAddr::from((Ipv4Addr::LOCALHOST, o.port))
        };
        let mut tcp = TcpStream::connect(ip).map_err(|e| format!("connect: {e}"))?;
        tcp.set_read_timeout(Some(READ_TIMEOUT)).ok();
        tcp.set_nodelay(true).ok();
        tcp.write_all(&o.shim_id.to_le_bytes()).map_err(|e| format!("write: {e}"))?;
        let conn = match self {
            // No -host-name: no SNI, as BoringSSL's shim (an IP address is never sent as SNI).
            Self::Client(ctx) => Connection::client(ctx, o.host_name.as_deref().unwrap_or("127.0.0.1")),
            Self::Server(ctx) => Connection::server(ctx),
        }
        .unwrap_or_else(|e| match e {
            Error::Config(c) => config_error(&c),
            other => {
                eprintln!("{}", failure(&other));
                exit(1)
            }
        });
        let mut conn = conn;
        // The name the verify callback was given (the ECH public name after a rejection).
        let verified_name = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
        let asks = o.verify_peer || (o.server && o.require_any_client_certificate);
        if o.custom_verify || o.verify_fail || asks {
            if !asks {
                // SSL_VERIFY_NONE with a callback: a failure is only recorded ("soft"), which
                // tlswire has no notion of.
                unimplemented_flag("a verify callback without -verify-peer");
            }
            if o.verify_fail && !o.custom_verify {
                // BoringSSL's legacy verify callback refuses with handshake_failure; tlswire's
                // hook with certificate_unknown, as BoringSSL's custom one.
                unimplemented_flag("-verify-fail with BoringSSL's legacy verify callback");
            }
            // BoringSSL's custom verify callback: accepts, or (-verify-fail) refuses.
            let fail = o.verify_fail;
            let seen = verified_name.clone();
            conn.set_verify_hook(Box::new(move |name, _| {
                *seen.lock().unwrap() = Some(name.to_string());
                if fail {
                    Err("-verify-fail".into())
                } else {
                    Ok(())
                }
            }))
            .unwrap_or_else(|e| {
                eprintln!("{}", failure(&e));
                exit(1)
            });
        }
        // Debugging aid: TLSWIRE_BOGO_TRACE=1 prints every protocol message (s_client -msg).
        let print = std::env::var_os("TLSWIRE_BOGO_TRACE").is_some();
        // -expect-msg-callback: tlswire's message observer, in BoringSSL's callback's words.
        let msg_trace =
            o.expect_msg_callback.as_ref().map(|_| std::sync::Arc::new(std::sync::Mutex::new(String::new())));
        if print || msg_trace.is_some() {
            let sink = msg_trace.clone();
            let trace: tlswire::Callback = Box::new(move |m| {
                if print {
                    eprintln!("{}", tlswire::format_message(m));
                }
                let Some(sink) = &sink else { return };
                let dir = if m.direction == tlswire::Direction::Sent { "write" } else { "read" };
                let line = match (m.content_type, m.bytes) {
                    (22, [typ, ..]) => format!("{dir} hs {typ}\n"),
                    (20, _) => format!("{dir} ccs\n"),
                    (21, [level, desc, ..]) => format!("{dir} alert {level} {desc}\n"),
                    _ => return,
                };
                sink.lock().unwrap().push_str(&line);
            });
            conn.set_msg_callback(trace).ok();
        }
        // -export-traffic-secrets: the secrets come from the key log, tlswire's only way out.
        let secrets = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        if o.export_traffic_secrets {
            let sink = secrets.clone();
            conn.set_key_log(Box::new(move |line: &str| sink.lock().unwrap().push(line.to_string()))).ok();
        }
        let mut s = Shim {
            conn,
            tcp,
            read_size: o.read_size.unwrap_or(16384).max(1),
            key_log: secrets,
            ech_retry_configs: None,
            msg_trace,
        };
        let result = s.run(o);
        if let Some(want) = &o.expect_ech_name_override {
            let host = o.host_name.clone().unwrap_or_default();
            let seen = verified_name.lock().unwrap().clone();
            let overridden = seen.filter(|name| *name != host);
            if overridden.as_deref().unwrap_or("") != want.as_str() {
                return Err(format!(
                    "expected ECH name override {want:?}, the certificate was checked for {overridden:?}"
                ));
            }
        }
        if let (Err(_), Some(want)) = (&result, &o.expect_ech_retry_configs) {
            let got = s.ech_retry_configs.clone().unwrap_or_default();
            if got != *want {
                return Err(format!("expected ECH retry configs {want:?}, got {got:?}"));
            }
        }
        result
    }
}

fn config_error(e: &tlswire::ConfigError) -> ! {
    let message = failure(&Error::Config(e.clone()));
    // A key or name tlswire does not take (P-521, an over-long host name) is a feature it lacks.
    if message.contains("unsupported")
        || message.contains("bad server name")
        || matches!(e, tlswire::ConfigError::UnknownName(_))
    {
        unimplemented_flag(&message);
    }
    eprintln!("{message}");
    exit(1)
}

/// How a failure reads on stderr: the stable code, then the message (which names the alert sent
/// and rustls's reason); `config.json`'s `ErrorMap` matches either.
fn failure(e: &Error) -> String {
    format!("tlswire error {}: {e}", e.code())
}

/// A status without its value (the answers that matter to `step`).
fn unit<T>(status: Status<T>) -> Status<()> {
    match status {
        Status::Done(_) => Status::Done(()),
        Status::WantRead => Status::WantRead,
        Status::WantWrite => Status::WantWrite,
    }
}

struct Shim {
    conn: Connection,
    tcp: TcpStream,
    read_size: usize,
    key_log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The retry configurations of an ECH rejection.
    ech_retry_configs: Option<Vec<u8>>,
    /// The message callback's trace, for -expect-msg-callback.
    msg_trace: Option<std::sync::Arc<std::sync::Mutex<String>>>,
}

impl Shim {
    fn run(&mut self, o: &Options) -> Result<(), String> {
        // A resuming client's first write goes as early data when the session allows it.
        let mut first_write: &[u8] = if o.shim_writes_first { b"hello" } else { b"" };
        if o.enable_early_data && !o.server && !first_write.is_empty() {
            let n = self.conn.write_early_data(first_write).map_err(|e| self.fail(&e))?;
            first_write = &first_write[n..];
            self.flush()?;
        }
        while !self.conn.is_handshake_done() {
            let status = self.conn.do_handshake();
            self.step(status)?;
        }
        self.check(o)?;
        if o.export_keying_material > 0 {
            let mut out = vec![0u8; o.export_keying_material];
            let context = o.use_export_context.then_some(o.export_context.as_bytes());
            self.conn
                .export_keying_material(&mut out, o.export_label.as_bytes(), context)
                .map_err(|e| format!("failed to export keying material: {}", failure(&e)))?;
            self.write_all(&out)?;
        }
        if o.export_traffic_secrets {
            let secret = |label: &str| -> Result<Vec<u8>, String> {
                let lines = self.key_log.lock().unwrap();
                let line = lines.iter().find(|l| l.starts_with(&format!("{label} "))).ok_or(format!("no {label}"))?;
                let hex = line.rsplit(' ').next().unwrap_or_default();
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| e.to_string()))
                    .collect()
            };
            let (client, server) = (secret("CLIENT_TRAFFIC_SECRET_0")?, secret("SERVER_TRAFFIC_SECRET_0")?);
            let (read, write) = if o.server { (client, server) } else { (server, client) };
            let mut out = (read.len() as u16).to_le_bytes().to_vec();
            out.extend_from_slice(&read);
            out.extend_from_slice(&write);
            self.write_all(&out)?;
        }
        if !first_write.is_empty() {
            self.write_all(first_write)?;
        }
        if o.key_update {
            self.conn.key_update(true).map_err(|e| self.fail(&e))?;
            self.flush()?;
        }
        if o.shim_shuts_down {
            self.conn.close().map_err(|e| self.fail(&e))?;
            self.flush()?;
        }
        // Echo, XOR 0xFF, until close_notify (answered with ours) or the end of the stream.
        let mut buf = vec![0u8; self.read_size];
        loop {
            match self.conn.read(&mut buf) {
                Ok(Status::Done(0)) => {
                    if let (Some(want), Some(trace)) = (&o.expect_msg_callback, &self.msg_trace) {
                        let got = trace.lock().unwrap().clone();
                        if got != *want {
                            return Err(format!("message callback trace:\n{got}\nexpected:\n{want}"));
                        }
                    }
                    self.conn.close().map_err(|e| self.fail(&e))?;
                    self.flush()?;
                    let _ = self.tcp.shutdown(Shutdown::Write);
                    return Ok(());
                }
                Ok(Status::Done(n)) => {
                    let echo: Vec<u8> = buf[..n].iter().map(|b| b ^ 0xff).collect();
                    if !o.shim_shuts_down {
                        self.write_all(&echo)?;
                    }
                }
                Err(Error::Transport(TransportError::Truncated)) if !o.check_close_notify => return Ok(()),
                other => self.step(other.map(unit))?,
            }
        }
    }

    /// After an engine call: send what it queued, read more if it wants input; on failure, send
    /// the alert, close our side and report.
    fn step(&mut self, status: Result<Status<()>, Error>) -> Result<(), String> {
        match status {
            Ok(Status::WantRead) => {
                self.flush()?;
                self.fill()
            }
            Ok(_) => self.flush(),
            Err(e) => Err(self.fail(&e)),
        }
    }

    fn fail(&mut self, e: &Error) -> String {
        if let Error::Protocol { error: tlswire::ProtocolError::EchRejected { retry_configs }, .. } = e {
            self.ech_retry_configs = retry_configs.clone();
        }
        let _ = self.flush();
        let _ = self.tcp.shutdown(Shutdown::Write);
        // Let the runner read the alert before the connection goes: wait for its end.
        let mut sink = [0u8; 4096];
        while matches!(self.tcp.read(&mut sink), Ok(1..)) {}
        failure(e)
    }

    fn flush(&mut self) -> Result<(), String> {
        let out = self.conn.take_output();
        if !out.is_empty() {
            self.tcp.write_all(&out).map_err(|e| format!("write: {e}"))?;
        }
        Ok(())
    }

    fn fill(&mut self) -> Result<(), String> {
        let mut buf = vec![0u8; self.read_size.max(16 * 1024 + 5)];
        match self.tcp.read(&mut buf) {
            Ok(0) => {
                self.conn.feed_eof();
                Ok(())
            }
            Ok(n) => self.conn.feed(&buf[..n]).map_err(|e| self.fail(&e)),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                self.conn.feed_eof();
                Ok(())
            }
            Err(e) => Err(format!("read: {e}")),
        }
    }

    fn write_all(&mut self, data: &[u8]) -> Result<(), String> {
        loop {
            match self.conn.write(data) {
                Ok(Status::Done(_)) => return self.flush(),
                other => self.step(other.map(unit))?,
            }
        }
    }

    /// The test's expectations of the finished handshake.
    fn check(&self, o: &Options) -> Result<(), String> {
        let info = self.conn.info().ok_or("no handshake info")?;
        if let Some(v) = o.expect_version {
            let got = info.version.wire();
            if got != v {
                return Err(format!("expected version {v:#06x}, got {got:#06x}"));
            }
        }
        if let Some(want) = &o.expect_alpn {
            let got = info.alpn.as_deref().map(String::from_utf8_lossy);
            if got.as_deref() != Some(want.as_str()) {
                return Err(format!("expected ALPN {want:?}, got {got:?}"));
            }
        }
        if let Some(want) = o.expect_curve_id {
            let got = info.group.as_deref().and_then(group_id);
            if got != Some(want) {
                return Err(format!("expected group {want}, got {:?}", info.group));
            }
        }
        if (o.ech_config_list.is_some() || o.ech_grease)
            && (info.ech == tlswire::EchStatus::Accepted) != o.expect_ech_accept
        {
            return Err(format!("expected ECH accepted {}, got {:?}", o.expect_ech_accept, info.ech));
        }
        if let Some(want) = o.expect_hrr {
            if info.hello_retry_request != want {
                return Err(format!("expected HelloRetryRequest {want}, got {}", info.hello_retry_request));
            }
        }
        if o.resumption && info.resumed == o.expect_session_miss {
            return Err(format!(
                "expected the session {}, got {}",
                if o.expect_session_miss { "not resumed" } else { "resumed" },
                if info.resumed { "resumed" } else { "a full handshake" }
            ));
        }
        // BoringSSL reports a resumed session's values from the session; tlswire has no
        // signature on a resumption to report.
        if let Some(want) = o.expect_peer_signature_algorithm.filter(|_| !info.resumed) {
            let got = info.peer_signature_scheme.as_deref();
            let want_name = SCHEMES.iter().find(|(i, _)| *i == want).map(|(_, n)| *n);
            if got != want_name {
                return Err(format!("expected peer signature algorithm {want:#06x}, got {got:?}"));
            }
        }
        if o.expect_accept_early_data && info.early_data == 0 {
            return Err(format!("expected the early data accepted, got {info:?}"));
        }
        if o.expect_reject_early_data && info.early_data > 0 {
            return Err(format!("expected the early data rejected, got {info:?}"));
        }
        if let Some(want) = o.expect_selected_credential.filter(|_| !info.resumed) {
            // The same order as tlswire's: -new-x509-credential's, then the default one (-1).
            let want = if want < 0 { o.credentials.len() as i64 } else { want };
            if info.certificate.map(|i| i as i64) != Some(want) {
                return Err(format!("expected credential {want} (tlswire's count), got {:?}", info.certificate));
            }
        }
        if let Some(want) = &o.expect_ocsp_response {
            if info.ocsp_response.as_ref() != Some(want) && !(o.resumption && info.resumed) {
                return Err(format!("expected OCSP response {want:?}, got {:?}", info.ocsp_response));
            }
        }
        if let Some(file) = &o.expect_peer_cert_file {
            let want = tlswire::certificates_from(&read_file(file)).map_err(|e| format!("{file}: {e}"))?;
            let want: Vec<&[u8]> = want.iter().map(|c| c.as_ref()).collect();
            let got: Vec<&[u8]> = info.peer_certificates.iter().map(Vec::as_slice).collect();
            if want != got {
                return Err(format!("peer chain differs from {file}"));
            }
        }
        Ok(())
    }
}
