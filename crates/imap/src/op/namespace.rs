//! NAMESPACE (RFC 2342): one personal namespace, "" with "/" as delimiter.

use crate::error::Result;
use crate::session::Session;
use sealpost_imap_proto::{Data, NamespaceEntry, StatusResponse};

impl Session {
    pub(crate) fn op_namespace(&mut self, tag: &str) -> Result<StatusResponse> {
        self.push(Data::Namespace {
            personal: vec![NamespaceEntry {
                prefix: String::new(),
                delimiter: Some('/'),
            }],
            other: Vec::new(),
            shared: Vec::new(),
        });
        Ok(StatusResponse::ok(tag, "NAMESPACE completed"))
    }
}
