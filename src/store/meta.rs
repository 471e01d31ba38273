//! Object and list metadata, shaped and serialised as k8s-openapi's `meta/v1` types.
//!
//! Design notes: these are plain data with public fields, as in k8s-openapi, so code written
//! against kube-rs moves over with few changes. JSON is camelCase with `None` omitted, exactly
//! what the API server writes; `Time` is RFC 3339 at whole seconds in UTC, as `metav1.Time`.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A timestamp (`metav1.Time`): RFC 3339, whole seconds, UTC (`2026-11-23T17:19:40Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub DateTime<Utc>);

impl Time {
    /// The current time, truncated to whole seconds as the API server stores it.
    pub fn now() -> Time {
        Time(Utc::now().trunc_subsecs(0))
    }

    /// This time plus `seconds` (saturating at the representable range).
    pub fn plus_seconds(self, seconds: i64) -> Time {
        let delta = chrono::TimeDelta::try_seconds(seconds).unwrap_or(chrono::TimeDelta::zero());
        Time(self.0.checked_add_signed(delta).unwrap_or(self.0))
    }
}

impl Time {
    /// The RFC 3339 text of a time in years 0–9999 (`2006-01-02T15:04:05Z`), built without
    /// the formatting machinery: timestamps are on every stored event, and `write!` with
    /// padding was a measurable part of encoding a stream. `None` outside those years.
    fn rfc3339(&self) -> Option<[u8; 20]> {
        use chrono::{Datelike, Timelike};
        // The naive UTC value once: each accessor of a `DateTime<Utc>` converts to local time
        // again, and six conversions were most of this function's cost.
        let t = self.0.naive_utc();
        let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
        let mut out = *b"0000-00-00T00:00:00Z";
        let put = |out: &mut [u8; 20], at: usize, value: u32, digits: usize| {
            let mut v = value;
            for i in (0..digits).rev() {
                out[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(&mut out, 0, year, 4);
        put(&mut out, 5, t.month(), 2);
        put(&mut out, 8, t.day(), 2);
        put(&mut out, 11, t.hour(), 2);
        put(&mut out, 14, t.minute(), 2);
        put(&mut out, 17, t.second(), 2);
        Some(out)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::{Datelike, Timelike};
        match self.rfc3339() {
            Some(text) => f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?),
            None => {
                let t = &self.0;
                write!(
                    f,
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                    t.year(),
                    t.month(),
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second()
                )
            }
        }
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The common case goes straight to the serializer as one string: no formatter and
        // no escaping adapter (the text never needs escaping).
        match self.rfc3339() {
            Some(text) => match std::str::from_utf8(&text) {
                Ok(text) => serializer.serialize_str(text),
                Err(_) => serializer.collect_str(self),
            },
            None => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| Time(t.with_timezone(&Utc)))
            .map_err(|e| serde::de::Error::custom(format!("invalid time {text:?}: {e}")))
    }
}

/// `metav1.ObjectMeta`: the metadata every stored object has. With the `k8s-openapi` feature
/// this is k8s-openapi's own `ObjectMeta` instead (same fields and JSON; its timestamps are
/// k8s-openapi's `Time`), so its types are kinds with no conversion
/// (`docs/design/dynamic-kinds.md`).
#[cfg(not(feature = "k8s-openapi"))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// The object's name, unique within its namespace (or cluster, for cluster-scoped kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A prefix from which the store generates a unique name when `name` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    /// The namespace of a namespaced object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Never stored; kept for JSON compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<String>,
    /// Set by the store on create; immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The revision of the object's last write, as a decimal string; set by the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// 1 on create, +1 on every change outside metadata and status; set by the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Set by the store on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<Time>,
    /// Set by the store when a delete is pending (finalizers or grace period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<Time>,
    /// The grace period of a pending delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    /// Labels, selectable with label selectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Objects this one depends on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_references: Option<Vec<OwnerReference>>,
    /// Finalizers that must be removed before a pending delete completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Vec<String>>,
    /// Server-side-apply bookkeeping; carried through unchanged, not interpreted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_fields: Option<Vec<serde_json::Value>>,
}

/// What the store reads of metadata, on whichever `ObjectMeta` the build uses.
pub trait ObjectMetaExt {
    /// The name, or `""`.
    fn name_str(&self) -> &str;
    /// The namespace, or `""`.
    fn namespace_str(&self) -> &str;
    /// The labels, or an empty map.
    fn labels_or_empty(&self) -> &BTreeMap<String, String>;
    /// True when a delete is pending.
    fn is_deleting(&self) -> bool;
    /// True when the object has at least one finalizer.
    fn has_finalizers(&self) -> bool;
    /// Sets `creationTimestamp` from a [`Time`] (whatever timestamp type metadata has in this
    /// build), or clears it.
    fn set_creation_time(&mut self, time: Option<Time>);
}

impl ObjectMetaExt for ObjectMeta {
    fn name_str(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    fn namespace_str(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }

    fn labels_or_empty(&self) -> &BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.labels.as_ref().unwrap_or(&EMPTY)
    }

    fn is_deleting(&self) -> bool {
        self.deletion_timestamp.is_some()
    }

    fn has_finalizers(&self) -> bool {
        self.finalizers.as_ref().is_some_and(|f| !f.is_empty())
    }

    fn set_creation_time(&mut self, time: Option<Time>) {
        self.creation_timestamp = time.map(meta_time);
    }
}

/// Keeps the first owner reference of each uid, as kube-apiserver dedups them before it
/// validates a write.
pub(crate) fn dedup_owner_references(meta: &mut ObjectMeta) {
    if let Some(owners) = &mut meta.owner_references {
        let mut seen = std::collections::HashSet::new();
        owners.retain(|owner| seen.insert(owner.uid.clone()));
    }
}

/// Drops the empty collections of `meta` (`labels: {}`, `finalizers: []`, …): kube-apiserver
/// stores metadata through Go's `omitempty` encoding, so an empty one reads back as absent.
pub(crate) fn omit_empty_collections(meta: &mut ObjectMeta) {
    if meta.labels.as_ref().is_some_and(BTreeMap::is_empty) {
        meta.labels = None;
    }
    if meta.annotations.as_ref().is_some_and(BTreeMap::is_empty) {
        meta.annotations = None;
    }
    if meta.finalizers.as_ref().is_some_and(Vec::is_empty) {
        meta.finalizers = None;
    }
    if meta.owner_references.as_ref().is_some_and(Vec::is_empty) {
        meta.owner_references = None;
    }
    if meta.managed_fields.as_ref().is_some_and(Vec::is_empty) {
        meta.managed_fields = None;
    }
}

/// The type of metadata timestamps (`creationTimestamp`, `deletionTimestamp`).
#[cfg(not(feature = "k8s-openapi"))]
pub(crate) type MetaTime = Time;
/// The type of metadata timestamps (`creationTimestamp`, `deletionTimestamp`).
#[cfg(feature = "k8s-openapi")]
pub(crate) type MetaTime = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Now, at whole seconds, as a metadata timestamp.
#[cfg(not(feature = "k8s-openapi"))]
pub(crate) fn meta_now() -> MetaTime {
    Time::now()
}

/// `time` plus `seconds` (saturating), as a metadata timestamp.
#[cfg(not(feature = "k8s-openapi"))]
pub(crate) fn meta_plus_seconds(time: &MetaTime, seconds: i64) -> MetaTime {
    time.plus_seconds(seconds)
}

/// A timestamp of this crate's as a metadata timestamp.
#[cfg(not(feature = "k8s-openapi"))]
pub(crate) fn meta_time(time: Time) -> MetaTime {
    time
}

/// Now, at whole seconds, as a metadata timestamp.
#[cfg(feature = "k8s-openapi")]
pub(crate) fn meta_now() -> MetaTime {
    meta_time(Time::now())
}

/// `time` plus `seconds` (saturating), as a metadata timestamp.
#[cfg(feature = "k8s-openapi")]
pub(crate) fn meta_plus_seconds(time: &MetaTime, seconds: i64) -> MetaTime {
    let delta = k8s_openapi::jiff::SignedDuration::from_secs(seconds);
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        time.0.checked_add(delta).unwrap_or(time.0),
    )
}

/// A timestamp of this crate's (whole seconds) as a metadata timestamp.
#[cfg(feature = "k8s-openapi")]
pub(crate) fn meta_time(time: Time) -> MetaTime {
    use k8s_openapi::jiff::Timestamp;
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        Timestamp::from_second(time.0.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH),
    )
}

#[cfg(feature = "k8s-openapi")]
pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// `metav1.OwnerReference` (k8s-openapi's with the `k8s-openapi` feature).
#[cfg(not(feature = "k8s-openapi"))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// The owner's apiVersion.
    pub api_version: String,
    /// The owner's kind.
    pub kind: String,
    /// The owner's name.
    pub name: String,
    /// The owner's uid.
    pub uid: String,
    /// True when the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// True when the owner cannot be deleted before this object (foreground deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

pub use crate::status::ListMeta;

/// `apiVersion` and `kind`, as they appear at the top of every object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeMeta {
    /// `group/version`, or just the version for the core group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// The kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

/// A list of objects with its metadata (`kube::api::ObjectList`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectList<K> {
    /// The list's metadata: snapshot revision, continue token, remaining count.
    #[serde(default)]
    pub metadata: ListMeta,
    /// The items, in key order (`namespace/name`, byte-wise); never absent.
    #[serde(bound(
        deserialize = "K: serde::de::DeserializeOwned",
        serialize = "K: Serialize"
    ))]
    pub items: Vec<K>,
}

impl<K> ObjectList<K> {
    /// Iterates over the items.
    pub fn iter(&self) -> std::slice::Iter<'_, K> {
        self.items.iter()
    }
}

impl<K> IntoIterator for ObjectList<K> {
    type Item = K;
    type IntoIter = std::vec::IntoIter<K>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, K> IntoIterator for &'a ObjectList<K> {
    type Item = &'a K;
    type IntoIter = std::slice::Iter<'a, K>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::Time;
    use chrono::{TimeZone, Utc};

    fn at(year: i32) -> Time {
        Time(
            Utc.with_ymd_and_hms(year, 3, 4, 5, 6, 7)
                .single()
                .expect("valid time"),
        )
    }

    #[test]
    fn times_serialise_as_rfc3339_seconds_in_utc_in_every_year() {
        for (year, text) in [
            (2026, "2026-03-04T05:06:07Z"),
            (7, "0007-03-04T05:06:07Z"),
            (9999, "9999-03-04T05:06:07Z"),
            (10000, "10000-03-04T05:06:07Z"),
            (-1, "-001-03-04T05:06:07Z"),
        ] {
            let time = at(year);
            assert_eq!(time.to_string(), text);
            assert_eq!(
                serde_json::to_string(&time).expect("encode"),
                format!("\"{text}\"")
            );
        }
        let back: Time = serde_json::from_str("\"2026-03-04T05:06:07Z\"").expect("decode");
        assert_eq!(back, at(2026));
    }

    proptest::proptest! {
        #[test]
        fn the_fast_text_is_chronos_text_for_every_second_of_years_0_to_9999(
            seconds in -62_167_219_200i64..253_402_300_800i64
        ) {
            let time = Time(Utc.timestamp_opt(seconds, 0).single().expect("in range"));
            proptest::prop_assert_eq!(
                time.to_string(),
                time.0.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            );
        }
    }
}
