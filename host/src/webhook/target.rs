//! Where a webhook may point. A callback URL is a request the gateway makes
//! on a stranger's behalf, so by default it may reach only public
//! addresses: not loopback, private, link-local (cloud metadata at
//! 169.254.169.254), carrier-grade NAT, multicast or unspecified ones.
//! The operator allows loopback or private targets in config (`swim demo`,
//! a local demo, allows loopback).
//!
//! A host name is checked twice: when the webhook is registered (a clear
//! error at once) and on every connection, by the HTTP client's resolver
//! ([`GuardedResolver`]), so a name that later resolves to a private
//! address (DNS rebinding) is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// The longest callback URL (PERTI's column is `VARCHAR(512)`).
pub const MAX_URL: usize = 512;

/// Which non-public targets the operator allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allowed {
    /// 127.0.0.0/8 and ::1.
    pub loopback: bool,
    /// Private, link-local, carrier-grade NAT and unique-local ranges.
    pub private: bool,
}

impl Allowed {
    /// Whether a connection to `ip` is allowed.
    pub fn admits(&self, ip: IpAddr) -> bool {
        match class(ip) {
            Class::Public => true,
            Class::Loopback => self.loopback,
            Class::Private => self.private,
            Class::Never => false,
        }
    }
}

enum Class {
    Public,
    Loopback,
    Private,
    /// Unspecified, multicast, broadcast, documentation: never a target.
    Never,
}

fn class(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => class_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => class_v4(v4),
            None => class_v6(v6),
        },
    }
}

fn class_v4(ip: Ipv4Addr) -> Class {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
    {
        Class::Never
    } else if ip.is_private() || ip.is_link_local() || (a == 100 && (64..128).contains(&b)) {
        Class::Private
    } else {
        Class::Public
    }
}

fn class_v6(ip: Ipv6Addr) -> Class {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_unspecified()
        || ip.is_multicast()
        || first == 0x2001 && ip.segments()[1] == 0xdb8
    {
        Class::Never
    } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80 {
        // Unique local (fc00::/7) and link-local (fe80::/10).
        Class::Private
    } else {
        Class::Public
    }
}

/// Checks a callback URL's shape and, for an address or a name, where it
/// leads; the error says what is wrong.
pub async fn check(url: &str, allowed: Allowed) -> Result<reqwest::Url, String> {
    let parsed = shape(url)?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    // An address literal (IPv6 in brackets) is checked as it is.
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<IpAddr> = match literal.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("callback_url: the host {host:?} does not resolve: {e}"))?
            .map(|a| a.ip())
            .collect(),
    };
    match addresses.iter().find(|ip| !allowed.admits(**ip)) {
        Some(ip) => {
            let named = if literal == ip.to_string() {
                format!("{ip} is")
            } else {
                format!("{host} resolves to {ip},")
            };
            Err(format!(
                "callback_url: {named} a {} address; a webhook may reach only public \
                 addresses unless the operator allows {} (docs/WEBHOOKS.md)",
                describe(*ip),
                allow_setting(*ip)
            ))
        }
        None => Ok(parsed),
    }
}

/// The URL's shape: http or https, a host, no credentials, not too long.
fn shape(url: &str) -> Result<reqwest::Url, String> {
    if url.len() > MAX_URL {
        return Err(format!(
            "callback_url: {} bytes, longer than {MAX_URL}",
            url.len()
        ));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("callback_url: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "callback_url: the scheme is {:?}; http or https only",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("callback_url: no host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("callback_url: credentials in the URL; use the shared secret".into());
    }
    Ok(parsed)
}

fn describe(ip: IpAddr) -> &'static str {
    match class(ip) {
        Class::Loopback => "loopback",
        Class::Private => "private",
        Class::Never => "non-routable",
        Class::Public => "public",
    }
}

fn allow_setting(ip: IpAddr) -> &'static str {
    match class(ip) {
        Class::Loopback => "loopback targets (`[webhooks] allow_loopback = true`)",
        Class::Private => "private targets (`[webhooks] allow_private = true`)",
        _ => "it (it never can be)",
    }
}

/// The delivery client's resolver: a name's addresses the operator does not
/// allow are dropped, and a name with none left fails to connect.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver(pub Allowed);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.0;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allowed.admits(a.ip()))
                .collect();
            if found.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to no address a webhook may reach").into();
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The guarded resolver, shared.
pub fn resolver(allowed: Allowed) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver(allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_by_default() {
        let none = Allowed::default();
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!none.admits(ip(private)), "{private}");
        }
        for public in ["1.1.1.1", "140.82.112.3", "2606:4700::1111"] {
            assert!(none.admits(ip(public)), "{public}");
        }
        let demo = Allowed {
            loopback: true,
            private: false,
        };
        assert!(demo.admits(ip("127.0.0.1")) && demo.admits(ip("::1")));
        assert!(!demo.admits(ip("10.0.0.1")) && !demo.admits(ip("0.0.0.0")));
    }

    #[tokio::test]
    async fn a_callback_url_is_refused_with_what_is_wrong() {
        let none = Allowed::default();
        let said = |url: &'static str| async move { check(url, none).await.unwrap_err() };
        assert!(said("ftp://example.com/x").await.contains("http or https"));
        assert!(said("not a url").await.starts_with("callback_url:"));
        assert!(said("http://u:p@1.1.1.1/").await.contains("credentials"));
        let loopback = said("http://127.0.0.1:9/hook").await;
        assert!(loopback.contains("loopback") && loopback.contains("allow_loopback"));
        assert!(said("http://[fd00::1]/").await.contains("allow_private"));
        assert!(
            said("http://169.254.169.254/latest")
                .await
                .contains("private")
        );
        let long = format!("https://example.com/{}", "a".repeat(600));
        assert!(
            check(&long, none)
                .await
                .unwrap_err()
                .contains("longer than 512")
        );
        assert!(check("https://1.1.1.1/hook", none).await.is_ok());
        let demo = Allowed {
            loopback: true,
            private: false,
        };
        assert!(check("http://127.0.0.1:9/hook", demo).await.is_ok());
    }
}
