//! The OpenShift image API: types as OpenShift serialises them, the Image and ImageStream
//! strategies, mappings, tag views and tag writes, imports, signatures and pruning.

#[path = "../image_common/mod.rs"]
mod image_common;

mod lookup_policy_resolves_local_names;
mod metadata_is_derived_from_manifests;
mod policy_hooks_guard_stream_writes;
mod prune_keeps_the_newest_tag_revisions;
mod resource_follows_the_openshift_strategy;
mod signatures_are_validated_and_stored_in_their_image;
mod stream_imports_record_registry_images;
mod stream_invariants_hold_under_random_operations;
mod stream_mapping_images_are_settled_by_the_stream_writer;
mod stream_mappings_record_images_into_tags;
mod stream_mappings_written_together_answer_each_caller;
mod stream_processes_spec_tags_into_status;
mod stream_secrets_list_pull_secrets;
mod stream_tags_create_and_delete_through_the_stream;
mod stream_tags_update_only_annotations_and_tag;
mod tag_views_resolve_the_local_reference_policy;
mod tags_write_only_the_spec_tag;
mod types_serialise_as_openshift_does;
mod upstream_cases_of_tags_views_and_layers;
mod views_are_computed_from_streams_and_images;
