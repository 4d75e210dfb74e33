package precheck

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// checkBookkeeping: the target's dts_meta refuses a job whose name another
// job id holds (its progress is there); the runner's Claim would stop.
func checkBookkeeping(ctx context.Context, e *env) Outcome {
	d, err := e.targetDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	var owner string
	if d.my != nil {
		err = d.my.QueryRowContext(ctx, "SELECT `job_id` FROM `dts_meta`.`jobs` WHERE `job_name` = ?", e.spec.Name).Scan(&owner)
		if isMySQLErr(err, 1146) || isMySQLErr(err, 1049) || errors.Is(err, sql.ErrNoRows) {
			err, owner = nil, ""
		}
	} else {
		var exists bool
		if err = d.pg.QueryRow(ctx, `SELECT to_regclass('dts_meta.jobs') IS NOT NULL`).Scan(&exists); err == nil && exists {
			err = d.pg.QueryRow(ctx, `SELECT job_id FROM dts_meta.jobs WHERE job_name = $1`, e.spec.Name).Scan(&owner)
			if errors.Is(err, pgx.ErrNoRows) {
				err = nil
			}
		}
	}
	if err != nil {
		return notChecked(fmt.Errorf("read dts_meta.jobs on the target: %w", err))
	}
	switch owner {
	case "":
		return passed("no other job named %s keeps progress on the target", e.spec.Name)
	case e.jobID:
		return passed("the target holds this job's progress from an earlier run; the job resumes it").with("job_id", owner)
	}
	return failed("the target holds the progress of another job named %s (id %s): the job would refuse to start", e.spec.Name, owner).
		with("job_id", owner).
		fix("delete or reset that job (that removes its progress from the target), or give this job another name")
}
