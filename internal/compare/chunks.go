package compare

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/value"
)

// plan returns a table's chunks: those the journal recorded, or new ones,
// recorded before any chunk is checked so that a resumed compare checks the
// same chunks.
func (cr *content) plan(ctx context.Context, t *tableRun, recs map[int]catalog.CompareRecord) (planRecord, error) {
	if r, ok := recs[recordPlan]; ok {
		var plan planRecord
		if err := decodeRecord(r, &plan); err != nil {
			return plan, err
		}
		if plan.Mode == t.p.mode {
			return plan, nil
		}
	}
	if err := cr.acquire(ctx); err != nil {
		return planRecord{}, err
	}
	splits, err := cr.split(ctx, t)
	cr.release()
	if err != nil {
		return planRecord{}, fmt.Errorf("split %s into chunks: %w", t.p.name, err)
	}
	plan := planRecord{V: recordVersion, Mode: t.p.mode, Splits: splits, Seed: newSeed()}
	rec, err := encodeRecord(t.p.name, recordPlan, plan)
	if err != nil {
		return plan, err
	}
	return plan, cr.c.Journal.Save(ctx, rec)
}

func newSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// split returns the source's key values that split the table into chunks
// of about ChunkRows rows. An integer key is split arithmetically between
// its smallest and largest value (two index lookups); any other key by
// walking its index ChunkRows rows at a time.
func (cr *content) split(ctx context.Context, t *tableRun) ([]value.Row, error) {
	src, ts := cr.sides[0], t.ts[0]
	chunkRows := int64(cr.opts.ChunkRows)
	if len(t.p.key) == 1 {
		k := t.p.cols[t.p.key[0]]
		if k.c[0].Type.IsInteger() && k.c[1].Type.IsInteger() {
			lo, hi, err := src.minMax(ctx, ts)
			if err != nil || lo == nil {
				return nil, err
			}
			est, err := src.conn.estimate(ctx, ts.t)
			if err != nil {
				return nil, err
			}
			if est <= 0 {
				if est, err = src.count(ctx, ts); err != nil {
					return nil, err
				}
			}
			return intSplits(lo, hi, chunkRows, est)
		}
	}
	var out []value.Row
	var after value.Row
	for {
		k, err := src.keyAfter(ctx, ts, after, int(chunkRows)-1)
		if err != nil || k == nil {
			return out, err
		}
		out = append(out, k)
		after = k
	}
}

// intSplits splits [lo, hi] into steps holding about chunkRows of est rows.
func intSplits(loText, hiText []byte, chunkRows, est int64) ([]value.Row, error) {
	lo, ok1 := new(big.Int).SetString(string(loText), 10)
	hi, ok2 := new(big.Int).SetString(string(hiText), 10)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("key range %q..%q is not integer", loText, hiText)
	}
	w := intStep(lo, hi, chunkRows, est)
	var out []value.Row
	for at := new(big.Int).Add(lo, w); at.Cmp(hi) <= 0; at.Add(at, w) {
		// chunk (at-w, at-1]: the split value is the last key of a chunk
		last := new(big.Int).Sub(at, big.NewInt(1))
		out = append(out, value.Row{[]byte(last.String())})
	}
	return out, nil
}
