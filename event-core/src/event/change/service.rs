//! Services: type, cluster IP, ports, and where a load balancer answers.

use k8s_openapi::api::core::v1::Service;

use super::{Summarize, Summary};

/// `type=LoadBalancer clusterIP=10.100.0.12 ports=80/TCP,443/TCP ingress=a1b2.elb.amazonaws.com`
/// (`ingress=pending` while the load balancer is being provisioned), or
/// `type=ExternalName externalName=db.example.com`.
///
/// Always `Normal`: a Service has no state that is bad by itself (a pending load balancer is
/// reported by its controller's own Events).
impl Summarize for Service {
    fn summarize(&self) -> Summary {
        let mut s = Summary::default();
        let spec = self.spec.as_ref();
        let type_ = spec
            .and_then(|sp| sp.type_.as_deref())
            .unwrap_or("ClusterIP");
        s.push(format_args!("type={type_}"));
        if let Some(name) = spec
            .and_then(|sp| sp.external_name.as_deref())
            .filter(|n| !n.is_empty())
        {
            s.push(format_args!("externalName={name}"));
        }
        if let Some(ip) = spec
            .and_then(|sp| sp.cluster_ip.as_deref())
            .filter(|ip| !ip.is_empty())
        {
            s.push(format_args!("clusterIP={ip}"));
        }
        let ports: Vec<String> = spec
            .and_then(|sp| sp.ports.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|p| format!("{}/{}", p.port, p.protocol.as_deref().unwrap_or("TCP")))
            .collect();
        if !ports.is_empty() {
            s.push(format_args!("ports={}", ports.join(",")));
        }
        let status = self.status.as_ref();
        if type_ == "LoadBalancer" {
            let ingress: Vec<&str> = status
                .and_then(|st| st.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_deref())
                .unwrap_or_default()
                .iter()
                .filter_map(|i| i.hostname.as_deref().or(i.ip.as_deref()))
                .filter(|a| !a.is_empty())
                .collect();
            if ingress.is_empty() {
                s.push("ingress=pending");
            } else {
                s.push(format_args!("ingress={}", ingress.join(",")));
            }
        }
        for c in status
            .and_then(|st| st.conditions.as_deref())
            .unwrap_or_default()
        {
            s.transitioned(Some(&c.last_transition_time));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn service(spec: Value, status: Value) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": "api", "namespace": "payments", "uid": "s-1", "resourceVersion": "3"},
            "spec": spec, "status": status
        }))
        .unwrap()
    }

    #[test]
    fn a_load_balancer_shows_its_ports_and_address() {
        let s = service(
            json!({"type": "LoadBalancer", "clusterIP": "10.100.0.12", "ports": [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}
            ]}),
            json!({"loadBalancer": {"ingress": [{"hostname": "a1b2.elb.amazonaws.com"}]}}),
        )
        .summarize();
        assert_eq!(
            s.message,
            "type=LoadBalancer clusterIP=10.100.0.12 ports=80/TCP,443/TCP ingress=a1b2.elb.amazonaws.com"
        );
        assert!(!s.warning);
    }

    #[test]
    fn a_load_balancer_without_address_is_pending_but_normal() {
        let s = service(
            json!({"type": "LoadBalancer", "clusterIP": "10.100.0.12", "ports": [{"port": 53, "protocol": "UDP"}]}),
            json!({"loadBalancer": {}}),
        )
        .summarize();
        assert_eq!(
            s.message,
            "type=LoadBalancer clusterIP=10.100.0.12 ports=53/UDP ingress=pending"
        );
        assert!(!s.warning);
    }

    #[test]
    fn an_external_name_and_a_default_cluster_ip_service() {
        let s = service(
            json!({"type": "ExternalName", "externalName": "db.example.com"}),
            json!({}),
        )
        .summarize();
        assert_eq!(s.message, "type=ExternalName externalName=db.example.com");
        let s = service(
            json!({"clusterIP": "None", "ports": [{"port": 5432}]}),
            json!({}),
        )
        .summarize();
        assert_eq!(s.message, "type=ClusterIP clusterIP=None ports=5432/TCP");
    }
}
