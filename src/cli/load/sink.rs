//! Where the writer sends batches: sorted ingestion while the input stays sorted, normal
//! writes otherwise.

use crate::WriteBatch;

/// Records written by sorted ingestion, over possibly several ingests.
#[derive(Debug, Default)]
pub(super) struct IngestSummary {
    pub(super) records: u64,
    pub(super) tables: usize,
    pub(super) level: u32,
}

impl IngestSummary {
    pub(super) fn add(&mut self, summary: crate::db::IngestSummary) {
        self.records += summary.records;
        self.tables += summary.tables.len();
        self.level = summary.level;
    }
}

/// Where batches go: sorted ingestion while the input stays sorted (and holds only puts),
/// normal writes from the first record that is not.
pub(super) enum Sink<'a> {
    /// Nothing seen yet.
    Undecided,
    /// Building tables directly.
    Ingest(Box<crate::db::Ingest<'a>>),
    /// Through the WAL and the memtable.
    Write,
}

impl<'a> Sink<'a> {
    pub(super) fn apply(
        &mut self,
        db: &'a crate::Db,
        batch: &mut WriteBatch,
        forced: bool,
        eligible: bool,
        ingested: &mut IngestSummary,
    ) -> crate::Result<()> {
        if let Sink::Undecided = self {
            // Without --sorted, ingest only when the whole first batch is sorted puts.
            *self = if forced || (eligible && sorted_puts(batch, None) == batch.len()) {
                Sink::Ingest(Box::new(db.ingest()?))
            } else {
                Sink::Write
            };
        }
        let Sink::Ingest(ingest) = self else {
            return db.write(batch);
        };
        let fit = sorted_puts(batch, ingest.last_key());
        for op in batch.ops().take(fit) {
            ingest.add(op.key, op.value)?;
        }
        if fit == batch.len() {
            return Ok(());
        }
        // The first key out of order (or a delete): install what was ingested, and write the
        // rest normally.
        if let Sink::Ingest(ingest) = std::mem::replace(self, Sink::Write) {
            ingested.add(ingest.finish()?);
        }
        let mut rest = WriteBatch::new();
        for op in batch.ops().skip(fit) {
            match op.kind {
                crate::ValueKind::Put => rest.put(op.key, op.value)?,
                _ => rest.delete(op.key)?,
            }
        }
        db.write(&mut rest)
    }
}

/// How many leading operations of `batch` are puts with strictly increasing keys, all after
/// `after`.
fn sorted_puts(batch: &WriteBatch, after: Option<&[u8]>) -> usize {
    let mut last = after.map(<[u8]>::to_vec);
    let mut count = 0;
    for op in batch.ops() {
        if op.kind != crate::ValueKind::Put || last.as_deref().is_some_and(|l| op.key <= l) {
            break;
        }
        last = Some(op.key.to_vec());
        count += 1;
    }
    count
}
