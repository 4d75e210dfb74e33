package postgres

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spillMsg is a message of type kind whose first four bytes after the type
// are n (a relation's oid for 'R').
func spillMsg(kind byte, n uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{kind}, n)
}

func replayed(t *testing.T, s *spill, tx *spillTxn) []string {
	t.Helper()
	var out []string
	require.NoError(t, s.replay(tx, func(lsn uint64, msg []byte) error {
		out = append(out, string(msg[0])+string(rune('0'+binary.BigEndian.Uint32(msg[1:5]))))
		return nil
	}))
	return out
}

// A subtransaction's abort cuts the file at its first message, keeping the
// relation messages cut off (pgoutput does not send them again); a
// transaction's abort drops it; a first segment again starts it afresh.
func TestSpill(t *testing.T) {
	s := newSpill(t.TempDir())
	defer s.reset()
	require.NoError(t, s.start(10, true))
	require.NoError(t, s.add(10, 100, spillMsg('I', 1)))
	require.NoError(t, s.add(11, 101, spillMsg('R', 5)))
	require.NoError(t, s.add(11, 102, spillMsg('I', 2)))
	require.NoError(t, s.add(12, 103, spillMsg('R', 5)))
	require.NoError(t, s.add(12, 104, spillMsg('I', 3)))
	require.NoError(t, s.stop())
	require.NoError(t, s.start(20, true))
	require.NoError(t, s.add(20, 105, spillMsg('I', 4)))
	require.NoError(t, s.stop())

	kept, err := s.abort(10, 99) // a subtransaction that sent nothing
	require.NoError(t, err)
	assert.False(t, kept)
	kept, err = s.abort(10, 12)
	require.NoError(t, err)
	assert.True(t, kept)
	tx := s.txns[10]
	assert.Equal(t, []string{"I1", "R5", "I2", "R5"}, replayed(t, s, tx))
	kept, err = s.abort(10, 11) // 12 began inside 11: gone already; one R5 kept
	require.NoError(t, err)
	assert.True(t, kept)
	assert.Equal(t, []string{"I1", "R5"}, replayed(t, s, tx))

	require.NoError(t, s.start(10, false))
	require.NoError(t, s.add(13, 106, spillMsg('I', 6)))
	require.NoError(t, s.stop())
	txns, bytes := s.held()
	assert.Equal(t, 2, txns)
	assert.Positive(t, bytes)
	tx, ok, err := s.take(10)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []string{"I1", "R5", "I6"}, replayed(t, s, tx))
	tx.close()

	kept, err = s.abort(20, 20)
	require.NoError(t, err)
	assert.True(t, kept)
	_, ok, err = s.take(20)
	require.NoError(t, err)
	assert.False(t, ok)

	assert.Error(t, s.start(30, false), "a stream that never began")
	require.NoError(t, s.start(40, true))
	assert.Error(t, s.start(41, true), "nested stream blocks")
	require.NoError(t, s.add(40, 107, spillMsg('I', 7)))
	require.NoError(t, s.stop())
	require.NoError(t, s.start(40, true)) // sent again from its start
	require.NoError(t, s.add(40, 108, spillMsg('I', 8)))
	require.NoError(t, s.stop())
	assert.Equal(t, []string{"I8"}, replayed(t, s, s.txns[40]))
}
