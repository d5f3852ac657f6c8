//! Provisioning order: an instance whose params use another instance's outputs is provisioned
//! after it; a cycle is an error.

use std::collections::{BTreeMap, BTreeSet};

use super::placeholders;
use super::requests::Pending;
use crate::diag::{Code, Diagnostic, Spanned};
use crate::yaml::Node;

/// Instance key → the other instances its params name (through its first consumer's keys).
pub(super) fn needs(
    pending: &BTreeMap<String, Pending>,
    uses: &BTreeMap<String, BTreeMap<String, String>>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in pending.values() {
        let mut n = BTreeSet::new();
        if let Some(params) = &p.params {
            for s in strings_of(params) {
                for k in placeholders::referenced_resources(&s.value) {
                    if let Some(target) = uses.get(&p.first).and_then(|u| u.get(&k))
                        && target != &p.key
                    {
                        n.insert(target.clone());
                    }
                }
            }
        }
        needs.insert(p.key.clone(), n);
    }
    needs
}

/// The error for a cycle `topo_order` found, with each member's request.
pub(super) fn cycle_error(cycle: &[String], pending: &BTreeMap<String, Pending>) -> Diagnostic {
    let span = cycle
        .first()
        .and_then(|k| pending.get(k))
        .map(|p| p.span.clone());
    let mut d = Diagnostic::error(
        Code::OrderingCycle,
        span,
        format!("resource params form a cycle: {}", cycle.join(" → ")),
    );
    for k in cycle {
        if let Some(p) = pending.get(k) {
            d = d.with_note(format!(
                "{k} (resource `{}` of workload `{}`, {})",
                p.res_key, p.first, p.span
            ));
        }
    }
    d.with_help("a resource's params may use another resource's outputs only if that one does not use its own")
}

/// Topological order (by key, deterministic); on a cycle, the cycle's keys in order.
pub(super) fn topo_order(
    needs: &BTreeMap<String, BTreeSet<String>>,
) -> Result<Vec<String>, Vec<String>> {
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    let mut order = Vec::new();
    fn visit<'a>(
        k: &'a str,
        needs: &'a BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
        order: &mut Vec<String>,
    ) -> Result<(), Vec<String>> {
        match state.get(k) {
            Some(2) => return Ok(()),
            Some(1) => {
                let start = stack.iter().position(|s| *s == k).unwrap_or(0);
                let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(k.to_string());
                return Err(cycle);
            }
            _ => {}
        }
        state.insert(k, 1);
        stack.push(k);
        if let Some(ns) = needs.get(k) {
            for n in ns {
                visit(n, needs, state, stack, order)?;
            }
        }
        stack.pop();
        state.insert(k, 2);
        order.push(k.to_string());
        Ok(())
    }
    for k in needs.keys() {
        visit(k, needs, &mut state, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

/// Every string scalar in a node, with its span.
fn strings_of(node: &Node) -> Vec<Spanned<String>> {
    let mut out = Vec::new();
    fn walk(n: &Node, out: &mut Vec<Spanned<String>>) {
        match &n.kind {
            crate::yaml::NodeKind::Scalar { text, .. } => {
                out.push(Spanned::new(text.clone(), n.span.clone()))
            }
            crate::yaml::NodeKind::Seq(items) => items.iter().for_each(|i| walk(i, out)),
            crate::yaml::NodeKind::Map(entries) => entries.iter().for_each(|(_, v)| walk(v, out)),
            crate::yaml::NodeKind::Null => {}
        }
    }
    walk(node, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topo_order_reports_the_whole_cycle() {
        let mut needs = BTreeMap::new();
        needs.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
        needs.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
        needs.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
        assert_eq!(
            topo_order(&needs),
            Err(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        needs.insert("c".to_string(), BTreeSet::new());
        assert_eq!(
            topo_order(&needs),
            Ok(vec!["c".into(), "b".into(), "a".into()])
        );
    }
}
