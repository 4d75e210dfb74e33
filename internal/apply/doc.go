// Package apply applies a change stream (connector.ChangeStream) to a
// target (connector.ApplySink) with N parallel workers, exactly once across
// crashes, and keeps every row's changes in source order
// (docs/design/incremental.md).
//
// # Who does what
//
// One goroutine, the coordinator, reads the stream and routes each row
// change to a worker: hash(table, key) mod N (into MySQL, integer key
// values hashed by blocks of 256, so a worker writes runs of neighbouring
// rows: the scheme is stored with the job's checkpoints and kept for its
// life), or table mod N for a table whose rows can depend on each other
// other than through their key (a second unique key, a key compared case-
// or accent-insensitively, no key). Each worker owns a connection and a
// target transaction it keeps open across source transactions; it groups
// consecutive changes of one table and kind into multi-row statements and
// commits, with its own checkpoint row in the same transaction, at a
// source transaction boundary once it holds BatchRows changes or
// FlushInterval passed. The coordinator acknowledges the stream up to the
// smallest position every worker has committed, never further.
//
// A checkpoint is the position of the last change a worker applied: the
// transaction (Txn.Pos) and the change's index in it (Seq), or "complete"
// at an end position. Routing depends only on the change and its table's
// structure, so after a crash the stream is followed again from the
// smallest checkpoint, every change goes to the worker that had it before,
// and each worker skips the changes at or before its own checkpoint.
//
// # A worked example
//
// N = 2, table t(id PRIMARY KEY, v), id 1 routes to w1, ids 2, 3 and 4 to w0:
//
//	txn A (pos 100)  seq 0  UPDATE t SET v='a' WHERE id=1     → w1
//	                 seq 1  UPDATE t SET v='b' WHERE id=2     → w0
//	                 seq 2  UPDATE t SET v='c' WHERE id=1     → w1, after seq 0: same worker, same order
//	                 commit at 150                            → boundary 150 to w0 and w1
//	txn B (pos 150)  seq 0  UPDATE t SET id=3 WHERE id=2      → w0 both ways: an UPDATE of id 2 on w0
//	                 seq 1  UPDATE t SET id=4 WHERE id=1      → id 1 is w1's, id 4 is w0's: a barrier
//	                 seq 2  INSERT t (1, 'd')                 → w1
//	                 commit at 200
//
// The barrier at (150, 1): both workers commit what they hold with
// checkpoint (150, seq 0) - w0 its UPDATE of id 2, w1 txn A's two updates
// if it kept them open past A's boundary - then w0 applies UPDATE ... SET id=4
// WHERE id=1 alone and commits it with checkpoint (150, seq 1), and routing
// resumes: the INSERT of id 1 (seq 2) on w1 cannot overtake the change that
// freed id 1. Say the process dies before B's commit reaches the workers:
// the target holds checkpoints w0 = (150, 1), w1 = (150, 0). The stream is
// followed again from 150: seq 0 goes to w0 again (covered by (150, 1):
// skipped), seq 1 is a barrier again whose owner w0 covers it (skipped,
// no flush), seq 2 goes to w1, whose (150, 0) does not cover it: applied.
// Nothing twice, nothing lost. The stream is acknowledged up to 150 (the
// end before B) until both workers commit B's boundary 200.
//
// The same reasoning covers a worker that sees no change for a while: it
// still learns the boundaries (at most every 10 ms, and at heartbeats) and
// commits its checkpoint alone at most every IdleInterval, so the smallest
// checkpoint, the restart point and the acknowledged position keep up.
//
// # Barriers
//
// A DDL and a TRUNCATE are barriers too: every worker commits up to the
// item before, worker 0 applies the schema change with the table's new
// structure recorded in the schema history (PostgreSQL: in one transaction
// with its checkpoint; MySQL: the DDL commits by itself and a replay finds
// it on the target's catalog), then routing resumes with the new structure.
//
// # Errors and pauses
//
// The first error of the stream or a worker stops everything and is Run's
// result; cancelling ctx is a pause. Either way open target transactions
// roll back and committed checkpoints stay: running again resumes exactly.
// Outside the replay window a row the target does not hold as expected is
// connector.CodeDivergence; inside it (after a resumed full load: changes
// older than the last snapshot may be in the copied rows) changes apply
// idempotently.
package apply
