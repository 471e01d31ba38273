//! The form of a resource request's answer, chosen from its `Accept` header as kube-apiserver's
//! content negotiation chooses it (`negotiation.NegotiateOutputMediaType` with the restrictions
//! of a resource's request scope).
//!
//! # Design notes
//!
//! * **Order.** The header's clauses are ordered as goautoneg orders them: by `q`, then a
//!   concrete type before a wildcard. Its comparison is not a strict order, so the order is
//!   the one Go's insertion sort (what `sort.Sort` runs for the short slices headers make)
//!   leaves, ties in the header's order.
//! * **Choice.** Each clause is tried against JSON, YAML and protobuf in that order; the first
//!   whose parameters the endpoint allows wins, and none is a 406. So a clause asking for a
//!   conversion the server does not make is skipped for the next one, as kube-apiserver skips
//!   it (kubernetes issue 50519).
//! * **Parameters.** `as`, `g` and `v` ask for a conversion: `Table` (to JSON or YAML) and
//!   `PartialObjectMetadata` or `PartialObjectMetadataList`, each of `meta.k8s.io/v1` or
//!   `v1beta1`; any other names one the server does not make. `stream` must be `watch` on a
//!   type with a stream form (not YAML), `sv` the meta version `v1`; `pretty=1` asks for an
//!   indented answer. Other parameters are ignored.
//! * **protobuf** is negotiated as kube-apiserver negotiates it, and answered in JSON: this
//!   server writes no protobuf (the README's semantics table). A custom resource's objects have
//!   no protobuf form upstream, so for them a protobuf clause counts only with a conversion.

/// The type an answer is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/json` (also the answer to a wildcard).
    Json,
    /// `application/yaml`.
    Yaml,
    /// `application/vnd.kubernetes.protobuf`, answered in JSON.
    Protobuf,
}

/// What the answer's objects are converted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conversion {
    /// Table rows (`meta.k8s.io` `Table`).
    Table,
    /// The metadata of one object (`PartialObjectMetadata`).
    Metadata,
    /// The metadata of a list's objects (`PartialObjectMetadataList`).
    MetadataList,
}

/// The answer's form, as negotiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The type it is written in.
    pub format: Format,
    /// The conversion asked for, with its `meta.k8s.io` API version; `None` for the objects
    /// as they are.
    pub conversion: Option<(Conversion, &'static str)>,
    /// `pretty=1` was among the chosen type's parameters.
    pub pretty: bool,
}

/// One clause of an Accept header, as goautoneg parses it.
struct Clause<'a> {
    kind: &'a str,
    subtype: &'a str,
    q: f64,
    /// The parameters other than `q`, a later one replacing an earlier one of its name.
    params: Vec<(&'a str, &'a str)>,
}

impl Clause<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
    }
}

/// The clauses of `header` in goautoneg's order.
fn clauses(header: &str) -> Vec<Clause<'_>> {
    let mut clauses: Vec<Clause<'_>> = Vec::new();
    for part in header.split(',') {
        let part = part.trim_matches(' ');
        let mut pieces = part.split(';');
        let range = pieces.next().unwrap_or_default();
        let mut halves = range.split('/');
        let kind = halves.next().unwrap_or_default().trim_matches(' ');
        let subtype = match (halves.next(), halves.next()) {
            (None, _) if kind == "*" => "*",
            (Some(subtype), None) => subtype.trim_matches(' '),
            _ => continue,
        };
        let mut clause = Clause {
            kind,
            subtype,
            q: 1.0,
            params: Vec::new(),
        };
        for param in pieces {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            let key = key.trim_matches(' ');
            if key == "q" {
                // Go's ParseFloat error leaves 0.
                clause.q = value.parse().unwrap_or(0.0);
            } else {
                clause.params.push((key, value.trim_matches(' ')));
            }
        }
        clauses.push(clause);
    }
    // goautoneg's comparison, run as Go's insertion sort runs it.
    let before = |a: &Clause<'_>, b: &Clause<'_>| {
        a.q > b.q || (a.kind != "*" && b.kind == "*") || (a.subtype != "*" && b.subtype == "*")
    };
    for i in 1..clauses.len() {
        let mut j = i;
        while j > 0 && before(&clauses[j], &clauses[j - 1]) {
            clauses.swap(j, j - 1);
            j -= 1;
        }
    }
    clauses
}

/// The types a resource's answer can take, in kube-apiserver's order.
const TYPES: [(&str, &str, Format); 3] = [
    ("application", "json", Format::Json),
    ("application", "yaml", Format::Yaml),
    ("application", "vnd.kubernetes.protobuf", Format::Protobuf),
];

/// The form kube-apiserver would answer a resource request with `accept` (its Accept header)
/// in; `None` when it would answer 406 Not Acceptable. No header at all is JSON.
pub fn negotiate(accept: &str) -> Option<Negotiated> {
    negotiate_for(accept, true)
}

/// [`negotiate`] for a kind a CustomResourceDefinition serves: its objects have no protobuf
/// form, so a protobuf clause without a conversion is skipped (kube-apiserver's
/// `StandardSerializers` of a custom resource's request scope), while its metadata may still
/// be asked for in protobuf.
pub fn negotiate_custom(accept: &str) -> Option<Negotiated> {
    negotiate_for(accept, false)
}

fn negotiate_for(accept: &str, plain_protobuf: bool) -> Option<Negotiated> {
    first_allowed(accept, |clause, format| {
        allowed(clause, format).filter(|form| {
            plain_protobuf || form.format != Format::Protobuf || form.conversion.is_some()
        })
    })
}

/// What `allowed` makes of the first clause of `accept`, in goautoneg's order, that it allows
/// as one of the types the clause names (tried in kube-apiserver's order). No header at all
/// takes the first type, JSON, as a wildcard does.
fn first_allowed<T>(accept: &str, allowed: impl Fn(&Clause<'_>, Format) -> Option<T>) -> Option<T> {
    let accept = if accept.is_empty() { "*/*" } else { accept };
    clauses(accept).iter().find_map(|clause| {
        TYPES
            .iter()
            .filter(|(kind, subtype, _)| {
                (clause.kind == *kind && (clause.subtype == *subtype || clause.subtype == "*"))
                    || (clause.kind == "*" && clause.subtype == "*")
            })
            .find_map(|(_, _, format)| allowed(clause, *format))
    })
}

/// A discovery document's answer, as negotiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscoveryForm {
    /// The type it is written in.
    pub format: Format,
    /// The version of `apidiscovery.k8s.io` whose aggregated document (`APIGroupDiscoveryList`)
    /// is asked for (`v2`, or `v2beta1`, which kube-apiserver 1.32 still serves); `None` for
    /// the legacy document.
    pub aggregated: Option<&'static str>,
    /// `pretty=1` was among the chosen type's parameters.
    pub pretty: bool,
}

/// The form kube-apiserver answers a discovery request with `accept` in; `None` is a 406.
/// At `/api` and `/apis` (`root`) its aggregated discovery handler goes first: it takes the
/// first clause its restrictions allow and serves the aggregated document when that clause
/// converts to it, else hands over to the legacy handler, which takes the first clause
/// asking for no conversion. Either refuses a server version (`sv`).
pub fn negotiate_discovery(accept: &str, root: bool) -> Option<DiscoveryForm> {
    first_allowed(accept, |clause, format| {
        if !streams_as_asked(clause, format) || clause.param("sv").is_some_and(|v| !v.is_empty()) {
            return None;
        }
        let asked = ["as", "g", "v"].iter().any(|p| clause.param(p).is_some());
        let aggregated = match (clause.param("g"), clause.param("v"), clause.param("as")) {
            _ if !asked => None,
            (Some("apidiscovery.k8s.io"), Some("v2"), Some("APIGroupDiscoveryList")) => Some("v2"),
            (Some("apidiscovery.k8s.io"), Some("v2beta1"), Some("APIGroupDiscoveryList")) => {
                Some("v2beta1")
            }
            _ => return None,
        };
        (aggregated.is_none() || root).then_some(DiscoveryForm {
            format,
            aggregated,
            pretty: clause.param("pretty") == Some("1"),
        })
    })
}

/// Whether `clause`'s `stream` parameter, if any, names a stream `format` has: only JSON and
/// protobuf have one, and only `watch` is one.
fn streams_as_asked(clause: &Clause<'_>, format: Format) -> bool {
    match clause.param("stream").filter(|s| !s.is_empty()) {
        Some(stream) => stream == "watch" && format != Format::Yaml,
        None => true,
    }
}

/// The form `clause` asks for in `format`, when the endpoint allows its parameters.
fn allowed(clause: &Clause<'_>, format: Format) -> Option<Negotiated> {
    if !streams_as_asked(clause, format) {
        return None;
    }
    if clause
        .param("sv")
        .is_some_and(|v| !v.is_empty() && v != "v1")
    {
        return None;
    }
    let asked = ["as", "g", "v"].iter().any(|p| clause.param(p).is_some());
    let conversion = if asked {
        let version = match (clause.param("g"), clause.param("v")) {
            (Some("meta.k8s.io"), Some("v1")) => "meta.k8s.io/v1",
            (Some("meta.k8s.io"), Some("v1beta1")) => "meta.k8s.io/v1beta1",
            _ => return None,
        };
        let conversion = match clause.param("as") {
            Some("Table") if format != Format::Protobuf => Conversion::Table,
            Some("PartialObjectMetadata") => Conversion::Metadata,
            Some("PartialObjectMetadataList") => Conversion::MetadataList,
            _ => return None,
        };
        Some((conversion, version))
    } else {
        None
    };
    Some(Negotiated {
        format,
        conversion,
        pretty: clause.param("pretty") == Some("1"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(conversion: Option<(Conversion, &'static str)>) -> Option<Negotiated> {
        Some(Negotiated {
            format: Format::Json,
            conversion,
            pretty: false,
        })
    }

    #[test]
    fn kubectls_table_accept_asks_for_v1_tables() {
        let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;\
                      v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(
            negotiate(accept),
            json(Some((Conversion::Table, "meta.k8s.io/v1")))
        );
    }

    #[test]
    fn a_conversion_the_server_does_not_make_is_skipped_for_the_next_clause() {
        for accept in [
            "application/json;as=Table;v=v2;g=meta.k8s.io, application/json",
            "application/json;as=Table, application/json",
            "application/json;as=Widget;v=v1;g=meta.k8s.io, application/json",
            "application/json;as=Table;v=v1;g=example.com, */*",
        ] {
            assert_eq!(negotiate(accept), json(None), "{accept}");
        }
    }

    #[test]
    fn a_custom_kinds_objects_are_not_offered_in_protobuf_but_its_metadata_is() {
        let protobuf = "application/vnd.kubernetes.protobuf";
        assert_eq!(negotiate_custom(protobuf), None);
        assert_eq!(
            negotiate_custom(&format!("{protobuf}, application/json;q=0.5")),
            json(None)
        );
        assert_eq!(
            negotiate_custom("*/*").map(|form| form.format),
            Some(Format::Json)
        );
        let metadata = format!("{protobuf};as=PartialObjectMetadataList;g=meta.k8s.io;v=v1");
        assert_eq!(
            negotiate_custom(&metadata),
            Some(Negotiated {
                format: Format::Protobuf,
                conversion: Some((Conversion::MetadataList, "meta.k8s.io/v1")),
                pretty: false,
            })
        );
        assert_eq!(
            negotiate(protobuf).map(|form| form.format),
            Some(Format::Protobuf),
            "a built-in kind's objects have a protobuf form"
        );
    }

    #[test]
    fn discovery_is_aggregated_when_the_first_clause_it_allows_asks_for_it() {
        let aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
        let form = |accept: &str, root: bool| {
            negotiate_discovery(accept, root).map(|form| (form.format, form.aggregated))
        };
        // kubectl's header: v2 first, then v2beta1, then the legacy document.
        let kubectl = format!("{aggregated},application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json");
        assert_eq!(form(&kubectl, true), Some((Format::Json, Some("v2"))));
        assert_eq!(form(&kubectl, false), Some((Format::Json, None)));
        assert_eq!(
            form(&format!("application/json,{aggregated}"), true),
            Some((Format::Json, None))
        );
        assert_eq!(
            form(&format!("application/json;q=0.5,{aggregated}"), true),
            Some((Format::Json, Some("v2")))
        );
        assert_eq!(
            form(
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
                true
            ),
            Some((Format::Json, Some("v2beta1")))
        );
        assert_eq!(form("application/yaml", true), Some((Format::Yaml, None)));
        assert_eq!(form("", true), Some((Format::Json, None)));
        assert_eq!(
            form(aggregated, false),
            None,
            "a group version has no aggregated form"
        );
        for refused in [
            "application/json;as=Table;g=meta.k8s.io;v=v1",
            "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList",
            "application/json;sv=v1",
            "application/yaml;stream=watch",
            "text/html",
        ] {
            assert_eq!(form(refused, true), None, "{refused}");
        }
    }

    #[test]
    fn nothing_acceptable_is_none() {
        for accept in [
            "text/html",
            "application/json;as=Table",
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v2",
            "application/yaml;stream=watch",
            "application/json;stream=tail",
            "application/json;sv=v2",
            "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io",
            "application",
            "application/json/extra",
        ] {
            assert_eq!(negotiate(accept), None, "{accept}");
        }
    }

    #[test]
    fn metadata_conversions_name_their_version() {
        assert_eq!(
            negotiate("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1"),
            json(Some((Conversion::MetadataList, "meta.k8s.io/v1beta1")))
        );
        assert_eq!(
            negotiate(
                "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
            ),
            Some(Negotiated {
                format: Format::Protobuf,
                conversion: Some((Conversion::Metadata, "meta.k8s.io/v1")),
                pretty: false,
            })
        );
    }

    #[test]
    fn clauses_are_taken_by_quality_then_concrete_before_wildcard() {
        assert_eq!(
            negotiate("application/json;q=0.5, application/yaml").map(|n| n.format),
            Some(Format::Yaml)
        );
        assert_eq!(
            negotiate("*/*, application/yaml").map(|n| n.format),
            Some(Format::Yaml)
        );
        assert_eq!(
            negotiate("application/*, application/yaml").map(|n| n.format),
            Some(Format::Yaml)
        );
        assert_eq!(
            negotiate("application/yaml, application/json").map(|n| n.format),
            Some(Format::Yaml)
        );
        assert_eq!(negotiate("*/*").map(|n| n.format), Some(Format::Json));
        assert_eq!(negotiate("*").map(|n| n.format), Some(Format::Json));
        assert_eq!(negotiate("").map(|n| n.format), Some(Format::Json));
    }

    #[test]
    fn pretty_is_read_from_the_chosen_clause() {
        assert!(negotiate("application/json;pretty=1").is_some_and(|n| n.pretty));
        assert!(negotiate("application/json;pretty=true").is_some_and(|n| !n.pretty));
        assert!(negotiate("application/json;stream=watch;foo=bar").is_some_and(|n| !n.pretty));
    }

    proptest::proptest! {
        #[test]
        fn any_header_is_negotiated_without_panicking_and_each_scope_only_narrows_it(
            shaped in "[a-z/*;=,. 0-9A-Z]{0,60}",
            anything in proptest::prelude::any::<String>(),
            clauses in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "application/json", "application/yaml",
                        "application/vnd.kubernetes.protobuf", "application/*", "*/*", "text/html",
                    ]),
                    proptest::collection::vec(
                        proptest::sample::select(vec![
                            "as=Table", "as=PartialObjectMetadata", "as=PartialObjectMetadataList",
                            "as=APIGroupDiscoveryList", "g=meta.k8s.io", "g=apidiscovery.k8s.io",
                            "v=v1", "v=v1beta1", "v=v2", "v=v2beta1", "q=0.5", "q=0",
                            "stream=watch", "sv=v1", "pretty=1",
                            "as=Table;g=meta.k8s.io;v=v1",
                            "as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
                            "as=PartialObjectMetadataList;g=meta.k8s.io;v=v1beta1",
                            "g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                            "g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
                        ]),
                        0..4,
                    ),
                ),
                0..4,
            ),
        ) {
            // Clauses of the types and parameters that count, as clients write them.
            let known = clauses
                .iter()
                .map(|(media, params)| {
                    std::iter::once(*media).chain(params.iter().copied()).collect::<Vec<_>>().join(";")
                })
                .collect::<Vec<_>>()
                .join(",");
            for header in [&shaped, &anything, &known] {
                let any_kind = negotiate(header);
                let custom = negotiate_custom(header);
                // A custom resource's scope only takes its objects' protobuf away.
                let plain_protobuf = any_kind
                    .is_some_and(|f| f.format == Format::Protobuf && f.conversion.is_none());
                if !plain_protobuf {
                    proptest::prop_assert_eq!(custom, any_kind);
                }
                if custom.is_some() {
                    proptest::prop_assert!(any_kind.is_some());
                }
                // A group version has no aggregated document; a root answering the legacy
                // one answers what a group version would.
                let version = negotiate_discovery(header, false);
                proptest::prop_assert!(version.is_none_or(|f| f.aggregated.is_none()));
                let root = negotiate_discovery(header, true);
                if root.is_some_and(|f| f.aggregated.is_none()) {
                    proptest::prop_assert_eq!(root, version);
                }
            }
        }
    }
}
