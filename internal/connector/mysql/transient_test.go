package mysql

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
)

// Server shutdown, lost connections and deadlocks pass by starting over;
// other server errors do not.
func TestTransientErrors(t *testing.T) {
	for code, want := range map[uint16]bool{1053: true, 1213: true, 2006: true, 2013: true, 1927: true, 1062: false, 1146: false} {
		err := fmt.Errorf("apply: %w", &mysql.MySQLError{Number: code, Message: "x"})
		require.Equal(t, want, transient(err), "%d", code)
	}
	require.True(t, transient(fmt.Errorf("apply: %w", mysql.ErrInvalidConn)))
	require.True(t, transient(driver.ErrBadConn))
	require.True(t, transient(&gomysql.MyError{Code: 2013}))
	require.False(t, transient(errors.New("other")))
}
