//! Core Kubernetes kinds: their OpenAPI schemas, as `k8s-openapi` (Kubernetes 1.33, the oldest
//! version it supports, so a manifest that passes is accepted by every newer API server too)
//! describes them through `schemars`, made strict by [`super::strict`].

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

use k8s_openapi::api::{
    apps, autoscaling, batch, core, networking, policy, rbac, scheduling, storage,
};

/// The root schema of one type, strict, in JSON Schema draft 2020-12.
pub fn strict_schema_of<T: JsonSchema>() -> Value {
    let mut v = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    super::strict::make_strict(&mut v);
    v
}

macro_rules! kinds {
    ($( $api:literal $kind:literal => $ty:ty, )*) => {
        /// Every core kind with a schema, as (`apiVersion`, `kind`).
        pub const KINDS: &[(&str, &str)] = &[$( ($api, $kind) ),*];

        /// The strict schema of a core kind, `None` for kinds not in [`KINDS`].
        pub fn schema(api_version: &str, kind: &str) -> Option<Value> {
            match (api_version, kind) {
                $( ($api, $kind) => Some(strict_schema_of::<$ty>()), )*
                _ => None,
            }
        }
    };
}

kinds! {
    "v1" "ConfigMap" => core::v1::ConfigMap,
    "v1" "LimitRange" => core::v1::LimitRange,
    "v1" "Namespace" => core::v1::Namespace,
    "v1" "PersistentVolumeClaim" => core::v1::PersistentVolumeClaim,
    "v1" "Pod" => core::v1::Pod,
    "v1" "ResourceQuota" => core::v1::ResourceQuota,
    "v1" "Secret" => core::v1::Secret,
    "v1" "Service" => core::v1::Service,
    "v1" "ServiceAccount" => core::v1::ServiceAccount,
    "apps/v1" "DaemonSet" => apps::v1::DaemonSet,
    "apps/v1" "Deployment" => apps::v1::Deployment,
    "apps/v1" "StatefulSet" => apps::v1::StatefulSet,
    "autoscaling/v1" "HorizontalPodAutoscaler" => autoscaling::v1::HorizontalPodAutoscaler,
    "autoscaling/v2" "HorizontalPodAutoscaler" => autoscaling::v2::HorizontalPodAutoscaler,
    "batch/v1" "CronJob" => batch::v1::CronJob,
    "batch/v1" "Job" => batch::v1::Job,
    "networking.k8s.io/v1" "Ingress" => networking::v1::Ingress,
    "networking.k8s.io/v1" "IngressClass" => networking::v1::IngressClass,
    "networking.k8s.io/v1" "NetworkPolicy" => networking::v1::NetworkPolicy,
    "policy/v1" "PodDisruptionBudget" => policy::v1::PodDisruptionBudget,
    "rbac.authorization.k8s.io/v1" "ClusterRole" => rbac::v1::ClusterRole,
    "rbac.authorization.k8s.io/v1" "ClusterRoleBinding" => rbac::v1::ClusterRoleBinding,
    "rbac.authorization.k8s.io/v1" "Role" => rbac::v1::Role,
    "rbac.authorization.k8s.io/v1" "RoleBinding" => rbac::v1::RoleBinding,
    "scheduling.k8s.io/v1" "PriorityClass" => scheduling::v1::PriorityClass,
    "storage.k8s.io/v1" "StorageClass" => storage::v1::StorageClass,
}

/// The strict schema of `ObjectMeta`, for the metadata of our own Argo CD schemas.
pub fn object_meta() -> Value {
    strict_schema_of::<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>()
}
