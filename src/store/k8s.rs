//! k8s-openapi types, and types made by `#[derive(kube::CustomResource)]`, as kinds of the store
//! (the `k8s-openapi` feature).
//!
//! Design notes: kube-rs's approach. k8s-openapi types get kube-core's `Resource` from its
//! blanket impl, and kube-derive implements it for derived types, so one blanket impl over
//! `kube_core::Resource<DynamicType = ()>` makes both kinds; with the feature on, the store's
//! `ObjectMeta` is k8s-openapi's, so `meta()` is their own metadata and nothing is converted
//! (`docs/design/dynamic-kinds.md`). kube-core gives the names through functions, not
//! constants, so the store reads them from [`Resource::api_resource`] (the constants of these
//! impls are empty). The scope comes from the `Scope` type; the strategy defaults are
//! kube-apiserver's: a status subresource for the built-in kinds that have one and for custom
//! resources (kube-derive declares one whenever the type has a status), unconditional update
//! for built-in groups only (a custom resource's replace needs a resourceVersion).

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::store::meta::ObjectMeta;
use crate::store::strategy::Resource;
use crate::ApiResource;

/// The scope of a k8s-openapi kind, read from its `Scope` type.
pub trait Scope {
    /// True for namespaced kinds.
    const NAMESPACED: bool;
}

impl Scope for k8s_openapi::NamespaceResourceScope {
    const NAMESPACED: bool = true;
}

impl Scope for k8s_openapi::ClusterResourceScope {
    const NAMESPACED: bool = false;
}

/// Built-in kinds served with a status subresource by kube-apiserver (group, kind).
const WITH_STATUS: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "PersistentVolumeClaim"),
    ("", "Pod"),
    ("", "ReplicationController"),
    ("", "ResourceQuota"),
    ("", "Service"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("apps", "DaemonSet"),
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("batch", "CronJob"),
    ("batch", "Job"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "Ingress"),
    ("policy", "PodDisruptionBudget"),
    ("resource.k8s.io", "ResourceClaim"),
    ("storage.k8s.io", "VolumeAttachment"),
];

/// True for the built-in kinds kube-apiserver serves with a status subresource.
fn has_status_subresource(group: &str, kind: &str) -> bool {
    WITH_STATUS.contains(&(group, kind))
}

/// False for the core group's kinds (ConfigMap, Secret, Namespace, Pod in 1.32, …), whose
/// kube-apiserver strategies leave `metadata.generation` unset, but ReplicationController,
/// whose strategy keeps it. Other groups keep the store's default (the workload kinds, custom
/// resources); the few of their kinds that leave it unset (RBAC roles, leases) get it too.
fn tracks_generation(group: &str, kind: &str) -> bool {
    !group.is_empty() || kind == "ReplicationController"
}

/// True for Kubernetes' own groups: the core group, groups without a dot (`apps`, `batch`)
/// and `*.k8s.io`. Custom resources live in their authors' domains.
fn is_built_in_group(group: &str) -> bool {
    !group.contains('.') || group.ends_with(".k8s.io")
}

impl<K> Resource for K
where
    K: kube_core::Resource<DynamicType = (), Scope: Scope>
        + Clone
        + Send
        + Sync
        + Serialize
        + DeserializeOwned
        + 'static,
{
    const GROUP: &'static str = "";
    const VERSION: &'static str = "";
    const KIND: &'static str = "";
    const PLURAL: &'static str = "";
    const NAMESPACED: bool = <<K as kube_core::Resource>::Scope as Scope>::NAMESPACED;

    fn meta(&self) -> &ObjectMeta {
        kube_core::Resource::meta(self)
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        kube_core::Resource::meta_mut(self)
    }

    fn api_resource() -> ApiResource {
        let group = <K as kube_core::Resource>::group(&());
        let version = <K as kube_core::Resource>::version(&());
        let kind = <K as kube_core::Resource>::kind(&());
        let plural = <K as kube_core::Resource>::plural(&());
        let ar = if Self::NAMESPACED {
            ApiResource::namespaced(&group, &version, &kind, &plural)
        } else {
            ApiResource::cluster(&group, &version, &kind, &plural)
        };
        if !is_built_in_group(&group) || has_status_subresource(&group, &kind) {
            ar.with_status_subresource()
        } else {
            ar
        }
    }

    fn allows_unconditional_update() -> bool {
        is_built_in_group(&<K as kube_core::Resource>::group(&()))
    }

    fn tracks_generation() -> bool {
        tracks_generation(
            &<K as kube_core::Resource>::group(&()),
            &<K as kube_core::Resource>::kind(&()),
        )
    }

    fn api_version() -> String {
        <K as kube_core::Resource>::api_version(&()).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_groups_and_status_kinds_are_recognised() {
        assert!(is_built_in_group(""));
        assert!(is_built_in_group("apps"));
        assert!(is_built_in_group("networking.k8s.io"));
        assert!(!is_built_in_group("example.com"));
        assert!(!is_built_in_group("k8s.io.example.com"));
        assert!(has_status_subresource("", "Pod"));
        assert!(has_status_subresource("apps", "Deployment"));
        assert!(!has_status_subresource("", "ConfigMap"));
        assert!(!has_status_subresource("example.com", "Pod"));
        assert!(!tracks_generation("", "ConfigMap"));
        assert!(tracks_generation("", "ReplicationController"));
        assert!(tracks_generation("apps", "Deployment"));
    }
}
