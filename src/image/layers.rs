//! The image side of a stream: `imagestreams/<name>/layers` and ImageStreamImage
//! (`stream@id`).
//!
//! Design notes: both walk every event of every tag (not just the newest), and the children
//! of manifest lists, because the integrated registry authorises blob access by "get
//! imagestreams/layers" and a platform image of an imported list must stay reachable. Images
//! are read in place through `Api::read`, so a stream over a thousand images costs a
//! thousand index lookups and no copies of the Images. Blobs and images are gathered in hash
//! maps and sorted once at the end: images of one stream share most of their layers, so a
//! stream over a thousand images looks each blob up about ten thousand times, and an ordered
//! map pays a dozen digest comparisons per look-up. Where upstream picks an arbitrary image for
//! an ambiguous id prefix, this answers 409 Conflict.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use crate::error::{Error, Result, StatusCause};
use crate::image::manifest::{is_list, OCI_MANIFEST, SCHEMA2};
use crate::image::reference::{digest_or_image_match, parse_image_stream_image_name};
use crate::image::types::{
    Image, ImageBlobReferences, ImageLayerData, ImageStreamImage, ImageStreamLayers, API_VERSION,
    GROUP,
};
use crate::image::views::{blanked, streams};
use crate::{Api, ObjectMeta, Store};

/// ImageStreamImages of one namespace (`stream@id`).
#[derive(Clone, Debug)]
pub struct StreamImageApi {
    store: Store,
    namespace: String,
}

impl StreamImageApi {
    pub(crate) fn new(store: Store, namespace: &str) -> StreamImageApi {
        StreamImageApi {
            store,
            namespace: namespace.to_string(),
        }
    }

    /// The image of the stream's history (or a sub-manifest of one) whose name `id` prefixes.
    // k8s-openapi's metadata `Time` (the `k8s-openapi` feature) is not `Copy`.
    #[cfg_attr(not(feature = "k8s-openapi"), allow(clippy::clone_on_copy))]
    pub fn get(&self, name: &str) -> Result<ImageStreamImage> {
        let (stream_name, id) = parse_image_stream_image_name(name).map_err(|_| {
            Error::bad_request("ImageStreamImages must be retrieved with <name>@<id>")
        })?;
        let (stream_meta, history) = stream_history(&self.store, &self.namespace, &stream_name)?;
        let layers = compute_layers(&self.store, stream_meta.clone(), &history)?;
        let matches: Vec<&String> = layers
            .images
            .keys()
            .filter(|candidate| digest_or_image_match(candidate, &id))
            .collect();
        let chosen = match matches.as_slice() {
            [] => return Err(Error::not_found(GROUP, "imagestreamimage", name)),
            [one] => (*one).clone(),
            _ => {
                return Err(Error::conflict(
                    GROUP,
                    "imagestreamimages",
                    name,
                    &format!("multiple images match the prefix {id:?}"),
                ))
            }
        };
        let image = self.store.all::<Image>().get(&chosen)?;
        let metadata = ObjectMeta {
            name: Some(name.to_string()),
            namespace: stream_meta.namespace.clone(),
            creation_timestamp: image.metadata.creation_timestamp.clone(),
            annotations: stream_meta.annotations.clone(),
            ..ObjectMeta::default()
        };
        Ok(ImageStreamImage {
            api_version: API_VERSION.into(),
            kind: "ImageStreamImage".into(),
            metadata,
            image: blanked(image),
        })
    }
}

fn config_media_type(manifest_media_type: &str) -> &'static str {
    if manifest_media_type == OCI_MANIFEST {
        "application/vnd.oci.image.config.v1+json"
    } else {
        "application/vnd.docker.container.image.v1+json"
    }
}

/// The blobs and images of a stream while they are being gathered.
#[derive(Default)]
struct Gathered {
    blobs: HashMap<String, ImageLayerData, RandomState>,
    images: HashMap<String, ImageBlobReferences, RandomState>,
}

impl Gathered {
    fn add_blob(&mut self, name: &str, describe: impl FnOnce() -> ImageLayerData) {
        if !self.blobs.contains_key(name) {
            self.blobs.insert(name.to_string(), describe());
        }
    }
}

fn add_image(images: &Api<Image>, name: &str, layers: &mut Gathered) -> Result<()> {
    if layers.images.contains_key(name) {
        return Ok(());
    }
    let children = match images.read(name, |image| describe(name, image, layers)) {
        Ok(children) => children,
        Err(e) if e.is_not_found() => {
            layers.images.insert(
                name.to_string(),
                ImageBlobReferences {
                    image_missing: true,
                    ..ImageBlobReferences::default()
                },
            );
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    // An empty sub-manifest name is reported by the validation of the whole view.
    for child in children.iter().filter(|c| !c.is_empty()) {
        add_image(images, child, layers)?;
    }
    Ok(())
}

/// Records `image`'s blobs and references in `layers`; answers its sub-manifests.
fn describe(name: &str, image: &Image, layers: &mut Gathered) -> Vec<String> {
    let media_type = if image.docker_image_manifest_media_type.is_empty() {
        SCHEMA2
    } else {
        image.docker_image_manifest_media_type.as_str()
    };
    let mut references = ImageBlobReferences::default();
    if !is_list(media_type) {
        let mut names = Vec::with_capacity(image.docker_image_layers.len());
        for layer in &image.docker_image_layers {
            names.push(layer.name.clone());
            layers.add_blob(&layer.name, || ImageLayerData {
                size: Some(layer.layer_size),
                media_type: layer.media_type.clone(),
            });
        }
        references.layers = Some(names);
        if media_type == SCHEMA2 || media_type == OCI_MANIFEST {
            if let Some(config) = image
                .docker_image_metadata
                .as_ref()
                .map(|m| m.id.as_str())
                .filter(|id| !id.is_empty())
            {
                layers.add_blob(config, || ImageLayerData {
                    size: None,
                    media_type: config_media_type(media_type).to_string(),
                });
                references.config = Some(config.to_string());
            }
        }
    }
    references.manifests = image
        .docker_image_manifests
        .iter()
        .map(|m| m.digest.clone())
        .collect();
    layers.add_blob(name, || ImageLayerData {
        size: None,
        media_type: media_type.to_string(),
    });
    let children = references.manifests.clone();
    layers.images.insert(name.to_string(), references);
    children
}

/// `imagestreams/<name>/layers` of a stream given by its metadata and the images of its
/// history (every event of every tag, in order).
fn compute_layers(
    store: &Store,
    metadata: ObjectMeta,
    history: &[String],
) -> Result<ImageStreamLayers> {
    let mut gathered = Gathered::default();
    let images = store.all::<Image>();
    for image in history {
        add_image(&images, image, &mut gathered)?;
    }
    Ok(ImageStreamLayers {
        api_version: API_VERSION.into(),
        kind: "ImageStreamLayers".into(),
        metadata,
        blobs: gathered.blobs.into_iter().collect(),
        images: gathered.images.into_iter().collect(),
    })
}

/// The metadata of stream `name` and the image of every event in its history.
fn stream_history(store: &Store, namespace: &str, name: &str) -> Result<(ObjectMeta, Vec<String>)> {
    streams(store, namespace).read(name, |stream| {
        let history = stream
            .status
            .tags
            .iter()
            .flat_map(|t| t.items.iter())
            .filter(|e| !e.image.is_empty())
            .map(|e| e.image.clone())
            .collect();
        (stream.metadata.clone(), history)
    })
}

/// The layers view of stream `name` in `namespace`; 422 Invalid when a stored image makes it
/// malformed (an empty layer or sub-manifest name), as upstream's `ValidateImageStreamLayers`.
pub(crate) fn layers(store: &Store, namespace: &str, name: &str) -> Result<ImageStreamLayers> {
    let (metadata, history) = stream_history(store, namespace, name)?;
    let layers = compute_layers(store, metadata, &history)?;
    let causes = layers_problems(&layers);
    if !causes.is_empty() {
        return Err(Error::invalid(GROUP, "ImageStreamLayers", name, causes));
    }
    Ok(layers)
}

/// `ValidateImageStreamLayers`: every layer and sub-manifest an image names is non-empty, and
/// a config, when named, is too. (A missing image names nothing and a manifest list no layers
/// or config, by construction.)
fn layers_problems(layers: &ImageStreamLayers) -> Vec<StatusCause> {
    let mut causes = Vec::new();
    for (image, references) in &layers.images {
        // Formatted only for a problem: a valid stream over a thousand images formatted a
        // thousand paths it never used.
        let path = || format!("images[{image}]");
        for (i, layer) in references.layers.iter().flatten().enumerate() {
            if layer.is_empty() {
                causes.push(StatusCause::invalid(
                    &format!("{}.layers[{i}]", path()),
                    "",
                    "layer cannot be empty",
                ));
            }
        }
        if references.config.as_deref() == Some("") {
            causes.push(StatusCause::invalid(
                &format!("{}.config", path()),
                "",
                "config cannot be empty",
            ));
        }
        for (i, manifest) in references.manifests.iter().enumerate() {
            if manifest.is_empty() {
                causes.push(StatusCause::invalid(
                    &format!("{}.manifests[{i}]", path()),
                    "",
                    "manifest cannot be empty",
                ));
            }
        }
    }
    causes
}
