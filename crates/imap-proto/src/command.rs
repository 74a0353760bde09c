//! The typed commands a client can send: what [`parse_command`](crate::parse_command)
//! returns. Each family's grammar lives in `parser/<family>.rs`.

use crate::datetime::{Date, DateTime};
use crate::flag::Flag;
use crate::mailbox::MailboxName;
use crate::sequence::SequenceSet;

/// One client command with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The client's tag, echoed in the tagged response.
    pub tag: String,
    /// What the client asks for.
    pub body: CommandBody,
}

/// Every command of IMAP4rev1/rev2 and the extensions Sealpost serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandBody {
    /// `CAPABILITY`
    Capability,
    /// `NOOP`
    Noop,
    /// `LOGOUT`
    Logout,
    /// `STARTTLS`
    StartTls,
    /// `AUTHENTICATE mechanism [initial-response]` (SASL-IR).
    Authenticate {
        /// Mechanism name, upper-cased (`PLAIN`).
        mechanism: String,
        /// The SASL-IR initial response, still base64; `Some("=")` means an empty response.
        initial_response: Option<String>,
    },
    /// `LOGIN user password`
    Login {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// `ENABLE cap...` (names upper-cased)
    Enable(Vec<String>),
    /// `SELECT mailbox [(params)]`
    Select(SelectCommand),
    /// `EXAMINE mailbox [(params)]`
    Examine(SelectCommand),
    /// `CREATE mailbox [(USE (\Attr...))]`
    Create {
        /// The new mailbox.
        mailbox: MailboxName,
        /// CREATE-SPECIAL-USE attributes (`\Sent`...), with the backslash.
        special_use: Vec<String>,
    },
    /// `DELETE mailbox`
    Delete(MailboxName),
    /// `RENAME from to`
    Rename {
        /// Existing name.
        from: MailboxName,
        /// New name.
        to: MailboxName,
    },
    /// `SUBSCRIBE mailbox`
    Subscribe(MailboxName),
    /// `UNSUBSCRIBE mailbox`
    Unsubscribe(MailboxName),
    /// `LIST` (with LIST-EXTENDED selection and return options)
    List(ListCommand),
    /// `LSUB reference pattern`
    Lsub {
        /// Reference name.
        reference: MailboxName,
        /// Pattern with `*` and `%` wildcards.
        pattern: MailboxName,
    },
    /// `NAMESPACE`
    Namespace,
    /// `STATUS mailbox (items)`
    Status {
        /// The mailbox asked about.
        mailbox: MailboxName,
        /// Requested items.
        items: Vec<StatusItem>,
    },
    /// `APPEND mailbox (message...)` (MULTIAPPEND when several).
    Append {
        /// Destination.
        mailbox: MailboxName,
        /// One or more messages.
        messages: Vec<AppendMessage>,
    },
    /// `IDLE` (the session then waits for `DONE`).
    Idle,
    /// `CHECK`
    Check,
    /// `CLOSE`
    Close,
    /// `UNSELECT`
    Unselect,
    /// `EXPUNGE`, or `UID EXPUNGE set` when `uids` is set.
    Expunge {
        /// UIDPLUS: only these UIDs.
        uids: Option<SequenceSet>,
    },
    /// `[UID] SEARCH`
    Search(SearchCommand),
    /// `[UID] FETCH`
    Fetch(FetchCommand),
    /// `[UID] STORE`
    Store(StoreCommand),
    /// `[UID] COPY set mailbox`
    Copy(CopyCommand),
    /// `[UID] MOVE set mailbox`
    Move(CopyCommand),
    /// `[UID] SORT (criteria) charset keys`
    Sort(SortCommand),
    /// `[UID] THREAD algorithm charset keys`
    Thread(ThreadCommand),
    /// `ID NIL` or `ID (field value ...)`
    Id(Option<Vec<(String, Option<String>)>>),
    /// `GETQUOTA root`
    GetQuota(String),
    /// `GETQUOTAROOT mailbox`
    GetQuotaRoot(MailboxName),
    /// `SETQUOTA root (resource limit ...)` (names upper-cased)
    SetQuota {
        /// Quota root name.
        root: String,
        /// Resources and their new limits.
        resources: Vec<(String, u64)>,
    },
    /// `COMPRESS mechanism` (upper-cased, `DEFLATE`)
    Compress(String),
}

/// SELECT and EXAMINE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectCommand {
    /// The mailbox to open.
    pub mailbox: MailboxName,
    /// `(CONDSTORE)` was given.
    pub condstore: bool,
    /// `(QRESYNC (...))` was given.
    pub qresync: Option<QResync>,
}

/// QRESYNC parameters of SELECT/EXAMINE (RFC 7162 §3.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QResync {
    /// The UIDVALIDITY the client knows.
    pub uid_validity: u32,
    /// The last mod-sequence the client knows.
    pub modseq: u64,
    /// The UIDs the client knows.
    pub known_uids: Option<SequenceSet>,
    /// Message sequence numbers and the matching UIDs.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// LIST, with LIST-EXTENDED (RFC 5258), LIST-STATUS and SPECIAL-USE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCommand {
    /// Selection options before the reference.
    pub selection: Vec<ListSelection>,
    /// Reference name.
    pub reference: MailboxName,
    /// One or more patterns.
    pub patterns: Vec<MailboxName>,
    /// RETURN options.
    pub returns: Vec<ListReturn>,
}

/// LIST selection options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListSelection {
    /// `SUBSCRIBED`
    Subscribed,
    /// `REMOTE`
    Remote,
    /// `RECURSIVEMATCH`
    RecursiveMatch,
    /// `SPECIAL-USE`
    SpecialUse,
    /// Anything else, upper-cased.
    Other(String),
}

/// LIST RETURN options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListReturn {
    /// `SUBSCRIBED`
    Subscribed,
    /// `CHILDREN`
    Children,
    /// `SPECIAL-USE`
    SpecialUse,
    /// `STATUS (items)` (LIST-STATUS)
    Status(Vec<StatusItem>),
    /// Anything else, upper-cased.
    Other(String),
}

/// STATUS data items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `MESSAGES`
    Messages,
    /// `RECENT`
    Recent,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `DELETED`
    Deleted,
    /// `SIZE` (STATUS=SIZE)
    Size,
    /// `HIGHESTMODSEQ` (CONDSTORE)
    HighestModSeq,
    /// `APPENDLIMIT`
    AppendLimit,
    /// `DELETED-STORAGE` (QUOTA, RFC 9208 4.2.2): KiB an EXPUNGE would free
    DeletedStorage,
}

impl StatusItem {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::Recent => "RECENT",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::Size => "SIZE",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
            StatusItem::AppendLimit => "APPENDLIMIT",
            StatusItem::DeletedStorage => "DELETED-STORAGE",
        }
    }
}

/// One message of an APPEND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// Flags to set.
    pub flags: Vec<Flag>,
    /// INTERNALDATE to set.
    pub date: Option<DateTime>,
    /// The message.
    pub data: Vec<u8>,
    /// Sent as `~{n}` (BINARY) or inside `UTF8 (...)`: may contain NUL / 8-bit.
    pub binary: bool,
}

/// `[UID] SEARCH [RETURN (...)] [CHARSET x] keys`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCommand {
    /// `UID SEARCH`
    pub uid: bool,
    /// ESEARCH return options; `Some(vec![])` for `RETURN ()` (means ALL).
    pub returns: Option<Vec<SearchReturn>>,
    /// CHARSET, upper-cased.
    pub charset: Option<String>,
    /// The criteria; several top-level keys are an [`SearchKey::And`].
    pub criteria: SearchKey,
}

/// ESEARCH return options (RFC 4731, RFC 5182).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchReturn {
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `ALL`
    All,
    /// `COUNT`
    Count,
    /// `SAVE`
    Save,
}

/// A search key. Strings are UTF-8 (any other CHARSET must be refused by the session).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(String),
    Before(Date),
    Body(String),
    Cc(String),
    Deleted,
    Draft,
    Flagged,
    From(String),
    Header(String, String),
    Keyword(String),
    Larger(u64),
    New,
    Not(Box<SearchKey>),
    Old,
    On(Date),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(u64),
    Subject(String),
    Text(String),
    To(String),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    /// Message sequence numbers (or `$`).
    SequenceSet(SequenceSet),
    /// A parenthesised list or several top-level keys: all must match.
    And(Vec<SearchKey>),
    /// CONDSTORE `MODSEQ [entry type] n`.
    ModSeq {
        /// Metadata entry name and type (`"/flags/\\Seen" all`), if given.
        entry: Option<(String, String)>,
        /// Minimum mod-sequence.
        modseq: u64,
    },
    /// WITHIN `OLDER seconds`
    Older(u32),
    /// WITHIN `YOUNGER seconds`
    Younger(u32),
}

/// `[UID] FETCH set items [(CHANGEDSINCE n [VANISHED])]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchCommand {
    /// `UID FETCH`
    pub uid: bool,
    /// Messages.
    pub sequence_set: SequenceSet,
    /// Items, macros (ALL, FAST, FULL) expanded.
    pub attributes: Vec<FetchAttribute>,
    /// CONDSTORE `CHANGEDSINCE`.
    pub changed_since: Option<u64>,
    /// QRESYNC `VANISHED` (only with UID FETCH and CHANGEDSINCE).
    pub vanished: bool,
}

/// A FETCH data item as requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAttribute {
    /// `ENVELOPE`
    Envelope,
    /// `BODYSTRUCTURE`
    BodyStructure,
    /// `BODY` (non-extensible BODYSTRUCTURE)
    Body,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`
    BodySection {
        /// `.PEEK`: do not set `\Seen`.
        peek: bool,
        /// The section; `None` for `BODY[]`.
        section: Option<Section>,
        /// `<origin.count>`
        partial: Option<(u32, u32)>,
    },
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516)
    Binary {
        /// `.PEEK`
        peek: bool,
        /// Part numbers (empty for the whole message).
        section: Vec<u32>,
        /// `<origin.count>`
        partial: Option<(u32, u32)>,
    },
    /// `BINARY.SIZE[part]`
    BinarySize {
        /// Part numbers.
        section: Vec<u32>,
    },
    /// `RFC822` (like `BODY[]`, sets `\Seen`)
    Rfc822,
    /// `RFC822.HEADER`
    Rfc822Header,
    /// `RFC822.TEXT`
    Rfc822Text,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `INTERNALDATE`
    InternalDate,
    /// `UID`
    Uid,
    /// `FLAGS`
    Flags,
    /// `MODSEQ` (CONDSTORE)
    ModSeq,
}

/// A body section: part path and what of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Part numbers, `1.2` is `[1, 2]`; empty for the whole message.
    pub part: Vec<u32>,
    /// What of the part; `None` for its whole content.
    pub text: Option<SectionText>,
}

/// The non-numeric part of a section specifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (names)`
    HeaderFields(Vec<String>),
    /// `HEADER.FIELDS.NOT (names)`
    HeaderFieldsNot(Vec<String>),
    /// `TEXT`
    Text,
    /// `MIME`
    Mime,
}

/// `[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCommand {
    /// `UID STORE`
    pub uid: bool,
    /// Messages.
    pub sequence_set: SequenceSet,
    /// CONDSTORE `UNCHANGEDSINCE`.
    pub unchanged_since: Option<u64>,
    /// Replace, add or remove.
    pub action: StoreAction,
    /// `.SILENT`: no untagged FETCH.
    pub silent: bool,
    /// The flags.
    pub flags: Vec<Flag>,
}

/// How STORE changes the flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreAction {
    /// `FLAGS`
    Replace,
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
}

/// COPY and MOVE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyCommand {
    /// UID variant.
    pub uid: bool,
    /// Messages.
    pub sequence_set: SequenceSet,
    /// Destination.
    pub mailbox: MailboxName,
}

/// `[UID] SORT (criteria) charset keys` (RFC 5256)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortCommand {
    /// `UID SORT`
    pub uid: bool,
    /// Sort criteria, most significant first.
    pub criteria: Vec<SortCriterion>,
    /// Charset, upper-cased.
    pub charset: String,
    /// Which messages.
    pub search: SearchKey,
}

/// One SORT criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortCriterion {
    /// Preceded by `REVERSE`.
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}

/// SORT keys (RFC 5256, RFC 5957 DISPLAY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    DisplayFrom,
    DisplayTo,
}

/// `[UID] THREAD algorithm charset keys` (RFC 5256)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadCommand {
    /// `UID THREAD`
    pub uid: bool,
    /// The algorithm.
    pub algorithm: ThreadAlgorithm,
    /// Charset, upper-cased.
    pub charset: String,
    /// Which messages.
    pub search: SearchKey,
}

/// THREAD algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    /// `ORDEREDSUBJECT`
    OrderedSubject,
    /// `REFERENCES`
    References,
}
