package compare

import "testing"

// A sampled compare draws each chunk independently: over many seeds a 20%
// sample of 30 chunks takes about a fifth of them and never all (FNV's
// draws of neighbouring chunks moved together and sometimes took all).
func TestSampleDrawsChunksIndependently(t *testing.T) {
	const seeds, n, pct = 20000, 30, 20.0
	taken := 0
	for s := range uint64(seeds) {
		got := len(sample(s*0x2545f4914f6cdd1d+1, n, pct))
		if got == n {
			t.Fatalf("seed %d: a %v%% sample took all %d chunks", s, pct, n)
		}
		taken += got
	}
	if share := float64(taken) / (seeds * n); share < 0.19 || share > 0.21 {
		t.Fatalf("a %v%% sample took %.3f of the chunks", pct, share)
	}
}
