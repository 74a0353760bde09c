//! Response codes: the bracketed `[CODE ...]` of a status response.

use super::Writer;
use crate::flag::Flag;
use crate::sequence::SequenceSet;

/// A response code (RFC 3501, 4315 UIDPLUS, 5530, 7162 CONDSTORE/QRESYNC, 9051...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// `ALERT`
    Alert,
    /// `BADCHARSET (charsets)`
    BadCharset(Vec<String>),
    /// `CAPABILITY caps`
    Capability(Vec<String>),
    /// `PARSE`
    Parse,
    /// `PERMANENTFLAGS (flags [\*])`
    PermanentFlags {
        /// Flags the client can change permanently.
        flags: Vec<Flag>,
        /// `\*`: new keywords can be created.
        allow_new: bool,
    },
    /// `READ-ONLY`
    ReadOnly,
    /// `READ-WRITE`
    ReadWrite,
    /// `TRYCREATE`
    TryCreate,
    /// `UIDNEXT n`
    UidNext(u32),
    /// `UIDVALIDITY n`
    UidValidity(u32),
    /// `UNSEEN n`
    Unseen(u32),
    /// `APPENDUID uidvalidity uids`
    AppendUid {
        /// Destination UIDVALIDITY.
        uid_validity: u32,
        /// UIDs given to the appended messages.
        uids: SequenceSet,
    },
    /// `COPYUID uidvalidity source destination`
    CopyUid {
        /// Destination UIDVALIDITY.
        uid_validity: u32,
        /// Source UIDs, in the order of `destination`.
        source: SequenceSet,
        /// Destination UIDs.
        destination: SequenceSet,
    },
    /// `UIDNOTSTICKY`
    UidNotSticky,
    /// `HIGHESTMODSEQ n`
    HighestModSeq(u64),
    /// `NOMODSEQ`
    NoModSeq,
    /// `MODIFIED set`
    Modified(SequenceSet),
    /// `CLOSED`
    Closed,
    /// `OVERQUOTA`
    OverQuota,
    /// `TOOBIG`
    TooBig,
    /// `LIMIT`
    Limit,
    /// `NONEXISTENT`
    NonExistent,
    /// `ALREADYEXISTS`
    AlreadyExists,
    /// `CANNOT`
    Cannot,
    /// `INUSE`
    InUse,
    /// `EXPUNGEISSUED`
    ExpungeIssued,
    /// `SERVERBUG`
    ServerBug,
    /// `CLIENTBUG`
    ClientBug,
    /// `AUTHENTICATIONFAILED`
    AuthenticationFailed,
    /// `AUTHORIZATIONFAILED`
    AuthorizationFailed,
    /// `UNAVAILABLE`
    Unavailable,
    /// `PRIVACYREQUIRED`
    PrivacyRequired,
    /// `CONTACTADMIN`
    ContactAdmin,
    /// `NOPERM`
    NoPerm,
    /// `HASCHILDREN`
    HasChildren,
    /// `COMPRESSIONACTIVE`
    CompressionActive,
    /// `UNKNOWN-CTE`
    UnknownCte,
    /// `USEATTR`
    UseAttr,
    /// Any other code, written as given: `NAME` or `NAME value`.
    Other(String, Option<String>),
}

impl Code {
    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        let simple = match self {
            Code::Alert => "ALERT",
            Code::Parse => "PARSE",
            Code::ReadOnly => "READ-ONLY",
            Code::ReadWrite => "READ-WRITE",
            Code::TryCreate => "TRYCREATE",
            Code::UidNotSticky => "UIDNOTSTICKY",
            Code::NoModSeq => "NOMODSEQ",
            Code::Closed => "CLOSED",
            Code::OverQuota => "OVERQUOTA",
            Code::TooBig => "TOOBIG",
            Code::Limit => "LIMIT",
            Code::NonExistent => "NONEXISTENT",
            Code::AlreadyExists => "ALREADYEXISTS",
            Code::Cannot => "CANNOT",
            Code::InUse => "INUSE",
            Code::ExpungeIssued => "EXPUNGEISSUED",
            Code::ServerBug => "SERVERBUG",
            Code::ClientBug => "CLIENTBUG",
            Code::AuthenticationFailed => "AUTHENTICATIONFAILED",
            Code::AuthorizationFailed => "AUTHORIZATIONFAILED",
            Code::Unavailable => "UNAVAILABLE",
            Code::PrivacyRequired => "PRIVACYREQUIRED",
            Code::ContactAdmin => "CONTACTADMIN",
            Code::NoPerm => "NOPERM",
            Code::HasChildren => "HASCHILDREN",
            Code::CompressionActive => "COMPRESSIONACTIVE",
            Code::UnknownCte => "UNKNOWN-CTE",
            Code::UseAttr => "USEATTR",
            _ => "",
        };
        if !simple.is_empty() {
            w.str(simple);
            return;
        }
        match self {
            Code::BadCharset(charsets) => {
                w.str("BADCHARSET");
                if !charsets.is_empty() {
                    w.sp();
                    w.list(charsets, |w, c| w.astring(c));
                }
            }
            Code::Capability(caps) => {
                w.str("CAPABILITY");
                for cap in caps {
                    w.sp();
                    w.str(cap);
                }
            }
            Code::PermanentFlags { flags, allow_new } => {
                w.str("PERMANENTFLAGS (");
                for (i, flag) in flags.iter().enumerate() {
                    if i > 0 {
                        w.sp();
                    }
                    w.str(&flag.to_string());
                }
                if *allow_new {
                    if !flags.is_empty() {
                        w.sp();
                    }
                    w.str("\\*");
                }
                w.str(")");
            }
            Code::UidNext(n) => number_code(w, "UIDNEXT", n),
            Code::UidValidity(n) => number_code(w, "UIDVALIDITY", n),
            Code::Unseen(n) => number_code(w, "UNSEEN", n),
            Code::HighestModSeq(n) => number_code(w, "HIGHESTMODSEQ", n),
            Code::AppendUid { uid_validity, uids } => {
                w.str(&format!("APPENDUID {uid_validity} {uids}"));
            }
            Code::CopyUid {
                uid_validity,
                source,
                destination,
            } => w.str(&format!("COPYUID {uid_validity} {source} {destination}")),
            Code::Modified(set) => w.str(&format!("MODIFIED {set}")),
            Code::Other(name, value) => {
                w.text(name);
                if let Some(value) = value {
                    w.sp();
                    for &b in value.as_bytes() {
                        w.raw(&[if matches!(b, b']' | b'\r' | b'\n' | 0) {
                            b' '
                        } else {
                            b
                        }]);
                    }
                }
            }
            _ => {}
        }
    }
}

fn number_code(w: &mut Writer<'_>, name: &str, n: impl std::fmt::Display) {
    w.str(name);
    w.sp();
    w.number(n);
}
