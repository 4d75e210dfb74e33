package connector_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
)

// driverCode stands for a driver's coded error; codeClassifier knows which
// codes pass.
type driverCode int

func (d driverCode) Error() string { return fmt.Sprintf("driver error %d", int(d)) }

type codeClassifier map[driverCode]bool

func (c codeClassifier) Transient(err error) bool {
	var d driverCode
	return errors.As(err, &d) && c[d]
}

// Lost, refused and timed-out connections are transient whatever the
// driver; the classifiers add their drivers' codes; coded errors are final
// but for failed connection attempts; cancellation never retries.
func TestIsTransient(t *testing.T) {
	byCode := codeClassifier{1213: true}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{refused, true},
		{fmt.Errorf("apply: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{fmt.Errorf("apply: %w", driverCode(1213)), true},
		{fmt.Errorf("apply: %w", driverCode(1062)), false},
		{errors.New("something else"), false},
		{context.Canceled, false},
		{fmt.Errorf("stopped: %w", context.Canceled), false},
		{errs.New(connector.Refused, "refused"), true},
		{errs.New(connector.AuthFailed, "rejected"), false},
		{errs.Wrap(refused, connector.CodeDivergence, "diverged"), false},
		{fmt.Errorf("apply: %w", errs.New(connector.CodeUnsupportedDDL, "no")), false},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, connector.IsTransient(c.err, byCode), "%v", c.err)
	}
	assert.False(t, connector.IsTransient(driverCode(1213)), "no classifier knows the code")
}
