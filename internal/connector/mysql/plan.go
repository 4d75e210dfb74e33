package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
)

// insertPlan is how rows of one table and column list are inserted.
type insertPlan struct {
	key     string
	table   string // for messages
	prefix  string // INSERT INTO `s`.`t` (`a`,`b`) VALUES
	rowSQL  string // (?,?)
	pos     []int  // positions in the incoming rows of the written columns
	names   []string
	types   []schema.Type // target types of the written columns
	enc     []encoder
	enums   bool // some column is an ENUM that may receive its error value
	maxRows int
	// nonStrict inserts one row in a non-strict sql_mode: the only way to
	// store an ENUM's error value ''.
	nonStrict string

	mu     sync.Mutex
	full   *sql.Stmt // maxRows rows, prepared once
	closed bool      // evicted: chunks still using the plan prepare their own
}

// maxPlans bounds the prepared statements the sink keeps (one per table
// being loaded); each is prepared on every connection that used it.
const maxPlans = 64

func (s *Sink) plan(w connector.ChunkWrite) (*insertPlan, error) {
	t := w.Table
	var key strings.Builder
	key.WriteString(quoteTable(t.Schema, t.Name))
	for i, c := range w.Columns {
		key.WriteString("\x00" + c)
		if i < len(w.SourceTypes) {
			key.WriteString("\x01" + w.SourceTypes[i].String())
		}
	}
	s.plansMu.Lock()
	defer s.plansMu.Unlock()
	if p, ok := s.plans[key.String()]; ok {
		return p, nil
	}
	if len(w.SourceTypes) != len(w.Columns) {
		return nil, fmt.Errorf("write %s: %d source types for %d columns", t, len(w.SourceTypes), len(w.Columns))
	}
	p := &insertPlan{key: key.String(), table: t.String()}
	for i, name := range w.Columns {
		c, ok := t.Column(name)
		if !ok {
			return nil, fmt.Errorf("write %s: the table has no column %s", t, name)
		}
		if c.Generated != nil {
			continue
		}
		p.pos = append(p.pos, i)
		p.names = append(p.names, name)
		p.types = append(p.types, c.Type)
		p.enc = append(p.enc, encoderFor(*c, w.SourceTypes[i], s.srv.mariadb))
		if c.Type.Kind == schema.KindEnum && enumIndex(c.Type.Values, "") == 0 {
			p.enums = true
		}
	}
	if len(p.pos) == 0 {
		return nil, fmt.Errorf("write %s: no column to write", t)
	}
	p.prefix = "INSERT INTO " + quoteTable(t.Schema, t.Name) + " (" + quoteIdents(p.names) + ") VALUES "
	p.rowSQL = "(" + strings.TrimSuffix(strings.Repeat("?,", len(p.pos)), ",") + ")"
	maxParams := min(65535, max(s.maxPacket/1024, 1024))
	p.maxRows = max(1, min(s.batchRows, maxParams/len(p.pos)))
	mode := "'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION,ALLOW_INVALID_DATES'"
	if s.srv.mariadb {
		p.nonStrict = "SET STATEMENT sql_mode = " + mode + " FOR " + p.prefix + p.rowSQL
	} else {
		p.nonStrict = "INSERT /*+ SET_VAR(sql_mode = " + mode + ") */" + strings.TrimPrefix(p.prefix, "INSERT") + p.rowSQL
	}
	if len(s.plans) >= maxPlans {
		for k, old := range s.plans {
			old.close()
			delete(s.plans, k)
			break
		}
	}
	s.plans[p.key] = p
	return p, nil
}

// insertSQL is the statement for n rows.
func (p *insertPlan) insertSQL(n int) string {
	var b strings.Builder
	b.Grow(len(p.prefix) + n*(len(p.rowSQL)+1))
	b.WriteString(p.prefix)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.rowSQL)
	}
	return b.String()
}

// fullStmt returns the full-size statement, prepared once for the pool;
// nil once the plan is closed.
func (p *insertPlan) fullStmt(ctx context.Context, db *sql.DB) (*sql.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.full == nil && !p.closed {
		st, err := db.PrepareContext(ctx, p.insertSQL(p.maxRows))
		if err != nil {
			return nil, err
		}
		p.full = st
	}
	return p.full, nil
}

func (p *insertPlan) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.full != nil {
		p.full.Close()
		p.full = nil
	}
}

// dropPlans forgets the statements of a table (it is loaded).
func (s *Sink) dropPlans(t *schema.Table) {
	prefix := quoteTable(t.Schema, t.Name) + "\x00"
	s.plansMu.Lock()
	defer s.plansMu.Unlock()
	for k, p := range s.plans {
		if strings.HasPrefix(k, prefix) {
			p.close()
			delete(s.plans, k)
		}
	}
}
