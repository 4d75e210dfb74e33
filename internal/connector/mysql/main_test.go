package mysql

import (
	"os"
	"testing"

	"github.com/dtsorg/dts/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
