package postgres

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pglogrepl"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
)

// logicalDecoder turns pgoutput messages (proto_version 1: committed
// transactions only, each whole, in commit order; a transaction streamed
// with proto_version 2 is replayed to it the same way once it commits,
// logical_streamed.go) into change items.
//
// # Positions
//
// A logical slot started at S re-sends every transaction whose commit
// record starts at or after max(S, confirmed_flush_lsn). For a transaction
// T whose commit record starts at C and ends at E (a commit record is at
// least 34 bytes: E >= C+34), dts places T's items on the LSNs C+1..C+33,
// which lie inside T's commit record, so no other item can take them:
//
//	DDL before T's changes   C+1+j   j: the table's rank among the tables T changes, in order (< 32)
//	Truncate before changes  C+33    the TRUNCATEs that open T, as one item
//	Txn.Pos, Begin, Rows     C+33    Rows (C+33, Seq)
//	Commit                   E
//	Heartbeat                W       the walsender's position between transactions:
//	                                 every transaction committing before W was sent
//
// Each item's position is strictly after the previous item's end (C+1 >
// E of the transaction before, as C >= that E), and a Txn.Pos is at or
// after the end before it, as the apply contract wants
// (connector/contract_apply.go). Follow(from) starts the slot at from-33:
// that re-sends the transaction from lies in, if any, and nothing that
// ended at or before from; items at or before from are then dropped (a
// transaction whose Txn.Pos is from is replayed whole).
//
// # What PostgreSQL puts inside transactions
//
// PostgreSQL sends no DDL: a RELATION message describes a table before the
// first change after its structure changed. dts turns a difference into a
// DDL item (logical_relation.go) placed before the transaction, which is
// right when the table had no change yet in the transaction: the DDL was
// committed before it, or made in it before any change to the table. A
// TRUNCATE of tables the transaction did not change yet is likewise placed
// before it (with the other TRUNCATEs before the transaction's changes, as
// one item). To place them, the decoder holds a transaction's items back
// until its COMMIT, up to holdItems items / holdBytes bytes; a larger
// transaction flows through from then on. A structure change or TRUNCATE
// that cannot be placed before the transaction — of a table the
// transaction already changed, or arriving after the transaction started
// flowing — stops the stream with CodeDecode: a transaction that alters or
// truncates a table after changing its rows cannot be carried as one.
//
// Transactions without changes to the job's tables (PostgreSQL 12-14 send
// BEGIN/COMMIT for every transaction) emit nothing.
//
// # Replays
//
// After a reconnect the stream starts again at the resume point (safe) and
// the server re-sends the transaction that was cut off. The decoder
// restores the relation state it had at that transaction's BEGIN, decodes it
// again into the same items (structures read for a relation message are
// kept by fingerprint) and drops as many as it emitted the first time:
// Next never returns an item twice.
type logicalDecoder struct {
	src        *Source
	types      *typeResolver
	moneyScale int
	// initial are the job's tables as of from, by oid; byName those that
	// could not be matched to an oid when the stream opened.
	initial map[uint32]*schema.Table
	byName  map[connector.TableRef]*schema.Table
	others  map[uint32]connector.TableRef // relations that are not the job's (partitions)
	rels    map[uint32]*relation
	built   map[string]*schema.Table
	// atts are the attnums of structures, as far as known; renamed the
	// renames found from a structure to a relation message's.
	atts    map[*schema.Table]*attInfo
	renamed map[renameKey]map[string]string
	emit    func(it change.Item, commitLSN uint64) error

	from  uint64 // Follow's position: items at or before it are dropped
	safe  uint64 // every transaction committing before it was emitted (or dropped)
	end   uint64 // the last end position emitted
	lastC uint64 // commit LSN of the last transaction completed

	// The transaction being decoded.
	txn       *change.Txn
	commitLSN uint64
	seq       int
	produced  int                    // items produced for it (emitted, or dropped as emitted before)
	touched   map[uint32]int         // tables it changed, by rank of their first change
	pending   map[uint32]*change.DDL // structure changes waiting for their table's first change
	ddls      []change.Item          // DDL items to place before it
	trunc     []*schema.Table        // TRUNCATEs to place before it
	held      []change.Item          // its Rows, held back until COMMIT
	heldBytes int
	flowing   bool // its items flow through (Begin was emitted)
	undo      map[uint32]*relation
	skip      bool // completed before (never expected)

	// The transaction cut off by the last reconnect, and the items it emitted.
	replayC uint64
	replayN int
}

const (
	// txnOffset is Txn.Pos - C, the last LSN inside the shortest commit record.
	txnOffset = 33
	// ddlSlots are the DDL positions before a transaction: C+1..C+32.
	ddlSlots  = txnOffset - 1
	holdItems = 4096
	holdBytes = 32 << 20
)

func newLogicalDecoder(src *Source, from uint64, moneyScale int, emit func(change.Item, uint64) error) *logicalDecoder {
	return &logicalDecoder{
		src: src, types: newTypeResolver(src.pool), moneyScale: moneyScale,
		initial: map[uint32]*schema.Table{}, byName: map[connector.TableRef]*schema.Table{}, others: map[uint32]connector.TableRef{},
		rels: map[uint32]*relation{}, built: map[string]*schema.Table{}, undo: map[uint32]*relation{},
		atts: map[*schema.Table]*attInfo{}, renamed: map[renameKey]map[string]string{},
		touched: map[uint32]int{}, pending: map[uint32]*change.DDL{},
		emit: emit, from: from, safe: startLSN(from), end: from,
	}
}

// startLSN is where the slot starts to replay everything after from.
func startLSN(from uint64) uint64 {
	if from <= txnOffset {
		return from
	}
	return from - txnOffset
}

// inTxn reports whether a transaction is open.
func (d *logicalDecoder) inTxn() bool { return d.txn != nil }

// decodeErr is the coded error of a message the stream cannot handle.
func (d *logicalDecoder) decodeErr(lsn uint64, err error) error {
	if _, ok := errs.As(err); ok {
		return err
	}
	at := lsnString(lsn)
	if d.txn != nil {
		at = fmt.Sprintf("%s (transaction %s, committed at %s)", at, d.txn.ID, lsnString(d.commitLSN))
	}
	return errs.Wrap(err, CodeDecode, "cannot decode the change stream at %s: %v", at, err).
		WithFix("the job stopped before this change; report the error with the table's definition").
		WithDetail("lsn", lsnString(lsn))
}

// unplaceable is the error of a schema change or TRUNCATE inside a
// transaction that cannot be moved before it.
func (d *logicalDecoder) unplaceable(what string) error {
	return errs.New(CodeDecode, "transaction %s (committed at %s) %s: dts carries schema changes and TRUNCATE only "+
		"before a transaction's changes to the same table (and, in transactions of more than %d changes, before its first change)",
		d.txn.ID, lsnString(d.commitLSN), what, holdItems).
		WithFix("the job stopped before this transaction; reset the job and run it again with a full load. "+
			"Run such schema changes in transactions of their own").
		WithDetail("lsn", lsnString(d.commitLSN))
}

// handle processes one message that starts at WAL location lsn.
func (d *logicalDecoder) handle(ctx context.Context, msg pglogrepl.Message, lsn uint64) error {
	var err error
	switch m := msg.(type) {
	case *pglogrepl.BeginMessage:
		err = d.begin(m)
	case *pglogrepl.RelationMessage:
		err = d.relation(ctx, m)
	case *pglogrepl.InsertMessage:
		err = d.row(m.RelationID, m)
	case *pglogrepl.UpdateMessage:
		err = d.row(m.RelationID, m)
	case *pglogrepl.DeleteMessage:
		err = d.row(m.RelationID, m)
	case *pglogrepl.TruncateMessage:
		err = d.truncate(m)
	case *pglogrepl.CommitMessage:
		err = d.commit(m)
	case *pglogrepl.TypeMessage, *pglogrepl.OriginMessage, *pglogrepl.LogicalDecodingMessage:
		// Types are read from the catalog; origins and messages carry no rows.
	default:
		err = fmt.Errorf("unexpected message %T", msg)
	}
	if err != nil && ctx.Err() == nil && !isTransient(err) {
		return d.decodeErr(lsn, err)
	}
	return err
}

func (d *logicalDecoder) begin(m *pglogrepl.BeginMessage) error {
	if d.txn != nil {
		return fmt.Errorf("BEGIN of transaction %d inside transaction %s", m.Xid, d.txn.ID)
	}
	d.commitLSN = uint64(m.FinalLSN)
	d.txn = &change.Txn{ID: xidString(m.Xid), Pos: pgPosition(d.commitLSN + txnOffset), CommitTime: m.CommitTime.UTC()}
	d.seq, d.produced, d.heldBytes, d.flowing = 0, 0, 0, false
	d.ddls, d.trunc, d.held = d.ddls[:0], nil, d.held[:0]
	clear(d.touched)
	clear(d.pending)
	clear(d.undo)
	d.skip = d.lastC != 0 && d.commitLSN <= d.lastC
	return nil
}

// produce emits it unless it is at or before from, or was emitted before
// a reconnect.
func (d *logicalDecoder) produce(it change.Item) error {
	n := d.produced + 1
	switch {
	case d.skip, d.replayC != 0 && d.replayC == d.commitLSN && n <= d.replayN:
	case it.Kind == change.ItemBegin || it.Kind == change.ItemRow || it.Kind == change.ItemCommit:
		if d.commitLSN+txnOffset >= d.from {
			if err := d.emit(it, d.commitLSN); err != nil {
				return err
			}
		}
	default: // DDL, Truncate: end positions
		if it.Pos.LSN > d.from {
			if err := d.emit(it, d.commitLSN); err != nil {
				return err
			}
		}
	}
	d.produced = n
	if it.Kind != change.ItemBegin && it.Kind != change.ItemRow {
		d.end = max(d.end, it.Pos.LSN)
	}
	return nil
}

func (d *logicalDecoder) item(kind change.ItemKind) change.Item {
	return change.Item{Kind: kind, Txn: d.txn, Pos: d.txn.Pos, At: d.txn.CommitTime}
}

// flow emits what the transaction held back — its DDL and TRUNCATE items
// first, then Begin and its rows — and lets the rest flow through.
func (d *logicalDecoder) flow() error {
	if d.flowing {
		return nil
	}
	d.flowing = true
	slices.SortStableFunc(d.ddls, func(a, b change.Item) int { return cmp.Compare(a.Pos.LSN, b.Pos.LSN) })
	for _, it := range d.ddls {
		if err := d.produce(it); err != nil {
			return err
		}
	}
	if len(d.trunc) > 0 {
		if err := d.produce(change.Item{Kind: change.ItemTruncate, Tables: d.trunc, Pos: d.txn.Pos, At: d.txn.CommitTime}); err != nil {
			return err
		}
	}
	if len(d.held) == 0 {
		return nil
	}
	if err := d.produce(d.item(change.ItemBegin)); err != nil {
		return err
	}
	for i, it := range d.held {
		if err := d.produce(it); err != nil {
			return err
		}
		d.held[i] = change.Item{}
	}
	d.held = d.held[:0]
	return nil
}

// touch records the first change of a table in the transaction and places
// its pending structure change before the transaction.
func (d *logicalDecoder) touch(oid uint32) error {
	if _, ok := d.touched[oid]; ok {
		return nil
	}
	rank := len(d.touched)
	d.touched[oid] = rank
	ddl := d.pending[oid]
	if ddl == nil {
		return nil
	}
	delete(d.pending, oid)
	if d.flowing {
		return d.unplaceable("changes the structure of " + ddl.Table.String() + " after its first " + fmt.Sprint(holdItems) + " changes")
	}
	if rank >= ddlSlots {
		return d.unplaceable(fmt.Sprintf("changes the structure of %s after changing %d other tables", ddl.Table, ddlSlots))
	}
	d.ddls = append(d.ddls, change.Item{Kind: change.ItemDDL, DDL: ddl, Pos: pgPosition(d.commitLSN + 1 + uint64(rank)), At: d.txn.CommitTime})
	return nil
}

func (d *logicalDecoder) relation(ctx context.Context, m *pglogrepl.RelationMessage) error {
	if d.txn == nil {
		return fmt.Errorf("RELATION %s.%s outside a transaction", m.Namespace, m.RelationName)
	}
	fp := fingerprint(m)
	prev := d.rels[m.RelationID]
	if prev != nil && prev.fp == fp {
		return nil
	}
	var known *schema.Table
	switch {
	case prev != nil:
		known = prev.table
	case d.initial[m.RelationID] != nil:
		known = d.initial[m.RelationID]
	default:
		ref := connector.TableRef{Schema: m.Namespace, Name: m.RelationName}
		if known = d.byName[ref]; known == nil {
			// Not a job table: a partition, whose RELATION pgoutput sends
			// after its root's (its changes come as the root's), or a
			// table someone added to the publication, whose changes
			// stop the stream.
			d.others[m.RelationID] = ref
			return nil
		}
		d.initial[m.RelationID] = known
		delete(d.byName, ref)
	}
	types, err := d.messageTypes(ctx, m)
	if err != nil {
		return err
	}
	table := known
	var renames map[string]string
	if !sameShape(known, m, types) || known.Schema != m.Namespace || known.Name != m.RelationName {
		if table, err = d.structureFor(ctx, m, fp, types); err != nil {
			return err
		}
		if renames, err = d.renamesFor(ctx, m, fp, known, table); err != nil {
			return err
		}
	}
	rel, err := newRelation(m, fp, table, d.moneyScale)
	if err != nil {
		return err
	}
	if _, ok := d.undo[m.RelationID]; !ok {
		d.undo[m.RelationID] = prev
	}
	d.rels[m.RelationID] = rel
	if table == known {
		return nil
	}
	if _, ok := d.touched[m.RelationID]; ok {
		return d.unplaceable("changes the structure of " + table.String() + " after changing its rows")
	}
	ddl := ddlBetween(known, table, renames)
	if old := d.pending[m.RelationID]; old != nil { // two changes before the table's first change: one DDL
		ddl = ddlBetween(old.Old, table, composeRenames(old.Old, old.Renames, known, renames, table))
	}
	if ddl == nil {
		delete(d.pending, m.RelationID)
	} else {
		d.pending[m.RelationID] = ddl
	}
	return nil
}

// relationOf returns how to decode a change of oid.
func (d *logicalDecoder) relationOf(oid uint32) (*relation, error) {
	if rel := d.rels[oid]; rel != nil {
		return rel, nil
	}
	if ref, ok := d.others[oid]; ok {
		return nil, errs.New(CodeDecode, "table %s (oid %d) is in the job's publication but is not one of the job's tables", ref, oid).
			WithFix("remove it from the publication, or reset the job to copy it")
	}
	return nil, fmt.Errorf("a change of relation %d before its RELATION message", oid)
}

func (d *logicalDecoder) row(oid uint32, msg pglogrepl.Message) error {
	if d.txn == nil {
		return fmt.Errorf("%T outside a transaction", msg)
	}
	rel, err := d.relationOf(oid)
	if err != nil {
		return err
	}
	if err := d.touch(oid); err != nil {
		return err
	}
	row, err := rel.rowOf(msg)
	if err != nil {
		return err
	}
	row.Seq = d.seq
	d.seq++
	it := d.item(change.ItemRow)
	it.Row = row
	if d.flowing {
		return d.produce(it)
	}
	d.held = append(d.held, it)
	d.heldBytes += row.Before.Size() + row.After.Size() + 64
	if len(d.held) >= holdItems || d.heldBytes >= holdBytes {
		return d.flow()
	}
	return nil
}

func (d *logicalDecoder) truncate(m *pglogrepl.TruncateMessage) error {
	if d.txn == nil {
		return fmt.Errorf("TRUNCATE outside a transaction")
	}
	tables := make([]*schema.Table, len(m.RelationIDs))
	for i, oid := range m.RelationIDs {
		rel, err := d.relationOf(oid)
		if err != nil {
			return err
		}
		if _, ok := d.touched[oid]; ok {
			return d.unplaceable("truncates " + rel.table.String() + " after changing its rows")
		}
		if d.flowing {
			return d.unplaceable("truncates " + rel.table.String() + " after its first " + fmt.Sprint(holdItems) + " changes")
		}
		tables[i] = rel.table
	}
	for _, oid := range m.RelationIDs {
		if err := d.touch(oid); err != nil {
			return err
		}
	}
	d.trunc = append(d.trunc, tables...)
	return nil
}

func (d *logicalDecoder) commit(m *pglogrepl.CommitMessage) error {
	if d.txn == nil || uint64(m.CommitLSN) != d.commitLSN {
		return fmt.Errorf("COMMIT at %s does not end the open transaction", lsnString(uint64(m.CommitLSN)))
	}
	end := uint64(m.TransactionEndLSN)
	if end < d.commitLSN+txnOffset+1 {
		return fmt.Errorf("commit record %s..%s is shorter than PostgreSQL writes", lsnString(d.commitLSN), lsnString(end))
	}
	if len(d.pending) > 0 {
		// A structure change announced without a change of its table
		// (pgoutput does not do that today): still carried, before the
		// transaction, after the tables it changed.
		oids := slices.Sorted(maps.Keys(d.pending))
		for _, oid := range oids {
			if err := d.touch(oid); err != nil {
				return err
			}
		}
	}
	if err := d.flow(); err != nil {
		return err
	}
	if d.seq > 0 { // Begin was emitted with the first row
		it := d.item(change.ItemCommit)
		it.Pos = pgPosition(end)
		if err := d.produce(it); err != nil {
			return err
		}
	}
	d.lastC, d.safe = d.commitLSN, max(d.safe, end)
	if d.replayC == d.commitLSN {
		d.replayC, d.replayN = 0, 0
	}
	d.txn = nil
	return nil
}

// heartbeat returns the position of a heartbeat at walsender position w
// and moves the resume point there; ok is false when no heartbeat may be
// emitted (inside a transaction, or not yet past Follow's position).
func (d *logicalDecoder) heartbeat(w uint64) (pos uint64, ok bool) {
	if d.txn != nil {
		return 0, false
	}
	d.safe = max(d.safe, w)
	if d.safe < d.from || d.safe < d.end {
		return 0, false
	}
	d.end = d.safe
	return d.safe, true
}

// rewind prepares a replay after the connection broke: the transaction
// being decoded will be sent again whole.
func (d *logicalDecoder) rewind() {
	if d.txn == nil {
		return
	}
	if d.replayC == d.commitLSN {
		d.replayN = max(d.replayN, d.produced)
	} else {
		d.replayC, d.replayN = d.commitLSN, d.produced
	}
	for oid, rel := range d.undo {
		if rel == nil {
			delete(d.rels, oid)
		} else {
			d.rels[oid] = rel
		}
	}
	clear(d.undo)
	d.txn = nil
}
