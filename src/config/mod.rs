//! Bootstrap configuration: the TOML file of SPEC §1. Every key is optional with an embedded
//! default; an unknown key is an error naming the key and its line. Operational configuration
//! (extensions, groups, trunks) lives in SQLite, not here.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or names an unknown key (the message carries line and column).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is well-formed TOML but not a usable setting.
    #[error("{path}: {key}: {message}")]
    Invalid {
        /// The file (or `<defaults>`).
        path: PathBuf,
        /// The dotted key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The whole bootstrap configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the database, recordings and prompts live (`--data DIR` overrides).
    pub data_dir: PathBuf,
    /// IANA zone for day/hour buckets and business hours.
    pub time_zone: String,
    /// SIP transports.
    pub sip: SipConfig,
    /// RTP port range.
    pub rtp: RtpConfig,
    /// The web panel and API.
    pub http: HttpConfig,
    /// Logging.
    pub log: LogConfig,
    /// Graceful shutdown.
    pub shutdown: ShutdownConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("/var/lib/branchline"),
            time_zone: "Asia/Shanghai".into(),
            sip: SipConfig::default(),
            rtp: RtpConfig::default(),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            shutdown: ShutdownConfig::default(),
        }
    }
}

/// `[sip]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// `"udp:ADDR:PORT"` / `"tcp:ADDR:PORT"` entries.
    pub listen: Vec<String>,
    /// The address written into Via/Contact/SDP; `"auto"` uses the listen address, or the
    /// first non-loopback interface address when listening on the wildcard.
    pub public_address: String,
    /// Digest realm.
    pub realm: String,
    /// Digest algorithms offered in 401/407 challenges, most preferred first (RFC 8760).
    /// MD5 leads by default because many desk phones and test tools answer only the first
    /// challenge and know only MD5; put "SHA-256" first where every phone supports it.
    pub digest_algorithms: Vec<String>,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: vec!["udp:0.0.0.0:5060".into(), "tcp:0.0.0.0:5060".into()],
            public_address: "auto".into(),
            realm: "branchline".into(),
            digest_algorithms: vec!["MD5".into(), "SHA-256".into()],
        }
    }
}

/// `[rtp]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RtpConfig {
    /// `"MIN-MAX"`, inclusive.
    pub ports: String,
    /// Relay shards (threads); 0 = one per core.
    pub shards: usize,
    /// Hang up a call whose media has been silent on both legs this long (a phone that
    /// vanished without BYE); 0 disables.
    pub timeout_secs: u64,
}

impl Default for RtpConfig {
    fn default() -> Self {
        RtpConfig {
            ports: "20000-29999".into(),
            shards: 0,
            timeout_secs: 120,
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `ADDR:PORT` of the panel and API.
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "0.0.0.0:8080".into(),
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter such as `info` or `branchline=debug`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
        }
    }
}

/// `[shutdown]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConfig {
    /// How long active calls may go on after SIGTERM before they are hung up.
    pub grace_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig { grace_secs: 30 }
    }
}

/// SIP transport of a listen address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenTransport {
    /// Datagrams.
    Udp,
    /// Streams.
    Tcp,
}

/// One parsed `[sip] listen` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipListen {
    /// UDP or TCP.
    pub transport: ListenTransport,
    /// Where to bind.
    pub addr: SocketAddr,
}

/// The configuration checked and turned into typed values.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The raw configuration.
    pub config: Config,
    /// SIP listeners.
    pub sip_listen: Vec<SipListen>,
    /// RTP port range, inclusive.
    pub rtp_ports: (u16, u16),
    /// HTTP listener.
    pub http_listen: SocketAddr,
    /// Explicit public address, or None for `auto`.
    pub public_address: Option<IpAddr>,
}

impl Config {
    /// Reads and checks a TOML file.
    pub fn load(path: &Path) -> Result<Resolved, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Parses and checks TOML text; `path` only labels errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Resolved, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: one_line(&e.to_string()),
        })?;
        config.resolve(path)
    }

    /// Checks values and converts them to typed settings.
    pub fn resolve(self, path: &Path) -> Result<Resolved, ConfigError> {
        let invalid = |key: &'static str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            key,
            message,
        };
        let mut sip_listen = Vec::new();
        for entry in &self.sip.listen {
            sip_listen.push(parse_listen(entry).map_err(|m| invalid("sip.listen", m))?);
        }
        if sip_listen.is_empty() {
            return Err(invalid(
                "sip.listen",
                "at least one listen address is needed".into(),
            ));
        }
        let rtp_ports = parse_port_range(&self.rtp.ports).map_err(|m| invalid("rtp.ports", m))?;
        let http_listen = self
            .http
            .listen
            .parse::<SocketAddr>()
            .map_err(|e| invalid("http.listen", format!("{:?}: {e}", self.http.listen)))?;
        let public_address = match self.sip.public_address.as_str() {
            "auto" => None,
            other => Some(other.parse::<IpAddr>().map_err(|e| {
                invalid(
                    "sip.public_address",
                    format!("{other:?}: {e} (use an IP address or \"auto\")"),
                )
            })?),
        };
        if self.sip.digest_algorithms.is_empty() {
            return Err(invalid(
                "sip.digest_algorithms",
                "name at least one of \"MD5\", \"SHA-256\"".into(),
            ));
        }
        for a in &self.sip.digest_algorithms {
            if a != "MD5" && a != "SHA-256" {
                return Err(invalid(
                    "sip.digest_algorithms",
                    format!("{a:?}: supported are \"MD5\" and \"SHA-256\""),
                ));
            }
        }
        if let Err(e) = jiff::tz::TimeZone::get(&self.time_zone) {
            return Err(invalid(
                "time_zone",
                format!(
                    "{:?}: {e} (use an IANA name such as Asia/Shanghai)",
                    self.time_zone
                ),
            ));
        }
        Ok(Resolved {
            config: self,
            sip_listen,
            rtp_ports,
            http_listen,
            public_address,
        })
    }
}

/// `"udp:127.0.0.1:5060"` → transport and address.
fn parse_listen(entry: &str) -> Result<SipListen, String> {
    let (proto, addr) = entry
        .split_once(':')
        .ok_or_else(|| format!("{entry:?}: expected \"udp:ADDR:PORT\" or \"tcp:ADDR:PORT\""))?;
    let transport = match proto.to_ascii_lowercase().as_str() {
        "udp" => ListenTransport::Udp,
        "tcp" => ListenTransport::Tcp,
        other => {
            return Err(format!(
                "{entry:?}: unknown transport {other:?} (udp or tcp)"
            ))
        }
    };
    let addr = addr
        .parse::<SocketAddr>()
        .map_err(|e| format!("{entry:?}: {e}"))?;
    Ok(SipListen { transport, addr })
}

/// `"20000-29999"` → (20000, 29999), at least 4 ports, starting even (RTP even, RTCP odd).
fn parse_port_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?}: expected \"MIN-MAX\""))?;
    let min: u16 = a.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    let max: u16 = b.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    if min == 0 || max < min || max - min < 3 {
        return Err(format!("{s:?}: need MIN > 0 and at least 4 ports"));
    }
    Ok((min, max))
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Resolved, ConfigError> {
        Config::from_toml(text, Path::new("test.toml"))
    }

    #[test]
    fn empty_file_gives_the_embedded_defaults() {
        let r = parse("").unwrap();
        assert_eq!(r.config, Config::default());
        assert_eq!(r.rtp_ports, (20000, 29999));
        assert_eq!(r.sip_listen.len(), 2);
        assert_eq!(r.http_listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(r.public_address, None);
    }

    #[test]
    fn unknown_key_is_refused_with_its_name_and_line() {
        let err = parse("time_zone = \"UTC\"\n[sip]\nlisten = []\nlisen = 1\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("lisen"), "{text}");
        assert!(text.contains("line 4"), "{text}");
        assert!(text.starts_with("test.toml"), "{text}");
    }

    #[test]
    fn listen_addresses_and_ports_are_typed() {
        let r = parse(
            "[sip]\nlisten = [\"udp:127.0.0.1:5070\", \"tcp:[::1]:5071\"]\npublic_address = \"127.0.0.1\"\n[rtp]\nports = \"30000-30099\"\n[http]\nlisten = \"127.0.0.1:0\"\n",
        )
        .unwrap();
        assert_eq!(r.sip_listen[0].transport, ListenTransport::Udp);
        assert_eq!(r.sip_listen[1].addr, "[::1]:5071".parse().unwrap());
        assert_eq!(r.rtp_ports, (30000, 30099));
        assert_eq!(r.public_address, Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, key) in [
            ("[sip]\nlisten = [\"sctp:1.2.3.4:5\"]", "sip.listen"),
            ("[rtp]\nports = \"5-2\"", "rtp.ports"),
            ("[http]\nlisten = \"nowhere\"", "http.listen"),
            ("[sip]\npublic_address = \"my-box\"", "sip.public_address"),
            (
                "[sip]\ndigest_algorithms = [\"SHA-1\"]",
                "sip.digest_algorithms",
            ),
            ("time_zone = \"Mars/Olympus\"", "time_zone"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn wrong_type_is_a_parse_error_with_a_line() {
        let err = parse("[shutdown]\ngrace_secs = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
