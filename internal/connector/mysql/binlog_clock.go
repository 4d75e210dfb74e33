package mysql

import (
	"context"
	"fmt"
	"time"
)

// The source's clock. A binlog heartbeat event carries no time, and a
// change's delay must be measured with the source's clock (the commit
// times are the source's): a heartbeat item's time is ours, moved by the
// source clock's offset, measured at every connection.

// clockOffset returns how far the source's clock is ahead of ours (behind:
// negative), to within the query's round trip.
func (s *Source) clockOffset(ctx context.Context) (time.Duration, error) {
	var micros int64
	before := time.Now()
	// UNIX_TIMESTAMP of NOW(6) is the epoch whatever the session's time zone.
	err := s.db.QueryRowContext(ctx, "SELECT CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)").Scan(&micros)
	after := time.Now()
	if err != nil {
		return 0, fmt.Errorf("read the source's clock: %w", err)
	}
	mid := before.Add(after.Sub(before) / 2)
	return time.UnixMicro(micros).Sub(mid), nil
}

// sourceNow is the source's time now, as far as the stream knows it.
func (s *binlogStream) sourceNow() time.Time {
	return time.Now().Add(s.clock).UTC()
}
