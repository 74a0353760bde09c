//! Round trips with GnuPG (`gpg` on the PATH): keys, encryption and signatures both ways.
//! Each test uses its own temporary GNUPGHOME.

use sealpost_pgp::*;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const PASS: &str = "correct horse battery";

struct Gpg {
    home: PathBuf,
    /// The passphrase gpg is given.
    pass: String,
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", &self.home)
            .status();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

impl Gpg {
    fn new() -> Gpg {
        static N: AtomicUsize = AtomicUsize::new(0);
        let home = std::env::temp_dir().join(format!(
            "sealpost-pgp-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        // No passphrase cache: a wrong passphrase must fail even after a right one.
        std::fs::write(
            home.join("gpg-agent.conf"),
            "default-cache-ttl 0\nmax-cache-ttl 0\nallow-loopback-pinentry\n",
        )
        .unwrap();
        Gpg {
            home,
            pass: PASS.into(),
        }
    }

    /// Runs gpg with `args` and `input` on stdin; panics with stderr unless it succeeds.
    fn run(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let (ok, out, err) = self.try_run(args, input);
        assert!(ok, "gpg {args:?} failed: {err}");
        out
    }

    fn try_run(&self, args: &[&str], input: &[u8]) -> (bool, Vec<u8>, String) {
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(&self.home)
            .args([
                "--batch",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
            ])
            .arg(&self.pass)
            .args(["--trust-model", "always"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg runs");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Generates a key with `algo` and `usage` (gpg --quick-gen-key), returns its fingerprint.
    fn generate_key(
        &self,
        uid: &str,
        algo: &str,
        usage: &str,
        expire: &str,
        extra: &[&str],
    ) -> String {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(["--quick-gen-key", uid, algo, usage, expire]);
        self.run(&args, b"");
        self.fingerprint(uid)
    }

    fn fingerprint(&self, uid: &str) -> String {
        let out = self.run(&["--with-colons", "--list-keys", uid], b"");
        String::from_utf8(out)
            .unwrap()
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .unwrap()
            .to_lowercase()
    }

    fn add_encryption_subkey(&self, fpr: &str) {
        self.run(&["--quick-add-key", fpr, "cv25519", "encr", "never"], b"");
    }

    fn export(&self, fpr: &str) -> Vec<u8> {
        self.run(&["--armor", "--export", fpr], b"")
    }
}

fn our_key(algorithm: KeyAlgorithm) -> Cert {
    generate(&KeySpec {
        name: "Bob Example".into(),
        email: "bob@example.com".into(),
        algorithm,
        passphrase: PASS.into(),
        validity: None,
    })
    .unwrap()
}

#[test]
fn gpg_key_is_read_and_inspected() {
    let gpg = Gpg::new();
    let fpr = gpg.generate_key(
        "Alice Example <alice@example.com>",
        "ed25519",
        "sign",
        "never",
        &[],
    );
    gpg.add_encryption_subkey(&fpr);
    let cert = parse_cert(&gpg.export(&fpr)).unwrap();
    let info = cert.info();
    assert_eq!(info.fingerprint, fpr);
    assert_eq!(info.key_id, fpr[24..]);
    assert_eq!(info.name.as_deref(), Some("Alice Example"));
    assert_eq!(info.address.as_deref(), Some("alice@example.com"));
    assert!(info.can_encrypt && !info.expired && !info.revoked && !info.has_secret);
    assert_eq!(info.expires, None);
    cert.encryption_check().unwrap();
    // The same key in binary form, and two keys in one input.
    let binary = gpg.run(&["--export", &fpr], b"");
    assert_eq!(parse_cert(&binary).unwrap().fingerprint(), fpr);
    let fpr2 = gpg.generate_key(
        "Carol <carol@example.com>",
        "rsa3072",
        "default",
        "never",
        &[],
    );
    let both = gpg.run(&["--armor", "--export", &fpr, &fpr2], b"");
    let certs = parse_certs(&both).unwrap();
    assert_eq!(certs.len(), 2);
    assert!(parse_cert(&both).is_err());
}

#[test]
fn our_encryption_is_decrypted_by_gpg_and_theirs_by_us() {
    let gpg = Gpg::new();
    let fpr = gpg.generate_key("Alice <alice@example.com>", "ed25519", "sign", "never", &[]);
    gpg.add_encryption_subkey(&fpr);
    let alice = parse_cert(&gpg.export(&fpr)).unwrap();
    let plain = b"Subject: hi\r\n\r\nline one\r\n\x00\xffbinary\r\n".to_vec();
    for armored in [true, false] {
        let ct = encrypt(&[&alice], &plain, armored).unwrap();
        assert_eq!(ct.starts_with(b"-----BEGIN PGP MESSAGE-----"), armored);
        assert_eq!(gpg.run(&["--decrypt"], &ct), plain);
    }

    for algorithm in [KeyAlgorithm::Cv25519, KeyAlgorithm::Rsa3072] {
        let bob = our_key(algorithm);
        gpg.run(&["--import"], bob.armored_public().unwrap().as_bytes());
        let ct = gpg.run(
            &["--armor", "--encrypt", "--recipient", &bob.fingerprint()],
            &plain,
        );
        assert_eq!(decrypt(&bob, PASS, &ct, 1 << 20).unwrap(), plain);
        assert!(matches!(
            decrypt(&bob, "wrong", &ct, 1 << 20),
            Err(Error::WrongPassphrase)
        ));
        assert!(matches!(
            decrypt(&bob, PASS, &ct, 4),
            Err(Error::TooLarge { limit: 4 })
        ));
        // Encrypted to someone else: not for this key.
        let other = encrypt(&[&alice], &plain, true).unwrap();
        assert!(matches!(
            decrypt(&bob, PASS, &other, 1 << 20),
            Err(Error::NoSecretKey)
        ));
        // Two recipients: both can read it.
        let ct = encrypt(&[&alice, &bob.public()], &plain, false).unwrap();
        assert_eq!(gpg.run(&["--decrypt"], &ct), plain);
        assert_eq!(decrypt(&bob, PASS, &ct, 1 << 20).unwrap(), plain);
    }
}

#[test]
fn signatures_verify_both_ways() {
    let gpg = Gpg::new();
    let fpr = gpg.generate_key("Alice <alice@example.com>", "ed25519", "sign", "never", &[]);
    let alice = parse_cert(&gpg.export(&fpr)).unwrap();
    let bob = our_key(KeyAlgorithm::Cv25519);
    gpg.run(&["--import"], bob.armored_public().unwrap().as_bytes());
    let data = b"a document\r\nwith two lines\n";

    // Ours, checked by gpg.
    let sig = sign_detached(&bob, PASS, data, true).unwrap();
    let dir = &gpg.home;
    std::fs::write(dir.join("data"), data).unwrap();
    std::fs::write(dir.join("data.asc"), &sig).unwrap();
    let d = dir.join("data").display().to_string();
    let s = dir.join("data.asc").display().to_string();
    gpg.run(&["--verify", &s, &d], b"");
    std::fs::write(dir.join("data"), b"tampered").unwrap();
    assert!(!gpg.try_run(&["--verify", &s, &d], b"").0);
    let signed = sign_inline(&bob, PASS, data, false).unwrap();
    assert_eq!(gpg.run(&["--decrypt"], &signed), data);
    assert!(matches!(
        sign_detached(&bob, "wrong", data, true),
        Err(Error::WrongPassphrase)
    ));

    // Theirs, checked by us.
    let sig = gpg.run(&["--armor", "--detach-sign", "--local-user", &fpr], data);
    let v = verify_detached(&[&alice], data, &sig).unwrap();
    assert_eq!(v.signer, fpr);
    assert!(matches!(
        verify_detached(&[&alice], b"tampered", &sig),
        Err(Error::BadSignature(_))
    ));
    assert!(matches!(
        verify_detached(&[&bob], data, &sig),
        Err(Error::BadSignature(_))
    ));
    let signed = gpg.run(&["--sign", "--local-user", &fpr], data);
    let (content, v) = verify_inline(&[&alice], &signed, 1 << 20).unwrap();
    assert_eq!(
        (content.as_slice(), v.signer.as_str()),
        (&data[..], fpr.as_str())
    );
    // And our own inline signature by us.
    let signed = sign_inline(&bob, PASS, data, true).unwrap();
    assert_eq!(verify_inline(&[&bob], &signed, 1 << 20).unwrap().0, data);
}

#[test]
fn gpg_secret_key_passphrase_change() {
    let gpg = Gpg::new();
    let fpr = gpg.generate_key("Alice <alice@example.com>", "ed25519", "sign", "never", &[]);
    gpg.add_encryption_subkey(&fpr);
    let secret = gpg.run(&["--armor", "--export-secret-keys", &fpr], b"");
    let cert = parse_cert(&secret).unwrap();
    let info = cert.info();
    assert!(info.has_secret && info.secret_locked);
    cert.unlock_check(PASS).unwrap();
    assert!(matches!(
        cert.unlock_check("nope"),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(
        cert.change_passphrase("nope", "new pass"),
        Err(Error::WrongPassphrase)
    ));
    let changed = cert.change_passphrase(PASS, "new pass").unwrap();
    changed.unlock_check("new pass").unwrap();
    assert!(matches!(
        changed.unlock_check(PASS),
        Err(Error::WrongPassphrase)
    ));
    let exported = changed.armored_secret().unwrap();
    assert!(exported.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    assert!(
        parse_cert(exported.as_bytes())
            .unwrap()
            .info()
            .secret_locked
    );

    // gpg, in a fresh home, takes the re-protected key and decrypts with the new passphrase.
    let mut other = Gpg::new();
    other.pass = "new pass".into();
    other.run(&["--import"], exported.as_bytes());
    let ct = encrypt(&[&cert.public()], b"secret text", true).unwrap();
    assert_eq!(other.run(&["--decrypt"], &ct), b"secret text");
    // The old passphrase no longer opens it in gpg either.
    other.pass = PASS.into();
    assert!(!other.try_run(&["--decrypt"], &ct).0);
}

#[test]
fn our_keys_are_taken_by_gpg() {
    let gpg = Gpg::new();
    let bob = our_key(KeyAlgorithm::Cv25519);
    let info = bob.info();
    assert!(info.has_secret && info.secret_locked && info.can_encrypt);
    assert_eq!(info.address.as_deref(), Some("bob@example.com"));
    // gpg imports the protected secret key and uses it with the passphrase.
    gpg.run(&["--import"], bob.armored_secret().unwrap().as_bytes());
    let ct = encrypt(&[&bob], b"to bob", false).unwrap();
    assert_eq!(gpg.run(&["--decrypt"], &ct), b"to bob");
    let sig = gpg.run(&["--detach-sign", "--local-user", &bob.fingerprint()], b"x");
    verify_detached(&[&bob], b"x", &sig).unwrap();
    let listed = String::from_utf8(gpg.run(&["--with-colons", "--list-secret-keys"], b"")).unwrap();
    assert!(listed.contains(&bob.fingerprint().to_uppercase()));
}

#[test]
fn unusable_keys_are_told_apart() {
    let gpg = Gpg::new();
    // Signing-only key: no encryption subkey.
    let fpr = gpg.generate_key("Sign Only <s@example.com>", "ed25519", "sign", "never", &[]);
    let cert = parse_cert(&gpg.export(&fpr)).unwrap();
    assert!(matches!(
        cert.encryption_check(),
        Err(Error::NoEncryptionSubkey)
    ));
    assert!(matches!(
        encrypt(&[&cert], b"x", true),
        Err(Error::NoEncryptionSubkey)
    ));
    assert!(!cert.info().can_encrypt);

    // Expired: made in 2020, valid for one year.
    let fpr = gpg.generate_key(
        "Old <old@example.com>",
        "ed25519",
        "default",
        "1y",
        &["--faked-system-time", "20200101T000000!"],
    );
    let cert = parse_cert(&gpg.export(&fpr)).unwrap();
    assert!(matches!(cert.encryption_check(), Err(Error::Expired)));
    assert!(cert.info().expired && cert.info().expires.is_some());

    // Revoked with gpg's own revocation certificate.
    let fpr = gpg.generate_key(
        "Gone <gone@example.com>",
        "ed25519",
        "default",
        "never",
        &[],
    );
    let rev = std::fs::read_to_string(
        gpg.home
            .join("openpgp-revocs.d")
            .join(format!("{}.rev", fpr.to_uppercase())),
    )
    .unwrap()
    .replace(
        ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
        "-----BEGIN PGP PUBLIC KEY BLOCK-----",
    );
    gpg.run(&["--import"], rev.as_bytes());
    let cert = parse_cert(&gpg.export(&fpr)).unwrap();
    assert!(matches!(cert.encryption_check(), Err(Error::Revoked)));
    assert!(cert.info().revoked);
    // Ours revoked by us.
    let bob = our_key(KeyAlgorithm::Cv25519).revoke(PASS).unwrap();
    assert!(matches!(bob.encryption_check(), Err(Error::Revoked)));

    // Malformed and oversized input.
    for bad in [
        &b""[..],
        b"hello",
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n",
    ] {
        assert!(
            matches!(parse_certs(bad), Err(Error::Malformed(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(
        parse_certs(&vec![b'a'; MAX_KEYRING_BYTES + 1]),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn pgp_mime_message_decrypts_to_the_original_with_gpg() {
    let gpg = Gpg::new();
    let fpr = gpg.generate_key(
        "Alice <alice@example.com>",
        "future-default",
        "default",
        "never",
        &[],
    );
    let alice = parse_cert(&gpg.export(&fpr)).unwrap();
    let original = b"Received: from x by y\r\nFrom: a@example.com\r\nTo: alice@example.com\r\n\
Subject: folded\r\n subject\r\nX-Secret: inside only\r\nContent-Type: text/plain\r\n\r\nbody\r\n";
    assert!(!mime::is_encrypted(original));
    let enc = mime::encrypt_message(original, &[&alice]).unwrap();
    assert!(mime::is_encrypted(&enc));
    let text = String::from_utf8(enc.clone()).unwrap();
    assert!(text.starts_with("Received: from x by y\r\nFrom: a@example.com\r\n"));
    assert!(text.contains("Subject: folded\r\n subject\r\n"));
    assert!(!text.contains("X-Secret") && !text.contains("body\r\n"));
    let start = text.find("-----BEGIN PGP MESSAGE-----").unwrap();
    let end = text.find("-----END PGP MESSAGE-----").unwrap() + 25;
    assert_eq!(
        gpg.run(&["--decrypt"], &text.as_bytes()[start..end]),
        original
    );
    // Bare LF is canonicalised to CRLF inside.
    let lf = b"From: a@example.com\nSubject: s\n\nbody\n";
    let enc = String::from_utf8(mime::encrypt_message(lf, &[&alice]).unwrap()).unwrap();
    let start = enc.find("-----BEGIN PGP MESSAGE-----").unwrap();
    let end = enc.find("-----END PGP MESSAGE-----").unwrap() + 25;
    assert_eq!(
        gpg.run(&["--decrypt"], &enc.as_bytes()[start..end]),
        b"From: a@example.com\r\nSubject: s\r\n\r\nbody\r\n"
    );
}
