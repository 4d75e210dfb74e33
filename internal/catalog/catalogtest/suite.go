// Package catalogtest is the conformance suite of catalog.Store: every
// implementation runs it from its own tests, so the SQLite store and any later
// one behave alike wherever the control plane can tell.
//
//	func TestConformance(t *testing.T) { catalogtest.Run(t, openHarness) }
package catalogtest

import (
	"testing"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/secret"
)

// Harness is one fresh, empty catalog for one test. Whatever it opens, its
// open function closes with t.Cleanup.
type Harness struct {
	// Store is the store under test.
	Store catalog.Store
	// Reopen opens another store on the same catalog, sealing with box.
	Reopen func(t *testing.T, box *secret.Box) catalog.Store
	// Raw returns every byte the catalog has persisted so far, after flushing
	// whatever the implementation buffers (for SQLite: the database file and
	// its WAL after a checkpoint). The suite searches it for plaintext passwords.
	Raw func(t *testing.T) []byte
}

// Run runs the suite, each test in parallel on its own harness from open.
func Run(t *testing.T, open func(t *testing.T) Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"ListJobsOldestFirst", testListJobs},
		{"DuplicateJob", testDuplicateJob},
		{"NotFound", testNotFound},
		{"DeleteCascades", testDeleteCascades},
		{"Update", testUpdate},
		{"UpdateKeepsIdentity", testUpdateKeepsIdentity},
		{"UpdateFnErrorWritesNothing", testUpdateFnError},
		{"UpdateSerialises", testUpdateSerialises},
		{"UpdateRename", testUpdateRename},
		{"Events", testEvents},
		{"EventPaging", testEventPaging},
		{"EventIDsNotReused", testEventIDsNotReused},
		{"Operations", testOperations},
		{"UpdateOperation", testUpdateOperation},
		{"ListOperationsNewestFirst", testListOperations},
		{"SpecRoundTrip", testSpecRoundTrip},
		{"PasswordsNeverInPlaintext", testPasswordsSealed},
		{"WrongKey", testWrongKey},
		{"CancelledContext", testCancelled},
		{"CancelledDuringUpdate", testCancelledDuringUpdate},
		{"PrecheckSaveAndGet", testPrecheckSaveAndGet},
		{"PrecheckSkips", testPrecheckSkips},
		{"PrecheckJobs", testPrecheckJobs},
	}
	tests = append(tests, compareTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}
