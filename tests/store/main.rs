//! The typed object store: the API server's write semantics (create, get, replace, guaranteed
//! update, patch, status, delete, dry-run), metadata ownership, errors as Kubernetes statuses, and
//! the public contract as API.md writes it.

#[path = "../common/mod.rs"]
mod common;

mod a_described_kind_changed_after_use_is_used_as_changed;
mod async_verbs_share_group_commits_without_blocking;
mod bodies_are_written_byte_for_byte_as_serde_json_writes_them;
mod bodies_survive_schema_evolution;
mod create_sets_system_fields;
mod delete_answers_for_the_object_a_racing_update_left;
mod delete_honours_preconditions_and_finalizers;
mod dry_run_writes_nothing;
mod errors_serialise_as_kubernetes_status;
mod get_honours_resource_version_rules;
mod guaranteed_update_retries_on_conflict;
mod identical_updates_rewrite_bytes_that_are_not_canonical;
mod names_and_keys_are_validated;
mod patches_apply_merge_and_json_patches;
mod public_api_compiles_as_api_md_writes_it;
mod read_borrows_the_latest_object;
mod reads_never_see_a_decoded_object_of_another_version;
mod replace_uses_optimistic_concurrency;
mod server_side_apply_matches_an_ownership_model;
mod snapshots_restore_the_state_at_their_revision;
mod status_subresource_splits_spec_and_status;
mod undecodable_objects_answer_internal_errors_naming_their_key;
mod versions_of_a_dynamic_kind_share_objects_under_their_own_api_version;
mod writes_match_the_reference_model;
