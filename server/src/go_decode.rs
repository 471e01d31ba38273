//! The words of kube-apiserver's Go JSON decoder for a body it refuses, found by walking the
//! body against the kind's OpenAPI schema.
//!
//! Design notes: kube-apiserver decodes a body into its Go type with (a fork of) Go's
//! `encoding/json`, so a value of the wrong type is answered `json: cannot unmarshal number into
//! Go struct field ConfigMap.data of type string` — the JSON value's kind, the innermost struct
//! being decoded, the path of struct fields from the root (map keys and list indexes are not
//! part of it), and the Go type expected. Our decoders (serde) know the type but not the path,
//! so the schema is walked instead: struct components are named `….v1.TagReference` (Go type
//! `v1.TagReference`), maps are `additionalProperties`, formats give the Go scalar (`int32`,
//! `[]uint8` for base64 bytes). A `date-time` is a `metav1.Time`, whose own decoder reads a
//! string, so any other value is reported against `string`. Values the schema keeps whole
//! (int-or-string, preserved fields) take anything. Go keeps the first error in the body's
//! order; keys are walked in the order the parsed body keeps them (sorted).
//! A body that is not JSON at all is answered as kube-apiserver's serializer answers it:
//! `couldn't get version/kind; json parse error: …` with Go's scanner wording, and the first
//! bytes of the body.

use serde_json::{Map, Value};

use crate::schemas::KindSchema;

/// Go's `UnmarshalTypeError` text for the first value of `body` (a whole object of the kind
/// `schema` describes, or the part of one outside `metadata`) whose JSON type its Go type
/// refuses; `None` when there is none, or the schema cannot name the Go type.
pub fn type_error(schema: &KindSchema, body: &Value) -> Option<String> {
    type_error_of(schema, body).map(|found| found.to_string())
}

fn type_error_of(schema: &KindSchema, body: &Value) -> Option<TypeError> {
    let walker = Walker { schema };
    let root = serde_json::json!({ "$ref": schema.name });
    let mut path = Vec::new();
    walker.walk(&root, struct_name(&schema.name), body, &mut path, None)
}

/// Rewrites the nulls of `body` (a whole object of the kind `schema` describes) as Go's decoder
/// leaves them: a struct field that is null is left unset (dropped here), and a null map value
/// or list item becomes the zero value of its Go type (`""` for a string or bytes, `0`, `false`,
/// `{}` for a struct), so `data: {a: null}` in a ConfigMap is stored as `a: ""`, as
/// kube-apiserver stores it. Values of no known Go type keep their nulls.
pub fn settle_nulls(schema: &KindSchema, body: &mut Value) {
    let walker = Walker { schema };
    let root = serde_json::json!({ "$ref": schema.name });
    walker.settle(&root, body);
}

/// Settles the nulls of the values the `add` and `replace` operations of a JSON patch of an
/// object of the kind `schema` describes write (see [`settle_nulls`]), each read at its
/// operation's `path`: the patched object then
/// holds what Go's decoder would make of it. A null written as a struct field stays null.
pub fn settle_patch_nulls(schema: &KindSchema, ops: &mut [Value]) {
    let walker = Walker { schema };
    let root = serde_json::json!({ "$ref": schema.name });
    for op in ops {
        let Some(fields) = op.as_object_mut() else {
            continue;
        };
        // What `test` compares is not written.
        if !matches!(
            fields.get("op").and_then(Value::as_str),
            Some("add" | "replace")
        ) {
            continue;
        }
        let Some(path) = fields
            .get("path")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            continue;
        };
        let Some(value) = fields.get_mut("value") else {
            continue;
        };
        walker.settle_at(&root, &path, value);
    }
}

/// kube-apiserver's 400 for a body of a compiled-in kind (`group`, `kind`) that its Go type
/// refuses: Go's words when the schema finds the value, else `fallback`'s.
pub fn cannot_handle(
    group: &str,
    kind: &str,
    body: &Value,
    fallback: &dyn std::fmt::Display,
) -> apistore::Error {
    let why = crate::schemas::of_built_in(group, kind)
        .and_then(|schema| type_error(schema, body))
        .unwrap_or_else(|| fallback.to_string());
    apistore::Error::bad_request(format!(
        "{kind} in version \"v1\" cannot be handled as a {kind}: {why}"
    ))
}

/// One refused value, as Go's `UnmarshalTypeError` has it.
struct TypeError {
    value: String,
    strukt: String,
    field: String,
    go_type: String,
    /// The value refused.
    found: Value,
    /// What it was to be decoded into.
    target: Target,
}

/// What a refused value was to be decoded into, for the unstructured converter's words.
#[derive(Clone, Copy)]
enum Target {
    Scalar(ScalarType),
    Map,
    Slice,
    Struct,
}

impl TypeError {
    /// The words of apimachinery's unstructured converter (which a strategic merge patch's
    /// result goes through instead of the JSON decoder) for this value and type.
    fn converter_words(&self) -> String {
        let source = match &self.found {
            Value::String(_) => "string",
            Value::Number(n) if n.is_f64() => "float64",
            Value::Number(_) => "int64",
            Value::Bool(_) => "bool",
            Value::Array(_) => "slice",
            Value::Object(_) => "map",
            Value::Null => "ptr",
        };
        match self.target {
            Target::Map => format!("cannot restore map from {source}"),
            Target::Slice | Target::Scalar(ScalarType::Bytes) => {
                format!("cannot restore slice from {source}")
            }
            Target::Struct => format!("cannot restore struct from: {source}"),
            Target::Scalar(ScalarType::String) if source == "int64" => {
                format!("cannot convert int64 to {}", self.go_type)
            }
            Target::Scalar(ScalarType::Int(kind, _, _)) if source == "float64" => {
                format!("cannot convert float64 to {}", kind)
            }
            Target::Scalar(ScalarType::String | ScalarType::Time) => {
                "unrecognized type: string".into()
            }
            Target::Scalar(ScalarType::Bool) => "unrecognized type: bool".into(),
            Target::Scalar(ScalarType::Int(kind, _, _)) => format!("unrecognized type: {kind}"),
            Target::Scalar(ScalarType::Float) => "unrecognized type: float64".into(),
        }
    }
}

/// kube-apiserver's 422 for a patch whose result its Go type refuses: the patch's one cause,
/// field `patch`, quotes the value (`shown`) and says why.
pub fn patch_invalid(shown: &str, why: &str) -> apistore::Error {
    apistore::Error::invalid(
        "",
        "",
        "",
        vec![apistore::StatusCause::new(
            "FieldValueInvalid",
            "patch",
            format!("Invalid value: {}: {why}", Value::String(shown.to_string())),
        )],
    )
}

/// The refusal of a merge or JSON patch of a compiled-in kind whose result `patched` has a
/// value of the wrong type: kube-apiserver decodes the patched JSON and answers 422 with it.
pub fn merged_patch_refusal(group: &str, kind: &str, patched: &Value) -> Option<apistore::Error> {
    let schema = crate::schemas::of_built_in(group, kind)?;
    let found = type_error_of(schema, patched)?;
    Some(patch_invalid(&patched.to_string(), &found.to_string()))
}

/// The refusal of a strategic merge patch of a compiled-in kind that writes a value of the
/// wrong type: kube-apiserver converts the merged map and answers 422 quoting the patch as Go
/// prints a map, with the converter's words.
pub fn strategic_patch_refusal(group: &str, kind: &str, patch: &Value) -> Option<apistore::Error> {
    let schema = crate::schemas::of_built_in(group, kind)?;
    let found = type_error_of(schema, patch)?;
    Some(patch_invalid(&go_print(patch), &found.converter_words()))
}

/// A JSON value as Go's `%+v` prints the `map[string]interface{}` it decodes into.
fn go_print(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_print).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_print(v)))
                .collect();
            format!("map[{}]", fields.join(" "))
        }
    }
}

impl std::fmt::Display for TypeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(
                f,
                "json: cannot unmarshal {} into Go value of type {}",
                self.value, self.go_type
            )
        } else {
            write!(
                f,
                "json: cannot unmarshal {} into Go struct field {}.{} of type {}",
                self.value, self.strukt, self.field, self.go_type
            )
        }
    }
}

struct Walker<'s> {
    schema: &'s KindSchema,
}

/// What a schema node decodes into.
enum GoShape<'n> {
    Struct(&'n str, &'n Map<String, Value>),
    Map(&'n Value),
    Slice(&'n Value),
    Scalar(ScalarType),
    Anything,
}

#[derive(Clone, Copy)]
enum ScalarType {
    String,
    Bytes,
    Time,
    Bool,
    Int(&'static str, i128, i128),
    Float,
}

impl Walker<'_> {
    /// The component a node refers to (`$ref`, or a lone `allOf: [$ref]`), if any.
    fn reference(node: &Value) -> Option<&str> {
        let direct = node.get("$ref").and_then(Value::as_str);
        let wrapped = || {
            node.get("allOf")
                .and_then(Value::as_array)
                .and_then(|all| all.first())
                .and_then(|first| first.get("$ref"))
                .and_then(Value::as_str)
        };
        direct
            .or_else(wrapped)
            .map(|r| r.trim_start_matches("#/components/schemas/"))
    }

    fn shape<'n>(&'n self, node: &'n Value) -> Option<GoShape<'n>> {
        if let Some(name) = Self::reference(node) {
            let (stored_name, target) = self.schema.components.iter().find(|(n, _)| n == name)?;
            return match target.as_object() {
                Some(fields) if fields.get("properties").is_some_and(Value::is_object) => {
                    Some(GoShape::Struct(stored_name, fields))
                }
                _ => self.shape(target),
            };
        }
        let flag = |key: &str| node.get(key).and_then(Value::as_bool) == Some(true);
        if flag("x-kubernetes-int-or-string") || flag("x-kubernetes-preserve-unknown-fields") {
            return Some(GoShape::Anything);
        }
        let format = node.get("format").and_then(Value::as_str).unwrap_or("");
        match node.get("type").and_then(Value::as_str) {
            Some("string") => Some(GoShape::Scalar(match format {
                "byte" => ScalarType::Bytes,
                "date-time" => ScalarType::Time,
                _ => ScalarType::String,
            })),
            Some("boolean") => Some(GoShape::Scalar(ScalarType::Bool)),
            Some("integer") => Some(GoShape::Scalar(match format {
                "int32" => ScalarType::Int("int32", i32::MIN.into(), i32::MAX.into()),
                _ => ScalarType::Int("int64", i64::MIN.into(), i64::MAX.into()),
            })),
            Some("number") => Some(GoShape::Scalar(ScalarType::Float)),
            Some("array") => node.get("items").map(GoShape::Slice),
            Some("object") | None => {
                match (node.get("properties"), node.get("additionalProperties")) {
                    // A struct not named by a component: its Go name is unknown.
                    (Some(Value::Object(_)), _) => None,
                    (_, Some(item @ Value::Object(_))) => Some(GoShape::Map(item)),
                    _ => Some(GoShape::Anything),
                }
            }
            Some(_) => Some(GoShape::Anything),
        }
    }

    /// The Go type a node decodes into, as `reflect.Type.String()` writes it.
    fn go_type<'n>(&'n self, node: &'n Value) -> Option<String> {
        Some(match self.shape(node)? {
            GoShape::Struct(name, _) => format!("{}.{}", package(name), struct_name(name)),
            GoShape::Map(item) => format!("map[string]{}", self.go_type(item)?),
            GoShape::Slice(item) => format!("[]{}", self.go_type(item)?),
            GoShape::Scalar(ScalarType::String | ScalarType::Time) => "string".into(),
            GoShape::Scalar(ScalarType::Bytes) => "[]uint8".into(),
            GoShape::Scalar(ScalarType::Bool) => "bool".into(),
            GoShape::Scalar(ScalarType::Int(name, _, _)) => name.into(),
            GoShape::Scalar(ScalarType::Float) => "float64".into(),
            GoShape::Anything => "interface {}".into(),
        })
    }

    /// The first refused value under `value`, decoded as `node` inside struct `strukt` at the
    /// struct-field path `path`; `named` is the Go name of the field's string type when it is
    /// a named one (`v1.SecretType`). `None` both when all is well and when the Go type of a
    /// refused value cannot be named (the caller then words the error its own way).
    fn walk<'n>(
        &'n self,
        node: &'n Value,
        strukt: &str,
        value: &Value,
        path: &mut Vec<String>,
        named: Option<&str>,
    ) -> Option<TypeError> {
        if value.is_null() {
            return None;
        }
        let shape = self.shape(node)?;
        let target = match &shape {
            GoShape::Scalar(scalar) => Target::Scalar(*scalar),
            GoShape::Map(_) => Target::Map,
            GoShape::Slice(_) => Target::Slice,
            GoShape::Struct(..) | GoShape::Anything => Target::Struct,
        };
        let refused = |go_type: String, value_kind: String| TypeError {
            value: value_kind,
            strukt: strukt.to_string(),
            field: path.join("."),
            go_type,
            found: value.clone(),
            target,
        };
        let go_type = || match (named, self.shape(node)?) {
            (Some(name), GoShape::Scalar(_)) => Some(name.to_string()),
            (Some(name), GoShape::Slice(_)) => Some(format!("[]{name}")),
            _ => self.go_type(node),
        };
        match (shape, value) {
            (GoShape::Anything, _) => None,
            (GoShape::Struct(name, properties), Value::Object(fields)) => {
                let inner = struct_name(name);
                for (key, child) in fields {
                    let Some(child_node) = properties.get("properties").and_then(|p| p.get(key))
                    else {
                        continue;
                    };
                    path.push(key.clone());
                    let found = self.walk(child_node, inner, child, path, named_type(inner, key));
                    path.pop();
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            (GoShape::Map(item), Value::Object(entries)) => entries
                .values()
                .find_map(|child| self.walk(item, strukt, child, path, named)),
            (GoShape::Slice(item), Value::Array(items)) => items
                .iter()
                .find_map(|child| self.walk(item, strukt, child, path, named)),
            (GoShape::Scalar(scalar), _) => match (scalar, value) {
                (ScalarType::String | ScalarType::Bytes | ScalarType::Time, Value::String(_))
                | (ScalarType::Bool, Value::Bool(_))
                | (ScalarType::Float, Value::Number(_)) => None,
                (ScalarType::Int(_, low, high), Value::Number(n)) => {
                    let whole = n
                        .as_i64()
                        .map(i128::from)
                        .or_else(|| n.as_u64().map(i128::from));
                    match whole {
                        Some(w) if (low..=high).contains(&w) => None,
                        _ => Some(refused(go_type()?, format!("number {n}"))),
                    }
                }
                _ => Some(refused(go_type()?, json_kind(value).into())),
            },
            (_, _) => Some(refused(go_type()?, json_kind(value).into())),
        }
    }
}

impl Walker<'_> {
    /// Settles the nulls under `value`, decoded as `node` (see [`settle_nulls`]).
    fn settle(&self, node: &Value, value: &mut Value) {
        match (self.shape(node), value) {
            (Some(GoShape::Struct(_, properties)), Value::Object(fields)) => {
                fields.retain(|_, field| !field.is_null());
                for (key, field) in fields.iter_mut() {
                    if let Some(field_node) = properties.get("properties").and_then(|p| p.get(key))
                    {
                        self.settle(field_node, field);
                    }
                }
            }
            (Some(GoShape::Map(item)), Value::Object(entries)) => {
                for entry in entries.values_mut() {
                    self.settle_element(item, entry);
                }
            }
            (Some(GoShape::Slice(item)), Value::Array(items)) => {
                for element in items {
                    self.settle_element(item, element);
                }
            }
            _ => {}
        }
    }

    /// Settles `value`, to be written at the JSON pointer `path` below `node`: the node is
    /// found by walking the pointer's segments through structs, maps and lists.
    fn settle_at(&self, node: &Value, path: &str, value: &mut Value) {
        let Some(rest) = path.strip_prefix('/') else {
            return self.settle(node, value);
        };
        let (segment, deeper) = match rest.split_once('/') {
            Some((segment, deeper)) => (segment, Some(deeper)),
            None => (rest, None),
        };
        let child = match self.shape(node) {
            Some(GoShape::Struct(_, properties)) => {
                let key = segment.replace("~1", "/").replace("~0", "~");
                match properties.get("properties").and_then(|p| p.get(&key)) {
                    Some(child) => child,
                    None => return,
                }
            }
            Some(GoShape::Map(item) | GoShape::Slice(item)) => item,
            _ => return,
        };
        match deeper {
            Some(deeper) => self.settle_at(child, &format!("/{deeper}"), value),
            None if matches!(self.shape(node), Some(GoShape::Struct(..))) => {
                self.settle(child, value)
            }
            None => self.settle_element(child, value),
        }
    }

    /// A map value or list item: a null is the zero value of its Go type, where it has one.
    fn settle_element(&self, node: &Value, value: &mut Value) {
        if !value.is_null() {
            return self.settle(node, value);
        }
        let zero = match self.shape(node) {
            Some(GoShape::Struct(..)) => Value::Object(Map::new()),
            Some(GoShape::Scalar(ScalarType::String | ScalarType::Bytes)) => Value::from(""),
            Some(GoShape::Scalar(ScalarType::Bool)) => Value::from(false),
            Some(GoShape::Scalar(ScalarType::Int(..) | ScalarType::Float)) => Value::from(0),
            _ => return,
        };
        *value = zero;
    }
}

/// The Go names of the named string types of the served kinds' fields, by struct and field:
/// Go's decoder names them, not `string`, when it refuses a value.
fn named_type(strukt: &str, field: &str) -> Option<&'static str> {
    Some(match (strukt, field) {
        ("ObjectMeta" | "OwnerReference" | "ObjectReference", "uid") => "types.UID",
        ("ManagedFieldsEntry", "operation") => "v1.ManagedFieldsOperationType",
        ("Secret", "type") => "v1.SecretType",
        ("NamespaceSpec", "finalizers") => "v1.FinalizerName",
        ("NamespaceStatus", "phase") => "v1.NamespacePhase",
        ("NamespaceCondition", "type") => "v1.NamespaceConditionType",
        ("NamespaceCondition" | "TagEventCondition", "status") => "v1.ConditionStatus",
        ("TagReferencePolicy", "type") => "v1.TagReferencePolicyType",
        ("TagImportPolicy", "importMode") => "v1.ImportModeType",
        ("TagEventCondition", "type") => "v1.TagEventConditionType",
        _ => return None,
    })
}

/// The name Go's decoder gives a JSON value's kind.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `ConfigMap` of `io.k8s.api.core.v1.ConfigMap`.
fn struct_name(component: &str) -> &str {
    component.rsplit('.').next().unwrap_or(component)
}

/// `v1` of `io.k8s.api.core.v1.ConfigMap`: the Go package the type lives in.
fn package(component: &str) -> &str {
    component.rsplit('.').nth(1).unwrap_or("")
}

/// kube-apiserver's 400 message for a body its serializer cannot read the kind of (not JSON,
/// or not a JSON object), for a resource of kind `kind`; `parse_error` words what the scanner
/// does not (a body Go would read but ours refuses, such as one nested too deep).
pub fn unrecognized(kind: &str, body: &[u8], parse_error: &dyn std::fmt::Display) -> String {
    let why = match syntax_error(body) {
        Some(syntax) => syntax,
        None => match serde_json::from_slice::<Value>(body) {
            Ok(value) if !value.is_object() => format!(
                "json: cannot unmarshal {} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}",
                json_kind(&value)
            ),
            _ => parse_error.to_string(),
        },
    };
    format!(
        "the object provided is unrecognized (must be of type {kind}): couldn't get version/kind; json parse error: {why} ({})",
        summary(body)
    )
}

/// The first bytes of a body as kube-apiserver quotes them: as text when it looks like JSON,
/// else in hex; ` ...` when cut at 30 bytes.
fn summary(body: &[u8]) -> String {
    const MAX: usize = 30;
    if body.is_empty() {
        return "<empty>".into();
    }
    let cut = &body[..body.len().min(MAX)];
    let more = if body.len() > MAX { " ..." } else { "" };
    if body[0] == b'{' {
        format!("{}{more}", String::from_utf8_lossy(cut))
    } else {
        let hex: String = cut.iter().map(|b| format!("{b:02x}")).collect();
        format!("{hex}{more}")
    }
}

/// Go's `encoding/json` scanner's words for the first syntax error of `body`; `None` when it
/// has none.
pub fn syntax_error(body: &[u8]) -> Option<String> {
    let mut scanner = Scanner {
        bytes: body,
        at: 0,
        depth: 0,
    };
    match scanner.document() {
        Err(Stop::Syntax(message)) => Some(message),
        Err(Stop::Deep) | Ok(()) => None,
    }
}

/// A recursive reader of JSON that stops at the first byte Go's scanner would refuse, with its
/// message (`invalid character 'x' looking for beginning of value`).
struct Scanner<'b> {
    bytes: &'b [u8],
    at: usize,
    /// Objects and arrays open around the current byte.
    depth: usize,
}

/// How deep the scanner follows nesting before it stops looking (the body is then worded by
/// the caller's decoder, which refuses such depth too); keeps the recursion off the stack's end.
const MAX_DEPTH: usize = 256;

/// Why scanning stopped short of the end.
enum Stop {
    /// A syntax error, in Go's words.
    Syntax(String),
    /// Nesting deeper than [`MAX_DEPTH`].
    Deep,
}

type Scan = Result<(), Stop>;

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.at += 1;
        }
    }

    fn invalid(&self, context: &str) -> Stop {
        Stop::Syntax(match self.peek() {
            None => "unexpected end of JSON input".into(),
            Some(c) => format!("invalid character {} {context}", quote_char(c)),
        })
    }

    fn nested(&mut self, scan: fn(&mut Self) -> Scan) -> Scan {
        self.depth += 1;
        let scanned = scan(self);
        self.depth -= 1;
        scanned
    }

    fn document(&mut self) -> Scan {
        self.skip_space();
        self.value()?;
        self.skip_space();
        if self.peek().is_some() {
            return Err(self.invalid("after top-level value"));
        }
        Ok(())
    }

    fn value(&mut self) -> Scan {
        match self.peek() {
            Some(b'{' | b'[') if self.depth >= MAX_DEPTH => Err(Stop::Deep),
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => self.string("in string literal"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => Err(self.invalid("looking for beginning of value")),
        }
    }

    fn object(&mut self) -> Scan {
        self.at += 1;
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.invalid("looking for beginning of object key string"));
            }
            self.string("in string literal")?;
            self.skip_space();
            if self.peek() != Some(b':') {
                return Err(self.invalid("after object key"));
            }
            self.at += 1;
            self.skip_space();
            self.value()?;
            self.skip_space();
            match self.peek() {
                Some(b',') => {
                    self.at += 1;
                    self.skip_space();
                }
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.invalid("after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Scan {
        self.at += 1;
        self.skip_space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.value()?;
            self.skip_space();
            match self.peek() {
                Some(b',') => {
                    self.at += 1;
                    self.skip_space();
                }
                Some(b']') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.invalid("after array element")),
            }
        }
    }

    fn string(&mut self, context: &str) -> Scan {
        self.at += 1;
        loop {
            match self.peek() {
                None => return Err(Stop::Syntax("unexpected end of JSON input".into())),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.at += 1
                        }
                        Some(b'u') => {
                            self.at += 1;
                            for _ in 0..4 {
                                match self.peek() {
                                    Some(c) if c.is_ascii_hexdigit() => self.at += 1,
                                    _ => {
                                        return Err(
                                            self.invalid("in \\u hexadecimal character escape")
                                        )
                                    }
                                }
                            }
                        }
                        _ => return Err(self.invalid("in string escape code")),
                    }
                }
                Some(c) if c < 0x20 => return Err(self.invalid(context)),
                Some(_) => self.at += 1,
            }
        }
    }

    fn number(&mut self) -> Scan {
        if self.peek() == Some(b'-') {
            self.at += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.invalid("in numeric literal"));
            }
        }
        if self.peek() == Some(b'0') {
            self.at += 1;
        } else {
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.at += 1;
            }
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.invalid("after decimal point in numeric literal"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.at += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.invalid("in exponent of numeric literal"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.at += 1;
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Scan {
        self.at += 1;
        for expected in &word[1..] {
            match self.peek() {
                Some(c) if c == *expected => self.at += 1,
                _ => {
                    return Err(self.invalid(&format!(
                        "in literal {} (expecting {})",
                        String::from_utf8_lossy(word),
                        quote_char(*expected)
                    )))
                }
            }
        }
        Ok(())
    }
}

/// A byte as Go's scanner quotes it in an error: `'x'`, `'"'`, or an escape.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        c if c.is_ascii_graphic() || c == b' ' => format!("'{}'", c as char),
        b'\n' => "'\\n'".into(),
        b'\t' => "'\\t'".into(),
        b'\r' => "'\\r'".into(),
        c => format!("'\\x{c:02x}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_json_patchs_nulls_are_settled_where_each_operation_writes() {
        let schema = crate::schemas::config_map();
        let mut ops = vec![
            json!({"op": "add", "path": "/metadata/annotations/example.com~1x", "value": null}),
            json!({"op": "add", "path": "/metadata/finalizers/-", "value": null}),
            json!({"op": "add", "path": "/immutable", "value": null}),
            json!({"op": "add", "path": "/metadata/labels", "value": {"a": null}}),
            json!({"op": "test", "path": "/data/a", "value": null}),
            json!({"op": "add", "path": "/nowhere/a", "value": null}),
        ];
        settle_patch_nulls(&schema, &mut ops);
        let values: Vec<&Value> = ops.iter().map(|op| &op["value"]).collect();
        assert_eq!(
            values,
            [
                &json!(""),
                &json!(""),
                &Value::Null,
                &json!({"a": ""}),
                &Value::Null,
                &Value::Null
            ]
        );
    }

    #[test]
    fn type_errors_name_the_innermost_struct_the_field_path_and_the_go_type() {
        let config_map = crate::schemas::config_map();
        let cases = [
            (
                json!({"data": {"a": 1}}),
                "json: cannot unmarshal number into Go struct field ConfigMap.data of type string",
            ),
            (
                json!({"data": "x"}),
                "json: cannot unmarshal string into Go struct field ConfigMap.data of type map[string]string",
            ),
            (
                json!({"immutable": "yes"}),
                "json: cannot unmarshal string into Go struct field ConfigMap.immutable of type bool",
            ),
            (
                json!({"metadata": {"labels": {"a": true}}}),
                "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string",
            ),
            (
                json!({"metadata": "x"}),
                "json: cannot unmarshal string into Go struct field ConfigMap.metadata of type v1.ObjectMeta",
            ),
            (
                json!({"metadata": {"finalizers": "a"}}),
                "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.finalizers of type []string",
            ),
            (
                json!({"metadata": {"creationTimestamp": 5}}),
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string",
            ),
            (
                json!({"metadata": {"generation": 1.5}}),
                "json: cannot unmarshal number 1.5 into Go struct field ObjectMeta.metadata.generation of type int64",
            ),
            (
                json!({"metadata": {"ownerReferences": [{"name": 3}]}}),
                "json: cannot unmarshal number into Go struct field OwnerReference.metadata.ownerReferences.name of type string",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                type_error(&config_map, &body).as_deref(),
                Some(expected),
                "{body}"
            );
        }
        assert_eq!(
            type_error(
                &config_map,
                &json!({"data": {"a": "b"}, "metadata": {"labels": null}})
            ),
            None
        );
        let stream = crate::schemas::image_stream();
        assert_eq!(
            type_error(&stream, &json!({"spec": {"tags": [{"name": 1}]}})).as_deref(),
            Some("json: cannot unmarshal number into Go struct field TagReference.spec.tags.name of type string")
        );
        let secret = crate::schemas::secret();
        assert_eq!(
            type_error(&secret, &json!({"data": {"k": 1}})).as_deref(),
            Some("json: cannot unmarshal number into Go struct field Secret.data of type []uint8")
        );
        assert_eq!(
            type_error(&secret, &json!({"type": 1})).as_deref(),
            Some("json: cannot unmarshal number into Go struct field Secret.type of type v1.SecretType")
        );
        let namespace = crate::schemas::namespace();
        assert_eq!(
            type_error(&namespace, &json!({"spec": {"finalizers": "x"}})).as_deref(),
            Some("json: cannot unmarshal string into Go struct field NamespaceSpec.spec.finalizers of type []v1.FinalizerName")
        );
        assert_eq!(
            type_error(&namespace, &json!({"spec": {"finalizers": [1]}})).as_deref(),
            Some("json: cannot unmarshal number into Go struct field NamespaceSpec.spec.finalizers of type v1.FinalizerName")
        );
    }

    #[test]
    fn strategic_patches_are_refused_in_the_unstructured_converters_words() {
        let refusal = |kind: &str, patch: Value| {
            let e = strategic_patch_refusal("", kind, &patch).expect("refused");
            let causes = e.status().details.expect("details").causes;
            causes.expect("causes")[0]
                .message
                .clone()
                .unwrap_or_default()
        };
        assert_eq!(
            refusal("ConfigMap", json!({"data": {"a": 1, "b": "x"}})),
            "Invalid value: \"map[data:map[a:1 b:x]]\": cannot convert int64 to string"
        );
        assert_eq!(
            refusal("ConfigMap", json!({"data": {"a": true}})),
            "Invalid value: \"map[data:map[a:true]]\": unrecognized type: string"
        );
        assert_eq!(
            refusal("ConfigMap", json!({"data": ["a"]})),
            "Invalid value: \"map[data:[a]]\": cannot restore map from slice"
        );
        assert_eq!(
            refusal("ConfigMap", json!({"immutable": 1})),
            "Invalid value: \"map[immutable:1]\": unrecognized type: bool"
        );
        assert_eq!(
            refusal("ConfigMap", json!({"metadata": "x"})),
            "Invalid value: \"map[metadata:x]\": cannot restore struct from: string"
        );
        assert_eq!(
            refusal("Secret", json!({"type": 5})),
            "Invalid value: \"map[type:5]\": cannot convert int64 to v1.SecretType"
        );
        assert!(
            strategic_patch_refusal("", "ConfigMap", &json!({"data": {"a": "1", "b": null}}))
                .is_none()
        );
        assert!(strategic_patch_refusal("example.com", "Widget", &json!({"data": 1})).is_none());
    }

    #[test]
    fn nesting_too_deep_to_scan_is_left_to_the_callers_words() {
        let deep = "[".repeat(100_000);
        assert!(unrecognized("ConfigMap", deep.as_bytes(), &"too deep")
            .contains("json parse error: too deep ("));
    }

    #[test]
    fn bodies_that_are_not_json_get_gos_scanner_words_and_a_summary() {
        for (body, expected) in [
            ("{bad", "invalid character 'b' looking for beginning of object key string ({bad)"),
            ("{\"a\":", "unexpected end of JSON input ({\"a\":)"),
            ("{\"a\" 1}", "invalid character '1' after object key ({\"a\" 1})"),
            ("{\"a\":1 \"b\"}", "invalid character '\"' after object key:value pair ({\"a\":1 \"b\"})"),
            ("{} x", "invalid character 'x' after top-level value ({} x)"),
            ("[1,]", "invalid character ']' looking for beginning of value (5b312c5d)"),
            ("{\"a\":tru}", "invalid character '}' in literal true (expecting 'e') ({\"a\":tru})"),
            ("", "unexpected end of JSON input (<empty>)"),
            (
                "[1]",
                "json: cannot unmarshal array into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" } (5b315d)",
            ),
        ] {
            assert_eq!(
                unrecognized("ConfigMap", body.as_bytes(), &"unused"),
                format!("the object provided is unrecognized (must be of type ConfigMap): couldn't get version/kind; json parse error: {expected}"),
                "{body}"
            );
        }
        let long = format!("{{\"metadata\": {{\"name\": \"{}\"", "x".repeat(40));
        assert!(unrecognized("ConfigMap", long.as_bytes(), &"unused")
            .ends_with("({\"metadata\": {\"name\": \"xxxxxxx ...)"));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(Value::from),
                "[a-z0-9 \\\\\"\\n\\u{e9}]{0,8}".prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::btree_map("[a-zA-Z]{1,6}", inner, 0..6)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            /// Go's scanner finds nothing wrong in JSON that serde writes, compact or pretty.
            #[test]
            fn json_that_serde_writes_has_no_syntax_error(value in json_value()) {
                prop_assert_eq!(syntax_error(value.to_string().as_bytes()), None);
                let pretty = serde_json::to_string_pretty(&value).unwrap();
                prop_assert_eq!(syntax_error(pretty.as_bytes()), None);
            }

            /// Any bytes are worded without a panic, and bytes serde reads have no syntax error.
            #[test]
            fn any_bytes_are_worded_without_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
                let message = unrecognized("ConfigMap", &bytes, &"serde's words");
                prop_assert!(message.starts_with("the object provided is unrecognized"));
                if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() {
                    prop_assert_eq!(syntax_error(&bytes), None);
                }
            }

            /// The walk of any body against a kind's schema ends, and names a Go type when it
            /// finds one.
            #[test]
            fn any_body_is_walked_against_a_schema(value in json_value()) {
                for schema in [crate::schemas::config_map(), crate::schemas::image_stream()] {
                    if let Some(found) = type_error(&schema, &value) {
                        prop_assert!(found.starts_with("json: cannot unmarshal "));
                    }
                }
            }

            /// Settling the nulls of any body ends, changes nothing in a body without nulls,
            /// and finds no new type error: a zero value has the Go type's own JSON kind.
            #[test]
            fn settling_nulls_changes_only_nulls_and_adds_no_type_error(value in json_value()) {
                for schema in [crate::schemas::config_map(), crate::schemas::image_stream()] {
                    let mut settled = value.clone();
                    settle_nulls(&schema, &mut settled);
                    if !value.to_string().contains("null") {
                        prop_assert_eq!(&settled, &value);
                    }
                    if type_error(&schema, &value).is_none() {
                        prop_assert_eq!(type_error(&schema, &settled), None);
                    }
                }
            }
        }
    }
}
