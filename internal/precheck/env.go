package precheck

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/connector/conntest"
	myconn "github.com/dtsorg/dts/internal/connector/mysql"
	pgconnector "github.com/dtsorg/dts/internal/connector/postgres"
	"github.com/dtsorg/dts/internal/job"
)

// Engines opens connectors for endpoints (runner.Engines has the same methods).
type Engines interface {
	OpenSource(ctx context.Context, e job.Endpoint, log *slog.Logger) (connector.Source, error)
	OpenSink(ctx context.Context, e job.Endpoint, log *slog.Logger) (connector.Sink, error)
}

// env holds what the checks of one run share. Every fact is read once, on
// first use, in the background under the run's context: a check that gives
// up waiting (its timeout) does not poison the fact for the others.
type env struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	spec   *job.Spec
	jobID  string
	eng    Engines
	log    *slog.Logger

	srcTest, dstTest lazy[conntest.Result]
	srcSQL, dstSQL   lazy[*endpointDB]
	source           lazy[connector.Source]
	sink             lazy[connector.Sink]
	selection        lazy[[]selected]
	structure        lazy[[]*tableFacts]
	rules            lazy[*ruleFacts]
	srcVars, dstVars lazy[map[string]string]
	srcGrants        lazy[*grants]
	dstGrants        lazy[*grants]
	dstTables        lazy[map[string]targetTable]
	mapOnce          sync.Once

	closeMu sync.Mutex
	closers []func()
}

func newEnv(ctx context.Context, spec *job.Spec, o Options) *env {
	ctx, cancel := context.WithCancel(ctx)
	return &env{ctx: ctx, cancel: cancel, spec: spec, jobID: o.JobID, eng: o.Engines, log: o.Logger.With("component", "precheck")}
}

// close ends fact reads still under way and closes every connection.
func (e *env) close() {
	e.cancel()
	e.wg.Wait()
	e.closeMu.Lock()
	defer e.closeMu.Unlock()
	for _, c := range e.closers {
		c()
	}
}

func (e *env) onClose(fn func()) {
	e.closeMu.Lock()
	e.closers = append(e.closers, fn)
	e.closeMu.Unlock()
}

// lazy is a fact read once by whoever needs it first.
type lazy[T any] struct {
	once sync.Once
	done chan struct{}
	v    T
	err  error
}

func (l *lazy[T]) get(ctx context.Context, e *env, read func(context.Context) (T, error)) (T, error) {
	l.once.Do(func() {
		l.done = make(chan struct{})
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer close(l.done)
			defer func() {
				if p := recover(); p != nil {
					e.log.Error("precheck fact panicked", "panic", p)
					l.err = fmt.Errorf("reading the servers failed unexpectedly: %v", p)
				}
			}()
			l.v, l.err = read(e.ctx)
		}()
	})
	select {
	case <-l.done:
		return l.v, l.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// endpointDB is a plain connection pool to one endpoint, for the catalog
// queries of the checks: exactly one of my and pg is set.
type endpointDB struct {
	e       job.Endpoint
	my      *sql.DB
	pg      *pgxpool.Pool
	version serverVersion
	user    string // MySQL: CURRENT_USER() as 'user'@'host'; PostgreSQL: current_user
}

// internalEndpoint is e for the checks' own sessions: in UTC, so a time zone
// the server does not know (an item of its own) cannot stop other checks.
func internalEndpoint(e job.Endpoint) job.Endpoint {
	e.Options.TimeZone = ""
	return e
}

func (e *env) sourceDB(ctx context.Context) (*endpointDB, error) {
	return e.srcSQL.get(ctx, e, func(ctx context.Context) (*endpointDB, error) { return e.openDB(ctx, e.spec.Source) })
}

func (e *env) targetDB(ctx context.Context) (*endpointDB, error) {
	return e.dstSQL.get(ctx, e, func(ctx context.Context) (*endpointDB, error) { return e.openDB(ctx, e.spec.Target) })
}

func (e *env) openDB(ctx context.Context, ep job.Endpoint) (*endpointDB, error) {
	ie := internalEndpoint(ep)
	d := &endpointDB{e: ep}
	switch {
	case ep.Engine.IsMySQL():
		db, err := myconn.Open(ctx, ie)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		e.onClose(func() { db.Close() })
		d.my = db
		var v, user string
		if err := db.QueryRowContext(ctx, "SELECT VERSION(), CURRENT_USER()").Scan(&v, &user); err != nil {
			return nil, fmt.Errorf("read the server version: %w", err)
		}
		d.version, d.user = parseMySQLVersion(v), mysqlAccount(user)
	case ep.Engine == job.EnginePostgreSQL:
		pool, err := pgconnector.NewPool(ctx, ie)
		if err != nil {
			return nil, err
		}
		e.onClose(pool.Close)
		d.pg = pool
		var num int
		var v, user string
		err = pool.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, current_setting('server_version'), current_user`).Scan(&num, &v, &user)
		if err != nil {
			return nil, fmt.Errorf("read the server version: %w", err)
		}
		d.version, d.user = serverVersion{text: v, major: num / 10000, minor: num % 10000, postgres: true}, user
	default:
		return nil, fmt.Errorf("%s endpoints are not checked by this version", ep.Engine)
	}
	return d, nil
}

func (e *env) openSource(ctx context.Context) (connector.Source, error) {
	return e.source.get(ctx, e, func(ctx context.Context) (connector.Source, error) {
		src, err := e.eng.OpenSource(ctx, internalEndpoint(e.spec.Source), e.log)
		if err != nil {
			return nil, err
		}
		e.onClose(func() { src.Close() })
		return src, nil
	})
}

func (e *env) openSink(ctx context.Context) (connector.Sink, error) {
	return e.sink.get(ctx, e, func(ctx context.Context) (connector.Sink, error) {
		sink, err := e.eng.OpenSink(ctx, internalEndpoint(e.spec.Target), e.log)
		if err != nil {
			return nil, err
		}
		e.onClose(func() { sink.Close() })
		return sink, nil
	})
}
