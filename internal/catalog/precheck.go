package catalog

// PrecheckStore keeps the results of prechecks. (Filled in by the precheck feature.)
type PrecheckStore interface{}
