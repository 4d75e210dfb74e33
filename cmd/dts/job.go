package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dtsorg/dts/internal/api"
	"github.com/dtsorg/dts/internal/client"
	"github.com/dtsorg/dts/internal/connector/conntest"
	"github.com/dtsorg/dts/internal/control"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/transform"
)

func jobCmd(g *globals) *cobra.Command {
	var server, token string
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Create, inspect and act on jobs of a dts server (validate works offline)",
	}
	cmd.PersistentFlags().StringVar(&server, "server", envOr("DTS_SERVER", "http://127.0.0.1:8080"), "dts server address (default $DTS_SERVER)")
	cmd.PersistentFlags().StringVar(&token, "token", os.Getenv("DTS_API_TOKEN"), "API token (default $DTS_API_TOKEN)")
	c := func() *client.Client { return client.New(server, token) }

	cmd.AddCommand(
		jobValidateCmd(g),
		jobCreateCmd(g, c),
		&cobra.Command{
			Use: "list", Short: "List jobs", Args: exactArgs(0, "no arguments"),
			RunE: func(cmd *cobra.Command, _ []string) error {
				jobs, err := c().ListJobs(cmd.Context())
				if err != nil {
					return err
				}
				if g.output == "json" {
					writeJSON(g.stdout, map[string]any{"jobs": jobs})
					return nil
				}
				rows := make([][]string, len(jobs))
				for i, j := range jobs {
					rows[i] = []string{j.ID, j.Name, string(j.Type), string(j.State), j.UpdatedAt.Local().Format(time.DateTime)}
				}
				table(g.stdout, []string{"ID", "NAME", "TYPE", "STATE", "UPDATED"}, rows)
				return nil
			},
		},
		&cobra.Command{
			Use: "show ID", Short: "Show one job (by id or name)", Args: exactArgs(1, "a job id or name"),
			RunE: func(cmd *cobra.Command, args []string) error {
				j, err := c().GetJob(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				showJob(g, j)
				return nil
			},
		},
		jobActionCmd(g, c),
		jobDeleteCmd(g, c),
	)
	return cmd
}

// readSpec reads a job file, expanding ${env:NAME} from the user's environment.
func readSpec(path string) (*job.Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("read job file: %w", err)}
	}
	return job.Decode(data, job.FileOptions())
}

func jobValidateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a job file offline and list every problem with its field path",
		Args:  exactArgs(1, "a job file"),
		RunE: func(_ *cobra.Command, args []string) error {
			spec, err := readSpec(args[0])
			if err != nil {
				return err
			}
			spec.Normalize()
			if err := transform.ValidateSpec(spec); err != nil {
				return err
			}
			if g.output == "json" {
				writeJSON(g.stdout, map[string]any{"valid": true, "name": spec.Name})
				return nil
			}
			fmt.Fprintf(g.stdout, "%s: valid %s job %q\n", args[0], spec.Type, spec.Name)
			return nil
		},
	}
}

func jobCreateCmd(g *globals, c func() *client.Client) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create a job on the server from a job file",
		Args:  exactArgs(0, "no arguments (the file goes in -f)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{fmt.Errorf("give the job file with -f FILE")}
			}
			spec, err := readSpec(file)
			if err != nil {
				return err
			}
			if err := transform.ValidateSpec(spec); err != nil {
				return err
			}
			j, err := c().CreateJob(cmd.Context(), spec)
			if err != nil {
				return err
			}
			if g.output == "json" {
				writeJSON(g.stdout, j)
				return nil
			}
			fmt.Fprintf(g.stdout, "created job %s (%s), state %s\n", j.ID, j.Name, j.State)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "job file (YAML or JSON)")
	return cmd
}

func jobActionCmd(g *globals, c func() *client.Client) *cobra.Command {
	var params []string
	var wait bool
	cmd := &cobra.Command{
		Use:   "action ID ACTION",
		Short: "Apply an action: " + actionNames(),
		Args:  exactArgs(2, "a job id or name and an action"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := parseParams(params)
			if err != nil {
				return err
			}
			resp, err := c().Action(cmd.Context(), args[0], args[1], p)
			if err != nil {
				return err
			}
			if resp.Operation != nil && wait {
				op, err := waitOperation(cmd.Context(), c(), resp.Operation.ID)
				if err != nil {
					return err
				}
				resp.Operation = op
			}
			return showAction(g, resp)
		},
	}
	cmd.Flags().StringArrayVar(&params, "param", nil, "action parameter k=v (repeatable; v is JSON when it parses as JSON)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for a long action's operation to finish")
	return cmd
}

func jobDeleteCmd(g *globals, c func() *client.Client) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a job (a running one only with --force)",
		Args:  exactArgs(1, "a job id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c().DeleteJob(cmd.Context(), args[0], force); err != nil {
				return err
			}
			if g.output == "json" {
				writeJSON(g.stdout, map[string]any{"deleted": args[0]})
				return nil
			}
			fmt.Fprintf(g.stdout, "deleted job %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "delete even while the job is running")
	return cmd
}

func actionNames() string {
	var names []string
	for _, a := range job.Actions {
		if a != job.ActionUpdate {
			names = append(names, string(a))
		}
	}
	return strings.Join(names, ", ")
}

// parseParams turns k=v pairs into action params; v is JSON when it parses.
func parseParams(pairs []string) (map[string]any, error) {
	out := map[string]any{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--param %q: use key=value", p)}
		}
		var parsed any
		if err := json.Unmarshal([]byte(v), &parsed); err == nil {
			out[k] = parsed
		} else {
			out[k] = v
		}
	}
	return out, nil
}

func waitOperation(ctx context.Context, c *client.Client, id string) (*api.OperationView, error) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		op, err := c.Operation(ctx, id)
		if err != nil || op.Status != "running" {
			return op, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

func showAction(g *globals, resp *api.ActionResponse) error {
	if g.output == "json" {
		writeJSON(g.stdout, resp)
		return nil
	}
	if resp.Action == string(job.ActionTestConnection) {
		showConnections(g, resp.Result)
		return nil
	}
	if op := resp.Operation; op != nil {
		fmt.Fprintf(g.stdout, "%s: operation %s %s (job %s is %s)\n", resp.Action, op.ID, op.Status, resp.JobID, resp.State)
		if op.Error != nil {
			fmt.Fprintf(g.stdout, "error: %s: %s\n", op.Error.Code, op.Error.Message)
		}
		if len(op.Result) > 0 {
			fmt.Fprintf(g.stdout, "%s\n", op.Result)
		}
		return nil
	}
	fmt.Fprintf(g.stdout, "%s: done (job %s is %s)\n", resp.Action, resp.JobID, resp.State)
	if resp.Result != nil {
		writeJSON(g.stdout, resp.Result)
	}
	return nil
}

func showConnections(g *globals, result any) {
	var res control.ConnectionResults
	b, _ := json.Marshal(result)
	_ = json.Unmarshal(b, &res)
	var rows [][]string
	add := func(name string, r *conntest.Result) {
		if r == nil {
			return
		}
		problem := "-"
		if r.Error != nil {
			problem = r.Error.Code + ": " + r.Error.Message
		}
		rows = append(rows, []string{name, yesNo(r.Reachable), yesNo(r.Authenticated), orDash(r.ServerVersion), fmt.Sprintf("%.2f ms", r.RTTMillis), problem})
	}
	add("source", res.Source)
	add("target", res.Target)
	table(g.stdout, []string{"ENDPOINT", "REACHABLE", "AUTHENTICATED", "VERSION", "RTT", "PROBLEM"}, rows)
}

func showJob(g *globals, j *api.JobView) {
	if g.output == "json" {
		writeJSON(g.stdout, j)
		return
	}
	s := j.Spec
	var objects []string
	for _, db := range s.Objects {
		target := db.Value.Name
		if target == "" {
			target = db.Key
		}
		sel := "all tables"
		if !db.Value.All {
			sel = strings.Join(db.Value.Tables.Keys(), ", ")
		}
		objects = append(objects, fmt.Sprintf("%s → %s (%s)", db.Key, target, sel))
	}
	sort.Strings(objects)
	state := string(j.State)
	if j.StateReason != "" {
		state += " (" + j.StateReason + ")"
	}
	pairs := []string{
		"ID", j.ID, "Name", j.Name, "Type", string(j.Type), "State", state,
		"Source", endpointLine(s.Source), "Target", endpointLine(s.Target),
		"Phases", phasesLine(s.EffectivePhases()), "Objects", strings.Join(objects, "; "),
		"Created", j.CreatedAt.Local().Format(time.DateTime), "Updated", j.UpdatedAt.Local().Format(time.DateTime),
	}
	if j.Error != nil {
		pairs = append(pairs, "Error", j.Error.Code+": "+j.Error.Message)
	}
	fields(g.stdout, pairs...)
}

func endpointLine(e api.EndpointView) string {
	line := fmt.Sprintf("%s %s@%s:%d", e.Engine, e.User, e.Host, e.Port)
	if e.Database != "" {
		line += "/" + e.Database
	}
	return line
}

func phasesLine(p job.Phases) string {
	var on []string
	for _, ph := range []struct {
		name string
		on   bool
	}{{"structure", p.Structure}, {"full", p.Full}, {"incremental", p.Incremental}} {
		if ph.on {
			on = append(on, ph.name)
		}
	}
	return strings.Join(on, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
