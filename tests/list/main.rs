//! Lists: the resourceVersion table, consistent pages with continue tokens, selectors, and pages
//! against a reference model.

#[path = "../common/mod.rs"]
mod common;
#[path = "../image_common/mod.rs"]
mod image_common;

mod decodes_objects_read_for_the_first_time_exactly_once_in_order;
mod expired_continue_offers_an_inconsistent_token;
mod follows_the_resource_version_table;
mod paged_lists_survive_retention_compaction;
mod pages_continue_from_one_snapshot;
mod pages_match_the_model_snapshot;
mod selectors_filter_by_labels_and_fields;
mod shared_hands_out_the_stored_objects_decorated_as_list_does;
