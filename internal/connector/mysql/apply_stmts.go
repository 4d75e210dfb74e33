package mysql

import (
	"container/list"
	"context"
	"database/sql"
)

// stmtCache keeps the statements an applier prepared on its connection,
// the least recently used closed first: apply statements vary by table,
// kind and row count, and a prepared one saves the server parsing it again.
type stmtCache struct {
	conn  *sql.Conn
	max   int
	order *list.List // of *cachedStmt, most recent first
	byKey map[string]*list.Element
}

type cachedStmt struct {
	sql  string
	stmt *sql.Stmt
}

func newStmtCache(conn *sql.Conn, max int) *stmtCache {
	return &stmtCache{conn: conn, max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns the prepared statement for q, preparing it if needed.
func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	if e, ok := c.byKey[q]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cachedStmt).stmt, nil
	}
	st, err := c.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.byKey[q] = c.order.PushFront(&cachedStmt{sql: q, stmt: st})
	for c.order.Len() > c.max {
		e := c.order.Back()
		cs := c.order.Remove(e).(*cachedStmt)
		delete(c.byKey, cs.sql)
		cs.stmt.Close()
	}
	return st, nil
}

func (c *stmtCache) close() {
	for e := c.order.Front(); e != nil; e = e.Next() {
		e.Value.(*cachedStmt).stmt.Close()
	}
	c.order.Init()
	clear(c.byKey)
}
