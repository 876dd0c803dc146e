// Package tasks is the cloud's batch-task service (issue 16): users submit
// tasks that pin their code and environment to commit ids; a stateless
// scheduler in every replica assigns queued tasks to online nodes whose
// declared free resources and labels fit (FOR UPDATE SKIP LOCKED, one
// replica scheduling at a time through an advisory lock), in priority then
// arrival order within per-user quotas; nodes report every state change
// and stream the output over their link, and each change is a task_events
// row. A node that goes offline mid-task loses it, and the task runs again
// elsewhere up to its attempt limit.
//
// Files never pass through the cloud: nodes fetch code from the git host
// with a read-only credential that lives as long as the attempt, and pull
// inputs and push artifacts with presigned object-store URLs scoped to the
// task's keys and expiring with it.
package tasks

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/githost"
	"gatewave.dev/cloud/objstore"
	"gatewave.dev/shared/fleetproto"
)

// User is who submits and reads tasks.
type User = accounts.User

// Fleet sends commands to nodes (fleet.Hub does, across replicas).
type Fleet interface {
	Command(ctx context.Context, node, name string, args []byte) (*fleetproto.Ack, error)
}

// Objects is the object store as tasks use it: presigned URLs for nodes and
// users, and a size check for inputs. Stat returns an error wrapping
// ErrNoObject for a missing key.
type Objects interface {
	PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error)
	PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error)
	Stat(ctx context.Context, key string) (int64, error)
}

// ErrNoObject is what Objects.Stat wraps for a key that does not exist.
var ErrNoObject = objstore.ErrNotFound

// Options configure a Service. DB, Fleet, Git and GitURL are required.
type Options struct {
	DB    *pgxpool.Pool
	Fleet Fleet
	// Git resolves refs to commits and checks dockerfile_path.
	Git *githost.Host
	// GitURL is where nodes reach the git host (the base of /git); task
	// repo URLs must be under it.
	GitURL string
	// Objects is the large-file store; nil means tasks cannot have
	// inputs or artifacts.
	Objects Objects
	// SaveSession saves a user's open IDE session and returns the commit
	// (Spec.SaveSession); nil refuses such tasks.
	SaveSession func(ctx context.Context, userID int64, session string) (string, error)
	// Accounts authenticates the API; nil serves no HTTP routes.
	Accounts *accounts.Accounts
	// MaxActivePerUser bounds a user's tasks on nodes at once; more wait
	// in the queue. Zero means 16.
	MaxActivePerUser int
	// Interval is how often the scheduler and the lost-node sweep run
	// besides when something changes. Zero means 1 s.
	Interval time.Duration
	// Batch is how many queued tasks a scheduling round reads at a time
	// (it reads up to 40 such pages while nodes have room). Zero means 256.
	Batch int
	// DispatchTimeout bounds waiting for a node to accept a task. Zero
	// means 15 s.
	DispatchTimeout time.Duration
	// ArtifactLinkTTL is how long a user's download link lives. Zero
	// means 5 minutes.
	ArtifactLinkTTL time.Duration
	Logger          *slog.Logger
	Now             func() time.Time
}

// Service is the task API, scheduler and node-report handler.
type Service struct {
	opts Options
	db   *pgxpool.Pool
	log  *slog.Logger
	kick chan struct{}

	updates chan nodeReport
	logs    chan nodeReport
	stopped chan struct{} // closed when Run returns

	amu     sync.Mutex
	avoided map[string]time.Time // node → until when no task goes to it
	dropped atomic.Int64
	wg      sync.WaitGroup
	http    *http.Client
}

// New checks opts and returns a Service; call Run to schedule.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.Fleet == nil || opts.Git == nil || opts.GitURL == "" {
		return nil, errors.New("tasks: DB, Fleet, Git and GitURL are required")
	}
	if opts.MaxActivePerUser <= 0 {
		opts.MaxActivePerUser = 16
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 256
	}
	if opts.DispatchTimeout <= 0 {
		opts.DispatchTimeout = 15 * time.Second
	}
	if opts.ArtifactLinkTTL <= 0 {
		opts.ArtifactLinkTTL = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{opts: opts, db: opts.DB, log: opts.Logger.With("component", "tasks"),
		kick: make(chan struct{}, 1), updates: make(chan nodeReport, 4096), logs: make(chan nodeReport, 8192), stopped: make(chan struct{}),
		http: &http.Client{Timeout: 10 * time.Minute}}, nil
}

// Kick asks for a scheduling round soon.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run schedules and sweeps until ctx ends, and applies node reports in
// the order they arrived.
func (s *Service) Run(ctx context.Context) {
	s.wg.Go(func() { s.applyReports(ctx) })
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		if err := s.sweepLost(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("lost-node sweep", "err", err)
		}
		if _, err := s.Schedule(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("schedule", "err", err)
		}
		select {
		case <-ctx.Done():
			s.wg.Wait()
			close(s.stopped)
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// Task is a task as its owner sees it.
type Task struct {
	ID             int64             `json:"id"`
	User           string            `json:"user"`
	State          string            `json:"state"`
	CodeRepoURL    string            `json:"code_repo_url"`
	CodeCommitID   string            `json:"code_commit_id"`
	EnvRepoURL     string            `json:"env_repo_url"`
	EnvCommitID    string            `json:"env_commit_id"`
	DockerfilePath string            `json:"dockerfile_path"`
	Command        []string          `json:"command"`
	Resources      Resources         `json:"resources"`
	Labels         map[string]string `json:"labels"`
	TimeoutSeconds int64             `json:"timeout_seconds"`
	Priority       int               `json:"priority"`
	Inputs         []Input           `json:"inputs"`
	ArtifactPaths  []string          `json:"artifact_paths"`
	Artifacts      map[string]int64  `json:"artifacts"`
	// ArtifactObjects are the artifacts' object-store keys, to pass as
	// another task's inputs.
	ArtifactObjects map[string]string `json:"artifact_objects"`
	Attempt         int               `json:"attempt"`
	MaxAttempts     int               `json:"max_attempts"`
	Node            string            `json:"node,omitempty"`
	ExitCode        *int              `json:"exit_code,omitempty"`
	Detail          string            `json:"detail,omitempty"`
	Image           string            `json:"image,omitempty"`
	ImageCached     bool              `json:"image_cached"`
	CreatedAt       time.Time         `json:"created_at"`
	DispatchedAt    *time.Time        `json:"dispatched_at,omitempty"`
	RunningAt       *time.Time        `json:"running_at,omitempty"`
	FinishedAt      *time.Time        `json:"finished_at,omitempty"`
	// Position is the place in the queue (1 = next) while queued.
	Position int `json:"position,omitempty"`
}

// Event is one state change of a task.
type Event struct {
	Attempt int       `json:"attempt"`
	State   string    `json:"state"`
	Node    string    `json:"node,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	At      time.Time `json:"at"`
}

// activeStates hold a node's resources.
var activeStates = []string{fleetproto.TaskDispatched, fleetproto.TaskFetching, fleetproto.TaskBuilding,
	fleetproto.TaskRunning, fleetproto.TaskUploading}

// rank orders states so a late report never moves a task backwards.
var rank = map[string]int{fleetproto.TaskQueued: 0, fleetproto.TaskDispatched: 1, fleetproto.TaskFetching: 2,
	fleetproto.TaskBuilding: 3, fleetproto.TaskRunning: 4, fleetproto.TaskUploading: 5,
	fleetproto.TaskSucceeded: 6, fleetproto.TaskFailed: 6, fleetproto.TaskCancelled: 6, fleetproto.TaskLost: 6}

// BuildBudget is how long a node may take to fetch a task's code and
// build its environment before the run's own timeout starts (nodegw's
// build timeout); presigned URLs and the overdue sweep allow for it.
const BuildBudget = time.Hour

// GitTokenPrefix marks a task's git credential.
const GitTokenPrefix = "gwt_"

func newGitToken() (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := GitTokenPrefix + hex.EncodeToString(b)
	return tok, hashToken(tok)
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// GitAuthorizer accepts a task attempt's git credential (read only, for
// the task owner's repo, while the attempt holds a node) and hands every
// other credential to fallback.
func (s *Service) GitAuthorizer(fallback githost.Authorizer) githost.Authorizer {
	return func(ctx context.Context, owner, username, password string, push bool) error {
		if len(password) < len(GitTokenPrefix) || password[:len(GitTokenPrefix)] != GitTokenPrefix {
			return fallback(ctx, owner, username, password, push)
		}
		if push || username != owner {
			return githost.ErrUnauthorized
		}
		// Looked up by hash: equality on a SHA-256 of a 256-bit secret
		// leaks nothing useful through timing.
		var ok bool
		err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tasks t JOIN users u ON u.id = t.user_id
			WHERE u.name = $1 AND t.git_token_hash = $2 AND t.state = ANY($3))`,
			owner, hashToken(password), activeStates).Scan(&ok)
		if err != nil {
			return fmt.Errorf("task git credential: %w", err)
		}
		if !ok {
			return githost.ErrUnauthorized
		}
		return nil
	}
}
