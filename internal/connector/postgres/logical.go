package postgres

import (
	"context"
	"os"
	"regexp"
	"time"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// The PostgreSQL source follows its log with pgoutput logical replication
// (PostgreSQL 12 or later): one publication and one slot per job, created
// by OpenLogSnapshot together with the snapshot the full load copies, read
// by Follow, dropped by DropLog. See logical_decode.go for positions and
// logical_stream.go for acknowledgements.

var _ connector.LogSource = (*Source)(nil)

// slotNameRE is what a slot name may hold (PostgreSQL's own rule).
var slotNameRE = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// logNames returns the job's slot and publication, checked.
func logNames(lj connector.LogJob) (slot, pub string, err error) {
	slot, pub = SlotName(lj), PublicationName(lj)
	switch {
	case !slotNameRE.MatchString(slot):
		return "", "", errs.New(errs.InvalidParameter, "replication slot name %q is not 1-63 characters of a-z, 0-9 and _", slot)
	case len(pub) > maxIdent || pub == "":
		return "", "", errs.New(errs.InvalidParameter, "publication name %q is longer than %d bytes", pub, maxIdent)
	}
	return slot, pub, nil
}

// checkWALLevel refuses a server that cannot decode logically.
func (s *Source) checkWALLevel(ctx context.Context) error {
	var level string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('wal_level')`).Scan(&level); err != nil {
		return wrapErr(err, "read wal_level")
	}
	if level != "logical" {
		return errs.New(CodeLogicalDecoding, "%s has wal_level = %s; following changes needs logical", connector.Addr(s.e), level).
			WithFix("set wal_level = logical in postgresql.conf and restart the server")
	}
	return nil
}

// OpenLogSnapshot readies the job's publication and slot and opens the
// snapshot the full load copies from.
//
// A new slot exports its snapshot: readers see exactly what committed
// before the slot's consistent point, which is the snapshot's position,
// and the slot streams what commits after it.
//
// A resumed job (lj.Resumed: a full load resumed after a crash or a pause)
// keeps its slot, never recreates it: the job follows from its first
// run's position, which only that slot still holds (a missing slot is
// CodeSlotLost). This run's snapshot is an ordinary one
// (exportTransaction) and its position is the WAL location read after it
// was taken. That is gap-free: every transaction that commits after the
// first run's position is streamed by the slot whether or not this
// snapshot sees it, and every transaction the snapshot sees committed
// before that location, so the replay window (connector.ReplayWindowEnd,
// up to the last run's position) covers it and its replay finds its rows
// already copied without calling that divergence.
//
// A slot the job has no run for was left by a run that died between
// creating it and recording its position: nothing follows it, so it is
// dropped and created afresh (when the job's marked publication says it is
// the job's).
//
// Nothing is created when a table has no usable replica identity
// (CodeReplicaIdentity), when a slot of that name exists but the job's
// publication does not (the slot is not the job's: CodeSlotForeign), or
// when the publication is another job's (CodePublication).
func (s *Source) OpenLogSnapshot(ctx context.Context, lj connector.LogJob, readers int) (connector.Snapshot, error) {
	slot, _, err := logNames(lj)
	if err != nil {
		return nil, err
	}
	if len(lj.Tables) == 0 {
		return nil, errs.New(errs.InvalidParameter, "the job selects no tables to follow")
	}
	tables, err := resolveTables(ctx, s.pool, lj.Tables)
	if err != nil {
		return nil, err
	}
	problems, err := s.ReplicaIdentityProblems(ctx, lj.Tables)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, IdentityError(problems)
	}
	if err := s.checkWALLevel(ctx); err != nil {
		return nil, err
	}
	version, err := s.serverVersion(ctx)
	if err != nil {
		return nil, err
	}
	// A slot that exists although the job's publication does not is not
	// the job's: refuse before creating anything.
	si, err := readSlot(ctx, s.pool, slot)
	if err != nil {
		return nil, err
	}
	if si == nil && lj.Resumed {
		return nil, errs.New(CodeSlotLost, "replication slot %s does not exist any more (dropped, or the server failed over), "+
			"and the job's copy started from its position: a new slot would miss the changes since", slot).
			WithFix(resnapshotFix).WithDetail("slot", slot)
	}
	if si != nil {
		if err := si.checkOwn(s.e.Database); err != nil {
			return nil, err
		}
		p, err := readPublication(ctx, s.pool, PublicationName(lj), version)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, errs.New(CodeSlotForeign, "replication slot %s exists but this job's publication does not: the slot is not this job's", slot).
				WithFix("name another slot in the source endpoint's options.slot, or drop this one if nothing uses it")
		}
		if !lj.Resumed && p.ownedBy(lj) {
			if err := s.dropSlot(ctx, slot); err != nil {
				return nil, err
			}
			s.log.InfoContext(ctx, "replication slot of an unrecorded run dropped: creating it afresh", "slot", slot)
			si = nil
		} else if why := si.invalidated(); why != "" {
			return nil, errs.New(CodeSlotInvalidated, "replication slot %s can no longer be read: %s", slot, why).WithFix(resnapshotFix)
		}
	}
	if _, err := s.ensurePublication(ctx, lj, tables, version); err != nil {
		return nil, err
	}
	n := max(readers, 1)
	if si != nil {
		snap, err := s.openSnapshot(ctx, n, exportTransaction)
		if err != nil {
			return nil, err
		}
		if lj.Resumed {
			snap.pos = snap.until // only ends the replay window: see above
		}
		s.log.InfoContext(ctx, "replication slot kept for a resumed full load", "slot", slot,
			"slot_position", lsnString(si.confirmed()), "snapshot_position", snap.Position().String())
		return snap, nil
	}
	created := false
	snap, err := s.openSnapshot(ctx, n, slotExporter(slot, &created))
	if err != nil {
		if created { // the slot is this call's own and was never used: leave nothing behind
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			if derr := s.dropSlot(dctx, slot); derr != nil {
				s.log.WarnContext(ctx, "could not drop the new slot after a failed snapshot", "slot", slot, "err", derr)
			}
			cancel()
		}
		return nil, err
	}
	return snap, nil
}

// ResolveStart turns start_position lsn:X/Y into a position to follow
// from: every transaction that commits at or after X/Y. The job's slot
// must exist (a slot cannot be created in the past) and not be confirmed
// past X/Y (the server would silently skip from X/Y to its confirmed
// position); X/Y must not be in the future; and the publication must exist
// already (pgoutput reads it as of each change it decodes, so one created
// now cannot decode earlier changes). A time cannot be mapped to a slot
// position.
func (s *Source) ResolveStart(ctx context.Context, lj connector.LogJob, sp job.StartPosition) (change.Position, error) {
	slot, pub, err := logNames(lj)
	if err != nil {
		return change.Position{}, err
	}
	switch sp.Kind {
	case job.PositionLSN:
	case job.PositionTime:
		return change.Position{}, errs.New(CodeStartPosition, "a PostgreSQL slot cannot start at a time (%s): WAL locations are not indexed by time",
			sp.Time.Format(time.RFC3339)).WithFix("give start_position as lsn:X/Y (e.g. a slot's confirmed_flush_lsn), or run a full load")
	default:
		return change.Position{}, errs.New(CodeStartPosition, "start_position of kind %s is a MySQL position; a PostgreSQL source takes lsn:X/Y", sp.Kind)
	}
	lsn, err := parseLSN(sp.LSN)
	if err != nil {
		return change.Position{}, errs.New(CodeStartPosition, "start_position lsn:%s: %v", sp.LSN, err)
	}
	if err := s.checkWALLevel(ctx); err != nil {
		return change.Position{}, err
	}
	si, err := readSlot(ctx, s.pool, slot)
	if err != nil {
		return change.Position{}, err
	}
	if si == nil {
		return change.Position{}, errs.New(CodeStartPosition, "replication slot %s does not exist: following from lsn:%s needs a slot that has kept the WAL since then", slot, sp.LSN).
			WithFix("create the slot and its publication before the changes to follow (pg_create_logical_replication_slot('%s', 'pgoutput')) and name them in the source options, or run a full load", slot)
	}
	if err := si.checkOwn(s.e.Database); err != nil {
		return change.Position{}, err
	}
	if why := si.invalidated(); why != "" {
		return change.Position{}, errs.New(CodeSlotInvalidated, "replication slot %s can no longer be read: %s", slot, why).WithFix(resnapshotFix)
	}
	if cf := si.confirmed(); lsn < cf {
		return change.Position{}, errs.New(CodeStartPosition, "replication slot %s is confirmed up to %s: the changes from lsn:%s to there are no longer available", slot, lsnString(cf), sp.LSN).
			WithFix("start at lsn:%s or later, or run a full load", lsnString(cf))
	}
	var current string
	if err := s.pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&current); err != nil {
		return change.Position{}, wrapErr(err, "read the current WAL location")
	}
	if cur, err := parseLSN(current); err == nil && lsn > cur {
		return change.Position{}, errs.New(CodeStartPosition, "start_position lsn:%s is ahead of the server's WAL (%s)", sp.LSN, current)
	}
	version, err := s.serverVersion(ctx)
	if err != nil {
		return change.Position{}, err
	}
	p, err := readPublication(ctx, s.pool, pub, version)
	if err != nil {
		return change.Position{}, err
	}
	if p == nil {
		return change.Position{}, errs.New(CodePublication, "publication %s does not exist: it must exist before the changes to follow were written", pub).
			WithFix("create it before those changes (CREATE PUBLICATION ... FOR TABLE the job's tables) and name it in options.publication, or run a full load")
	}
	tables, err := resolveTables(ctx, s.pool, lj.Tables)
	if err != nil {
		return change.Position{}, err
	}
	if problems := p.problems(tables, version); len(problems) > 0 {
		return change.Position{}, errs.New(CodePublication, "publication %s cannot be used for this job: %v", pub, problems).
			WithFix("make it list exactly the job's tables and publish insert, update, delete and truncate, before the changes to follow; or run a full load")
	}
	return pgPosition(lsn), nil
}

// Follow streams the changes of transactions committed at or after from.
// It refuses a slot that is gone, invalidated, or confirmed past from
// (possible data loss), and never recreates one.
func (s *Source) Follow(ctx context.Context, lj connector.LogJob, from change.Position, tables []*schema.Table) (connector.ChangeStream, error) {
	slot, pub, err := logNames(lj)
	if err != nil {
		return nil, err
	}
	lsn, err := followFrom(from)
	if err != nil {
		return nil, err
	}
	si, err := readSlot(ctx, s.pool, slot)
	if err != nil {
		return nil, err
	}
	if err := checkFollow(si, slot, s.e.Database, lsn); err != nil {
		return nil, err
	}
	version, err := s.serverVersion(ctx)
	if err != nil {
		return nil, err
	}
	if p, err := readPublication(ctx, s.pool, pub, version); err != nil {
		return nil, err
	} else if p == nil {
		return nil, errs.New(CodePublication, "publication %s does not exist any more: the slot cannot decode without it", pub).WithFix(resnapshotFix)
	}
	members, err := publicationMembers(ctx, s.pool, pub)
	if err != nil {
		return nil, err
	}
	var moneyScale int
	if err := s.pool.QueryRow(ctx, `SELECT scale('0'::money::numeric)`).Scan(&moneyScale); err != nil {
		return nil, wrapErr(err, "read money's scale")
	}
	st := &logicalStream{src: s, slot: slot, pub: pub, database: s.e.Database, moneyScale: moneyScale,
		log: s.log.With("slot", slot), items: make(chan change.Item, itemBuffer), ackWake: make(chan struct{}, 1),
		deadline: deadTimeout, report: si.confirmed(), emitted: lsn, acked: 0, spill: newSpill(os.TempDir())}
	st.ctx, st.cancel = context.WithCancel(context.WithoutCancel(ctx))
	st.dec = newLogicalDecoder(s, lsn, moneyScale, func(it change.Item, commitLSN uint64) error {
		return st.deliver(st.ctx, it, commitLSN)
	})
	if err := bindTables(st.dec, pub, members, tables); err != nil {
		st.cancel()
		return nil, err
	}
	if err := st.dec.confirmAttnums(ctx); err != nil {
		st.cancel()
		return nil, err
	}
	if err := st.connectFirst(ctx); err != nil {
		st.cancel()
		return nil, err
	}
	st.wg.Add(1)
	go st.run(st.ctx)
	s.log.InfoContext(ctx, "following the slot", "slot", slot, "publication", pub, "from", from.String())
	return st, nil
}

// connectFirst is connect, waiting a while for a slot that the walsender of
// an earlier, broken connection still holds.
func (s *logicalStream) connectFirst(ctx context.Context) error {
	start := time.Now()
	for {
		err := s.connect(ctx)
		if err == nil || pgCode(err) != sqlstateObjectInUse {
			return err
		}
		if time.Since(start) > busyTimeout {
			return busyErr(s.slot, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// bindTables matches the job's tables to the publication's members by
// name; a single table left on each side was renamed while the job was
// stopped. A job table the publication lacks, or a member that is not a
// job table, is refused: its changes would be lost, or undecodable.
func bindTables(d *logicalDecoder, pub string, members map[uint32]connector.TableRef, tables []*schema.Table) error {
	byRef := map[connector.TableRef]*schema.Table{}
	for _, t := range tables {
		byRef[connector.TableRef{Schema: t.Schema, Name: t.Name}] = t
	}
	var loose []uint32
	for oid, ref := range members {
		if t := byRef[ref]; t != nil {
			d.initial[oid] = t
			delete(byRef, ref)
		} else {
			loose = append(loose, oid)
		}
	}
	if len(loose) == 1 && len(byRef) == 1 {
		for _, t := range byRef {
			d.initial[loose[0]] = t
		}
		return nil
	}
	switch {
	case len(byRef) > 0:
		var names []string
		for ref := range byRef {
			names = append(names, ref.String())
		}
		return errs.New(CodePublication, "publication %s lacks the job's table(s) %v: their changes would not be sent", pub, names).
			WithFix(resnapshotFix)
	case len(loose) > 0:
		var names []string
		for _, oid := range loose {
			names = append(names, members[oid].String())
		}
		return errs.New(CodePublication, "publication %s lists table(s) %v that are not the job's", pub, names).
			WithFix("remove them from the publication (ALTER PUBLICATION %s DROP TABLE ...), or reset the job", quoteIdent(pub))
	}
	return nil
}

// DropLog drops the job's slot (ending a walsender that still reads it)
// and its publication. Objects that are not the job's are left alone: a
// slot of another plugin or database; a slot named in the endpoint's
// options while the job's marked publication is missing (a derived slot
// name holds the job id's hash and is always the job's); a publication
// without this job's mark. Dropping what is already gone is fine.
func (s *Source) DropLog(ctx context.Context, lj connector.LogJob) error {
	slot, pub, err := logNames(lj)
	if err != nil {
		return err
	}
	version, err := s.serverVersion(ctx)
	if err != nil {
		return err
	}
	p, err := readPublication(ctx, s.pool, pub, version)
	if err != nil {
		return err
	}
	si, err := readSlot(ctx, s.pool, slot)
	if err != nil {
		return err
	}
	if si != nil {
		switch {
		case si.checkOwn(s.e.Database) != nil:
			s.log.WarnContext(ctx, "replication slot left in place: not this job's", "slot", slot)
		case lj.Slot != "" && (p == nil || !p.ownedBy(lj)):
			// A slot named in the options is the job's only while the
			// job's publication is there to say so.
			s.log.WarnContext(ctx, "replication slot left in place: nothing says it is this job's", "slot", slot, "publication", pub)
		default:
			if err := s.dropSlot(ctx, slot); err != nil {
				return err
			}
			s.log.InfoContext(ctx, "replication slot dropped", "slot", slot)
		}
	}
	return s.dropPublication(ctx, lj)
}
