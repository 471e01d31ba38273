//! The revision layer and its engines: the engine contract on every engine, transactions against a
//! reference model, the write-ahead log, recovery from damage and from kill -9, and failures that
//! leave no trace.

#[path = "../mvcc_model/mod.rs"]
mod mvcc_model;
#[path = "../wal_common/mod.rs"]
mod wal_common;

mod backend_conformance;
mod background_checkpoints_delete_the_log_the_engine_holds;
mod checkpoints_are_durable_before_the_log_is_deleted;
mod concurrent_compare_and_swap;
mod crash_recovery_kill_9;
mod engine_failure_behind_the_log_is_retried;
mod failed_commit_leaves_no_trace;
mod feed_reads_history_before_and_after_a_reopen;
mod groups_staged_on_a_failed_group_are_evaluated_again;
mod matches_reference_model;
mod revisions_and_formats;
mod sled_values_are_compressed_and_old_databases_still_open;
mod submitted_commits_answer_as_commit_does;
mod wal_large_groups_are_compressed_and_replay_exactly;
mod wal_recovery_from_damaged_logs;
mod wal_segments_are_written_ahead_of_their_appends;
