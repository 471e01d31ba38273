//! Watch: where a watch starts, selector transitions, bookmarks, slow watchers that lose nothing,
//! and streams against a reference model.

#[path = "../common/mod.rs"]
mod common;

mod as_a_stream_wakes_on_commits_bookmarks_and_timeouts;
mod catching_up_yields_to_busy_writers_and_loses_nothing;
mod follows_selector_transitions;
mod namespace_scoped_watches_see_their_scope_and_selector_only;
mod never_loses_events_for_slow_watchers;
mod nothing_follows_an_error_for_any_watcher;
mod reports_corrupt_stored_objects_as_errors;
mod shared_events_carry_one_object_for_every_watcher;
mod starts_where_kubernetes_starts;
mod streams_match_the_model_history;
