//! DNS lookups for the whole server, on one resolver: SPF checks of the provisioning API,
//! MX lookups of direct delivery, and DKIM/SPF/DMARC verification (whose authenticator is made
//! from the same [`Dns::resolver_config`]).
//!
//! `[dns] servers` names the resolvers to ask (`ip:port`, UDP with TCP for truncated answers);
//! empty means the system's (`/etc/resolv.conf`). Every name is asked as written, fully
//! qualified: the system's search domains are never appended (a mail domain is always
//! absolute). Answers are cached (bounded) for their TTL.

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// `[dns]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// Resolvers to ask, in order; empty = the system's.
    pub servers: Vec<SocketAddr>,
    /// How long one query to one server may take.
    pub timeout: Duration,
    /// Tries per server before a lookup fails.
    pub attempts: usize,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            servers: Vec::new(),
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

/// Answers cached at most (responses, not records).
const CACHE_SIZE: u64 = 4096;
/// Records taken from one answer at most; a name with more is cut there.
const MAX_RECORDS: usize = 64;
/// Longest name asked for (RFC 1035: 255 octets on the wire).
const MAX_NAME: usize = 253;

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The name does not exist, or has no record of the type asked (a final answer).
    #[error("no {0} record for {1}")]
    NotFound(&'static str, String),
    /// The name cannot be a DNS name.
    #[error("{0:?} is not a valid DNS name")]
    BadName(String),
    /// No answer now (timeout, SERVFAIL, no resolver reachable): try again later.
    #[error("DNS lookup of {0} failed: {1}")]
    Temporary(String, String),
}

impl DnsError {
    /// A final "there is nothing" rather than a failure to find out.
    pub fn is_not_found(&self) -> bool {
        matches!(self, DnsError::NotFound(..))
    }
}

/// One MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mx {
    pub preference: u16,
    /// The exchange's host name, lower case, without the final dot ("" for RFC 7505's null MX).
    pub host: String,
}

/// The server's resolver. Cheap to clone.
#[derive(Clone)]
pub struct Dns {
    resolver: TokioResolver,
    config: ResolverConfig,
    opts: ResolverOpts,
}

impl Dns {
    /// A resolver for `config`. Without configured servers, the system's configuration is
    /// read; when that fails (no `/etc/resolv.conf`), lookups fail as temporary errors and a
    /// warning says why.
    pub fn new(config: &DnsConfig) -> crate::Result<Dns> {
        let (resolver_config, mut opts) = if config.servers.is_empty() {
            match hickory_resolver::system_conf::read_system_conf() {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the system's DNS configuration; set [dns] servers");
                    (
                        ResolverConfig::from_parts(None, Vec::new(), Vec::new()),
                        ResolverOpts::default(),
                    )
                }
            }
        } else {
            let servers = config
                .servers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::new(ProtocolConfig::Udp);
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::new(ProtocolConfig::Tcp);
                    tcp.port = addr.port();
                    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                })
                .collect();
            (
                ResolverConfig::from_parts(None, Vec::new(), servers),
                ResolverOpts::default(),
            )
        };
        opts.timeout = config.timeout;
        opts.attempts = config.attempts.max(1);
        opts.cache_size = CACHE_SIZE;
        opts.ndots = 0;
        // Mail domains are looked up in the DNS, never in /etc/hosts.
        opts.use_hosts_file = ResolveHosts::Never;
        let mut builder = TokioResolver::builder_with_config(
            resolver_config.clone(),
            TokioRuntimeProvider::default(),
        );
        *builder.options_mut() = opts.clone();
        let resolver = builder
            .build()
            .map_err(|e| crate::Error::Internal(format!("cannot set up the DNS resolver: {e}")))?;
        Ok(Dns {
            resolver,
            config: resolver_config,
            opts,
        })
    }

    /// The configuration this resolver was made from, for libraries that make their own
    /// resolver (mail-auth's authenticator), so they ask the same servers.
    pub fn resolver_config(&self) -> (ResolverConfig, ResolverOpts) {
        (self.config.clone(), self.opts.clone())
    }

    /// The resolver itself.
    pub fn resolver(&self) -> &TokioResolver {
        &self.resolver
    }

    /// TXT records of `name`, each record's strings joined (as SPF and DKIM read them).
    /// Bytes that are not UTF-8 are replaced.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let fqdn = fqdn(name)?;
        let lookup = self
            .resolver
            .txt_lookup(fqdn.as_str())
            .await
            .map_err(|e| classify(e, "TXT", name))?;
        let mut out = Vec::new();
        for record in lookup.answers().iter().take(MAX_RECORDS) {
            if let RData::TXT(txt) = &record.data {
                let joined: Vec<u8> = txt
                    .txt_data
                    .iter()
                    .flat_map(|s| s.iter().copied())
                    .collect();
                out.push(String::from_utf8_lossy(&joined).into_owned());
            }
        }
        if out.is_empty() {
            return Err(DnsError::NotFound("TXT", name.to_string()));
        }
        Ok(out)
    }

    /// MX records of `domain`, most preferred first (ties in the order received).
    pub async fn mx(&self, domain: &str) -> Result<Vec<Mx>, DnsError> {
        let fqdn = fqdn(domain)?;
        let lookup = self
            .resolver
            .mx_lookup(fqdn.as_str())
            .await
            .map_err(|e| classify(e, "MX", domain))?;
        let mut out: Vec<Mx> = lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::MX(mx) => Some(Mx {
                    preference: mx.preference,
                    host: host_name(&mx.exchange.to_ascii()),
                }),
                _ => None,
            })
            .take(MAX_RECORDS)
            .collect();
        if out.is_empty() {
            return Err(DnsError::NotFound("MX", domain.to_string()));
        }
        out.sort_by_key(|m| m.preference);
        Ok(out)
    }

    /// IPv4 and IPv6 addresses of `host` (A and AAAA).
    pub async fn ips(&self, host: &str) -> Result<Vec<IpAddr>, DnsError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let fqdn = fqdn(host)?;
        let (v4, v6) = tokio::join!(
            self.resolver.lookup(fqdn.as_str(), RecordType::A),
            self.resolver.lookup(fqdn.as_str(), RecordType::AAAA)
        );
        let mut out = Vec::new();
        let mut failure = None;
        for result in [v4, v6] {
            match result {
                Ok(lookup) => out.extend(lookup.answers().iter().filter_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                })),
                Err(e) => {
                    let e = classify(e, "A/AAAA", host);
                    if !e.is_not_found() {
                        failure = Some(e);
                    }
                }
            }
        }
        out.truncate(MAX_RECORDS);
        match (out.is_empty(), failure) {
            (false, _) => Ok(out),
            (true, Some(e)) => Err(e),
            (true, None) => Err(DnsError::NotFound("A/AAAA", host.to_string())),
        }
    }
}

/// `name` as an absolute name ("example.com."), checked for what a DNS name may be.
fn fqdn(name: &str) -> Result<String, DnsError> {
    let bare = name.trim().trim_end_matches('.');
    let ascii = idna::domain_to_ascii(bare).map_err(|_| DnsError::BadName(name.to_string()))?;
    let valid = !ascii.is_empty()
        && ascii.len() <= MAX_NAME
        && ascii.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !valid {
        return Err(DnsError::BadName(name.to_string()));
    }
    Ok(format!("{ascii}."))
}

/// A host name from an answer: lower case, no final dot.
fn host_name(s: &str) -> String {
    s.trim_end_matches('.').to_ascii_lowercase()
}

fn classify(e: hickory_resolver::net::NetError, kind: &'static str, name: &str) -> DnsError {
    if e.is_no_records_found() || e.is_nx_domain() {
        DnsError::NotFound(kind, name.to_string())
    } else {
        DnsError::Temporary(name.to_string(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_absolute_and_checked() {
        assert_eq!(fqdn("Example.COM").unwrap(), "example.com.");
        assert_eq!(fqdn("example.com.").unwrap(), "example.com.");
        assert_eq!(fqdn("_dmarc.example.com").unwrap(), "_dmarc.example.com.");
        assert_eq!(fqdn("bücher.example").unwrap(), "xn--bcher-kva.example.");
        for bad in [
            "",
            ".",
            "a..b",
            "a b.com",
            "x/y",
            &"a".repeat(64),
            &"a.".repeat(130),
        ] {
            assert!(fqdn(bad).is_err(), "{bad:?}");
        }
        assert_eq!(host_name("MX1.Example.com."), "mx1.example.com");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_temporary_failure() {
        // A port nothing listens on: every query times out or is refused.
        let dns = Dns::new(&DnsConfig {
            servers: vec!["127.0.0.1:9".parse().unwrap()],
            timeout: Duration::from_millis(200),
            attempts: 1,
        })
        .unwrap();
        let e = dns.txt("example.com").await.unwrap_err();
        assert!(matches!(e, DnsError::Temporary(..)), "{e:?}");
        assert_eq!(
            dns.ips("192.0.2.1").await.unwrap(),
            vec!["192.0.2.1".parse::<IpAddr>().unwrap()]
        );
        assert!(matches!(dns.mx("a b").await, Err(DnsError::BadName(_))));
    }

    /// A DNS server on a loopback UDP port answering from `zone`: (name, record) pairs; a
    /// name in `servfail` gets SERVFAIL, any other name NXDOMAIN.
    async fn fake_server(zone: Vec<(&'static str, RData)>, servfail: &'static str) -> SocketAddr {
        use hickory_resolver::proto::op::{Message, ResponseCode};
        use hickory_resolver::proto::rr::{Name, Record};
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
                answer.metadata.recursion_desired = query.metadata.recursion_desired;
                answer.metadata.recursion_available = true;
                let Some(q) = query.queries.first().cloned() else {
                    continue;
                };
                let asked = q.name().to_ascii().to_ascii_lowercase();
                let records: Vec<Record> = zone
                    .iter()
                    .filter(|(name, data)| {
                        format!("{name}.") == asked && data.record_type() == q.query_type()
                    })
                    .map(|(name, data)| {
                        Record::from_rdata(
                            Name::from_ascii(format!("{name}.")).unwrap(),
                            60,
                            data.clone(),
                        )
                    })
                    .collect();
                let known = zone.iter().any(|(name, _)| format!("{name}.") == asked);
                answer.metadata.response_code = if asked == format!("{servfail}.") {
                    ResponseCode::ServFail
                } else if known {
                    ResponseCode::NoError
                } else {
                    ResponseCode::NXDomain
                };
                answer.add_query(q);
                answer.add_answers(records);
                if let Ok(bytes) = answer.to_vec() {
                    let _ = socket.send_to(&bytes, peer).await;
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn lookups_against_a_real_server() {
        use hickory_resolver::proto::rr::Name;
        use hickory_resolver::proto::rr::rdata::{A, AAAA, MX, TXT};
        let mx = |pref, host: &str| RData::MX(MX::new(pref, Name::from_ascii(host).unwrap()));
        let zone = vec![
            ("example.test", mx(20, "mx2.example.test.")),
            ("example.test", mx(10, "MX1.example.test.")),
            (
                "example.test",
                RData::TXT(TXT::new(vec![
                    "v=spf1 ip4:192.0.2.0/24 ".into(),
                    "-all".into(),
                ])),
            ),
            (
                "mx1.example.test",
                RData::A(A("192.0.2.10".parse().unwrap())),
            ),
            (
                "mx1.example.test",
                RData::AAAA(AAAA("2001:db8::10".parse().unwrap())),
            ),
            (
                "nomx.example.test",
                RData::A(A("192.0.2.20".parse().unwrap())),
            ),
        ];
        let dns = Dns::new(&DnsConfig {
            servers: vec![fake_server(zone, "broken.example.test").await],
            timeout: Duration::from_secs(2),
            attempts: 1,
        })
        .unwrap();
        assert_eq!(
            dns.txt("Example.Test").await.unwrap(),
            vec!["v=spf1 ip4:192.0.2.0/24 -all".to_string()]
        );
        let mxs = dns.mx("example.test").await.unwrap();
        assert_eq!(
            mxs,
            vec![
                Mx {
                    preference: 10,
                    host: "mx1.example.test".into()
                },
                Mx {
                    preference: 20,
                    host: "mx2.example.test".into()
                }
            ]
        );
        let mut ips = dns.ips("mx1.example.test").await.unwrap();
        ips.sort();
        assert_eq!(ips.len(), 2);
        // A name with records of another type has none of this one; an unknown name none at all.
        assert!(
            dns.mx("nomx.example.test")
                .await
                .unwrap_err()
                .is_not_found()
        );
        assert!(
            dns.txt("missing.example.test")
                .await
                .unwrap_err()
                .is_not_found()
        );
        assert!(
            dns.ips("missing.example.test")
                .await
                .unwrap_err()
                .is_not_found()
        );
        // SERVFAIL is not "nothing there": a caller must try again later.
        let e = dns.mx("broken.example.test").await.unwrap_err();
        assert!(matches!(e, DnsError::Temporary(..)), "{e:?}");
    }
}
