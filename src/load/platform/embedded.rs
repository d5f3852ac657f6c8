//! The reference platform compiled into the binary, used when a workspace has no
//! `platform/main.ncl`; `platc init` writes the same files out.

/// Virtual workspace root of the embedded reference platform.
pub(super) const EMBEDDED_ROOT: &str = "/<platc-embedded>";

/// The reference platform (the repository's `platform/` directory), compiled in.
pub(super) const EMBEDDED_NICKEL: &[(&str, &str)] = &[
    (
        "platform/components.ncl",
        include_str!("../../../platform/components.ncl"),
    ),
    (
        "platform/environments.ncl",
        include_str!("../../../platform/environments.ncl"),
    ),
    (
        "platform/main.ncl",
        include_str!("../../../platform/main.ncl"),
    ),
    (
        "platform/profiles.ncl",
        include_str!("../../../platform/profiles.ncl"),
    ),
    (
        "platform/provisioners/data.ncl",
        include_str!("../../../platform/provisioners/data.ncl"),
    ),
    (
        "platform/provisioners/messaging.ncl",
        include_str!("../../../platform/provisioners/messaging.ncl"),
    ),
    (
        "platform/provisioners/network.ncl",
        include_str!("../../../platform/provisioners/network.ncl"),
    ),
    (
        "platform/provisioners/storage.ncl",
        include_str!("../../../platform/provisioners/storage.ncl"),
    ),
    (
        "platform/schemas/object-storage.ncl",
        include_str!("../../../platform/schemas/object-storage.ncl"),
    ),
    (
        "platform/teams.ncl",
        include_str!("../../../platform/teams.ncl"),
    ),
];

/// The reference platform's own templates (paths relative to the workspace root).
pub(super) const EMBEDDED_TEMPLATES: &[(&str, &str)] = &[
    (
        "platform/templates/object-storage.yaml.j2",
        include_str!("../../../platform/templates/object-storage.yaml.j2"),
    ),
    (
        "platform/templates/sql-database.yaml.j2",
        include_str!("../../../platform/templates/sql-database.yaml.j2"),
    ),
];

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::load_embedded_platform;
    use crate::model::Platform;

    /// A sample context shaped as the renderer builds it (see notes/ctx.md).
    fn sample_context(p: &Platform, env: &str, rtype: &str, params: &Value) -> Value {
        let e = &p.environments[env];
        let c = &p.clusters[&e.cluster];
        json!({
            "resource": {
                "type": rtype, "class": "default", "id": "orders-db", "key": "db",
                "name": "orders-db", "uid": "3f9a1c2b", "shared": true,
                "params": params, "annotations": {},
            },
            "namespace": format!("payments-{env}"),
            "workload": {
                "name": "checkout", "namespace": format!("payments-{env}"), "team": "payments",
                "service": { "name": "checkout", "ports": [{"name": "http", "port": 80, "target_port": 8080, "protocol": "TCP"}] },
            },
            "consumers": ["checkout", "orders"],
            "env": { "name": env, "type": e.env_type, "pod_security": e.pod_security, "labels": e.labels },
            "cluster": {
                "name": e.cluster, "server": c.server, "domain": c.domain,
                "routes": match c.routes { crate::model::RouteKind::Ingress => "ingress", crate::model::RouteKind::Httproute => "httproute" },
                "ingress_class": c.ingress_class, "gateway": c.gateway,
            },
            "team": { "name": "payments", "namespace": "payments", "project": "payments", "owners": ["alice@example.com"], "group": "team-payments" },
            "platform": { "name": p.name },
            "labels": { "app.kubernetes.io/managed-by": "platc", "app.kubernetes.io/part-of": "checkout" },
        })
    }

    /// A sample value of a declared param type.
    fn sample(name: &str, t: crate::model::ParamType) -> Value {
        use crate::model::ParamType;
        match t {
            ParamType::String | ParamType::Any => json!(format!("sample-{name}")),
            ParamType::Integer => json!(3),
            ParamType::Number => json!(1.5),
            ParamType::Boolean => json!(true),
            ParamType::Array => json!(["sample"]),
            ParamType::Object => json!({"sample.key": "sample"}),
        }
    }

    /// Params as the resolver passes them for a request that gives only the required params:
    /// the defaults, and a sample value of the declared type for each required one.
    fn params_minimal(prov: &crate::model::Provisioner) -> Value {
        let mut params = match &prov.defaults {
            Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        for (name, spec) in &prov.params {
            if spec.required {
                params.insert(name.clone(), sample(name, spec.param_type));
            }
        }
        Value::Object(params)
    }

    /// Params of a request that gives every declared param.
    fn params_full(prov: &crate::model::Provisioner) -> Value {
        Value::Object(
            prov.params
                .iter()
                .map(|(name, spec)| (name.clone(), sample(name, spec.param_type)))
                .collect(),
        )
    }

    /// Params for the route tests: a public host and a service port.
    fn route_params(route: &crate::model::Provisioner) -> Value {
        let mut p = params_minimal(route);
        p["host"] = json!("shop.example.com");
        p["port"] = json!(8080);
        p
    }

    /// Parse one YAML stream into JSON values (mappings, sequences, scalars as strings).
    fn parse_yaml_stream(text: &str) -> Result<Vec<Value>, String> {
        use saphyr_parser::{Event, Parser};
        let mut docs = Vec::new();
        let mut stack: Vec<(Value, Option<String>)> = Vec::new();
        let finish =
            |stack: &mut Vec<(Value, Option<String>)>, docs: &mut Vec<Value>, v: Value| match stack
                .last_mut()
            {
                None => docs.push(v),
                Some((Value::Array(a), _)) => a.push(v),
                Some((Value::Object(m), key)) => match key.take() {
                    None => {
                        *key = Some(match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        })
                    }
                    Some(k) => {
                        m.insert(k, v);
                    }
                },
                Some(_) => {}
            };
        for ev in Parser::new_from_str(text) {
            let (ev, _) = ev.map_err(|e| e.to_string())?;
            match ev {
                Event::Scalar(s, ..) => {
                    finish(&mut stack, &mut docs, Value::String(s.into_owned()))
                }
                Event::SequenceStart(..) => stack.push((Value::Array(Vec::new()), None)),
                Event::MappingStart(..) => {
                    stack.push((Value::Object(serde_json::Map::new()), None))
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (v, _) = stack.pop().ok_or("unbalanced")?;
                    finish(&mut stack, &mut docs, v);
                }
                Event::Alias(_) => return Err("alias".into()),
                _ => {}
            }
        }
        Ok(docs)
    }

    fn render_all(
        p: &Platform,
        env: &str,
        params_for: fn(&crate::model::Provisioner) -> Value,
    ) -> usize {
        // The compiler's own template environment, so the test is as strict as a build.
        let templates = crate::template::Templates::new(p)
            .unwrap_or_else(|e| panic!("templates do not compile: {e:?}"));
        let mut rendered = 0;
        for prov in &p.provisioners {
            let ctx = sample_context(p, env, &prov.resource_type, &params_for(prov));
            let exprs = prov
                .outputs
                .iter()
                .chain(
                    prov.secret_outputs
                        .iter()
                        .flat_map(|(k, s)| [(k, &s.secret), (k, &s.key)]),
                )
                .map(|(k, v)| (k.clone(), v.clone()))
                .chain(
                    prov.external_secret
                        .iter()
                        .map(|e| ("remote_key".to_string(), e.remote_key.clone())),
                );
            for (key, expr) in exprs {
                let out = templates
                    .render_str(&key, &expr, &ctx)
                    .unwrap_or_else(|e| panic!("{}: output {key} fails in {env}: {e}", prov.name));
                assert!(!out.is_empty(), "{}: output {key} is empty", prov.name);
            }
            for m in &prov.manifests {
                let text = templates.render(m, &ctx).unwrap_or_else(|e| {
                    panic!("{m} fails to render for {} in {env}: {e}", prov.name)
                });
                let docs = parse_yaml_stream(&text)
                    .unwrap_or_else(|e| panic!("{m} in {env} is not YAML: {e}\n{text}"));
                assert!(!docs.is_empty(), "{m} rendered nothing");
                for doc in docs {
                    for field in ["apiVersion", "kind"] {
                        assert!(
                            doc[field].as_str().is_some_and(|s| !s.is_empty()),
                            "{m}: no {field}\n{text}"
                        );
                    }
                    assert!(
                        doc["metadata"]["name"]
                            .as_str()
                            .is_some_and(|s| !s.is_empty()),
                        "{m}: no metadata.name\n{text}"
                    );
                    rendered += 1;
                }
            }
        }
        rendered
    }

    /// Templates see only declared params (the resolver refuses others), so each must render
    /// both when a request gives only the required ones and when it gives all of them; the
    /// environment is strict, so reading an undeclared param fails here.
    #[test]
    fn every_reference_template_renders_to_kubernetes_objects_in_every_environment() {
        let p = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        for env in ["dev", "staging", "prod"] {
            assert!(
                render_all(&p, env, params_minimal) >= 10,
                "too few objects in {env}"
            );
            assert!(
                render_all(&p, env, params_full) >= 10,
                "too few objects in {env}"
            );
        }
    }

    #[test]
    fn a_template_reading_an_undeclared_param_fails_the_render_test() {
        let mut p = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        let redis = p
            .provisioners
            .iter_mut()
            .find(|p| p.resource_type == "redis")
            .expect("redis");
        redis.params.remove("memory");
        if let Some(d) = redis.defaults.as_object_mut() {
            d.remove("memory");
        }
        let failed = std::panic::catch_unwind(|| render_all(&p, "dev", params_full));
        assert!(failed.is_err(), "reading resource.params.memory must fail");
    }

    #[test]
    fn route_template_follows_the_cluster_route_kind() {
        let p = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        let mut jinja = minijinja::Environment::new();
        jinja.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let src = &p.templates["platc/route/route.yaml.j2"];
        let route = p
            .provisioners
            .iter()
            .find(|p| p.resource_type == "route")
            .expect("route");
        for (env, kind, host_path) in [
            ("dev", "Ingress", "/spec/rules/0/host"),
            ("prod", "HTTPRoute", "/spec/hostnames/0"),
        ] {
            let out = jinja
                .render_str(
                    src,
                    minijinja::Value::from(minijinja::value::Serde(sample_context(
                        &p,
                        env,
                        "route",
                        &route_params(route),
                    ))),
                )
                .expect("render");
            let doc = &parse_yaml_stream(&out).expect("yaml")[0];
            assert_eq!(doc["kind"], json!(kind));
            assert_eq!(doc.pointer(host_path), Some(&json!("shop.example.com")));
        }
        // Without a host param the route gets `<workload>-<env>.<domain>`.
        let out = jinja
            .render_str(
                src,
                minijinja::Value::from(minijinja::value::Serde(sample_context(
                    &p,
                    "prod",
                    "route",
                    &json!({"path": "/", "port": 80}),
                ))),
            )
            .expect("render");
        assert!(out.contains("\"checkout-prod.example.com\""), "{out}");
    }

    #[test]
    fn postgres_size_follows_the_environment_type() {
        let p = load_embedded_platform().unwrap_or_else(|d| panic!("{d}"));
        let mut jinja = minijinja::Environment::new();
        jinja.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let src = &p.templates["platc/postgres/cnpg-cluster.yaml.j2"];
        let instances = |env: &str, name: &str| {
            let prov = p
                .provisioners
                .iter()
                .find(|p| p.name == name)
                .expect("provisioner");
            let out = jinja
                .render_str(
                    src,
                    minijinja::Value::from(minijinja::value::Serde(sample_context(
                        &p,
                        env,
                        "postgres",
                        &params_minimal(prov),
                    ))),
                )
                .expect("render");
            let doc = parse_yaml_stream(&out).expect("yaml").remove(0);
            assert_eq!(
                doc["spec"]["bootstrap"]["initdb"]["database"],
                json!("orders_db")
            );
            doc["spec"]["instances"].clone()
        };
        assert_eq!(instances("dev", "postgres-small"), json!("1"));
        assert_eq!(instances("prod", "postgres-ha"), json!("3"));
    }
}
