//! `/openapi/v2`: one Swagger 2.0 document describing every served kind, as JSON or as the
//! protobuf (gnostic's `openapi.v2.Document`) kubectl asks for.
//!
//! Design notes: kubectl settles validation with `/openapi/v3` for single objects, but a
//! `kind: List` file — what `kubectl get -o yaml` writes for several objects — is validated item
//! by item on the client against this document's definitions (unknown fields, missing required
//! ones, wrong types), and `kubectl` refuses the file if the document cannot be had. The
//! definitions are the `/openapi/v3` schemas rewritten as kube-apiserver publishes v2: `$ref`s
//! point into `#/definitions/`, a lone `allOf: [$ref]` becomes the `$ref`, and what Swagger 2.0
//! cannot say is left out as the apiextensions server leaves it out of a custom resource's v2
//! schema (`oneOf`/`anyOf`/`not`; a nullable or `x-kubernetes-preserve-unknown-fields` node loses
//! its properties and items, an int-or-string its type), which only ever makes kubectl's client
//! check more lenient, never stricter than the server's own. Paths hold each kind's PATCH
//! operation with its group-version-kind and `fieldValidation` parameter, which is how a client
//! reading v2 learns that the server validates fields itself. Negotiation, entity tag and 406 as
//! kube-openapi's handler: JSON first, the tag the SHA-512 of the JSON bytes for both forms.

use http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::errors::{self, Body};
use crate::openapi::{answer, etag};
use crate::resources::ResourceTable;

/// The media type of the protobuf form as client-go's discovery client asks for it.
const PROTOBUF_ASKED: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/// The protobuf form's media type as answered: kube-openapi writes `.` for the `@`, which Go's
/// `mime.ParseMediaType` (run by client-go on every answer) refuses.
const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// The definition name of the body of a PATCH, as kube-apiserver names it.
const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";

/// `GET /openapi/v2`, in the form `accept` prefers.
pub fn document(
    table: &ResourceTable,
    accept: &str,
    if_none_match: Option<&str>,
) -> Response<Body> {
    let Some(form) = negotiate(accept) else {
        return errors::bytes_response(StatusCode::NOT_ACCEPTABLE, Vec::new(), "text/plain");
    };
    let swagger = swagger(table);
    let json_bytes = match serde_json::to_vec(&swagger) {
        Ok(bytes) => bytes,
        Err(e) => {
            return errors::failure(500, "InternalError", &format!("encoding /openapi/v2: {e}"))
        }
    };
    let tag = etag(&json_bytes);
    let (bytes, content_type) = match form {
        Form::Json => (json_bytes, "application/json"),
        Form::Protobuf => (wire::encode(&swagger), PROTOBUF),
    };
    let mut response = answer(bytes, &tag, if_none_match, false);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A form of the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Json,
    Protobuf,
}

/// The form the `Accept` header asks for: its clauses by falling quality, the first one JSON or
/// one of the protobuf types matches (wildcards match JSON first); `None` when none does.
fn negotiate(accept: &str) -> Option<Form> {
    let accept = if accept.trim().is_empty() {
        "*/*"
    } else {
        accept
    };
    let mut clauses: Vec<(f32, usize, String)> = accept
        .split(',')
        .enumerate()
        .filter_map(|(at, clause)| {
            let mut parts = clause.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (quality > 0.0 && !media.is_empty()).then_some((quality, at, media))
        })
        .collect();
    clauses.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let served = [
        ("application/json", Form::Json),
        (PROTOBUF, Form::Protobuf),
        (PROTOBUF_ASKED, Form::Protobuf),
    ];
    clauses.iter().find_map(|(_, _, media)| {
        let (kind, sub) = media.split_once('/')?;
        served.iter().find_map(|(offered, form)| {
            let (offered_kind, offered_sub) = offered.split_once('/')?;
            let kind_ok = kind == "*" || kind == offered_kind;
            let sub_ok = sub == "*" || sub == offered_sub;
            (kind_ok && sub_ok).then_some(*form)
        })
    })
}

/// The Swagger 2.0 document of every kind the table serves.
fn swagger(table: &ResourceTable) -> Value {
    let mut definitions = Map::new();
    definitions.insert(
        PATCH.into(),
        json!({"type": "object",
            "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."}),
    );
    let mut paths = Map::new();
    for (group, version) in table.group_versions() {
        for r in table.of(&group, &version) {
            if let Some(schema) = &r.schema {
                for (name, component) in &schema.components {
                    definitions.insert(name.clone(), v2_schema(component));
                }
            }
            if !r.verbs.contains(&"patch") {
                continue;
            }
            let prefix = if group.is_empty() {
                format!("/api/{version}")
            } else {
                format!("/apis/{group}/{version}")
            };
            let (path, mut parameters) = if r.ar.namespaced {
                (
                    format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.ar.plural),
                    vec![path_parameter(
                        "namespace",
                        "object name and auth scope, such as for teams and projects",
                    )],
                )
            } else {
                (format!("{prefix}/{}/{{name}}", r.ar.plural), Vec::new())
            };
            parameters.insert(
                0,
                path_parameter("name", &format!("name of the {}", r.ar.kind)),
            );
            let mut consumes = vec![
                "application/json-patch+json",
                "application/merge-patch+json",
            ];
            if r.merge_keys.is_some() {
                consumes.push("application/strategic-merge-patch+json");
            }
            consumes.push("application/apply-patch+yaml");
            let mut ok = json!({"description": "OK"});
            if let Some(schema) = &r.schema {
                ok["schema"] = json!({"$ref": format!("#/definitions/{}", schema.name)});
            }
            let patch = json!({
                "description": format!("partially update the specified {}", r.ar.kind),
                "consumes": consumes,
                "produces": ["application/json", "application/yaml"],
                "schemes": ["https"],
                "parameters": [
                    {"name": "body", "in": "body", "required": true,
                        "schema": {"$ref": format!("#/definitions/{PATCH}")}},
                    query_parameter("dryRun", "string", "When present, indicates that modifications should not be persisted."),
                    query_parameter("fieldManager", "string", "A name associated with the actor or entity that is making these changes."),
                    query_parameter("fieldValidation", "string", "How the server treats unknown or duplicate fields of the body: Ignore, Warn or Strict."),
                    query_parameter("force", "boolean", "Force is going to \"force\" Apply requests."),
                ],
                "responses": {"200": ok, "401": {"description": "Unauthorized"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind":
                    {"group": group, "version": version, "kind": r.ar.kind},
            });
            paths.insert(path, json!({"patch": patch, "parameters": parameters}));
        }
    }
    json!({"swagger": "2.0",
        "info": {"title": "Kubernetes", "version": crate::discovery::version().git_version},
        "paths": paths, "definitions": definitions})
}

fn path_parameter(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "type": "string",
        "uniqueItems": true, "description": description})
}

fn query_parameter(name: &str, kind: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "type": kind, "uniqueItems": true,
        "description": description})
}

/// An `/openapi/v3` schema as Swagger 2.0 says it (see the module notes).
pub fn v2_schema(v3: &Value) -> Value {
    let Value::Object(fields) = v3 else {
        return v3.clone();
    };
    let mut out = Map::new();
    for (key, value) in fields {
        match key.as_str() {
            "$ref" => {
                if let Some(target) = value.as_str() {
                    let name = target
                        .strip_prefix("#/components/schemas/")
                        .unwrap_or(target);
                    out.insert(key.clone(), json!(format!("#/definitions/{name}")));
                }
            }
            "allOf" => {
                if let Some([only]) = value.as_array().map(Vec::as_slice) {
                    if let Some(target) = only
                        .get("$ref")
                        .filter(|_| only.as_object().is_some_and(|o| o.len() == 1))
                    {
                        out.insert(
                            "$ref".into(),
                            v2_schema(&json!({"$ref": target}))["$ref"].clone(),
                        );
                    }
                }
            }
            "properties" => {
                let properties = value
                    .as_object()
                    .map(|p| p.iter().map(|(k, v)| (k.clone(), v2_schema(v))).collect())
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(properties));
            }
            "items" => {
                let items = match value {
                    Value::Array(several) => Value::Array(several.iter().map(v2_schema).collect()),
                    one => v2_schema(one),
                };
                out.insert(key.clone(), items);
            }
            "additionalProperties" => {
                let more = match value {
                    Value::Bool(b) => Value::Bool(*b),
                    schema => v2_schema(schema),
                };
                out.insert(key.clone(), more);
            }
            // OpenAPI 3 only; the apiextensions server drops them from v2 too.
            "oneOf" | "anyOf" | "not" | "nullable" | "writeOnly" | "deprecated"
            | "discriminator" => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    let flag = |name: &str| fields.get(name).and_then(Value::as_bool) == Some(true);
    if flag("nullable") {
        for gone in ["type", "items", "properties"] {
            out.remove(gone);
        }
    }
    if flag("x-kubernetes-preserve-unknown-fields") {
        out.remove("items");
        out.remove("properties");
    }
    if flag("x-kubernetes-int-or-string") {
        out.remove("type");
    }
    match out.get("type") {
        Some(Value::String(t)) if t == "array" && !out.contains_key("items") => {
            out.remove("type");
        }
        Some(Value::String(t)) if t == "null" => {
            out.remove("type");
        }
        Some(Value::String(_)) | None => {}
        Some(_) => {
            out.remove("type");
        }
    }
    if out.contains_key("$ref") {
        out.remove("type");
        out.remove("properties");
    }
    Value::Object(out)
}

/// The document as gnostic's `openapi.v2` protobuf messages, encoded.
mod wire {
    use prost::Message;
    use serde_json::{Map, Value};

    #[derive(Clone, PartialEq, Message)]
    struct Document {
        #[prost(string, tag = "1")]
        swagger: String,
        #[prost(message, optional, tag = "2")]
        info: Option<Info>,
        #[prost(message, optional, tag = "8")]
        paths: Option<Paths>,
        #[prost(message, optional, tag = "9")]
        definitions: Option<Definitions>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Info {
        #[prost(string, tag = "1")]
        title: String,
        #[prost(string, tag = "2")]
        version: String,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Definitions {
        #[prost(message, repeated, tag = "1")]
        additional_properties: Vec<NamedSchema>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct NamedSchema {
        #[prost(string, tag = "1")]
        name: String,
        #[prost(message, optional, tag = "2")]
        value: Option<Schema>,
    }

    /// A YAML (here: JSON, which YAML reads) value.
    #[derive(Clone, PartialEq, Message)]
    struct Any {
        #[prost(string, tag = "2")]
        yaml: String,
    }

    #[derive(Clone, PartialEq, Message)]
    struct NamedAny {
        #[prost(string, tag = "1")]
        name: String,
        #[prost(message, optional, tag = "2")]
        value: Option<Any>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Schema {
        #[prost(string, tag = "1")]
        reference: String,
        #[prost(string, tag = "2")]
        format: String,
        #[prost(string, tag = "3")]
        title: String,
        #[prost(string, tag = "4")]
        description: String,
        #[prost(message, optional, tag = "5")]
        default: Option<Any>,
        #[prost(double, tag = "6")]
        multiple_of: f64,
        #[prost(double, tag = "7")]
        maximum: f64,
        #[prost(bool, tag = "8")]
        exclusive_maximum: bool,
        #[prost(double, tag = "9")]
        minimum: f64,
        #[prost(bool, tag = "10")]
        exclusive_minimum: bool,
        #[prost(int64, tag = "11")]
        max_length: i64,
        #[prost(int64, tag = "12")]
        min_length: i64,
        #[prost(string, tag = "13")]
        pattern: String,
        #[prost(int64, tag = "14")]
        max_items: i64,
        #[prost(int64, tag = "15")]
        min_items: i64,
        #[prost(bool, tag = "16")]
        unique_items: bool,
        #[prost(int64, tag = "17")]
        max_properties: i64,
        #[prost(int64, tag = "18")]
        min_properties: i64,
        #[prost(string, repeated, tag = "19")]
        required: Vec<String>,
        #[prost(message, repeated, tag = "20")]
        enumeration: Vec<Any>,
        #[prost(message, optional, tag = "21")]
        additional_properties: Option<AdditionalPropertiesItem>,
        #[prost(message, optional, tag = "22")]
        r#type: Option<TypeItem>,
        #[prost(message, optional, tag = "23")]
        items: Option<ItemsItem>,
        #[prost(message, repeated, tag = "24")]
        all_of: Vec<Schema>,
        #[prost(message, optional, tag = "25")]
        properties: Option<Properties>,
        #[prost(bool, tag = "27")]
        read_only: bool,
        #[prost(message, optional, tag = "30")]
        example: Option<Any>,
        #[prost(message, repeated, tag = "31")]
        vendor_extension: Vec<NamedAny>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct AdditionalPropertiesItem {
        #[prost(oneof = "AdditionalProperties", tags = "1, 2")]
        oneof: Option<AdditionalProperties>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    enum AdditionalProperties {
        #[prost(message, boxed, tag = "1")]
        Schema(Box<Schema>),
        #[prost(bool, tag = "2")]
        Boolean(bool),
    }

    #[derive(Clone, PartialEq, Message)]
    struct TypeItem {
        #[prost(string, repeated, tag = "1")]
        value: Vec<String>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct ItemsItem {
        #[prost(message, repeated, tag = "1")]
        schema: Vec<Schema>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Properties {
        #[prost(message, repeated, tag = "1")]
        additional_properties: Vec<NamedSchema>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Paths {
        #[prost(message, repeated, tag = "2")]
        path: Vec<NamedPathItem>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct NamedPathItem {
        #[prost(string, tag = "1")]
        name: String,
        #[prost(message, optional, tag = "2")]
        value: Option<PathItem>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct PathItem {
        #[prost(message, optional, tag = "8")]
        patch: Option<Operation>,
        #[prost(message, repeated, tag = "9")]
        parameters: Vec<ParametersItem>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Operation {
        #[prost(string, tag = "3")]
        description: String,
        #[prost(string, repeated, tag = "6")]
        produces: Vec<String>,
        #[prost(string, repeated, tag = "7")]
        consumes: Vec<String>,
        #[prost(message, repeated, tag = "8")]
        parameters: Vec<ParametersItem>,
        #[prost(message, optional, tag = "9")]
        responses: Option<Responses>,
        #[prost(string, repeated, tag = "10")]
        schemes: Vec<String>,
        #[prost(message, repeated, tag = "13")]
        vendor_extension: Vec<NamedAny>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct ParametersItem {
        #[prost(message, optional, tag = "1")]
        parameter: Option<Parameter>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Parameter {
        #[prost(oneof = "ParameterKind", tags = "1, 2")]
        oneof: Option<ParameterKind>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    enum ParameterKind {
        #[prost(message, boxed, tag = "1")]
        Body(Box<BodyParameter>),
        #[prost(message, tag = "2")]
        NonBody(NonBodyParameter),
    }

    #[derive(Clone, PartialEq, Message)]
    struct BodyParameter {
        #[prost(string, tag = "1")]
        description: String,
        #[prost(string, tag = "2")]
        name: String,
        #[prost(string, tag = "3")]
        r#in: String,
        #[prost(bool, tag = "4")]
        required: bool,
        #[prost(message, optional, tag = "5")]
        schema: Option<Schema>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct NonBodyParameter {
        #[prost(oneof = "NonBodyKind", tags = "3, 4")]
        oneof: Option<NonBodyKind>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    enum NonBodyKind {
        #[prost(message, tag = "3")]
        Query(QueryParameter),
        #[prost(message, tag = "4")]
        Path(PathParameter),
    }

    /// gnostic's `QueryParameterSubSchema`, the fields served here.
    #[derive(Clone, PartialEq, Message)]
    struct QueryParameter {
        #[prost(bool, tag = "1")]
        required: bool,
        #[prost(string, tag = "2")]
        r#in: String,
        #[prost(string, tag = "3")]
        description: String,
        #[prost(string, tag = "4")]
        name: String,
        #[prost(string, tag = "6")]
        r#type: String,
        #[prost(bool, tag = "20")]
        unique_items: bool,
    }

    /// gnostic's `PathParameterSubSchema`, the fields served here.
    #[derive(Clone, PartialEq, Message)]
    struct PathParameter {
        #[prost(bool, tag = "1")]
        required: bool,
        #[prost(string, tag = "2")]
        r#in: String,
        #[prost(string, tag = "3")]
        description: String,
        #[prost(string, tag = "4")]
        name: String,
        #[prost(string, tag = "5")]
        r#type: String,
        #[prost(bool, tag = "19")]
        unique_items: bool,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Responses {
        #[prost(message, repeated, tag = "1")]
        response_code: Vec<NamedResponseValue>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct NamedResponseValue {
        #[prost(string, tag = "1")]
        name: String,
        #[prost(message, optional, tag = "2")]
        value: Option<ResponseValue>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct ResponseValue {
        #[prost(message, optional, tag = "1")]
        response: Option<Response>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Response {
        #[prost(string, tag = "1")]
        description: String,
        #[prost(message, optional, tag = "2")]
        schema: Option<SchemaItem>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct SchemaItem {
        #[prost(message, optional, tag = "1")]
        schema: Option<Schema>,
    }

    /// The Swagger document (as [`super::swagger`] builds it) in protobuf.
    pub fn encode(doc: &Value) -> Vec<u8> {
        let info = doc.get("info").map(|info| Info {
            title: text(info, "title"),
            version: text(info, "version"),
        });
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .map(|paths| Paths {
                path: paths
                    .iter()
                    .map(|(name, item)| NamedPathItem {
                        name: name.clone(),
                        value: Some(path_item(item)),
                    })
                    .collect(),
            });
        Document {
            swagger: text(doc, "swagger"),
            info,
            paths,
            definitions: Some(Definitions {
                additional_properties: named_schemas(doc.get("definitions")),
            }),
        }
        .encode_to_vec()
    }

    /// The string `key` of `value`, empty when absent.
    fn text(value: &Value, key: &str) -> String {
        value
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    /// The strings of the list `key` of `value`, empty when absent.
    fn strings(value: &Value, key: &str) -> Vec<String> {
        value
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The schemas of a JSON object, by name.
    fn named_schemas(map: Option<&Value>) -> Vec<NamedSchema> {
        map.and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(name, s)| NamedSchema {
                        name: name.clone(),
                        value: Some(schema(s)),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn any(value: &Value) -> Any {
        Any {
            yaml: value.to_string(),
        }
    }

    fn extensions(fields: &Map<String, Value>) -> Vec<NamedAny> {
        fields
            .iter()
            .filter(|(k, _)| k.starts_with("x-"))
            .map(|(k, v)| NamedAny {
                name: k.clone(),
                value: Some(any(v)),
            })
            .collect()
    }

    fn schema(value: &Value) -> Schema {
        let empty = Map::new();
        let fields = value.as_object().unwrap_or(&empty);
        let text = |key: &str| text(value, key);
        let number = |key: &str| fields.get(key).and_then(Value::as_f64).unwrap_or_default();
        let whole = |key: &str| fields.get(key).and_then(Value::as_i64).unwrap_or_default();
        let flag = |key: &str| fields.get(key).and_then(Value::as_bool).unwrap_or_default();
        let strings = |key: &str| strings(value, key);
        Schema {
            reference: text("$ref"),
            format: text("format"),
            title: text("title"),
            description: text("description"),
            default: fields.get("default").map(any),
            multiple_of: number("multipleOf"),
            maximum: number("maximum"),
            exclusive_maximum: flag("exclusiveMaximum"),
            minimum: number("minimum"),
            exclusive_minimum: flag("exclusiveMinimum"),
            max_length: whole("maxLength"),
            min_length: whole("minLength"),
            pattern: text("pattern"),
            max_items: whole("maxItems"),
            min_items: whole("minItems"),
            unique_items: flag("uniqueItems"),
            max_properties: whole("maxProperties"),
            min_properties: whole("minProperties"),
            required: strings("required"),
            enumeration: fields
                .get("enum")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(any).collect())
                .unwrap_or_default(),
            additional_properties: fields.get("additionalProperties").map(|more| {
                AdditionalPropertiesItem {
                    oneof: Some(match more {
                        Value::Bool(b) => AdditionalProperties::Boolean(*b),
                        s => AdditionalProperties::Schema(Box::new(schema(s))),
                    }),
                }
            }),
            r#type: fields
                .get("type")
                .and_then(Value::as_str)
                .map(|t| TypeItem {
                    value: vec![t.to_owned()],
                }),
            items: fields.get("items").map(|items| ItemsItem {
                schema: match items {
                    Value::Array(several) => several.iter().map(schema).collect(),
                    one => vec![schema(one)],
                },
            }),
            all_of: fields
                .get("allOf")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(schema).collect())
                .unwrap_or_default(),
            properties: fields
                .get("properties")
                .filter(|p| p.is_object())
                .map(|p| Properties {
                    additional_properties: named_schemas(Some(p)),
                }),
            read_only: flag("readOnly"),
            example: fields.get("example").map(any),
            vendor_extension: extensions(fields),
        }
    }

    fn parameter(value: &Value) -> ParametersItem {
        let text = |key: &str| text(value, key);
        let required = value
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or_default();
        let unique = value
            .get("uniqueItems")
            .and_then(Value::as_bool)
            .unwrap_or_default();
        let kind = match text("in").as_str() {
            "body" => ParameterKind::Body(Box::new(BodyParameter {
                description: text("description"),
                name: text("name"),
                r#in: text("in"),
                required,
                schema: value.get("schema").map(schema),
            })),
            "query" => ParameterKind::NonBody(NonBodyParameter {
                oneof: Some(NonBodyKind::Query(QueryParameter {
                    required,
                    r#in: text("in"),
                    description: text("description"),
                    name: text("name"),
                    r#type: text("type"),
                    unique_items: unique,
                })),
            }),
            _ => ParameterKind::NonBody(NonBodyParameter {
                oneof: Some(NonBodyKind::Path(PathParameter {
                    required,
                    r#in: text("in"),
                    description: text("description"),
                    name: text("name"),
                    r#type: text("type"),
                    unique_items: unique,
                })),
            }),
        };
        ParametersItem {
            parameter: Some(Parameter { oneof: Some(kind) }),
        }
    }

    fn parameters(value: Option<&Value>) -> Vec<ParametersItem> {
        value
            .and_then(Value::as_array)
            .map(|a| a.iter().map(parameter).collect())
            .unwrap_or_default()
    }

    fn path_item(item: &Value) -> PathItem {
        PathItem {
            patch: item.get("patch").map(|op| Operation {
                description: text(op, "description"),
                produces: strings(op, "produces"),
                consumes: strings(op, "consumes"),
                parameters: parameters(op.get("parameters")),
                responses: op
                    .get("responses")
                    .and_then(Value::as_object)
                    .map(|codes| Responses {
                        response_code: codes
                            .iter()
                            .map(|(code, response)| NamedResponseValue {
                                name: code.clone(),
                                value: Some(ResponseValue {
                                    response: Some(Response {
                                        description: response
                                            .get("description")
                                            .and_then(Value::as_str)
                                            .unwrap_or_default()
                                            .to_owned(),
                                        schema: response.get("schema").map(|s| SchemaItem {
                                            schema: Some(schema(s)),
                                        }),
                                    }),
                                }),
                            })
                            .collect(),
                    }),
                schemes: strings(op, "schemes"),
                vendor_extension: op.as_object().map(extensions).unwrap_or_default(),
            }),
            parameters: parameters(item.get("parameters")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_choose_the_form_as_kube_openapi_does() {
        assert_eq!(negotiate(""), Some(Form::Json));
        assert_eq!(negotiate("*/*"), Some(Form::Json));
        assert_eq!(negotiate("application/json, */*"), Some(Form::Json));
        assert_eq!(negotiate(PROTOBUF_ASKED), Some(Form::Protobuf));
        assert_eq!(negotiate(PROTOBUF), Some(Form::Protobuf));
        assert_eq!(
            negotiate("application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf"),
            Some(Form::Protobuf)
        );
        assert_eq!(negotiate("text/html"), None);
        assert_eq!(negotiate("application/json;q=0"), None);
    }

    #[test]
    fn v3_schemas_are_rewritten_as_swagger_2_says_them() {
        let v3 = json!({"type": "object", "properties": {
            "meta": {"allOf": [{"$ref": "#/components/schemas/a.B"}], "description": "d", "default": {}},
            "either": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
            "maybe": {"type": "object", "nullable": true, "properties": {"a": {"type": "string"}}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                "properties": {"a": {"type": "string"}}},
            "bare": {"type": "array"},
            "tags": {"type": "array", "items": {"$ref": "#/components/schemas/a.C"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}}}});
        assert_eq!(
            v2_schema(&v3),
            json!({"type": "object", "properties": {
                "meta": {"$ref": "#/definitions/a.B", "description": "d", "default": {}},
                "either": {"x-kubernetes-int-or-string": true},
                "maybe": {},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "bare": {},
                "tags": {"type": "array", "items": {"$ref": "#/definitions/a.C"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}}}})
        );
    }
}
