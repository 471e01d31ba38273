//! The OpenShift image API (`image.openshift.io/v1`) as a library on top of [`crate::Store`].
//!
//! Design notes: this module is a client of the store's public API like any server would be:
//! the stored kinds (Image and ImageStream) are ordinary [`Resource`]s whose
//! strategies carry OpenShift's rules, and the virtual kinds (signatures, stream tags, stream
//! images, mappings, layers) are computed from them. Types serialise to the JSON OpenShift
//! serves.
//!
//! What is here: every type of the group ([`types`]), references and digests ([`mod@reference`]),
//! the Image resource with its create/update strategy and validation ([`ImageApi::images`]),
//! manifests and the metadata derived from them ([`manifest`]), and signatures
//! ([`ImageApi::signatures`]), and ImageStreams with generations and spec → status tag
//! processing ([`ImageApi::streams`], [`stream`]), mappings ([`ImageApi::mappings`]), and the
//! virtual kinds: stream tags and image tags (read and write), stream images, layers and
//! secrets, imports through a pluggable [`Importer`], `lookupPolicy.local` resolution, and
//! tag history pruning. Policy hooks (registry allow-list, cross-namespace authorisation,
//! limit ranges) live in [`hooks`].
//!
//! [`Resource`]: crate::Resource

pub mod hooks;
mod image_resource;
mod import;
mod layers;
pub mod manifest;
mod mapping;
mod prune;
pub mod reference;
mod secrets;
mod signature;
pub mod stream;
mod tag_writes;
pub mod types;
mod views;

pub use image_resource::{
    DOCKER_LAYERS_ORDER, MANAGED_BY_OPENSHIFT, MANAGED_SIGNATURE, MANIFEST_BLOB_STORED,
};
pub use layers::StreamImageApi;
pub use mapping::MappingApi;
pub use reference::{Digest, DockerImageReference, ReferenceError};
pub use secrets::EXCLUDE_SECRET;
pub use signature::{split_signature_name, SignatureApi};
pub use types::*;
pub use views::{resolve_reference, ImageTagApi, StreamTagApi};

use std::sync::Arc;

pub use hooks::{AllowedRegistries, LimitRanges, RegistryAllowList, StreamLimits, TagAuthorizer};
pub use import::{Importer, MemoryImporter, DOCKER_REPOSITORY_CHECK};
pub use prune::PruneReport;

use crate::{Api, Store};

/// Settings of the image API: registry host names, import defaults and policy hooks.
///
/// Every hook is optional and `None` allows everything, as a cluster without such
/// configuration does. Build it with struct update syntax:
/// `ImageConfig { internal_registry_hostname: Some("reg:5000".into()), ..ImageConfig::default() }`.
#[derive(Clone, Debug, Default)]
pub struct ImageConfig {
    /// The integrated registry's in-cluster host name (`image-registry.openshift-image-registry.svc:5000`).
    pub internal_registry_hostname: Option<String>,
    /// The integrated registry's public host name.
    pub external_registry_hostname: Option<String>,
    /// The import mode used when a tag does not set one (`Legacy` when empty).
    pub default_import_mode: String,
    /// Where [`ImageApi::import`] gets images from (a registry client); without one every
    /// image of an import fails with a status saying so.
    pub importer: Option<Arc<dyn Importer>>,
    /// Registries images may be referenced from or imported out of.
    pub registry_allow_list: Option<Arc<dyn RegistryAllowList>>,
    /// Who may take images from streams in other namespaces.
    pub tag_authorizer: Option<Arc<dyn TagAuthorizer>>,
    /// Per-namespace limits on stream size.
    pub limit_ranges: Option<Arc<dyn LimitRanges>>,
    /// How many tags one repository import brings in (0 means upstream's default, 50).
    pub max_images_bulk_imported_per_repository: usize,
}

impl PartialEq for ImageConfig {
    /// Host names and defaults compare by value, hooks by identity.
    fn eq(&self, other: &ImageConfig) -> bool {
        fn same<T: ?Sized>(a: &Option<Arc<T>>, b: &Option<Arc<T>>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
        }
        self.internal_registry_hostname == other.internal_registry_hostname
            && self.external_registry_hostname == other.external_registry_hostname
            && self.default_import_mode == other.default_import_mode
            && self.max_images_bulk_imported_per_repository
                == other.max_images_bulk_imported_per_repository
            && same(&self.importer, &other.importer)
            && same(&self.registry_allow_list, &other.registry_allow_list)
            && same(&self.tag_authorizer, &other.tag_authorizer)
            && same(&self.limit_ranges, &other.limit_ranges)
    }
}

/// Entry point of the image API over one store.
#[derive(Clone, Debug)]
pub struct ImageApi {
    store: Store,
    config: ImageConfig,
}

impl ImageApi {
    /// The image API with default settings.
    pub fn new(store: &Store) -> ImageApi {
        let config = store
            .extension::<ImageConfig>()
            .map(|c| (*c).clone())
            .unwrap_or_default();
        ImageApi {
            store: store.clone(),
            config,
        }
    }

    /// The image API with explicit settings. The settings are per store: they also apply to
    /// every other `ImageApi` of the same store.
    pub fn with_config(store: &Store, config: ImageConfig) -> ImageApi {
        store.set_extension(config.clone());
        ImageApi {
            store: store.clone(),
            config,
        }
    }

    /// The settings.
    pub fn config(&self) -> &ImageConfig {
        &self.config
    }

    /// Images (stored, cluster scoped).
    pub fn images(&self) -> Api<Image> {
        self.store.all::<Image>()
    }

    /// Image streams (stored, namespaced, with a status subresource).
    pub fn streams(&self, namespace: &str) -> Api<ImageStream> {
        self.store.namespaced::<ImageStream>(namespace)
    }

    /// Image stream mappings of a namespace (virtual: create only, answers a `Status`).
    pub fn mappings(&self, namespace: &str) -> MappingApi {
        MappingApi::new(self.store.clone(), namespace, self.config.clone())
    }

    /// ImageStreamTags of a namespace (virtual; reads: `get("stream:tag")`, `list`).
    pub fn stream_tags(&self, namespace: &str) -> StreamTagApi {
        StreamTagApi::new(self.store.clone(), namespace)
    }

    /// ImageTags of a namespace (virtual; reads: `get("stream:tag")`, `list`).
    pub fn image_tags(&self, namespace: &str) -> ImageTagApi {
        ImageTagApi::new(self.store.clone(), namespace)
    }

    /// ImageStreamImages of a namespace (virtual; `get("stream@id")`).
    pub fn stream_images(&self, namespace: &str) -> StreamImageApi {
        StreamImageApi::new(self.store.clone(), namespace)
    }

    /// The blobs of every image in stream `name`'s history (`imagestreams/<name>/layers`).
    pub fn layers(&self, namespace: &str, name: &str) -> crate::Result<ImageStreamLayers> {
        layers::layers(&self.store, namespace, name)
    }

    /// The pull secrets of `namespace` (`imagestreams/<stream>/secrets`; the stream name is
    /// ignored). Secrets themselves are stored as core `Secret`s: `store.namespaced::<Secret>(ns)`.
    pub fn secrets(&self, namespace: &str, _stream: &str) -> crate::Result<SecretList> {
        secrets::secrets(&self.store, namespace, &crate::ListParams::default())
    }

    /// `lookupPolicy.local` resolution: a short name `stream[:tag]` (tag defaults to `latest`)
    /// of a stream in `namespace` with `spec.lookupPolicy.local: true` resolves to the pull spec
    /// of the tag's newest event (reference policy honoured). Anything else — a name with a
    /// registry or path, a missing stream or tag, a stream without local lookup — is `None`.
    pub fn resolve_local(&self, namespace: &str, name: &str) -> crate::Result<Option<String>> {
        if name.contains('/') || name.contains('@') {
            return Ok(None);
        }
        let (stream_name, tag, _) = reference::split_image_stream_tag(name);
        let stream = match self.streams(namespace).get(&stream_name) {
            Ok(stream) => stream,
            Err(e) if e.is_not_found() || e.is_bad_request() => return Ok(None),
            Err(e) => return Err(e),
        };
        if !stream.spec.lookup_policy.local {
            return Ok(None);
        }
        Ok(
            stream::latest_event(&stream, &tag)
                .map(|event| resolve_reference(&stream, &tag, event)),
        )
    }

    /// Imports images into stream `isi.metadata.name` of `namespace` through
    /// [`ImageConfig::importer`] (`POST imagestreamimports`). With `spec.import` false only the
    /// status is computed; with it true the stream (created if missing) records what was found
    /// and the found Images are stored. The answer carries `status.import`, the written stream.
    pub fn import(
        &self,
        namespace: &str,
        isi: &ImageStreamImport,
    ) -> crate::Result<ImageStreamImport> {
        let config = self
            .store
            .extension::<ImageConfig>()
            .map(|c| (*c).clone())
            .unwrap_or_else(|| self.config.clone());
        import::import(&self.store, &config, namespace, isi)
    }

    /// Keeps the `keep` newest events of every tag of every stream in `namespace` (all
    /// namespaces when empty), as `oc adm prune images --keep-tag-revisions`, and reports the
    /// stored Images no stream references any more.
    pub fn prune_tag_history(&self, namespace: &str, keep: usize) -> crate::Result<PruneReport> {
        prune::prune_tag_history(&self.store, namespace, keep)
    }

    /// Image signatures (virtual: entries of `Image.signatures`; create and delete only).
    pub fn signatures(&self) -> SignatureApi {
        SignatureApi::new(self.images())
    }
}
