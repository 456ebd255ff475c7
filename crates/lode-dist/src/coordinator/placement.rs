//! Which executor runs a task: the least busy of those holding every file it reads
//! ([`crate::task::files_of_partition`]), its slot reserved until the task ends.

use super::state::{ExecutorSender, Shared};
use crate::catalog::ScanFile;
use crate::lock;
use crate::stage::StageId;

/// The least busy executor holding every one of `files` (with a free slot, if
/// `free_slot_only`), whose slot is counted as taken from now on.
pub(super) fn reserve_slot(
    shared: &Shared,
    files: &[ScanFile],
    free_slot_only: bool,
) -> Option<(String, ExecutorSender)> {
    let catalog = lock(&shared.catalog);
    let mut executors = lock(&shared.executors);
    let (id, handle) = executors
        .iter_mut()
        .filter(|(id, e)| {
            (!free_slot_only || e.summary.running < e.summary.slots) && catalog.holds_all(id, files)
        })
        .min_by_key(|(_, e)| (e.summary.running * 1000) / e.summary.slots.max(1))?;
    handle.summary.running += 1;
    Some((id.clone(), handle.sender.clone()))
}

/// An executor holding every file of a task, the least busy first, its slot reserved; waits
/// for one to attach up to the placement timeout, and says why none did.
pub(super) async fn wait_for_placement(
    shared: &Shared,
    files: &[ScanFile],
    stage: StageId,
    task: usize,
) -> Result<(String, ExecutorSender), String> {
    let deadline = tokio::time::Instant::now() + shared.config.placement_timeout;
    loop {
        let changed = shared.executors_changed.notified();
        if let Some(chosen) = reserve_slot(shared, files, false) {
            return Ok(chosen);
        }
        if tokio::time::timeout_at(deadline, changed).await.is_err() {
            let attached = shared.executor_summaries().len();
            let needs = files.iter().map(ScanFile::to_string).collect::<Vec<_>>();
            return Err(if attached == 0 {
                format!(
                    "no executor is attached (waited {:?}); the job cannot go on",
                    shared.config.placement_timeout
                )
            } else {
                format!(
                    "stage {} task {task} reads {}, and no attached executor holds all of them (waited {:?})",
                    stage.0,
                    needs.join(", "),
                    shared.config.placement_timeout
                )
            });
        }
    }
}
