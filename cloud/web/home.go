package web

import (
	"fmt"
	"time"
)

// Home is the home page's data.
type Home struct {
	// Repos are the user's git repos.
	Repos []Repo
	// Session is the user's open session; nil when none is open.
	Session *Session
	// Last is the user's most recent ended session, when none is open.
	Last *Session
	// Admin shows Users and the form that adds one.
	Admin bool
	Users []User
	// MinPassword is the shortest password accepted.
	MinPassword int
}

// Repo is one git repo and where to clone it from.
type Repo struct{ Name, CloneURL string }

// User is one row of the admin's user list.
type User struct {
	Name      string
	Admin     bool
	CreatedAt time.Time
	// Session is the state of the user's open session, "" when none.
	Session string
}

// Session is what the home page shows of a session; the JSON API's
// session object has the same fields (home.js reads that).
type Session struct {
	ID, State, Phase, URL, Detail, Autosave string
	Position                                int
	EndedAt                                 *time.Time
}

// Steps are the stages a start goes through, as the page lists them.
var steps = []string{"In the queue", "Preparing your repo", "Cloning it into a container", "Starting the IDE", "Ready"}

// Step is how far a start has come: an index into steps, or -1 when the
// session is not starting (or ready).
func (s *Session) Step() int {
	switch s.State {
	case "queued":
		return 0
	case "starting", "restarting":
		switch s.Phase {
		case "cloning":
			return 2
		case "connecting":
			return 3
		}
		if s.State == "restarting" && s.Phase == "" {
			return 0
		}
		return 1
	case "ready":
		return 4
	}
	return -1
}

// Steps lists the stages with how far this session is.
func (s *Session) Steps() []StepView {
	cur := s.Step()
	out := make([]StepView, len(steps))
	for i, name := range steps {
		out[i] = StepView{Name: name, Done: cur > i, Current: cur == i}
	}
	return out
}

// StepView is one stage in the list.
type StepView struct {
	Name          string
	Done, Current bool
}

// Label says in words what the session is doing (home.js has the same).
func (s *Session) Label() string {
	switch s.State {
	case "queued":
		if s.Position > 0 {
			return fmt.Sprintf("Waiting for a container: number %d in the queue", s.Position)
		}
		return "Waiting for a container"
	case "starting":
		return "Starting: " + lowerFirst(steps[max(s.Step(), 1)])
	case "restarting":
		return "Restarting in a fresh container from your last save"
	case "ready":
		return "Ready"
	case "reconnecting":
		return "Reconnecting: its node is out of touch"
	case "ending":
		return "Stopping: saving your work"
	case "ended":
		return "Stopped"
	}
	return s.State
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]+('a'-'A')) + s[1:]
}
