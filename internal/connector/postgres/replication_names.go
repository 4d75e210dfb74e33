package postgres

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
)

// SlotName returns the replication slot a job follows: the endpoint's
// options.slot, else one derived from the job (DerivedLogName).
func SlotName(lj connector.LogJob) string {
	if lj.Slot != "" {
		return lj.Slot
	}
	return DerivedLogName(lj.JobName, lj.JobID)
}

// PublicationName returns the publication a job's slot decodes with: the
// endpoint's options.publication, else the derived name.
func PublicationName(lj connector.LogJob) string {
	if lj.Publication != "" {
		return lj.Publication
	}
	return DerivedLogName(lj.JobName, lj.JobID)
}

// DerivedLogName is dts_<job name>_<8 hex digits of the job id's SHA-256>:
// lower-case letters, digits and underscores only (a slot name's
// alphabet), at most 63 bytes. The job name is cut to fit; the id's hash
// keeps two jobs apart whose names differ only in '-' and '_' or after
// the cut, and keeps a job recreated under the same name (a new id) off
// the slot of the job it replaces.
func DerivedLogName(jobName, jobID string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(jobName) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	suffix := ""
	if jobID != "" {
		sum := sha256.Sum256([]byte(jobID))
		suffix = "_" + hex.EncodeToString(sum[:])[:8]
	}
	const prefix = "dts_"
	if room := maxIdent - len(prefix) - len(suffix); len(name) > room {
		name = name[:room] // ASCII: any cut is a character boundary
	}
	return prefix + name + suffix
}

// publicationComment marks a publication as the job's own; dts only
// alters and drops publications that carry its job's mark.
func publicationComment(lj connector.LogJob) string {
	return publicationMark + lj.JobID + " (" + lj.JobName + ")"
}

const publicationMark = "dts:job:"

// commentJobID returns the job id a publication comment marks; ok is
// false when the comment is not dts's mark.
func commentJobID(comment string) (id string, ok bool) {
	rest, ok := strings.CutPrefix(comment, publicationMark)
	if !ok {
		return "", false
	}
	id, _, _ = strings.Cut(rest, " ")
	return id, true
}

// LogObjectsSQL is what a person runs on the source to drop the slot and
// publication a job's log uses, when dts could not (the source was
// unreachable when the job was deleted).
func LogObjectsSQL(lj connector.LogJob) string {
	return "SELECT pg_drop_replication_slot(" + quoteLiteral(SlotName(lj)) + "); DROP PUBLICATION IF EXISTS " + quoteIdent(PublicationName(lj)) + ";"
}
