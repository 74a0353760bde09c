//! The replies of the delivery front ends that depend on core's answers: one place maps
//! [`sealpost_core::Error`] to SMTP/LMTP codes.

use crate::QuotaReply;
use sealpost_core::Error;
use sealpost_core::delivery::{SPAM_REJECTED, USER_DISABLED};
use sealpost_smtp_proto::Reply;

/// The reply for a recipient whose delivery (or lookup) failed.
pub(crate) fn delivery_error(e: &Error, quota: QuotaReply) -> Reply {
    match e {
        Error::NotFound(_) => Reply::new(550, (5, 1, 1), "No such user here"),
        Error::OverQuota => match quota {
            QuotaReply::Temporary => Reply::new(452, (4, 2, 2), "Mailbox full: over quota"),
            QuotaReply::Permanent => Reply::new(552, (5, 2, 2), "Mailbox full: over quota"),
        },
        Error::TooLarge(_) => Reply::new(552, (5, 3, 4), "Message too big"),
        Error::Forbidden { code, .. } if *code == USER_DISABLED => {
            Reply::new(550, (5, 2, 1), "Mailbox disabled")
        }
        Error::Forbidden { code, .. } if *code == SPAM_REJECTED => {
            Reply::new(550, (5, 7, 1), "Message refused as spam")
        }
        Error::Validation { message, .. } => Reply::new(
            554,
            (5, 6, 0),
            format!("Message content rejected: {message}"),
        ),
        other => {
            tracing::warn!(error = %other, "delivery failed");
            Reply::new(451, (4, 3, 0), "Temporary failure, please try again later")
        }
    }
}

pub(crate) fn ok(status: (u8, u16, u16), text: &str) -> Reply {
    Reply::new(250, status, text)
}

pub(crate) fn bad_sequence(text: &str) -> Reply {
    Reply::new(503, (5, 5, 1), text)
}
