//! A container's liveness and readiness probes: `httpGet` (path, port, scheme, headers) or `exec`.

use crate::diag::{Code, Diagnostic, Span};
use crate::model::{HttpProbe, Probe};
use crate::yaml::{Node, NodeKind};

use super::Loader;
use super::fields::{
    EXEC_FIELDS, HEADER_FIELDS, HTTP_PROBE_FIELDS, PROBE_FIELDS, SCHEMES, get, join, key_span,
};

impl Loader<'_> {
    pub(super) fn probe(&mut self, node: &Node, key: &Span, path: &str) -> Option<Probe> {
        let entries = self.fields(node, path, PROBE_FIELDS)?;
        let mut p = Probe {
            span: key.clone(),
            http_get: None,
            exec: None,
        };
        let http = get(entries, "httpGet");
        let exec = get(entries, "exec");
        if http.is_none() && exec.is_none() {
            self.push(Diagnostic::at(
                Code::MissingField,
                key,
                format!("missing probe in `{path}`: expected `httpGet` or `exec`"),
            ));
            return None;
        }
        if let Some(h) = http {
            p.http_get =
                self.http_probe(h, key_span(entries, "httpGet", key), &join(path, "httpGet"));
        }
        if let Some(e) = exec {
            let epath = join(path, "exec");
            if let Some(fields) = self.fields(e, &epath, EXEC_FIELDS)
                && let Some(cmd) =
                    self.required(fields, "command", key_span(entries, "exec", key), &epath)
            {
                p.exec = Some(self.strings(cmd, &join(&epath, "command"), false));
            }
        }
        Some(p)
    }

    fn http_probe(&mut self, node: &Node, key: &Span, path: &str) -> Option<HttpProbe> {
        let entries = self.fields(node, path, HTTP_PROBE_FIELDS)?;
        let host = get(entries, "host").and_then(|v| self.nonempty(v, &join(path, "host")));
        let scheme = get(entries, "scheme").and_then(|v| self.string(v, &join(path, "scheme")));
        if let Some(s) = &scheme {
            self.one_of(s, SCHEMES, "scheme", &join(path, "scheme"));
        }
        let probe_path = self
            .required(entries, "path", key, path)
            .and_then(|v| self.string(v, &join(path, "path")));
        let port = self
            .required(entries, "port", key, path)
            .and_then(|v| self.port(v, &join(path, "port")));
        let mut headers = Vec::new();
        if let Some(h) = get(entries, "httpHeaders") {
            let hpath = join(path, "httpHeaders");
            if let NodeKind::Seq(items) = &h.kind {
                for (i, item) in items.iter().enumerate() {
                    let ip = format!("{hpath}[{i}]");
                    let Some(f) = self.fields(item, &ip, HEADER_FIELDS) else {
                        continue;
                    };
                    let name = self
                        .required(f, "name", &item.span, &ip)
                        .and_then(|v| self.string(v, &join(&ip, "name")));
                    let value = self
                        .required(f, "value", &item.span, &ip)
                        .and_then(|v| self.nonempty(v, &join(&ip, "value")));
                    if let Some(n) = &name {
                        // Score's schema allows `_`; the API server's probe validation does not.
                        let ok = !n.value.is_empty()
                            && n.value
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '-');
                        if !ok {
                            let mut d = Diagnostic::at(
                                Code::InvalidValue,
                                &n.span,
                                format!(
                                    "invalid HTTP header name `{}`: expected A-Z, a-z, 0-9 and `-`",
                                    n.value.escape_debug()
                                ),
                            );
                            if n.value.contains('_') {
                                d = d.with_help(format!("Kubernetes refuses `_` in a probe's header names (Score allows it): `{}`", n.value.replace('_', "-")));
                            }
                            self.push(d);
                            continue;
                        }
                    }
                    if let (Some(n), Some(v)) = (name, value) {
                        headers.push((n, v));
                    }
                }
            } else {
                self.wrong_type(h, "a sequence of `name`/`value` headers", &hpath);
            }
        }
        Some(HttpProbe {
            host,
            scheme,
            path: probe_path?,
            port: port?,
            headers,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::load::score::tests::{one_error, with_head};

    #[test]
    fn probes() {
        let c = |s: &str| with_head(&format!("containers:\n  main:\n    image: a:1\n{s}"));
        assert_eq!(
            one_error(&c("    livenessProbe: {}\n")),
            "w.yaml:7:5: error: missing probe in `containers.main.livenessProbe`: expected `httpGet` or `exec`"
        );
        assert_eq!(
            one_error(&c("    readinessProbe:\n      httpGet:\n        path: /\n")),
            "w.yaml:8:7: error: missing required field `port` in `containers.main.readinessProbe.httpGet`"
        );
        assert!(one_error(&c("    readinessProbe:\n      httpGet:\n        path: /\n        port: 80\n        scheme: FTP\n"))
            .starts_with("w.yaml:11:17: error: unknown scheme `FTP`: expected `HTTP` or `HTTPS`"));
    }
}
