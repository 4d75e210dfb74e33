package compare

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/value"
)

// Journal keeps what a content compare has done: each table's plan (its
// chunks), the result of every chunk, and each finished table's report. A
// compare that stops for any reason (Ctrl-C, a crash, a server restart)
// and runs again with the same journal skips what is recorded: nothing is
// checked twice, and the plan (hence the chunks) stays the same.
//
// Save is called from several goroutines; a record replaces the one with
// the same Table and Chunk.
type Journal interface {
	Load(ctx context.Context) ([]catalog.CompareRecord, error)
	Save(ctx context.Context, r catalog.CompareRecord) error
}

// Record numbers of a table's records other than its chunks (0, 1, ...).
const (
	recordPlan = -1
	recordDone = -2
)

// recordVersion versions the records' JSON.
const recordVersion = 1

// planRecord is a table's plan: how it is split, fixed when first planned.
type planRecord struct {
	V    int    `json:"v"`
	Mode string `json:"mode"`
	// Splits are the chunk boundaries (key values, canonical): chunk i
	// holds keys in (Splits[i-1], Splits[i]], the first and last chunks
	// are open. Range mode only.
	Splits []value.Row `json:"splits,omitempty"`
	// Buckets is the number of hash buckets (hash and rows modes).
	Buckets int64 `json:"buckets,omitempty"`
	// Seed picks the sampled chunks.
	Seed uint64 `json:"seed"`
}

// chunkRecord is a checked chunk.
type chunkRecord struct {
	V         int   `json:"v"`
	Different bool  `json:"different,omitempty"`
	Source    int64 `json:"source_rows"`
	Target    int64 `json:"target_rows"`
	// Suspects are the keys of rows found different, to be checked again;
	// Dropped counts rows beyond the compare's bound that differed when
	// checked again, Unconfirmed those that could not be decided.
	Suspects    []value.Row `json:"suspects,omitempty"`
	Dropped     int64       `json:"dropped,omitempty"`
	Unconfirmed int64       `json:"unconfirmed,omitempty"`
}

// doneRecord is a finished table.
type doneRecord struct {
	V               int         `json:"v"`
	Report          TableReport `json:"report"`
	Repair          []string    `json:"repair,omitempty"`
	RepairTruncated bool        `json:"repair_truncated,omitempty"`
	// Repaired says which rows the repair touches (checked again after it).
	Repaired *repaired `json:"repaired,omitempty"`
}

func encodeRecord(table string, chunk int, v any) (catalog.CompareRecord, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return catalog.CompareRecord{}, fmt.Errorf("encode compare record: %w", err)
	}
	return catalog.CompareRecord{Table: table, Chunk: chunk, Data: b}, nil
}

func decodeRecord(r catalog.CompareRecord, v any) error {
	var head struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(r.Data, &head); err != nil {
		return fmt.Errorf("compare record %s/%d: %w", r.Table, r.Chunk, err)
	}
	if head.V != recordVersion {
		return fmt.Errorf("compare record %s/%d has version %d; this dts reads version %d", r.Table, r.Chunk, head.V, recordVersion)
	}
	return json.Unmarshal(r.Data, v)
}

// MemoryJournal keeps records in memory: a compare that cannot resume.
type MemoryJournal struct {
	mu   sync.Mutex
	recs map[[2]any]catalog.CompareRecord
}

// Load implements Journal.
func (m *MemoryJournal) Load(context.Context) ([]catalog.CompareRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]catalog.CompareRecord, 0, len(m.recs))
	for _, r := range m.recs {
		out = append(out, r)
	}
	return out, nil
}

// Save implements Journal.
func (m *MemoryJournal) Save(_ context.Context, r catalog.CompareRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = map[[2]any]catalog.CompareRecord{}
	}
	m.recs[[2]any{r.Table, r.Chunk}] = r
	return nil
}

// FileJournal keeps records in a file, one JSON line each, appended: the
// offline compare's journal. A line cut short by a crash is ignored.
type FileJournal struct {
	Path string
	mu   sync.Mutex
}

type fileLine struct {
	Table string          `json:"table"`
	Chunk int             `json:"chunk"`
	Data  json.RawMessage `json:"data"`
}

// Load implements Journal.
func (f *FileJournal) Load(context.Context) ([]catalog.CompareRecord, error) {
	file, err := os.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read compare journal: %w", err)
	}
	defer file.Close()
	byKey := map[[2]any]int{}
	var out []catalog.CompareRecord
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	for sc.Scan() {
		var l fileLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue // a line a crash cut short
		}
		r := catalog.CompareRecord{Table: l.Table, Chunk: l.Chunk, Data: l.Data}
		k := [2]any{l.Table, l.Chunk}
		if i, ok := byKey[k]; ok {
			out[i] = r
			continue
		}
		byKey[k] = len(out)
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read compare journal: %w", err)
	}
	return out, nil
}

// Save implements Journal.
func (f *FileJournal) Save(_ context.Context, r catalog.CompareRecord) error {
	b, err := json.Marshal(fileLine{Table: r.Table, Chunk: r.Chunk, Data: r.Data})
	if err != nil {
		return fmt.Errorf("write compare journal: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return fmt.Errorf("write compare journal: %w", err)
	}
	file, err := os.OpenFile(f.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write compare journal: %w", err)
	}
	_, err = file.Write(append(b, '\n'))
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write compare journal: %w", err)
	}
	return nil
}

// Remove deletes the journal (a finished compare, or --reset).
func (f *FileJournal) Remove() error {
	err := os.Remove(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
