package catalog

// CompareStore keeps compare tasks and their reports. (Filled in by the compare feature.)
type CompareStore interface{}
