package compare

import (
	"context"
	"time"
)

// Settling differences: a row found different may only be on its way. A
// running sync applies the source's changes a moment later, so a compare
// of a changing table sees rows the sync has not applied yet. Before a row
// is reported it is checked again, in rounds:
//
// With a running sync job (Options.Follower), a round reads the rows'
// signatures on the source (s1), then the source's log position P, waits
// until the job has applied everything up to P, then reads the target (t)
// and, after it, the source again (s2). A row is equal when t matches s1 or
// s2 (the target caught up with what the source held). When s1 = s2 and
// the target holds something else, although it has applied everything the
// source had at s1, the row looks different for good; but s1 = s2 does
// not prove the source held still in between (a row inserted and deleted
// again, or set to a value and back, reads the same twice), so the row
// differs only when the next round sees the same pair again. A row the
// source changed during the round (s1 ≠ s2, hot) goes to the next round.
// Rows still undecided after the last round, or when the job has not
// applied P within MaxSettle, are "unconfirmed": reported as such, never
// as differences.
//
// Without a follower (or with a job that is not running), the rows are
// read on both sides again after RecheckDelay, Rechecks times (with a job
// known not to run, once and at once): a row that differs every time is
// reported.

// sig is a row's signature on one side. With a key: n is 1 when the row
// is there (h its hash), 0 when not. Without a key the id is the row's
// hash and n how many such rows the side holds.
type sig struct {
	n int64
	h uint64
}

// probe reads the signatures of the rows of ids (nil: every row it
// selects) on one side.
type probe func(ctx context.Context, side int, ids map[string]bool) (map[string]sig, error)

// verdict is the outcome of settling: rows that differ for good (with
// their signatures on each side) and how many could not be decided.
type verdict struct {
	differ      map[string][2]sig
	unconfirmed int64
}

// maxRounds bounds the rounds for rows the source keeps changing.
const maxRounds = 5

// settle re-checks rows (ids; nil: whichever rows differ in the first
// round) with probe.
func (cr *content) settle(ctx context.Context, ids map[string]bool, p probe) (verdict, error) {
	if f := cr.opts.Follower; f != nil {
		if _, running, err := f.Applied(ctx); err != nil {
			cr.c.Log.Warn("cannot tell how far the sync job has applied; re-checking after a delay instead", "err", err)
		} else if running {
			return cr.settleFollowing(ctx, ids, p)
		} else {
			return cr.settleTimed(ctx, ids, p, 1, 0)
		}
	}
	return cr.settleTimed(ctx, ids, p, max(cr.opts.Rechecks, 1), cr.opts.RecheckDelay)
}

// settleTimed reads both sides rounds times, delay apart (before each).
func (cr *content) settleTimed(ctx context.Context, ids map[string]bool, p probe, rounds int, delay time.Duration) (verdict, error) {
	v := verdict{differ: map[string][2]sig{}}
	for round := range rounds {
		if cr.opts.Rechecks > 0 {
			if err := sleep(ctx, delay); err != nil {
				return v, err
			}
		}
		var got [2]map[string]sig
		err := both(func(s int) (err error) {
			got[s], err = p(ctx, s, ids)
			return err
		})
		if err != nil {
			return v, err
		}
		next := map[string]bool{}
		clear(v.differ)
		for id := range union(ids, got[0], got[1]) {
			if a, b := got[0][id], got[1][id]; a != b {
				next[id] = true
				v.differ[id] = [2]sig{a, b}
			}
		}
		if len(next) == 0 || round == rounds-1 {
			break
		}
		ids = next
	}
	return v, nil
}

// settleFollowing runs the rounds of a running sync job.
func (cr *content) settleFollowing(ctx context.Context, ids map[string]bool, p probe) (verdict, error) {
	v := verdict{differ: map[string][2]sig{}}
	pending := ids
	suspect := map[string][2]sig{} // rows that looked different for good in the last round
	for round := 0; round < maxRounds && (pending == nil || len(pending) > 0); round++ {
		s1, err := p(ctx, 0, pending)
		if err != nil {
			return v, err
		}
		pos, err := logPosition(ctx, cr.sides[0].conn)
		if err != nil {
			cr.c.Log.Warn("cannot read the source's log position; re-checking after a delay instead", "err", err)
			rest, err := cr.settleTimed(ctx, pending, p, max(cr.opts.Rechecks, 1), cr.opts.RecheckDelay)
			for id, d := range rest.differ {
				v.differ[id] = d
			}
			return v, err
		}
		ok, err := waitApplied(ctx, cr.opts.Follower, pos, cr.opts.MaxSettle, cr.opts.SettlePoll)
		if err != nil {
			return v, err
		}
		if !ok {
			if pending == nil { // nothing decided yet: every row seen differing is in doubt
				pending = map[string]bool{}
				t, err := p(ctx, 1, nil)
				if err != nil {
					return v, err
				}
				for id := range union(nil, s1, t) {
					if s1[id] != t[id] {
						pending[id] = true
					}
				}
			}
			cr.c.Log.Warn("the sync job did not apply the source's changes in time; rows left unconfirmed",
				"position", pos.String(), "max_settle", cr.opts.MaxSettle, "rows", len(pending))
			v.unconfirmed += int64(len(pending))
			return v, nil
		}
		// The source is read again only after the target: a change the
		// target shows must then show on the source too, or have gone.
		t, err := p(ctx, 1, pending)
		if err != nil {
			return v, err
		}
		s2, err := p(ctx, 0, pending)
		if err != nil {
			return v, err
		}
		next := map[string]bool{}
		seen := map[string][2]sig{}
		for id := range union(pending, s1, t, s2) {
			a, b, c := s1[id], t[id], s2[id]
			switch {
			case b == a || b == c: // the target holds what the source held
			case a == c && suspect[id] == [2]sig{c, b}:
				v.differ[id] = [2]sig{c, b}
			case a == c:
				seen[id] = [2]sig{c, b}
				next[id] = true
			default:
				next[id] = true
			}
		}
		pending, suspect = next, seen
	}
	v.unconfirmed += int64(len(pending))
	return v, nil
}

// union is the ids of the set (nil: none) and the maps.
func union(ids map[string]bool, ms ...map[string]sig) map[string]bool {
	out := map[string]bool{}
	for id := range ids {
		out[id] = true
	}
	if ids != nil {
		return out // rows outside the set are not asked about
	}
	for _, m := range ms {
		for id := range m {
			out[id] = true
		}
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
