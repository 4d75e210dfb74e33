package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// Connection exceptions, a server shutting down or starting, deadlocks and
// serialization failures pass by starting over; other SQLSTATEs do not.
func TestTransientErrors(t *testing.T) {
	for code, want := range map[string]bool{"57P01": true, "57P02": true, "57P03": true, "08006": true, "08003": true,
		"40001": true, "40P01": true, "53300": true, "23505": false, "22003": false, "42P01": false} {
		err := fmt.Errorf("apply: %w", &pgconn.PgError{Code: code})
		require.Equal(t, want, transient(err), code)
	}
	require.True(t, transient(&pgconn.ConnectError{}))
	require.False(t, transient(errors.New("other")))
}
