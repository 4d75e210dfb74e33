package compare

import (
	"context"
)

// recheckRepair checks the rows a repair touched again, as any differing
// row is checked (settle.go), and records how many still differ: a repair
// that did not take (a trigger, a concurrent writer, a sync overwriting
// it) is not reported as a success.
func (c *Compare) recheckRepair(ctx context.Context, info *RepairInfo, pairs []*pair, sides [2]*side) error {
	recs, err := c.Journal.Load(ctx)
	if err != nil {
		return err
	}
	byName := map[string]*pair{}
	for _, p := range pairs {
		byName[p.name] = p
	}
	cr := &content{c: c, opts: &c.Options, sides: sides, sem: make(chan struct{}, c.Options.Workers)}
	cr.budget.Store(int64(c.Options.MaxRepairRows))
	cr.bytes.Store(c.Options.MaxRepairBytes)
	for _, r := range recs {
		if r.Chunk != recordDone {
			continue
		}
		var done doneRecord
		if err := decodeRecord(r, &done); err != nil {
			return err
		}
		p := byName[r.Table]
		if done.Repaired == nil || p == nil {
			continue
		}
		t := &tableRun{p: p, m: done.Repaired.M}
		for i := range 2 {
			t.ts[i] = newTableSQL(sides[i].d, p, i)
		}
		var differ, unconfirmed int64
		if len(p.key) == 0 {
			for start := 0; start < len(done.Repaired.Buckets); start += 64 {
				v, err := cr.settle(ctx, nil, cr.rowsProbe(t, done.Repaired.Buckets[start:min(start+64, len(done.Repaired.Buckets))]))
				if err != nil {
					return err
				}
				for _, d := range v.differ {
					differ += abs(d[0].n - d[1].n)
				}
				unconfirmed += v.unconfirmed
			}
		} else {
			n, u, err := cr.countDiffering(ctx, t, done.Repaired.Keys, false)
			if err != nil {
				return err
			}
			differ, unconfirmed = differ+n, unconfirmed+u
		}
		info.StillDifferent += differ
		info.Unconfirmed += unconfirmed
	}
	info.Verified = true
	return nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
