//! The `image.openshift.io/v1` group as openshift-apiserver serves it: stored `images` and
//! `imagestreams` (status, `layers` and `secrets` subresources) through their typed strategies,
//! and the virtual kinds (`imagestreamtags`, `imagetags`, `imagestreamimages`,
//! `imagestreammappings`, `imagestreamimports`, `imagesignatures`) through the library's image
//! API. Columns are those of openshift-apiserver's printers.

use std::sync::Arc;

use apistore::image::{
    Image, ImageApi, ImageSignature, ImageStream, ImageStreamImport, ImageStreamMapping,
    ImageStreamTag, ImageTag,
};
use apistore::{
    ApiResource, DeleteParams, DynamicObject, ListParams, ObjectList, Patch, PatchParams,
    PostParams, Store,
};
use serde_json::{json, Value};

use crate::backend::{
    blocking, from_dynamic, to_dynamic, Answer, Backend, BoxFuture, PutEffect, SharedList, Typed,
};
use crate::resources::{ServedResource, Subresource, VERBS};
use crate::smp::MergeKey;
use crate::strict::unknown_fields_of;
use crate::table::{ago, Column};

const GROUP: &str = "image.openshift.io";
const VERSION: &str = "v1";

/// The verbs of the virtual tag kinds.
const TAG_VERBS: [&str; 6] = ["create", "delete", "get", "list", "patch", "update"];

/// Every kind of the image group, over `store`.
pub fn resources(store: &Store) -> Vec<ServedResource> {
    let images_ar = ApiResource::cluster(GROUP, VERSION, "Image", "images");
    let streams_ar = ApiResource::namespaced(GROUP, VERSION, "ImageStream", "imagestreams")
        .with_status_subresource();
    let mut stream_keys = MergeKey::object_meta();
    stream_keys.push(MergeKey::by(&["spec", "tags"], "name"));
    stream_keys.push(MergeKey::by(&["status", "tags"], "tag"));
    let base = |ar: ApiResource, singular: &str, backend: Arc<dyn Backend>| ServedResource {
        backend,
        ar,
        singular: singular.into(),
        short_names: Vec::new(),
        categories: Vec::new(),
        columns: Vec::new(),
        unknown_fields: None,
        known_fields: None,
        verbs: VERBS.to_vec(),
        subresources: Vec::new(),
        merge_keys: None,
        schema: None,
        scale: None,
    };
    let virtual_kind = |kind: &str, plural: &str, namespaced: bool| {
        if namespaced {
            ApiResource::namespaced(GROUP, VERSION, kind, plural)
        } else {
            ApiResource::cluster(GROUP, VERSION, kind, plural)
        }
    };
    let tags_ar = virtual_kind("ImageStreamTag", "imagestreamtags", true);
    let image_tags_ar = virtual_kind("ImageTag", "imagetags", true);
    let stream_images_ar = virtual_kind("ImageStreamImage", "imagestreamimages", true);
    let mappings_ar = virtual_kind("ImageStreamMapping", "imagestreammappings", true);
    let imports_ar = virtual_kind("ImageStreamImport", "imagestreamimports", true);
    let signatures_ar = virtual_kind("ImageSignature", "imagesignatures", false);
    let virtual_backend = |ar: &ApiResource| -> Arc<dyn Backend> {
        Arc::new(Virtual {
            store: store.clone(),
            ar: ar.clone(),
        })
    };
    vec![
        ServedResource {
            columns: vec![Column::text("Image Reference", "/dockerImageReference")
                .described("DockerImageReference is the string that can be used to pull this image.")],
            unknown_fields: Some(Arc::new(unknown_fields_of::<Image>)),
            schema: Some(Arc::new(crate::schemas::image())),
            merge_keys: Some(MergeKey::object_meta()),
            ..base(
                images_ar.clone(),
                "image",
                Arc::new(Typed::<Image>::new(store, &images_ar)),
            )
        },
        ServedResource {
            verbs: vec!["create", "delete"],
            unknown_fields: Some(Arc::new(unknown_fields_of::<ImageSignature>)),
            schema: Some(Arc::new(crate::schemas::image_signature())),
            ..base(
                signatures_ar.clone(),
                "imagesignature",
                virtual_backend(&signatures_ar),
            )
        },
        ServedResource {
            verbs: vec!["get"],
            short_names: vec!["isimage".into()],
            schema: Some(Arc::new(crate::schemas::image_stream_image())),
            columns: vec![
                Column::computed("Updated", "string", "Last update time.", |o, now| {
                    json!(ago(created(o).as_deref(), now))
                }),
                Column::text("Image Reference", "/image/dockerImageReference").wide(),
                Column::text("Image Name", "/image/metadata/name").wide(),
            ],
            ..base(
                stream_images_ar.clone(),
                "imagestreamimage",
                virtual_backend(&stream_images_ar),
            )
        },
        ServedResource {
            verbs: vec!["create"],
            schema: Some(Arc::new(crate::schemas::image_stream_import())),
            unknown_fields: Some(Arc::new(unknown_fields_of::<ImageStreamImport>)),
            ..base(
                imports_ar.clone(),
                "imagestreamimport",
                virtual_backend(&imports_ar),
            )
        },
        ServedResource {
            verbs: vec!["create"],
            schema: Some(Arc::new(crate::schemas::image_stream_mapping())),
            unknown_fields: Some(Arc::new(unknown_fields_of::<ImageStreamMapping>)),
            ..base(
                mappings_ar.clone(),
                "imagestreammapping",
                virtual_backend(&mappings_ar),
            )
        },
        ServedResource {
            short_names: vec!["is".into()],
            categories: vec!["all".into()],
            schema: Some(Arc::new(crate::schemas::image_stream())),
            columns: vec![
                Column::computed(
                    "Image Repository",
                    "string",
                    "DockerImageRepository represents the effective location this stream may be accessed at.",
                    |o, _| json!(stream_repository(&o.data)),
                ),
                Column::computed("Tags", "string", "Human readable list of tags.", |o, _| {
                    json!(stream_tags(&o.data, 40))
                }),
                Column::computed("Updated", "string", "Last update time.", |o, now| {
                    json!(ago(stream_updated(&o.data).as_deref(), now))
                }),
            ],
            unknown_fields: Some(Arc::new(unknown_fields_of::<ImageStream>)),
            subresources: vec![
                Subresource {
                    name: "layers",
                    group: GROUP,
                    version: VERSION,
                    kind: "ImageStreamLayers",
                    verbs: vec!["get"],
                    writer: None,
                },
                Subresource {
                    name: "secrets",
                    group: "",
                    version: "v1",
                    kind: "SecretList",
                    verbs: vec!["get"],
                    writer: None,
                },
            ],
            merge_keys: Some(stream_keys),
            ..base(
                streams_ar.clone(),
                "imagestream",
                Arc::new(
                    Typed::<ImageStream>::new(store, &streams_ar)
                        .with_subresources(stream_subresource),
                ),
            )
        },
        ServedResource {
            verbs: TAG_VERBS.to_vec(),
            short_names: vec!["istag".into()],
            schema: Some(Arc::new(crate::schemas::image_stream_tag())),
            columns: vec![
                Column::text("Image Reference", "/image/dockerImageReference")
                    .described("DockerImageReference is the string that can be used to pull this image."),
                Column::computed("Updated", "string", "Last update time.", |o, now| {
                    json!(ago(created(o).as_deref(), now))
                }),
                Column::text("Image Name", "/image/metadata/name").wide(),
            ],
            unknown_fields: Some(Arc::new(unknown_fields_of::<ImageStreamTag>)),
            merge_keys: Some(MergeKey::object_meta()),
            ..base(
                tags_ar.clone(),
                "imagestreamtag",
                virtual_backend(&tags_ar),
            )
        },
        ServedResource {
            verbs: TAG_VERBS.to_vec(),
            short_names: vec!["itag".into()],
            schema: Some(Arc::new(crate::schemas::image_tag())),
            columns: vec![
                Column::computed("Spec", "string", "", |o, _| json!(image_tag_cells(&o.data).0)),
                Column::computed("Status", "string", "", |o, _| json!(image_tag_cells(&o.data).1)),
                Column::computed("History", "number", "Number of history entries", |o, _| {
                    match image_tag_cells(&o.data).2 {
                        0 => Value::Null,
                        n => json!(n),
                    }
                }),
                Column::computed("Updated", "string", "Last updated at", |o, now| {
                    json!(ago(image_tag_cells(&o.data).3.as_deref(), now))
                }),
            ],
            unknown_fields: Some(Arc::new(unknown_fields_of::<ImageTag>)),
            merge_keys: Some(MergeKey::object_meta()),
            ..base(
                image_tags_ar.clone(),
                "imagetag",
                virtual_backend(&image_tags_ar),
            )
        },
    ]
}

fn created(o: &DynamicObject) -> Option<String> {
    serde_json::to_value(o.metadata.creation_timestamp.as_ref())
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The stream's repository as `oc get is` prints it: the public one when known.
fn stream_repository(data: &Value) -> String {
    let public = text(data, "/status/publicDockerImageRepository");
    if !public.is_empty() {
        return public.into();
    }
    let spec = text(data, "/spec/dockerImageRepository");
    if spec.is_empty() {
        text(data, "/status/dockerImageRepository").into()
    } else {
        spec.into()
    }
}

/// The status tags, newest first, as many as fit in `width` (openshift's `printTagsUpToWidth`).
fn stream_tags(data: &Value, width: i64) -> String {
    let mut tags: Vec<(&str, &str)> = data
        .pointer("/status/tags")
        .and_then(Value::as_array)
        .map(|lists| {
            lists
                .iter()
                .map(|l| (text(l, "/tag"), text(l, "/items/0/created")))
                .collect()
        })
        .unwrap_or_default();
    let total = tags.len();
    tags.sort_by(|a, b| match (a.1.is_empty(), b.1.is_empty()) {
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ => b.1.cmp(a.1).then(a.0.cmp(b.0)),
    });
    let mut shown: Vec<&str> = tags.iter().map(|t| t.0).collect();
    let mut remaining = width;
    for (i, tag) in tags.iter().enumerate() {
        let len = i64::try_from(tag.0.len()).unwrap_or(i64::MAX);
        remaining -= len + 1;
        if remaining >= 0 {
            continue;
        }
        if i == 0 {
            shown.truncate(1);
            break;
        }
        let margin = width / 4;
        if margin < remaining + len && margin >= -remaining {
            continue;
        }
        shown.truncate(i);
        break;
    }
    let hidden = total - shown.len();
    if hidden > 0 {
        format!("{} + {hidden} more...", shown.join(","))
    } else {
        shown.join(",")
    }
}

/// The newest tag event's time.
fn stream_updated(data: &Value) -> Option<String> {
    data.pointer("/status/tags")
        .and_then(Value::as_array)?
        .iter()
        .map(|l| text(l, "/items/0/created"))
        .filter(|t| !t.is_empty())
        .max()
        .map(str::to_string)
}

/// The Spec, Status, History count and Updated time of an ImageTag, as openshift's
/// `printImageTag` derives them.
fn image_tag_cells(data: &Value) -> (String, String, usize, Option<String>) {
    let mut spec = String::new();
    let mut status = String::new();
    let mut source = String::new();
    let mut generation = 0;
    let tag_spec = data.get("spec").filter(|s| s.is_object());
    if let Some(s) = tag_spec {
        spec = "Tag".into();
        if s.get("reference").and_then(Value::as_bool) == Some(true) {
            spec = "Ref".into();
        }
        if s.pointer("/importPolicy/scheduled")
            .and_then(Value::as_bool)
            == Some(true)
        {
            spec = "Scheduled".into();
        }
        generation = s.get("generation").and_then(Value::as_i64).unwrap_or(0);
        match s.get("from").filter(|f| f.is_object()) {
            Some(from) => {
                let name = text(from, "/name");
                match text(from, "/kind") {
                    "DockerImage" => source = name.into(),
                    "ImageStreamImage" => match name.split_once('@') {
                        Some((_, id)) if !id.is_empty() => source = format!("image/{id}"),
                        _ => status = "InvalidRefName".into(),
                    },
                    "ImageStreamTag" => {
                        let namespace = text(from, "/namespace");
                        source = if namespace.is_empty() {
                            format!("istag/{name}")
                        } else {
                            format!("istag {namespace}/{name}")
                        };
                        if !name.contains(':') {
                            spec = "Track".into();
                        }
                    }
                    _ => status = "InvalidRefKind".into(),
                }
            }
            None => spec = String::new(),
        }
    }
    let mut count = 0;
    let mut last: Option<String> = None;
    if let Some(st) = data.get("status").filter(|s| s.is_object()) {
        let items = st.get("items").and_then(Value::as_array);
        count = items.map_or(0, Vec::len);
        if let Some(event) = items.and_then(|i| i.first()) {
            last = Some(text(event, "/created").to_string()).filter(|t| !t.is_empty());
            let event_generation = event.get("generation").and_then(Value::as_i64).unwrap_or(0);
            if generation > 0 && event_generation > 0 && event_generation < generation {
                status = "Importing".into();
            } else if !text(event, "/image").is_empty() {
                source = format!("image/{}", text(event, "/image"));
            } else if !text(event, "/dockerImageReference").is_empty() {
                source = text(event, "/dockerImageReference").into();
            }
            // No spec means pushed; so does an event newer than the spec tag's generation
            // (reset, or pushed over) unless the tag tracks another.
            let pushed_over = spec != "Track"
                && generation > 0
                && event_generation > 0
                && event_generation > generation;
            if (!source.is_empty() && spec.is_empty()) || pushed_over {
                spec = "Push".into();
            }
        }
        for condition in st
            .get("conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if text(condition, "/type") == "ImportSuccess" && text(condition, "/status") == "False"
            {
                status = format!("ImportFailed ({})", text(condition, "/reason"));
            }
            let at = text(condition, "/lastTransitionTime");
            if !at.is_empty() && last.as_deref().is_none_or(|l| at > l) {
                last = Some(at.to_string());
            }
        }
    }
    if status.is_empty() {
        status = source;
    }
    (spec, status, count, last)
}

/// The `layers` and `secrets` subresources of an image stream.
fn stream_subresource(
    store: &Store,
    namespace: &str,
    name: &str,
    subresource: &str,
) -> apistore::Result<Value> {
    let images = ImageApi::new(store);
    let out = match subresource {
        "layers" => serde_json::to_value(images.layers(namespace, name)?),
        // kube-apiserver answers for a stream that exists only.
        "secrets" => {
            images.streams(namespace).get(name)?;
            serde_json::to_value(images.secrets(namespace, name)?)
        }
        _ => return Err(crate::backend::not_allowed("get")),
    };
    out.map_err(|e| apistore::Error::internal(e.to_string()))
}

/// The virtual kinds: each verb is a blocking call of the library's image API.
struct Virtual {
    store: Store,
    ar: ApiResource,
}

impl Virtual {
    /// Runs `f` with the image API and the namespace off the executor's threads.
    fn run<'a, T, F>(&'a self, namespace: Option<&str>, f: F) -> BoxFuture<'a, apistore::Result<T>>
    where
        F: FnOnce(&Store, String, &ApiResource) -> apistore::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.store.clone();
        let ar = self.ar.clone();
        let namespace = namespace.unwrap_or_default().to_string();
        Box::pin(blocking(move || f(&store, namespace, &ar)))
    }
}

impl Backend for Virtual {
    /// A `PUT` or apply of `stream:tag` adds a spec tag when the stream lacks it, making the
    /// stream too when it is missing, and otherwise updates. openshift-apiserver answers 201
    /// for a new spec tag, and admits the write as the update of a stream it makes up.
    fn put_effect<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        _creates_missing: bool,
    ) -> BoxFuture<'a, apistore::Result<PutEffect>> {
        let name = name.to_string();
        self.run(namespace, move |store, ns, ar| {
            let tags = matches!(ar.plural.as_str(), "imagestreamtags" | "imagetags");
            // A name that is not `stream:tag` is the PUT's own error to report.
            let Some((stream, tag)) = name
                .split_once(':')
                .filter(|(_, t)| tags && !t.contains(':'))
            else {
                return Ok(PutEffect::Updates);
            };
            let has_tag = store
                .namespaced::<ImageStream>(&ns)
                .read(stream, |s| s.spec.tags.iter().any(|t| t.name == tag));
            Ok(match has_tag {
                Err(e) if e.is_not_found() => PutEffect::Adds { new_stream: true },
                Ok(false) => PutEffect::Adds { new_stream: false },
                _ => PutEffect::Updates,
            })
        })
    }

    fn get<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        let name = name.to_string();
        self.run(namespace, move |store, ns, ar| {
            let images = ImageApi::new(store);
            match ar.plural.as_str() {
                "imagestreamtags" => to_dynamic(ar, &images.stream_tags(&ns).get(&name)?),
                "imagetags" => to_dynamic(ar, &images.image_tags(&ns).get(&name)?),
                "imagestreamimages" => to_dynamic(ar, &images.stream_images(&ns).get(&name)?),
                _ => Err(crate::backend::not_allowed("get")),
            }
        })
    }

    fn list<'a>(
        &'a self,
        namespace: Option<&'a str>,
        lp: &'a ListParams,
    ) -> BoxFuture<'a, apistore::Result<SharedList>> {
        let lp = lp.clone();
        let all = namespace.is_none();
        self.run(namespace, move |store, ns, ar| {
            let images = ImageApi::new(store);
            let namespaces = if all {
                namespaces_of_streams(store)?
            } else {
                vec![ns]
            };
            let mut out: Option<ObjectList<DynamicObject>> = None;
            for ns in namespaces {
                let list = match ar.plural.as_str() {
                    "imagestreamtags" => json_list(ar, images.stream_tags(&ns).list(&lp)?)?,
                    "imagetags" => json_list(ar, images.image_tags(&ns).list(&lp)?)?,
                    _ => return Err(crate::backend::not_allowed("list")),
                };
                match &mut out {
                    None => out = Some(list),
                    Some(all) => {
                        all.items.extend(list.items);
                        all.metadata = list.metadata;
                    }
                }
            }
            let out = out.unwrap_or_else(|| ObjectList {
                metadata: apistore::ListMeta {
                    resource_version: Some(store.resource_version().to_string()),
                    ..apistore::ListMeta::default()
                },
                items: Vec::new(),
            });
            Ok(ObjectList {
                metadata: out.metadata,
                items: out.items.into_iter().map(Arc::new).collect(),
            })
        })
    }

    fn create<'a>(
        &'a self,
        namespace: Option<&'a str>,
        pp: &'a PostParams,
        obj: DynamicObject,
    ) -> BoxFuture<'a, apistore::Result<Answer>> {
        let pp = pp.clone();
        self.run(namespace, move |store, ns, ar| {
            let images = ImageApi::new(store);
            Ok(match ar.plural.as_str() {
                "imagestreamtags" => {
                    let tag: ImageStreamTag = from_dynamic(ar, obj)?;
                    Answer::Object(Arc::new(to_dynamic(
                        ar,
                        &images.stream_tags(&ns).create(&pp, &tag)?,
                    )?))
                }
                "imagetags" => {
                    let tag: ImageTag = from_dynamic(ar, obj)?;
                    Answer::Object(Arc::new(to_dynamic(
                        ar,
                        &images.image_tags(&ns).create(&pp, &tag)?,
                    )?))
                }
                "imagestreammappings" => {
                    let mapping: ImageStreamMapping = from_dynamic(ar, obj)?;
                    Answer::Status(Box::new(images.mappings(&ns).create(&mapping)?))
                }
                "imagestreamimports" => {
                    let import: ImageStreamImport = from_dynamic(ar, obj)?;
                    Answer::Object(Arc::new(to_dynamic(ar, &images.import(&ns, &import)?)?))
                }
                "imagesignatures" => {
                    let signature: ImageSignature = from_dynamic(ar, obj)?;
                    Answer::Object(Arc::new(to_dynamic(
                        ar,
                        &images.signatures().create(&signature)?,
                    )?))
                }
                _ => return Err(crate::backend::not_allowed("create")),
            })
        })
    }

    fn replace<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        pp: &'a PostParams,
        obj: DynamicObject,
        _status: bool,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        let pp = pp.clone();
        let name = name.to_string();
        self.run(namespace, move |store, ns, ar| {
            let images = ImageApi::new(store);
            match ar.plural.as_str() {
                "imagestreamtags" => {
                    let tag: ImageStreamTag = from_dynamic(ar, obj)?;
                    to_dynamic(ar, &images.stream_tags(&ns).replace(&name, &pp, &tag)?)
                }
                "imagetags" => {
                    let tag: ImageTag = from_dynamic(ar, obj)?;
                    to_dynamic(ar, &images.image_tags(&ns).replace(&name, &pp, &tag)?)
                }
                _ => Err(crate::backend::not_allowed("update")),
            }
        })
    }

    fn patch<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        pp: &'a PatchParams,
        patch: &'a Patch,
        _status: bool,
    ) -> BoxFuture<'a, apistore::Result<DynamicObject>> {
        let pp = pp.clone();
        let patch = patch.clone();
        let name = name.to_string();
        self.run(namespace, move |store, ns, ar| {
            let images = ImageApi::new(store);
            match ar.plural.as_str() {
                "imagestreamtags" => {
                    to_dynamic(ar, &images.stream_tags(&ns).patch(&name, &pp, &patch)?)
                }
                "imagetags" => to_dynamic(ar, &images.image_tags(&ns).patch(&name, &pp, &patch)?),
                _ => Err(crate::backend::not_allowed("patch")),
            }
        })
    }

    fn delete<'a>(
        &'a self,
        namespace: Option<&'a str>,
        name: &'a str,
        dp: &'a DeleteParams,
    ) -> BoxFuture<'a, apistore::Result<Answer>> {
        let dp = dp.clone();
        let name = name.to_string();
        self.run(namespace, move |store, ns, ar| {
            let images = ImageApi::new(store);
            Ok(Answer::Status(Box::new(match ar.plural.as_str() {
                "imagestreamtags" => images.stream_tags(&ns).delete(&name, &dp)?,
                "imagetags" => images.image_tags(&ns).delete(&name, &dp)?,
                "imagesignatures" => images.signatures().delete(&name)?,
                _ => return Err(crate::backend::not_allowed("delete")),
            })))
        })
    }
}

fn json_list<K: serde::Serialize>(
    ar: &ApiResource,
    list: ObjectList<K>,
) -> apistore::Result<ObjectList<DynamicObject>> {
    Ok(ObjectList {
        items: list
            .items
            .iter()
            .map(|item| to_dynamic(ar, item))
            .collect::<apistore::Result<_>>()?,
        metadata: list.metadata,
    })
}

/// The namespaces that hold image streams, in name order (for lists of the virtual tag kinds
/// across all namespaces).
fn namespaces_of_streams(store: &Store) -> apistore::Result<Vec<String>> {
    let all = store
        .all::<ImageStream>()
        .list_shared(&ListParams::default())?;
    let mut namespaces: Vec<String> = all
        .items
        .iter()
        .filter_map(|s| s.metadata.namespace.clone())
        .collect();
    namespaces.dedup();
    Ok(namespaces)
}
