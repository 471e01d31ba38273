//! Opens a durable store in ./data (sled + write-ahead log), creates, updates, lists and
//! watches typed objects through `Api<K>`, and prints what it did. Run it twice: the second
//! run sees the first run's objects.

use std::collections::BTreeMap;
use std::time::Duration;

use apistore::{
    Config, ListParams, ObjectMeta, ObjectMetaExt, PostParams, Resource, Store, WatchEvent,
    WatchParams,
};
use serde::{Deserialize, Serialize};

/// A ConfigMap-shaped kind: metadata plus string data.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ConfigMap {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    data: BTreeMap<String, String>,
}

impl Resource for ConfigMap {
    const GROUP: &'static str = "";
    const VERSION: &'static str = "v1";
    const KIND: &'static str = "ConfigMap";
    const PLURAL: &'static str = "configmaps";
    const NAMESPACED: bool = true;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Store::open(Config::sled("data"))?;
    println!(
        "opened ./data at resourceVersion {}",
        store.resource_version()
    );
    let maps = store.namespaced::<ConfigMap>("default");

    let earlier = maps.list(&ListParams::default())?;
    println!(
        "found {} config map(s) from earlier runs",
        earlier.items.len()
    );

    let mut watch = maps.watch(
        &WatchParams::default(),
        &store.resource_version().to_string(),
    )?;
    let run = earlier.items.len() + 1;
    let mut cm = ConfigMap::default();
    cm.metadata.generate_name = Some("run-".into());
    cm.metadata.labels = Some([("app".to_string(), "quickstart".to_string())].into());
    cm.data.insert("run".into(), run.to_string());
    let created = maps.create(&PostParams::default(), &cm)?;
    let name = created.metadata.name.clone().unwrap_or_default();
    println!(
        "created {name} (uid {}, resourceVersion {})",
        created.metadata.uid.as_deref().unwrap_or(""),
        created.metadata.resource_version.as_deref().unwrap_or("")
    );
    let updated = maps.update(&name, |mut cm| {
        cm.data.insert("updated".into(), "yes".into());
        Ok(cm)
    })?;
    println!(
        "updated {name} to resourceVersion {}",
        updated.metadata.resource_version.as_deref().unwrap_or("")
    );
    while let Some(event) = watch.recv_timeout(Duration::from_millis(100)) {
        match event {
            WatchEvent::Added(cm) => println!("watch: ADDED {}", cm.metadata.name_str()),
            WatchEvent::Modified(cm) => println!("watch: MODIFIED {}", cm.metadata.name_str()),
            other => println!("watch: {other:?}"),
        }
    }
    let page = maps.list(&ListParams::default().labels("app=quickstart").limit(2))?;
    println!(
        "first page of the list at resourceVersion {}: {:?} (more: {})",
        page.metadata.resource_version.as_deref().unwrap_or(""),
        page.items
            .iter()
            .map(|c| c.metadata.name_str())
            .collect::<Vec<_>>(),
        page.metadata.continue_.is_some()
    );
    store.flush()?;
    Ok(())
}
