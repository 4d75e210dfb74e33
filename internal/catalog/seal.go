package catalog

import (
	"encoding/json"
	"fmt"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/secret"
)

// sealedSecrets is what a store keeps, encrypted, next to a spec whose
// passwords were blanked.
type sealedSecrets struct {
	Source string `json:"source,omitempty"`
	Target string `json:"target,omitempty"`
}

// SealSpec splits a spec for storage: the spec as JSON with its passwords
// blanked, and the passwords sealed with box, bound to the job id. Every Store
// implementation stores these two and nothing else of the spec.
func SealSpec(box *secret.Box, jobID string, s *job.Spec) (specJSON []byte, sealed string, err error) {
	c := s.Clone()
	c.Source.Password, c.Target.Password = "", ""
	specJSON, err = json.Marshal(c)
	if err != nil {
		return nil, "", fmt.Errorf("catalog: encode spec: %w", err)
	}
	secrets, err := json.Marshal(sealedSecrets{Source: s.Source.Password.Reveal(), Target: s.Target.Password.Reveal()})
	if err != nil {
		return nil, "", fmt.Errorf("catalog: encode secrets: %w", err)
	}
	return specJSON, box.Seal(secrets, jobID), nil
}

// OpenSpec reverses SealSpec.
func OpenSpec(box *secret.Box, jobID string, specJSON []byte, sealed string) (*job.Spec, error) {
	var s job.Spec
	if err := json.Unmarshal(specJSON, &s); err != nil {
		return nil, fmt.Errorf("catalog: decode stored spec of job %s: %w", jobID, err)
	}
	plain, err := box.Open(sealed, jobID)
	if err != nil {
		return nil, err
	}
	var secrets sealedSecrets
	if err := json.Unmarshal(plain, &secrets); err != nil {
		return nil, fmt.Errorf("catalog: decode secrets of job %s: %w", jobID, err)
	}
	s.Source.Password = job.Secret(secrets.Source)
	s.Target.Password = job.Secret(secrets.Target)
	return &s, nil
}
