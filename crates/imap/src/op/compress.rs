//! COMPRESS DEFLATE (RFC 4978): answer OK uncompressed, then the session compresses both
//! directions from the next byte on (`transport::Session::apply_upgrade`). Valid after login
//! only, as the command's state check says; TLS, when used, is already below it.

use crate::error::Result;
use crate::session::Session;
use crate::transport::Upgrade;
use sealpost_imap_proto::{Code, StatusResponse};

impl Session {
    pub(crate) fn op_compress(&mut self, tag: &str, mechanism: &str) -> Result<StatusResponse> {
        if !mechanism.eq_ignore_ascii_case("DEFLATE") {
            return Ok(StatusResponse::bad(
                tag,
                format!("Unknown compression mechanism {mechanism}"),
            ));
        }
        if self.conn.compressed {
            return Ok(StatusResponse::no(tag, "DEFLATE is already active")
                .with_code(Code::CompressionActive));
        }
        self.upgrade = Some(Upgrade::Compress);
        Ok(StatusResponse::ok(tag, "DEFLATE active"))
    }
}
