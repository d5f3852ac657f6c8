//! A workload's `service`: its named ports, target ports and transport protocols.

use std::collections::BTreeMap;

use crate::model::{Service, ServicePort};
use crate::yaml::Node;

use super::Loader;
use super::fields::{PORT_FIELDS, PROTOCOLS, SERVICE_FIELDS, get, join};

impl Loader<'_> {
    pub(super) fn service(&mut self, node: &Node) -> Option<Service> {
        let entries = self.fields(node, "service", SERVICE_FIELDS)?;
        let mut ports = BTreeMap::new();
        if let Some(pnode) = get(entries, "ports")
            && let Some(pentries) = self.mapping(pnode, "service.ports")
        {
            for (k, v) in pentries {
                self.label(k, "port name");
                let path = format!("service.ports.{}", k.value);
                let Some(f) = self.fields(v, &path, PORT_FIELDS) else {
                    continue;
                };
                let port = self
                    .required(f, "port", &k.span, &path)
                    .and_then(|p| self.port(p, &join(&path, "port")));
                let target_port =
                    get(f, "targetPort").and_then(|p| self.port(p, &join(&path, "targetPort")));
                let protocol =
                    get(f, "protocol").and_then(|p| self.string(p, &join(&path, "protocol")));
                if let Some(pr) = &protocol {
                    self.one_of(pr, PROTOCOLS, "protocol", &join(&path, "protocol"));
                }
                if let Some(port) = port {
                    ports.insert(
                        k.value.clone(),
                        ServicePort {
                            name: k.clone(),
                            port,
                            target_port,
                            protocol,
                        },
                    );
                }
            }
        }
        Some(Service { ports })
    }
}

#[cfg(test)]
mod tests {
    use crate::load::score::tests::{one_error, with_head};

    #[test]
    fn ports_and_protocols() {
        let svc = |s: &str| {
            with_head(&format!(
                "containers:\n  main:\n    image: a:1\nservice:\n  ports:\n    web:\n{s}"
            ))
        };
        assert_eq!(
            one_error(&svc("      port: 70000\n")),
            "w.yaml:10:13: error: port 70000 is out of range: expected an integer from 1 to 65535\n  note: at `service.ports.web.port`"
        );
        assert!(one_error(&svc("      port: 0\n")).contains("port 0 is out of range"));
        assert_eq!(
            one_error(&svc("      port: \"80\"\n")),
            "w.yaml:10:13: error: expected an integer, found a string\n  note: at `service.ports.web.port`"
        );
        assert_eq!(
            one_error(&svc("      port: 80\n      protocol: tcp\n")),
            "w.yaml:11:17: error: unknown protocol `tcp`: expected `TCP`, `UDP` or `SCTP`\n  note: at `service.ports.web.protocol`\n  help: did you mean `TCP`?"
        );
        assert_eq!(
            one_error(&svc("      targetPort: 8080\n")),
            "w.yaml:9:5: error: missing required field `port` in `service.ports.web`"
        );
    }
}
