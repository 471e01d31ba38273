"""The Python `kubernetes` client (37.0.2) against apistore-server.

Run by `main.rs` with the server's address in APISTORE_SERVER and a revision below the store's
compaction point in APISTORE_COMPACTED. Prints one line per check; any failure raises.
"""
import os
import tempfile

from kubernetes import client, dynamic
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError, ApiException

host = os.environ["APISTORE_SERVER"]
compacted = os.environ["APISTORE_COMPACTED"]
config = client.Configuration(host=host)
api_client = client.ApiClient(config)
dc = dynamic.DynamicClient(api_client, cache_file=os.path.join(tempfile.mkdtemp(), "discovery.json"))

cms = dc.resources.get(api_version="v1", kind="ConfigMap")
nss = dc.resources.get(api_version="v1", kind="Namespace")
print("discovery", cms.name, nss.name, cms.namespaced, nss.namespaced)

nss.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "py"}})
for i in range(5):
    cms.create(namespace="py", body={"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": f"cm{i}", "labels": {"app": "web" if i % 2 == 0 else "db"}},
               "data": {"i": str(i)}})
print("created 5")

try:
    cms.create(namespace="py", body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm0"}})
    raise AssertionError("a taken name was created")
except ConflictError as e:
    assert e.status == 409, e.status
print("conflict 409")

try:
    cms.get(namespace="py", name="nope")
    raise AssertionError("a missing object was read")
except NotFoundError:
    pass
print("not found 404")

names = []
page = cms.get(namespace="py", limit=2)
names += [i.metadata.name for i in page.items]
while page.metadata["continue"]:
    page = cms.get(namespace="py", limit=2, _continue=page.metadata["continue"])
    names += [i.metadata.name for i in page.items]
assert names == [f"cm{i}" for i in range(5)], names
print("pages", names)

web = cms.get(namespace="py", label_selector="app=web")
assert [i.metadata.name for i in web.items] == ["cm0", "cm2", "cm4"]
one = cms.get(namespace="py", field_selector="metadata.name=cm3")
assert [i.metadata.name for i in one.items] == ["cm3"]
print("selectors")

merged = cms.patch(namespace="py", name="cm1", body={"data": {"j": "x"}},
                   content_type="application/merge-patch+json")
assert merged.data["j"] == "x"
strategic = cms.patch(namespace="py", name="cm1", body={"data": {"k": "y"}})
assert strategic.data["k"] == "y"
jsonp = cms.patch(namespace="py", name="cm1", body=[{"op": "remove", "path": "/data/j"}],
                  content_type="application/json-patch+json")
assert "j" not in jsonp.data
print("patches")

current = cms.get(namespace="py", name="cm1")
stale = current.to_dict()
stale["metadata"]["resourceVersion"] = "2"
try:
    cms.replace(namespace="py", body=stale)
    raise AssertionError("a stale replace succeeded")
except ConflictError:
    pass
print("stale replace 409")

rv = cms.get(namespace="py").metadata.resourceVersion
cms.create(namespace="py", body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}})
events = [e for e in cms.watch(namespace="py", resource_version=rv, timeout=1, allow_watch_bookmarks=True)]
kinds = [(e["type"], e["object"].metadata.name) for e in events if e["type"] != "BOOKMARK"]
assert kinds == [("ADDED", "late")], kinds
print("watch", kinds)

try:
    for _ in cms.watch(namespace="py", resource_version=compacted, timeout=1):
        pass
    raise AssertionError("a watch from a compacted revision went on")
except ApiException as e:
    assert e.status == 410, e.status
print("watch from a compacted revision 410")

deleted = cms.delete(namespace="py", label_selector="app=db")
assert sorted(i["metadata"]["name"] for i in deleted.items) == ["cm1", "cm3"], deleted
print("deletecollection")

core = client.CoreV1Api(api_client)
typed = core.list_namespaced_config_map("py")
assert sorted(i.metadata.name for i in typed.items) == ["cm0", "cm2", "cm4", "late"]
core.create_namespaced_config_map("py", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="typed"), data={"a": "b"}))
assert core.read_namespaced_config_map("typed", "py").data == {"a": "b"}
assert "py" in [n.metadata.name for n in core.list_namespace().items]
core.delete_namespace("py")
assert "py" not in [n.metadata.name for n in core.list_namespace().items]
print("CoreV1Api")

# The image group through the DynamicClient, as kubectl-surface.md §8 exercised it.
streams = dc.resources.get(api_version="image.openshift.io/v1", kind="ImageStream")
mappings = dc.resources.get(api_version="image.openshift.io/v1", kind="ImageStreamMapping")
istags = dc.resources.get(api_version="image.openshift.io/v1", kind="ImageStreamTag")
images = dc.resources.get(api_version="image.openshift.io/v1", kind="Image")
nss.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "img"}})
streams.create(namespace="img", body={"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
               "metadata": {"name": "web", "labels": {"app": "web"}}})
digest = "sha256:" + "ab" * 32
status = mappings.create(namespace="img", body={"apiVersion": "image.openshift.io/v1",
                         "kind": "ImageStreamMapping", "metadata": {"name": "web"}, "tag": "latest",
                         "image": {"metadata": {"name": digest},
                                   "dockerImageReference": "quay.io/example/web@" + digest}})
assert status.status == "Success", status
tag = istags.get(namespace="img", name="web:latest")
assert tag.image.metadata.name == digest, tag
assert [i.metadata.name for i in images.get().items] == [digest]
applied = streams.server_side_apply(namespace="img", field_manager="py",
                                   body={"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                                         "metadata": {"name": "web", "annotations": {"owner": "py"}}})
assert applied.metadata.annotations["owner"] == "py", applied
assert any(e.manager == "py" and e.operation == "Apply" for e in applied.metadata.managedFields)
try:
    streams.server_side_apply(namespace="img", field_manager="other",
                              body={"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                                    "metadata": {"name": "web", "annotations": {"owner": "other"}}})
    raise AssertionError("a conflicting apply was accepted")
except ApiException as e:
    assert e.status == 409, e.status
forced = streams.server_side_apply(namespace="img", field_manager="other", force_conflicts=True,
                                  body={"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
                                        "metadata": {"name": "web", "annotations": {"owner": "other"}}})
assert forced.metadata.annotations["owner"] == "other", forced
patched = streams.patch(namespace="img", name="web", body={"spec": {"lookupPolicy": {"local": True}}})
assert patched.spec.lookupPolicy.local is True
status_write = streams.status.replace(namespace="img", body=streams.get(namespace="img", name="web").to_dict())
assert status_write.metadata.name == "web"
assert [s.metadata.name for s in streams.get(namespace="img", label_selector="app=web").items] == ["web"]
streams.delete(namespace="img", name="web")
try:
    istags.get(namespace="img", name="web:latest")
    raise AssertionError("a tag of a deleted stream was read")
except NotFoundError:
    pass
print("image group")

# A custom resource: the definition through the DynamicClient, then its kind discovered afresh.
crds = dc.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
crds.create(body={"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                  "metadata": {"name": "widgets.example.com"},
                  "spec": {"group": "example.com", "scope": "Namespaced",
                           "names": {"plural": "widgets", "kind": "Widget"},
                           "versions": [{"name": "v1", "served": True, "storage": True,
                                         "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                             "spec": {"type": "object", "properties": {
                                                 "size": {"type": "integer", "default": 1}}}}}}}]}})
fresh = dynamic.DynamicClient(api_client, cache_file=os.path.join(tempfile.mkdtemp(), "discovery.json"))
widgets = fresh.resources.get(api_version="example.com/v1", kind="Widget")
made = widgets.create(namespace="default", body={"apiVersion": "example.com/v1", "kind": "Widget",
                      "metadata": {"name": "w1"}, "spec": {}})
assert made.spec.size == 1, made
try:
    widgets.create(namespace="default", body={"apiVersion": "example.com/v1", "kind": "Widget",
                   "metadata": {"name": "w2"}, "spec": {"size": "big"}})
    raise AssertionError("an invalid widget was created")
except ApiException as e:
    assert e.status == 422, e.status
assert [w.metadata.name for w in widgets.get(namespace="default").items] == ["w1"]
crds.delete(name="widgets.example.com")
try:
    widgets.get(namespace="default", name="w1")
    raise AssertionError("a widget outlived its definition")
except NotFoundError:
    pass
print("custom resources")

# /metrics read by Prometheus' own Python parsers: the classic text format by default, and
# OpenMetrics (whose parser is strict about the format) when the Accept header asks for it.
import urllib.request
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families)


def scrape(accept=None):
    request = urllib.request.Request(host + "/metrics")
    if accept:
        request.add_header("Accept", accept)
    with urllib.request.urlopen(request) as answer:
        return answer.headers["Content-Type"], answer.read().decode()


content_type, text = scrape()
assert content_type.startswith("text/plain; version=0.0.4"), content_type
families = {f.name: f for f in text_string_to_metric_families(text)}
requests = families["apiserver_request"]
assert requests.type == "counter", requests.type
creates = [s for s in requests.samples if s.name == "apiserver_request_total"
           and s.labels["verb"] == "POST" and s.labels["resource"] == "configmaps"
           and s.labels["code"] == "201"]
assert creates and creates[0].value >= 5, creates
assert families["apiserver_request_duration_seconds"].type == "histogram"
assert families["apistore_commit_transactions"].type == "counter"
content_type, text = scrape("application/openmetrics-text; version=1.0.0")
assert content_type.startswith("application/openmetrics-text"), content_type
strict = {f.name: f for f in openmetrics_families(text)}
assert strict["apiserver_request"].type == "counter"
assert strict["apistore_store_revision"].type == "gauge"
print("metrics", len(families), "families")
print("ok")
